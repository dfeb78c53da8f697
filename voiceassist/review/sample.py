"""A synthetic history of conversations for tests, the benchmark and the screenshots: one conversation a
day (or as asked) with utterances, fused emotions, the MoodTracker's states, some alerts and corrections,
written through the SessionStore's normal write path (the same calls the StoreRecorder makes).

The store stamps rows with the wall clock; to write a day months ago this module lends the store a clock
set to that day while it writes (``_clock``), nothing else. Seeded: the same arguments give the same rows.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from typing import Any

import numpy as np

from voiceassist.emotion.labels import LABELS, as_dict, valence_arousal
from voiceassist.lang import is_zh
from voiceassist.mood import MoodTracker

SENTENCES = {
    "happy": ("My granddaughter visited today, it was lovely.", "今天孙女来看我了，真开心。"),
    "sad": ("I miss my husband, the evenings are long.", "我想念老伴，晚上好漫长。"),
    "neutral": ("I had soup for lunch and watched the news.", "中午喝了汤，看了新闻。"),
    "angry": ("The pharmacy lost my prescription again!", "药店又把我的处方弄丢了！"),
    "fearful": ("I am worried about the test results.", "我担心检查结果。"),
    "surprised": ("An old friend called me out of the blue.", "一个老朋友突然给我打电话。"),
}


class _Clock:
    """Stands in for the ``time`` module inside the store while a past day is written."""

    def __init__(self, now: float) -> None:
        self.now = now

    def time(self) -> float:
        return self.now

    def __getattr__(self, name: str) -> Any:
        return getattr(time, name)


@contextlib.contextmanager
def _clock(module: Any, clock: _Clock) -> Iterator[None]:
    saved = module.time
    module.time = clock
    try:
        yield
    finally:
        module.time = saved


def _scores(label: str, rng: np.random.Generator) -> np.ndarray:
    p = rng.dirichlet(np.full(len(LABELS), 0.6)) * 0.4
    p[LABELS.index(label)] += 0.6
    out: np.ndarray = p / p.sum()
    return out


def write_sample_history(
    store: Any,
    days: int,
    end: date | None = None,
    per_day: int = 12,
    seed: int = 0,
    skip_every: int = 9,
    language: str = "en",
) -> list[int]:
    """``days`` days ending on ``end`` (default today), one conversation at 10:00 each day except every
    ``skip_every``-th day (0: none skipped). The mood drifts slowly (a low spell in the middle third), a
    stormy day now and then gets a volatility alert, and about one utterance in 15 is corrected by the person.
    Returns the session ids."""
    import voiceassist.storage.sessions as sessions_module

    rng = np.random.default_rng(seed)
    end = end or date.today()
    ids: list[int] = []
    lang = 1 if is_zh(language) else 0
    for i in range(days):
        d = end - timedelta(days=days - 1 - i)
        if skip_every and i % skip_every == skip_every - 1:
            continue
        t0 = time.mktime(datetime(d.year, d.month, d.day, 10, 0).timetuple()) + float(rng.uniform(0, 3600))
        low = days // 3 <= i < 2 * days // 3
        stormy = rng.random() < 0.08
        weights = (
            np.array([1, 0.3, 1, 4, 5, 0.2, 2, 1, 0.1]) if not low else np.array([2, 0.5, 2, 1, 4, 0.2, 6, 0.5, 0.1])
        )
        weights = weights / weights.sum()
        tracker = MoodTracker()
        clock = _Clock(t0)
        with _clock(sessions_module, clock):
            sid = store.start_session("sample", now=t0)
            ids.append(sid)
            t = 2.0
            n = max(1, int(rng.integers(per_day // 2, per_day + per_day // 2 + 1)))
            for seg in range(1, n + 1):
                label = str(rng.choice(["happy", "sad"])) if stormy else str(rng.choice(LABELS, p=weights))
                length = float(rng.uniform(1.5, 6.0))
                clock.now = t0 + t + length
                store.add_utterance(sid, seg, t, t + length)
                scores = _scores(label, rng)
                fused_label = LABELS[int(np.argmax(scores))]
                v, a = valence_arousal(scores)
                text = SENTENCES.get(fused_label, SENTENCES["neutral"])[lang]
                clock.now += 0.8
                store.update_utterance(
                    sid,
                    seg,
                    text=text,
                    language="zh" if lang else "en",
                    fused=json.dumps(
                        {"label": fused_label, "confidence": float(scores.max()), "scores": as_dict(scores)}
                    ),
                    fused_label=fused_label,
                    confidence=float(scores.max()),
                    valence=v,
                    arousal=a,
                )
                state = tracker.update(None, scores)
                store.add_mood(sid, seg, {k: getattr(state, k) for k in state.__dataclass_fields__})
                if stormy and seg == min(n, 5):
                    store.add_alert(sid, seg, seg, "volatility", "warning", "rmssd_valence >= 0.5", False)
                if rng.random() < 1 / 15:
                    store.add_feedback(sid, seg, {"kind": "emotion", "label": "neutral", "note": ""})
                t += length + float(rng.uniform(4.0, 25.0))
            clock.now = t0 + t
            store.end_session(sid)
    return ids
