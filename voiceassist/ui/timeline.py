"""The timeline tab: pick a past session; its mood over time (valence, arousal, volatility, alert markers);
click a point for the utterance, its scores and (if kept) its audio; export or delete the session."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QCoreApplication, Qt
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QMessageBox,
    QPushButton,
    QTextEdit,
    QVBoxLayout,
    QWidget,
)

from voiceassist.audio.chunk import SAMPLE_RATE, int16_to_float32
from voiceassist.storage import SessionStore


def tr(text: str) -> str:
    return QCoreApplication.translate("VoiceAssist", text)


class TimelineTab(QWidget):
    def __init__(self, store: SessionStore | None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.store = store
        self.session_id: int | None = None
        self.utterances: list[dict[str, Any]] = []
        self.sessions = QComboBox()
        self.refresh_btn = QPushButton(tr("Refresh"))
        self.export_json_btn = QPushButton(tr("Export JSON"))
        self.export_csv_btn = QPushButton(tr("Export CSV"))
        self.export_npy_btn = QPushButton(tr("Export embeddings"))
        self.replay_btn = QPushButton(tr("Replay audio"))
        self.replay_btn.setEnabled(False)
        self.delete_btn = QPushButton(tr("Delete session"))
        self.plot = pg.PlotWidget()
        self.plot.setBackground("w")
        self.plot.addLegend(offset=(5, 5))
        self.plot.setLabel("bottom", tr("seconds into the session"))
        self.plot.setYRange(-1, 1.6)
        self.valence = self.plot.plot(
            [],
            [],
            pen=pg.mkPen("#1f77b4", width=2),
            symbol="o",
            symbolSize=9,
            symbolBrush="#1f77b4",
            name=tr("valence"),
        )
        self.arousal = self.plot.plot(
            [],
            [],
            pen=pg.mkPen("#ff7f0e", width=2),
            symbol="t",
            symbolSize=9,
            symbolBrush="#ff7f0e",
            name=tr("arousal"),
        )
        self.volatility = self.plot.plot(
            [], [], pen=pg.mkPen("#d62728", width=2, style=Qt.PenStyle.DashLine), name=tr("volatility")
        )
        self.alert_lines: list[pg.InfiniteLine] = []
        self.valence.sigPointsClicked.connect(self._clicked)
        self.arousal.sigPointsClicked.connect(self._clicked)
        self.details = QTextEdit()
        self.details.setReadOnly(True)
        self.details.setMaximumHeight(170)

        top = QHBoxLayout()
        for w in (
            self.sessions,
            self.refresh_btn,
            self.export_json_btn,
            self.export_csv_btn,
            self.export_npy_btn,
            self.replay_btn,
            self.delete_btn,
        ):
            top.addWidget(w)
        top.addStretch(1)
        root = QVBoxLayout(self)
        root.addLayout(top)
        root.addWidget(self.plot, 1)
        root.addWidget(self.details)
        self.sessions.currentIndexChanged.connect(self._session_changed)
        self.refresh_btn.clicked.connect(self.reload)
        self.export_json_btn.clicked.connect(lambda: self._export("json"))
        self.export_csv_btn.clicked.connect(lambda: self._export("csv"))
        self.export_npy_btn.clicked.connect(lambda: self._export("npy"))
        self.delete_btn.clicked.connect(self._delete)
        self.replay_btn.clicked.connect(self._replay)
        self._selected: dict[str, Any] | None = None
        self.reload()

    def reload(self) -> None:
        import time

        self.sessions.blockSignals(True)
        self.sessions.clear()
        if self.store is not None:
            for s in self.store.sessions():
                when = time.strftime("%Y-%m-%d %H:%M", time.localtime(s.started_at))
                abrupt = f"  - {tr('ended abruptly')}" if s.ended_abruptly else ""
                self.sessions.addItem(f"#{s.id}  {when}  ({s.utterances} {tr('utterances')}){abrupt}", s.id)
        self.sessions.blockSignals(False)
        if self.sessions.count():
            self.sessions.setCurrentIndex(0)
            self._session_changed(0)

    def show_session(self, session_id: int) -> bool:
        """Select a session (from the "Mood over time" tab); False if it is not in the store (any more)."""
        index = self.sessions.findData(session_id)
        if index < 0:
            self.reload()
            index = self.sessions.findData(session_id)
        if index < 0:
            return False
        self.sessions.setCurrentIndex(index)
        if self.session_id != session_id:
            self.load_session(session_id)
        return True

    def _session_changed(self, index: int) -> None:
        if self.store is None or index < 0:
            return
        self.load_session(int(self.sessions.itemData(index)))

    def load_session(self, session_id: int) -> None:
        assert self.store is not None
        self.session_id = session_id
        self.utterances = [u for u in self.store.utterances(session_id) if u["fused_label"]]
        t = np.array([u["start_s"] for u in self.utterances], dtype=float)
        self.valence.setData(t, [u["valence"] for u in self.utterances])
        self.arousal.setData(t, [u["arousal"] for u in self.utterances])
        moods = {m["segment_id"]: m for m in self.store.moods(session_id)}
        vol = [moods.get(u["segment_id"], {}).get("rmssd_valence", 0.0) for u in self.utterances]
        self.volatility.setData(t, vol)
        for line in self.alert_lines:
            self.plot.removeItem(line)
        self.alert_lines = []
        starts = {u["segment_id"]: u["start_s"] for u in self.utterances}
        for a in self.store.alerts(session_id):
            x = starts.get(a["segment_id"])
            if x is None:
                continue
            color = {"urgent": "#d62728", "warning": "#ff7f0e"}.get(a["severity"], "#9467bd")
            line = pg.InfiniteLine(
                pos=x,
                angle=90,
                pen=pg.mkPen(color, width=2),
                label=f"{a['severity']}: {a['kind']}",
                labelOpts={"position": 0.95, "color": color},
            )
            self.plot.addItem(line)
            self.alert_lines.append(line)
        self._show_corrections(session_id, starts)
        self.details.setPlainText(
            tr("Click a point to see the utterance.") if self.utterances else tr("No utterances in this session.")
        )

    def _show_corrections(self, session_id: int, starts: dict[int, float]) -> None:
        """The person's corrections and reply ratings: a mark above each corrected utterance."""
        from voiceassist.storage.feedback import list_feedback

        assert self.store is not None
        for mark in getattr(self, "correction_marks", []):
            self.plot.removeItem(mark)
        self.correction_marks: list[Any] = []
        self.corrections: dict[int, dict[str, dict[str, Any]]] = {}
        for f in list_feedback(self.store, session_id=session_id):
            self.corrections.setdefault(f["segment_id"], {})[f["kind"]] = f
        for seg, answers in self.corrections.items():
            x = starts.get(seg)
            if x is None or "emotion" not in answers:
                continue
            text = "✓ " + (answers["emotion"]["label"] or tr("not sure"))
            mark = pg.TextItem(text, color="#2ca02c", anchor=(0.5, 0))
            mark.setPos(x, 1.55)
            self.plot.addItem(mark)
            self.correction_marks.append(mark)

    def _clicked(self, item: Any, points: Any, ev: Any = None) -> None:
        if not len(points):
            return
        x = points[0].pos().x()
        u = min(self.utterances, key=lambda u: abs(u["start_s"] - x))
        self.show_utterance(u)

    def show_utterance(self, u: dict[str, Any]) -> None:
        self._selected = u
        fused = u["fused"] or {}
        scores = ", ".join(
            f"{k} {v:.2f}" for k, v in sorted((fused.get("scores") or {}).items(), key=lambda kv: -kv[1])[:4]
        )
        lines = [
            f"[{u['start_s']:.1f}-{u['end_s']:.1f} s] {u['text']}",
            f"{tr('fused')}: {u['fused_label']} {u['confidence'] or 0:.2f}  ({scores})",
        ]
        if u["speech"]:
            lines.append(
                f"{tr('voice')}: {u['speech']['label']} {u['speech']['confidence']:.2f} ({u['speech']['backend']})"
            )
        if u["text_emotion"]:
            lines.append(f"{tr('words')}: {u['text_emotion']['label']} {u['text_emotion']['confidence']:.2f}")
        if u["reply"]:
            lines.append(f"{tr('Assistant')}: {u['reply']}")
        answers = getattr(self, "corrections", {}).get(u["segment_id"], {})
        if "emotion" in answers:
            a = answers["emotion"]
            edits = f" ({tr('edited')} {len(a['history'])}x)" if a.get("history") else ""
            lines.append(f"{tr('your correction')}: {a['label'] or tr('not sure')}{edits}")
        if "reply" in answers:
            lines.append(f"{tr('your rating of the reply')}: {answers['reply']['label']}")
        self.details.setPlainText("\n".join(lines))
        self.replay_btn.setEnabled(u["audio"] is not None)

    def _replay(self) -> None:
        if self._selected is None or self._selected["audio"] is None:
            return
        from voiceassist.tts import Player, TtsError

        audio = int16_to_float32(self._selected["audio"])
        import threading

        def play() -> None:
            with contextlib.suppress(TtsError):
                Player().play(audio, SAMPLE_RATE)

        threading.Thread(target=play, daemon=True).start()

    def _export(self, kind: str) -> None:
        if self.store is None or self.session_id is None:
            return
        if kind == "npy":
            folder = QFileDialog.getExistingDirectory(self, tr("Export embeddings to"))
            if folder:
                files = self.store.export_embeddings(self.session_id, Path(folder))
                QMessageBox.information(self, tr("Export"), f"{len(files)} {tr('files written')}")
            return
        path, _ = QFileDialog.getSaveFileName(self, tr("Export session"), f"session{self.session_id}.{kind}")
        if not path:
            return
        self.export_to(Path(path), kind)

    def export_to(self, path: Path, kind: str) -> None:
        assert self.store is not None and self.session_id is not None
        text = (
            json.dumps(self.store.export_json(self.session_id), ensure_ascii=False, indent=2)
            if kind == "json"
            else self.store.export_csv(self.session_id)
        )
        path.write_text(text, encoding="utf-8")

    def _delete(self) -> None:
        if self.store is None or self.session_id is None:
            return
        answer = QMessageBox.question(self, tr("Delete session"), tr("Delete this session and everything in it?"))
        if answer == QMessageBox.StandardButton.Yes:
            self.store.delete_session(self.session_id)
            self.reload()
