"""The charts of the "Mood over time" tab (pyqtgraph): mean valence and arousal per day or week with gaps on
days without conversation, the person's own baseline band, volatility and the alert threshold, alerts and
corrections marked, the range compared drawn dotted on the same days; below, the share of each emotion."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QCoreApplication, Qt

from voiceassist.emotion.labels import LABEL_COLORS as COLORS
from voiceassist.emotion.labels import LABELS
from voiceassist.review.history import History, Period, day_start
from voiceassist.review.words import label_name


def tr(text: str) -> str:
    return QCoreApplication.translate("VoiceAssist", text)


def _x(p: Period) -> float:
    """The middle of the period, as unix time (the date axis)."""
    return day_start(p.start) + (p.days * 86400) / 2


class MoodCharts:
    def __init__(self, cfg: Any) -> None:
        axis = {"bottom": pg.DateAxisItem(orientation="bottom")}
        self.plot = pg.PlotWidget(axisItems=axis)
        self.plot.setBackground("w")
        self.plot.addLegend(offset=(5, 1), colCount=7)
        self.plot.setYRange(-1.05, 1.3, padding=0)
        self.plot.setMouseEnabled(x=True, y=False)
        self.plot.setLabel("left", tr("mean per day (-1 .. +1)"))
        self.band_lo = pg.PlotCurveItem([], [], pen=pg.mkPen(None))
        self.band_hi = pg.PlotCurveItem([], [], pen=pg.mkPen(None))
        self.band = pg.FillBetweenItem(self.band_lo, self.band_hi, brush=pg.mkBrush(31, 119, 180, 40))
        self.plot.addItem(self.band)
        self.valence = self.plot.plot([], [], pen=pg.mkPen("#1f77b4", width=2), symbol="o", symbolSize=7,
                                      symbolBrush="#1f77b4", name=tr("valence"), connect="finite")  # fmt: skip
        self.arousal = self.plot.plot([], [], pen=pg.mkPen("#ff7f0e", width=2), symbol="t", symbolSize=7,
                                      symbolBrush="#ff7f0e", name=tr("arousal"), connect="finite")  # fmt: skip
        self.volatility = self.plot.plot([], [], pen=pg.mkPen("#d62728", width=2, style=Qt.PenStyle.DashLine),
                                         name=tr("volatility"), connect="finite")  # fmt: skip
        self.compared = self.plot.plot([], [], pen=pg.mkPen("#7f7f7f", width=1, style=Qt.PenStyle.DotLine),
                                       name=tr("valence, compared range"), connect="finite")  # fmt: skip
        dotted = pg.mkPen("#d62728", style=Qt.PenStyle.DotLine)
        self.threshold = pg.InfiniteLine(pos=cfg.alerts.enter, angle=0, pen=dotted,
                                         label=f"{tr('alert threshold')} {cfg.alerts.enter:.2f}",
                                         labelOpts={"position": 0.85, "color": "#d62728"})  # fmt: skip
        self.plot.addItem(self.threshold)
        self.alerts = pg.ScatterPlotItem(symbol="t", size=12, brush="#d62728", pen=None, name=tr("alert"))
        self.corrections = pg.ScatterPlotItem(symbol="x", size=10, brush="#9467bd", pen=None, name=tr("correction"))
        for item in (self.alerts, self.corrections):
            self.plot.addItem(item)
        self.day_marker = pg.InfiniteLine(angle=90, pen=pg.mkPen("#2ca02c", width=1))
        self.day_marker.setVisible(False)
        self.plot.addItem(self.day_marker)
        self.bars = pg.PlotWidget(axisItems={"bottom": pg.DateAxisItem(orientation="bottom")})
        self.bars.setBackground("w")
        self.bars.setMaximumHeight(170)
        self.bars.setYRange(0, 1)
        self.bars.setMouseEnabled(x=True, y=False)
        self.bars.setLabel("left", tr("share of emotions"))
        self.bars.setXLink(self.plot)
        self.bar_items: list[pg.BarGraphItem] = []

    def clear(self) -> None:
        for c in (self.valence, self.arousal, self.volatility, self.compared, self.band_lo, self.band_hi):
            c.setData([], [])
        self.alerts.setData([], [])
        self.corrections.setData([], [])
        self._clear_bars()
        self.day_marker.setVisible(False)

    def _clear_bars(self) -> None:
        for item in self.bar_items:
            self.bars.removeItem(item)
        self.bar_items.clear()

    def draw(self, h: History, periods: list[Period], other: History | None, weekly: bool, lang: str = "en") -> None:
        xs = np.array([_x(p) for p in periods])
        nan = float("nan")
        self.valence.setData(xs, [nan if p.valence is None else p.valence for p in periods])
        self.arousal.setData(xs, [nan if p.arousal is None else p.arousal for p in periods])
        self.volatility.setData(xs, [nan if p.volatility is None else p.volatility for p in periods])
        lo, hi = day_start(h.start), day_start(h.end + timedelta(days=1))
        b = h.baseline
        if b is not None:
            self.band_lo.setData([lo, hi], [b.valence - b.valence_sd] * 2)
            self.band_hi.setData([lo, hi], [b.valence + b.valence_sd] * 2)
        else:
            self.band_lo.setData([], [])
            self.band_hi.setData([], [])
        if other is not None and not other.empty:
            theirs = other.weeks() if weekly else other.days
            shift = day_start(h.start) - day_start(other.start)
            ox = np.array([_x(p) + shift for p in theirs])
            self.compared.setData(ox, [nan if p.valence is None else p.valence for p in theirs])
        else:
            self.compared.setData([], [])
        alert_x = sorted({day_start(m.day) + 43200 for m in h.marks if m.kind != "emotion"})
        corr_x = sorted({day_start(m.day) + 43200 for m in h.marks if m.kind == "emotion"})
        self.alerts.setData(alert_x, [1.07] * len(alert_x))
        self.corrections.setData(corr_x, [-0.95] * len(corr_x))
        self._clear_bars()
        width = 0.8 * 86400 * (7 if weekly else 1)
        bottom = np.zeros(len(periods))
        for lab in LABELS:
            share = np.array([p.shares.get(lab, 0.0) for p in periods])
            if share.any():
                item = pg.BarGraphItem(x=xs, y0=bottom.copy(), height=share, width=width, brush=COLORS[lab], pen=None)
                item.setToolTip(label_name(lab, lang))
                self.bars.addItem(item)
                self.bar_items.append(item)
                bottom += share
        self.plot.setXRange(lo, hi, padding=0.02)
