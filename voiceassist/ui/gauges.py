"""A labelled gauge for a value on the -1 .. +1 scale (valence, arousal): the bar grows from the middle (0)
towards the side of the sign, the ends are labelled (-1 and its meaning, +1 and its meaning), the value
is written on it, and the tooltip says in one line what the scale means."""

from __future__ import annotations

from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QColor, QPainter, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget


class ScaleGauge(QWidget):
    def __init__(
        self, name: str, low: str, high: str, tip: str, color: str = "#1f77b4", parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.name, self.low, self.high = name, low, high
        self.color = QColor(color)
        self._value: float | None = None
        self.label_width = 0
        """At least this wide for the name and value (gauges one above the other line up)."""
        self.setToolTip(tip)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setMinimumHeight(38)

    def sizeHint(self) -> QSize:
        return QSize(320, 40)

    def setValue(self, value: float | None) -> None:
        """A value in [-1, 1] (clipped); None: nothing yet."""
        self._value = None if value is None else max(-1.0, min(1.0, float(value)))
        self.update()

    def value(self) -> float | None:
        return self._value

    def text(self) -> str:
        v = "-" if self._value is None else f"{self._value:+.2f}"
        return f"{self.name} {v}"

    def paintEvent(self, _event: object) -> None:
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        fm = p.fontMetrics()
        w, h = self.width(), self.height()
        label_w = max(fm.horizontalAdvance(f"{self.name} +0.00"), self.label_width) + 12
        p.setPen(QColor("#222222"))
        p.drawText(QRectF(2, 2, label_w, h - fm.height() - 6), Qt.AlignmentFlag.AlignVCenter, self.text())
        bar = QRectF(label_w + 4, 2, max(40, w - label_w - 8), h - fm.height() - 6)
        p.setPen(QPen(QColor("#999999"), 1))
        p.setBrush(QColor("#f0f0f0"))
        p.drawRoundedRect(bar, 3, 3)
        mid = bar.left() + bar.width() / 2
        if self._value is not None:
            x = mid + self._value * bar.width() / 2
            fill = QRectF(min(mid, x), bar.top() + 1, abs(x - mid), bar.height() - 2)
            p.setPen(Qt.PenStyle.NoPen)
            p.setBrush(self.color)
            p.drawRect(fill)
        p.setPen(QPen(QColor("#333333"), 1))
        p.drawLine(int(mid), int(bar.top()), int(mid), int(bar.bottom()))
        rect = QRectF(bar.left(), int(bar.bottom()) + 2, bar.width(), fm.height() + 2)
        p.setPen(QColor("#555555"))
        p.drawText(rect, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop, f"-1 {self.low}")
        p.drawText(rect, Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop, "0")
        p.drawText(rect, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignTop, f"{self.high} +1")
        p.end()
