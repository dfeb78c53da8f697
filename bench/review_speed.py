"""Mood over days and weeks with months of data: load time of the across-sessions view against the
one-session view (the Timeline) in the same run, and how responsive the view stays while it is scrolled.

Run (offscreen, no display needed):  QT_QPA_PLATFORM=offscreen .venv/bin/python bench/review_speed.py

1. A store with 6 months of one conversation a day (about 12 utterances each, with moods, alerts and
   corrections) is written through the SessionStore (voiceassist/review/sample.py).
2. Load: the "Mood over time" tab set to the last 6 months (query, sums, drawing, processed events), and the
   Timeline loading one session; each 7 times, medians; the ratio of the two. Target: under 1 s.
3. Scrolling: the view shows 4 weeks and is panned across the 6 months in 120 steps, each step repainted
   (``repaint()``), the way a drag scrolls it; and the same for the one-session view over its minutes. A
   5 ms QTimer records the event-loop gaps meanwhile (as bench/gui_responsiveness.py). Target: longest
   stall <= 50 ms.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.stalls import StallMeter

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def main() -> None:
    from PySide6.QtWidgets import QApplication

    from voiceassist.config import load_config
    from voiceassist.review.history import day_start
    from voiceassist.review.sample import write_sample_history
    from voiceassist.storage import SessionStore
    from voiceassist.ui.review import ReviewTab
    from voiceassist.ui.timeline import TimelineTab

    app = QApplication.instance() or QApplication([])
    tmp = Path(tempfile.mkdtemp())
    store = SessionStore(tmp / "s.db")
    t0 = time.perf_counter()
    ids = write_sample_history(store, 183, seed=1)
    n_utt = sum(s.utterances for s in store.sessions())
    print(
        f"== store: {len(ids)} sessions, {n_utt} utterances over 183 days, written in {time.perf_counter() - t0:.1f} s"
    )
    cfg = load_config(None, ["tts.enabled=false"])
    review = ReviewTab(cfg, store)
    review.resize(1200, 800)
    review.show()
    timeline = TimelineTab(store)
    timeline.resize(1200, 800)
    timeline.show()
    app.processEvents()
    end = date.today()
    start = end - timedelta(days=181)
    one = ids[len(ids) // 2]

    def timed(fn) -> float:
        t = time.perf_counter()
        fn()
        app.processEvents()
        return time.perf_counter() - t

    across, single = [], []
    for i in range(7):  # alternated, so both see the same machine load
        across.append(timed(lambda i=i: review.set_range(start - timedelta(days=i % 2), end)))
        single.append(timed(lambda: timeline.load_session(one)))
    a, s = statistics.median(across), statistics.median(single)
    print("== load (median of 7, incl. drawing)")
    print(f"across sessions, 6 months ({len(review.periods)} days): {a * 1000:7.1f} ms (max {max(across) * 1000:.1f})")
    print(f"one session ({len(timeline.utterances)} utterances):   {s * 1000:7.1f} ms (max {max(single) * 1000:.1f})")
    print(f"ratio across / one: {a / s:.1f}x")

    meter = StallMeter()
    gaps = meter.gaps

    def scroll(widget, plot, lo: float, hi: float, window: float, steps: int = 120) -> tuple[list[float], list[float]]:
        meter.restart()
        per_step = []
        for x in np.linspace(lo, hi - window, steps):
            t = time.perf_counter()
            plot.setXRange(x, x + window, padding=0)
            widget.repaint()
            app.processEvents()
            per_step.append((time.perf_counter() - t) * 1000)
            time.sleep(0.004)  # let the timer tick between steps
            app.processEvents()
        return per_step, gaps[1:]

    lo, hi = day_start(start), day_start(end + timedelta(days=1))
    r_steps, r_gaps = scroll(review, review.plot, lo, hi, 28 * 86400)
    starts = [u["start_s"] for u in timeline.utterances]
    t_steps, t_gaps = scroll(timeline, timeline.plot, 0.0, max(starts) + 5, (max(starts) + 5) / 4)
    print("== scrolling (120 steps, each repainted)")
    print(f"{'':28s} {'step median ms':>14s} {'step max ms':>11s} {'loop gap p99 ms':>15s} {'max ms':>7s}")
    for name, st, g in (
        ("across sessions, 4 of 26 weeks", r_steps, r_gaps),
        ("one session, a quarter", t_steps, t_gaps),
    ):
        print(f"{name:28s} {statistics.median(st):14.1f} {max(st):11.1f} {np.percentile(g, 99):15.1f} {max(g):7.1f}")
    store.close()


if __name__ == "__main__":
    main()
