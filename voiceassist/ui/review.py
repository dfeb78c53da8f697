"""The "Mood over time" tab: mood across sessions, one point per day (or per week) over a range you pick:
mean valence and arousal against the person's own baseline band, volatility with the alert threshold,
alerts and the person's corrections marked, the share of each emotion and the minutes talked; the key
figures in words, compared with a second range; click a day for its sessions, open one in the Timeline;
write the caregiver report. The numbers come from voiceassist/review (the same as `voiceassist report`)."""

from __future__ import annotations

import html
import logging
import threading
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from PySide6.QtCore import QCoreApplication, QDate, Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDateEdit,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from voiceassist.review.history import History, Period, day_start, load_history, previous_range
from voiceassist.review.report import EmptyRange, ReportOptions, key_figures
from voiceassist.ui.review_charts import MoodCharts, _x

log = logging.getLogger(__name__)
PRESETS = (("Last 4 weeks", 28), ("Last 3 months", 91), ("Last 6 months", 182), ("Everything", 0), ("Custom", -1))


def tr(text: str) -> str:
    return QCoreApplication.translate("VoiceAssist", text)


def _qdate(d: date) -> QDate:
    return QDate(d.year, d.month, d.day)


def _pydate(q: QDate) -> date:
    return date(q.year(), q.month(), q.day())


class ReviewTab(QWidget):
    open_session = Signal(int)
    """The person asked to see a session in the Timeline."""
    _report_done = Signal(str)

    def __init__(self, cfg: Any, store: Any, zh: bool = False, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.cfg, self.store, self.zh = cfg, store, zh
        self.lang = "zh" if zh else "en"
        self.history: History | None = None
        self.other: History | None = None
        self.periods: list[Period] = []
        self.selected: date | None = None
        self.report_thread: threading.Thread | None = None

        self.preset = QComboBox()
        for name, days in PRESETS:
            self.preset.addItem(tr(name), days)
        today = date.today()
        self.start_edit, self.end_edit = QDateEdit(_qdate(today - timedelta(days=27))), QDateEdit(_qdate(today))
        self.cmp_start, self.cmp_end = QDateEdit(), QDateEdit()
        for e in (self.start_edit, self.end_edit, self.cmp_start, self.cmp_end):
            e.setCalendarPopup(True)
            e.setDisplayFormat("yyyy-MM-dd")
        self.by = QComboBox()
        self.by.addItem(tr("by day"), "day")
        self.by.addItem(tr("by week"), "week")
        self.compare = QCheckBox(tr("Compare with"))
        self.compare.setChecked(True)
        self.report_btn = QPushButton(tr("Caregiver report..."))
        top = QHBoxLayout()
        for w in (self.preset, self.start_edit, QLabel("-"), self.end_edit, self.by, self.compare):
            top.addWidget(w)
        for w in (self.cmp_start, QLabel("-"), self.cmp_end):
            top.addWidget(w)
        top.addStretch(1)
        top.addWidget(self.report_btn)

        self.charts = MoodCharts(cfg)
        self.plot, self.bars = self.charts.plot, self.charts.bars

        self.summary = QLabel()
        self.summary.setWordWrap(True)
        self.summary.setTextFormat(Qt.TextFormat.RichText)
        self.note = QLabel(
            tr(
                "The shaded band is your own usual range (your daily mean valence, plus or minus one standard "
                "deviation, over the 4 weeks before the range): a baseline from you, not a population norm."
            )
        )
        self.note.setWordWrap(True)
        self.note.setStyleSheet("color: #555")
        self.day_label = QLabel(tr("Click a day to see its conversations."))
        self.day_label.setWordWrap(True)
        self.day_sessions = QListWidget()
        self.open_btn = QPushButton(tr("Open in Timeline"))
        self.open_btn.setEnabled(False)

        self.day_sessions.setWordWrap(True)
        side = QWidget()
        side.setMinimumWidth(280)
        sl = QVBoxLayout(side)
        sl.setContentsMargins(0, 0, 0, 0)
        sl.addWidget(self.day_label)
        sl.addWidget(self.day_sessions, 1)
        sl.addWidget(self.open_btn)
        charts = QWidget()
        cl = QVBoxLayout(charts)
        cl.setContentsMargins(0, 0, 0, 0)
        cl.addWidget(self.plot, 3)
        cl.addWidget(self.bars, 1)
        split = QSplitter()
        split.addWidget(charts)
        split.addWidget(side)
        split.setStretchFactor(0, 4)
        split.setStretchFactor(1, 1)
        root = QVBoxLayout(self)
        root.addLayout(top)
        root.addWidget(split, 1)
        root.addWidget(self.summary)
        root.addWidget(self.note)

        self.preset.currentIndexChanged.connect(self._preset_changed)
        for e in (self.start_edit, self.end_edit, self.cmp_start, self.cmp_end):
            e.dateChanged.connect(self._edited)
        self.by.currentIndexChanged.connect(lambda _i: self.reload())
        self.compare.toggled.connect(lambda _on: self.reload())
        self.plot.scene().sigMouseClicked.connect(self._plot_clicked)
        self.day_sessions.itemDoubleClicked.connect(self._open_item)
        self.day_sessions.currentItemChanged.connect(lambda cur, _prev: self.open_btn.setEnabled(cur is not None))
        self.open_btn.clicked.connect(lambda: self._open_item(self.day_sessions.currentItem()))
        self.report_btn.clicked.connect(self._ask_report)
        self._report_done.connect(self._report_finished)
        self._loading = False
        self._set_previous_range()
        self.reload()
        if store is not None and cfg.privacy.weekly_report:
            self.send_weekly_if_due()

    def send_weekly_if_due(self) -> threading.Thread:
        """Last week's report to the caregiver, if the person agreed and it was not sent yet (helper thread)."""
        from voiceassist.review.weekly import send_weekly_report

        def work() -> None:
            try:
                log.info("weekly report: %s", send_weekly_report(self.cfg, self.store, language=self.lang).message)
            except Exception:
                log.error("weekly report failed", exc_info=True)

        thread = threading.Thread(target=work, name="voiceassist-weekly-report", daemon=True)
        thread.start()
        return thread

    # -- range ---------------------------------------------------------------------------------------
    @property
    def range(self) -> tuple[date, date]:
        return _pydate(self.start_edit.date()), _pydate(self.end_edit.date())

    def set_range(self, start: date, end: date, compare_to: tuple[date, date] | None = None) -> None:
        self._loading = True
        try:
            self.preset.setCurrentIndex(len(PRESETS) - 1)
            self.start_edit.setDate(_qdate(start))
            self.end_edit.setDate(_qdate(end))
            if compare_to is None:
                self._set_previous_range()
            else:
                self.cmp_start.setDate(_qdate(compare_to[0]))
                self.cmp_end.setDate(_qdate(compare_to[1]))
        finally:
            self._loading = False
        self.reload()

    def _set_previous_range(self) -> None:
        a, b = previous_range(*self.range) if self.range[1] >= self.range[0] else self.range
        for edit, d in ((self.cmp_start, a), (self.cmp_end, b)):
            edit.blockSignals(True)
            edit.setDate(_qdate(d))
            edit.blockSignals(False)

    def _preset_changed(self, index: int) -> None:
        days = int(self.preset.itemData(index))
        if days < 0 or self._loading:
            return
        end = date.today()
        start = end - timedelta(days=days - 1) if days else self._first_day() or end
        self._loading = True
        self.start_edit.setDate(_qdate(start))
        self.end_edit.setDate(_qdate(end))
        self._set_previous_range()
        self._loading = False
        self.reload()

    def _first_day(self) -> date | None:
        if self.store is None:
            return None
        rows = self.store.db.query("SELECT MIN(started_at) FROM sessions")
        return date.fromtimestamp(rows[0][0]) if rows and rows[0][0] is not None else None

    def _edited(self, _d: QDate) -> None:
        if self._loading:
            return
        if self.sender() in (self.start_edit, self.end_edit):
            self._set_previous_range()
        self.reload()

    # -- loading and drawing -------------------------------------------------------------------------
    def reload(self) -> None:
        start, end = self.range
        self.history, self.other = None, None
        if self.store is None:
            self._show_message(tr("No session store: sessions are not being kept (store.enabled is off)."))
            return
        if end < start:
            self._show_message(tr("The range ends before it starts: pick a later end date."))
            return
        metric = self.cfg.alerts.metric
        self.history = load_history(self.store, start, end, metric)
        if self.compare.isChecked():
            c0, c1 = _pydate(self.cmp_start.date()), _pydate(self.cmp_end.date())
            if c1 >= c0:
                self.other = load_history(self.store, c0, c1, metric, baseline_days=0)
        self._draw()

    def _show_message(self, text: str) -> None:
        self.periods = []
        self.charts.clear()
        self.summary.setText(f"<b>{text}</b>")
        self.day_sessions.clear()

    def _draw(self) -> None:
        h = self.history
        assert h is not None
        if h.empty:
            self._show_message(tr("No conversations between {start} and {end}.").format(start=h.start, end=h.end))
            self.plot.setXRange(day_start(h.start), day_start(h.end + timedelta(days=1)), padding=0.02)
            return
        weekly = self.by.currentData() == "week"
        self.periods = h.weeks() if weekly else h.days
        self.charts.draw(h, self.periods, self.other, weekly, self.lang)
        opts = ReportOptions.from_config(self.cfg, self.lang)
        lines = key_figures(h, opts, self.other if self.other is not None and not self.other.empty else None)
        from voiceassist.review.words import t

        head = t("compare_head", self.lang, start=self.other.start, end=self.other.end) if self.other else None
        cut = lines.index(head) if head in lines else len(lines)
        sep = "" if self.zh else " "
        text = html.escape(sep.join(lines[:cut]))
        if cut < len(lines):
            text += "<br><b>" + html.escape(lines[cut]) + "</b> " + html.escape(sep.join(lines[cut + 1 :]))
        self.summary.setText(text)
        if self.selected is None or h.day(self.selected) is None:  # the latest day with a conversation
            self.selected = next((p.start for p in reversed(h.days) if not p.empty), None)
        if self.selected is not None:
            self.select_day(self.selected)

    # -- days and sessions ---------------------------------------------------------------------------
    def _plot_clicked(self, ev: Any) -> None:
        if not self.periods:
            return
        x = self.plot.getPlotItem().vb.mapSceneToView(ev.scenePos()).x()
        self.select_day(date.fromtimestamp(max(0.0, x)))

    def select_day(self, d: date) -> None:
        """Show the conversations of day ``d`` (in week mode: of its week)."""
        h = self.history
        if h is None:
            return
        period = next((p for p in self.periods if p.start <= d <= p.end), None)
        self.selected = d
        self.day_sessions.clear()
        if period is None:
            return
        self.charts.day_marker.setPos(_x(period))
        self.charts.day_marker.setVisible(True)
        spans = [s for s in h.spans if period.start <= s.day <= period.end]
        when = str(period.start) if period.days == 1 else f"{period.start} - {period.end}"
        if not spans:
            self.day_label.setText(f"{when}: {tr('no conversations')}")
            return
        v = "-" if period.valence is None else f"{period.valence:+.2f}"
        self.day_label.setText(
            f"{when}: {len(spans)} {tr('conversations')}, {period.minutes:.1f} {tr('minutes talked')}, "
            f"{tr('valence')} {v}"
        )
        for s in spans:
            t0 = time.strftime("%Y-%m-%d %H:%M", time.localtime(s.started_at))
            t1 = time.strftime("%H:%M", time.localtime(s.ended_at))
            state = {"abrupt": f" - {tr('ended abruptly')}", "open": f" - {tr('still recording')}"}.get(s.state, "")
            item = QListWidgetItem(f"#{s.id}  {t0}-{t1}  ({s.utterances} {tr('utterances')}){state}")
            item.setData(Qt.ItemDataRole.UserRole, s.id)
            self.day_sessions.addItem(item)
        self.day_sessions.setCurrentRow(0)

    def _open_item(self, item: QListWidgetItem | None) -> None:
        if item is not None:
            self.open_session.emit(int(item.data(Qt.ItemDataRole.UserRole)))

    # -- the caregiver report ------------------------------------------------------------------------
    def _ask_report(self) -> None:
        start, end = self.range
        path, _ = QFileDialog.getSaveFileName(
            self, tr("Caregiver report"), f"report-{start}-{end}.html", "HTML (*.html)"
        )
        if path:
            self.write_report(Path(path))

    def write_report(self, path: Path) -> threading.Thread:
        """Write the report on a helper thread (charts take a moment); the summary line says when it is done."""
        from voiceassist.review.report import write_report

        start, end = self.range
        opts = ReportOptions.from_config(self.cfg, self.lang)
        self.report_btn.setEnabled(False)

        def work() -> None:
            try:
                write_report(self.store, start, end, path, opts)
                self._report_done.emit(f"{tr('Report written to')} {path}")
            except EmptyRange as e:
                self._report_done.emit(str(e))
            except Exception as e:  # shown, never a crash
                log.error("report failed", exc_info=True)
                self._report_done.emit(f"{tr('The report could not be written')}: {e}")

        self.report_thread = threading.Thread(target=work, name="voiceassist-report", daemon=True)
        self.report_thread.start()
        return self.report_thread

    def _report_finished(self, message: str) -> None:
        self.report_btn.setEnabled(True)
        self.report_status = message
        self.day_label.setText(message)
