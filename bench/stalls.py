"""The GUI-stall meter the window benches share: a QTimer ticking every 5 ms in the GUI thread records the
gaps between its ticks; a gap well over 5 ms is a time the window could not answer (a stall)."""

from __future__ import annotations


class StallMeter:
    """Starts ticking when made (a QApplication must exist). ``gaps``: ms between ticks; ``times``: when
    each tick came (s on ``clock``)."""

    def __init__(self, interval_ms: int = 5) -> None:
        from PySide6.QtCore import QElapsedTimer, QTimer

        self.clock = QElapsedTimer()
        self.clock.start()
        self.gaps: list[float] = []
        self.times: list[float] = []
        self._last = self.clock.nsecsElapsed()
        self.timer = QTimer()
        self.timer.setInterval(interval_ms)
        self.timer.timeout.connect(self._tick)
        self.timer.start()

    def _tick(self) -> None:
        now = self.clock.nsecsElapsed()
        self.gaps.append((now - self._last) / 1e6)
        self.times.append(now / 1e9)
        self._last = now

    def now_s(self) -> float:
        return self.clock.nsecsElapsed() / 1e9

    def restart(self) -> None:
        """Forget the gaps so far (in place: names bound to ``gaps`` and ``times`` see it); count from now."""
        self.gaps.clear()
        self.times.clear()
        self._last = self.clock.nsecsElapsed()
