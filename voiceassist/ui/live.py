"""The live tab: the conversation, the frame-level emotion curves drawn while the person speaks (broken at
the silences between utterances, never bridged), the input level, the valence and arousal gauges on their
-1 .. +1 scale, and the volatility meter with the alert threshold and what the value means in words.
Slots only append to buffers; one 30 Hz timer redraws."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QCoreApplication, Qt, QTimer
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QCheckBox,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from voiceassist import events as E
from voiceassist.emotion.labels import LABEL_COLORS as COLORS
from voiceassist.emotion.labels import LABELS, LABELS_ZH
from voiceassist.review.words import volatility_level
from voiceassist.ui.correction import CalibrationBar, chip_text, correction_menu
from voiceassist.ui.gauges import ScaleGauge
from voiceassist.ui.partials import PartialLines

WINDOW_S = 10.0
GAP_S = 0.3
"""Frames further apart than this are not joined by the curves: a silence (or a gap) between utterances."""
CHAT_LIMIT = 400
"""Lines the live chat keeps (a long session: the oldest go; the store and the Timeline keep them all)."""


def tr(text: str) -> str:
    return QCoreApplication.translate("VoiceAssist", text)


def label_name(label: str, zh: bool) -> str:
    return f"{LABELS_ZH[label]}" if zh else label


class LiveTab(QWidget):
    def __init__(self, cfg: Any, zh: bool = False, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.cfg = cfg
        self.zh = zh
        self.curve_rate = 50.0
        self._frames: deque[np.ndarray] = deque(maxlen=int(WINDOW_S * 50))
        self._frame_t: deque[float] = deque(maxlen=int(WINDOW_S * 50))
        self._dirty = False
        self.turns = 0
        self.pending: dict[int, QListWidgetItem] = {}
        self.turn_info: dict[int, dict[str, Any]] = {}
        """segment -> the turn's item, words, label shown and the person's answers (the chip's correction)."""
        self.on_correct: Callable[[int, str, str | None, bool], bool] | None = None
        """Set by the window: stores an answer (segment, kind, label, undo); True once it is stored."""
        self.stored_answer: Callable[[int, str], dict[str, Any] | None] | None = None
        """Set by the window: the answer in force for (segment, kind), read back after an undo."""
        self.calibration = CalibrationBar()

        self.chat = QListWidget()
        self.chat.setWordWrap(True)
        self.chat.setAlternatingRowColors(True)
        self.partials = PartialLines(self.chat, tr("You"))
        self.chat.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.chat.customContextMenuRequested.connect(lambda pos: self.chip_menu(self.chat.itemAt(pos), pos))
        self.chat.itemClicked.connect(lambda item: self.chip_menu(item, self.chat.visualItemRect(item).center()))
        self.chat.setToolTip(tr("Click your turn to say how you really felt, or to rate the reply."))

        self.plot = pg.PlotWidget()
        self.plot.setBackground("w")
        self.plot.setYRange(0, 1)
        self.plot.setLabel("left", tr("probability"))
        self.plot.setLabel("bottom", tr("seconds"))
        self.plot.addLegend(offset=(5, 5))
        self.plot.setMouseEnabled(x=False, y=False)
        self.curves = {
            lab: self.plot.plot([], [], pen=pg.mkPen(COLORS[lab], width=2), name=label_name(lab, zh)) for lab in LABELS
        }

        self.level = QProgressBar()
        self.level.setRange(-60, 0)
        self.level.setFormat(tr("input %v dB"))
        self.speech_dot = QLabel(tr("silence"))
        self.valence = ScaleGauge(
            tr("valence"),
            tr("unpleasant"),
            tr("pleasant"),
            tr("Valence: how pleasant the last utterance sounded, from -1 (very unpleasant) to +1 (very pleasant)."),
            "#1f77b4",
        )
        self.arousal = ScaleGauge(
            tr("arousal"),
            tr("calm"),
            tr("agitated"),
            tr("Arousal: how activated the last utterance sounded, from -1 (calm, low energy) to +1 (agitated)."),
            "#ff7f0e",
        )
        self.vol_plot = pg.PlotWidget()
        self.vol_plot.setBackground("w")
        self.vol_plot.setMaximumHeight(120)
        self.vol_plot.setYRange(0, 1.6)
        self.vol_plot.hideAxis("bottom")
        self.vol_plot.setMouseEnabled(x=False, y=False)
        self.vol_bar = pg.BarGraphItem(x=[0], height=[0], width=0.6, brush="#1f77b4")
        self.vol_plot.addItem(self.vol_bar)
        dashed = pg.mkPen("#d62728", width=2, style=Qt.PenStyle.DashLine)
        self.threshold = pg.InfiniteLine(
            pos=cfg.alerts.enter,
            angle=0,
            pen=dashed,
            label=f"{tr('alert threshold')} {cfg.alerts.enter:.2f}",
            labelOpts={"position": 0.75, "color": "#d62728"},
        )
        self.vol_plot.addItem(self.threshold)
        self.vol_plot.setXRange(-0.5, 2.5, padding=0)  # the bar on the left, the threshold's label beside it
        self.threshold.setZValue(10)
        width = max(g.fontMetrics().horizontalAdvance(f"{g.name} +0.00") for g in (self.valence, self.arousal))
        self.valence.label_width = self.arousal.label_width = width
        self.vol_label = QLabel(f"{tr('Mood volatility')}: -")
        self.vol_label.setToolTip(
            tr("How much the mood swung between the last few utterances; an alert is raised at the red line.")
        )
        self.vol_plot.setToolTip(self.vol_label.toolTip())

        self.start_btn = QPushButton(tr("Start listening"))
        self.hands_free = QCheckBox(tr("Hands-free"))
        self.hands_free.setChecked(cfg.ui.hands_free)
        self.talk_btn = QPushButton(tr("Hold to talk"))
        self.talk_btn.setEnabled(not cfg.ui.hands_free)
        self.mute = QCheckBox(tr("Mute voice"))
        self.stop_speaking = QPushButton(tr("Stop speaking"))

        controls = QHBoxLayout()
        for w in (self.start_btn, self.hands_free, self.talk_btn, self.mute, self.stop_speaking):
            controls.addWidget(w)
        controls.addStretch(1)

        meters = QGroupBox(tr("Mood"))
        g = QGridLayout(meters)
        g.addWidget(self.level, 0, 0)
        g.addWidget(self.speech_dot, 0, 1)
        g.addWidget(self.valence, 1, 0, 1, 2)
        g.addWidget(self.arousal, 2, 0, 1, 2)
        g.addWidget(self.vol_label, 3, 0, 1, 2)
        g.addWidget(self.vol_plot, 4, 0, 1, 2)

        right = QVBoxLayout()
        right.addWidget(QLabel(tr("Emotion while speaking")))
        right.addWidget(self.plot, 3)
        right.addWidget(meters, 2)
        body = QHBoxLayout()
        left = QVBoxLayout()
        left.addWidget(QLabel(tr("Conversation")))
        left.addWidget(self.chat)
        body.addLayout(left, 1)
        body.addLayout(right, 1)
        root = QVBoxLayout(self)
        root.addLayout(controls)
        root.addWidget(self.calibration)
        root.addLayout(body)

        self.timer = QTimer(self)
        self.timer.setInterval(33)  # about 30 Hz
        self.timer.timeout.connect(self.redraw)
        self.timer.start()

    # -- slots (GUI thread) --------------------------------------------------------------------------
    def on_event(self, ev: Any) -> None:
        if isinstance(ev, E.EmotionFrames):
            self.curve_rate = ev.frame_rate
            for i, row in enumerate(ev.probs):
                self._frames.append(np.asarray(row, dtype=np.float32))
                self._frame_t.append(ev.start_s + i / ev.frame_rate)
            self._dirty = True
        elif isinstance(ev, E.SpeechEmotion) and ev.frames is not None and not self._frames:
            # file replay without live updates: show the finished utterance's curves
            for i, row in enumerate(ev.frames.probs):
                self._frames.append(np.asarray(row, dtype=np.float32))
                self._frame_t.append(ev.start_s + i / ev.frames.frame_rate)
            self._dirty = True
        elif isinstance(ev, E.AudioLevel):
            self.level.setValue(int(max(-60, min(0, ev.rms_dbfs))))
            self.speech_dot.setText(tr("speaking") if ev.in_speech else tr("silence"))
            self.speech_dot.setStyleSheet("color: #2ca02c; font-weight: bold" if ev.in_speech else "color: gray")
        elif isinstance(ev, E.PartialTranscript):
            self.partials.show(ev)
        elif isinstance(ev, E.SpeechDiscarded):
            self.partials.drop(ev.segment_id)
        elif isinstance(ev, E.Transcript):
            item = self.partials.finish(ev.segment_id) or QListWidgetItem()
            item.setText(f"{tr('You')}: {ev.text or tr('(no words recognised)')}")
            if self.chat.row(item) < 0:
                self.chat.addItem(item)
            self.pending[ev.segment_id or 0] = item
            self.trim_chat()
            self.chat.scrollToBottom()
        elif isinstance(ev, E.FusedEmotion):
            self._on_fused(ev)
        elif isinstance(ev, E.Reply):
            item = QListWidgetItem(f"{tr('Assistant')} ({tr(ev.tone)}): {ev.text}")
            item.setForeground(QBrush(QColor("#2c3e50")))
            item.setBackground(QBrush(QColor("#eef5ff")))
            self.chat.addItem(item)
            self.trim_chat()
            self.chat.scrollToBottom()
        elif isinstance(ev, E.MoodUpdate):
            self.valence.setValue(ev.state.valence)
            self.arousal.setValue(ev.state.arousal)
            value = float(ev.state.metric(self.cfg.alerts.metric) or 0.0)
            self.show_volatility(value)

    def trim_chat(self) -> None:
        """Keep the last ``CHAT_LIMIT`` lines: a day-long session would otherwise grow the list (and the
        window's memory) without end. Everything stays in the store; the Timeline tab shows all of it."""
        while self.chat.count() > CHAT_LIMIT:
            item = self.chat.takeItem(0)
            for seg in [s for s, info in self.turn_info.items() if info["item"] is item]:
                del self.turn_info[seg]
            for seg in [s for s, it in self.pending.items() if it is item]:
                del self.pending[seg]

    def show_volatility(self, value: float) -> None:
        """The bar, its colour, and the line in words: steady / changing / very changeable, and how close it
        is to the alert threshold (the same levels the alert policy uses: below exit, below enter, above)."""
        a = self.cfg.alerts
        level = volatility_level(value, a.enter, a.exit)
        color = {"steady": "#2ca02c", "changing": "#ff7f0e", "very_changeable": "#d62728"}[level]
        self.vol_bar.setOpts(height=[value], brush=color)
        word = tr({"steady": "steady", "changing": "changing", "very_changeable": "very changeable"}[level])
        share = round(100 * value / a.enter) if a.enter > 0 else 0
        self.vol_label.setText(
            f"{tr('Mood volatility')}: <b>{word}</b> ({value:.2f}; {tr('alert threshold')} {a.enter:.2f}, {share}%)"
        )
        self.vol_label.setStyleSheet(f"color: {color}")

    def _on_fused(self, ev: Any) -> None:
        self.turns += 1
        item = self.pending.pop(ev.segment_id or 0, None)
        if item is None:
            item = QListWidgetItem(f"{tr('You')}: …")
            self.chat.addItem(item)
        seg = ev.segment_id or 0
        self.turn_info[seg] = {"item": item, "words": item.text(), "label": ev.label, "conf": ev.confidence}
        self.turn_info[seg]["answered"] = {}
        item.setData(Qt.ItemDataRole.UserRole, seg)
        item.setText(f"{item.text()}   {chip_text(ev.label, ev.confidence, {}, self.zh)}")
        item.setForeground(QBrush(QColor(COLORS[ev.label])))
        tip = []
        if ev.speech is not None:
            tip.append(f"{tr('voice')}: {ev.speech.label} {ev.speech.confidence:.2f} ({ev.speech.backend})")
        if ev.text is not None:
            kw = f" [{', '.join(ev.text.keywords)}]" if ev.text.keywords else ""
            tip.append(f"{tr('words')}: {ev.text.label} {ev.text.confidence:.2f}{kw}")
        tip.append(f"{tr('fusion')}: {ev.rule}")
        item.setToolTip("\n".join(tip))

    # -- the chip's correction -----------------------------------------------------------------------
    def chip_menu(self, item: QListWidgetItem | None, pos: Any) -> Any:
        """The correction menu of a turn (None for items that are not a person's turn)."""
        seg = item.data(Qt.ItemDataRole.UserRole) if item is not None else None
        if not isinstance(seg, int) or seg not in self.turn_info or self.on_correct is None:
            return None
        info, segment = self.turn_info[seg], seg

        def pick(kind: str, label: str | None, undo: bool) -> None:
            self.answer(segment, kind, label, undo)

        menu = correction_menu(self, info["label"], info["answered"], self.zh, pick)
        if self.isVisible():
            menu.popup(self.chat.viewport().mapToGlobal(pos))
        return menu

    def answer(self, seg: int, kind: str, label: str | None, undo: bool = False) -> bool:
        """Send the answer; the chip shows it only once it is stored."""
        info = self.turn_info.get(seg)
        if info is None or self.on_correct is None or not self.on_correct(seg, kind, label, undo):
            return False
        now = self.stored_answer(seg, kind) if undo and self.stored_answer is not None else None
        if now is not None:  # an edit undone: the earlier answer is back
            info["answered"][kind] = now.get("label")
        elif undo:
            info["answered"].pop(kind, None)
        else:
            info["answered"][kind] = label
        info["item"].setText(f"{info['words']}   {chip_text(info['label'], info['conf'], info['answered'], self.zh)}")
        return True

    def redraw(self) -> None:
        if not self._dirty or not self._frames:
            return
        self._dirty = False
        probs = np.stack(list(self._frames))
        t = np.fromiter(self._frame_t, dtype=np.float64)
        n_show = self.cfg.ui.curve_labels
        top = set(np.argsort(probs[-min(len(probs), 100) :].mean(axis=0))[::-1][:n_show])
        joined = curve_connections(t)
        for i, lab in enumerate(LABELS):
            if i in top:
                self.curves[lab].setData(t, probs[:, i], connect=joined)
            else:
                self.curves[lab].setData([], [])
        self.plot.setXRange(max(t[-1] - WINDOW_S, t[0]), max(t[-1], t[0] + 1), padding=0)

    @property
    def frame_count(self) -> int:
        return len(self._frames)


def curve_connections(t: np.ndarray, gap_s: float = GAP_S) -> np.ndarray:
    """For pyqtgraph's ``connect``: 1 where a frame is joined to the next, 0 across a silence (frames more
    than ``gap_s`` apart) or where time goes back (a new utterance's frames overlapping the last ones)."""
    out = np.zeros(len(t), dtype=np.int32)
    if len(t) > 1:
        d = np.diff(t)
        out[:-1] = (d > 0) & (d <= gap_s)
    return out
