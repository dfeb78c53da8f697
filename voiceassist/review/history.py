"""Mood over days and weeks: the sessions of a date range read from the session store and summed up per
day, per ISO week and over the whole range, with the person's own baseline and a comparison of two ranges.

Read-only. Three queries over the store's tables (sessions + utterances + moods, alerts, feedback), run
through the connection ``SessionStore.db`` exposes; no text of the conversation is read here (the report
asks the store for it, through ``SessionStore.utterances``, only when the caregiver setting allows it).

Days are local calendar days; a session belongs to the day it started on. Valence and arousal are the
means over the utterances that have a fused emotion; volatility the mean of the stored mood metric
(``alerts.metric``, RMSSD of valence by default) after each of them; "talk" is the speech time (the sum
of the utterances' lengths). A session that was never closed (the app was killed) has ``state`` "abrupt"
and ends at its last utterance, never "now"; one still being recorded is "open".
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from voiceassist.emotion.labels import LABELS

METRICS = ("rmssd_valence", "rmssd_arousal", "pac_valence", "volatility_cos", "volatility_relative", "volatility_l2")
BASELINE_DAYS = 28
"""The baseline is the person's own: their daily means over this many days before the range."""
BASELINE_MIN_DAYS = 3


def day_start(d: date) -> float:
    """Unix time of local midnight at the start of ``d``."""
    return time.mktime(datetime(d.year, d.month, d.day).timetuple())


def local_day(ts: float) -> date:
    return datetime.fromtimestamp(ts).date()


@dataclass(frozen=True)
class SessionSpan:
    id: int
    day: date
    started_at: float
    ended_at: float
    """Never open-ended: a session killed mid-way ends at its last utterance, an open one at its last too."""
    state: str
    """closed, abrupt (the process was killed; closed by the store on its next start) or open (recording)."""
    utterances: int
    talk_s: float

    @property
    def duration_s(self) -> float:
        return max(0.0, self.ended_at - self.started_at)


@dataclass(frozen=True)
class Mark:
    """An alert or a correction, placed at its utterance."""

    session_id: int
    segment_id: int | None
    at: float
    day: date
    kind: str
    """alert: "volatility"/"crisis"/...; correction: "emotion"."""
    detail: str
    """alert: its severity; correction: the label the person gave ("" for "not sure")."""


@dataclass
class Period:
    """One day, one week, or a whole range. Sums are kept so periods add up exactly (``merge``)."""

    start: date
    end: date
    """Inclusive."""
    sessions: list[int] = field(default_factory=list)
    utterances: int = 0
    talk_s: float = 0.0
    n_scored: int = 0
    sum_valence: float = 0.0
    sum_arousal: float = 0.0
    n_vol: int = 0
    sum_vol: float = 0.0
    labels: dict[str, int] = field(default_factory=dict)
    alerts: dict[str, int] = field(default_factory=dict)
    """Severity -> count (suppressed ones included: they are evidence too)."""
    corrections: int = 0
    abrupt: int = 0

    @property
    def empty(self) -> bool:
        return self.utterances == 0 and not self.sessions

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def minutes(self) -> float:
        return self.talk_s / 60.0

    @property
    def valence(self) -> float | None:
        return self.sum_valence / self.n_scored if self.n_scored else None

    @property
    def arousal(self) -> float | None:
        return self.sum_arousal / self.n_scored if self.n_scored else None

    @property
    def volatility(self) -> float | None:
        return self.sum_vol / self.n_vol if self.n_vol else None

    @property
    def shares(self) -> dict[str, float]:
        """Label -> share of the utterances with a fused emotion (in LABELS order; sums to 1)."""
        total = sum(self.labels.values())
        return {k: self.labels.get(k, 0) / total for k in LABELS if total and self.labels.get(k)}

    def top(self, k: int = 3) -> list[tuple[str, float]]:
        return sorted(self.shares.items(), key=lambda kv: -kv[1])[:k]

    def merge(self, other: Period) -> None:
        self.start, self.end = min(self.start, other.start), max(self.end, other.end)
        self.sessions += other.sessions
        self.utterances += other.utterances
        self.talk_s += other.talk_s
        self.n_scored += other.n_scored
        self.sum_valence += other.sum_valence
        self.sum_arousal += other.sum_arousal
        self.n_vol += other.n_vol
        self.sum_vol += other.sum_vol
        for src, dst in ((other.labels, self.labels), (other.alerts, self.alerts)):
            for k, v in src.items():
                dst[k] = dst.get(k, 0) + v
        self.corrections += other.corrections
        self.abrupt += other.abrupt


@dataclass(frozen=True)
class Baseline:
    """The person's own usual: mean and spread of their daily means over the days before the range."""

    start: date
    end: date
    days_with_data: int
    valence: float
    valence_sd: float
    arousal: float
    arousal_sd: float
    volatility: float | None


def merged(periods: Iterable[Period], start: date, end: date) -> Period:
    out = Period(start, end)
    for p in periods:
        out.merge(p)
    out.start, out.end = start, end
    return out


@dataclass
class History:
    start: date
    end: date
    metric: str
    days: list[Period]
    """Every calendar day of the range, in order, empty ones included (a calendar strip needs them)."""
    spans: list[SessionSpan]
    marks: list[Mark]
    baseline: Baseline | None = None

    @property
    def empty(self) -> bool:
        return all(d.empty for d in self.days)

    def total(self) -> Period:
        return merged(self.days, self.start, self.end)

    def weeks(self) -> list[Period]:
        """ISO weeks (Monday to Sunday), clipped to the range."""
        out: list[Period] = []
        for d in self.days:
            monday = d.start - timedelta(days=d.start.weekday())
            if not out or out[-1].start != max(monday, self.start):
                out.append(Period(max(monday, self.start), min(monday + timedelta(days=6), self.end)))
            out[-1].merge(d)
            out[-1].start = max(monday, self.start)
            out[-1].end = min(monday + timedelta(days=6), self.end)
        return out

    def day(self, d: date) -> Period | None:
        i = (d - self.start).days
        return self.days[i] if 0 <= i < len(self.days) else None

    def sessions_on(self, d: date) -> list[SessionSpan]:
        return [s for s in self.spans if s.day == d]


def _check_range(start: date, end: date) -> None:
    if end < start:
        raise ValueError(f"the range ends ({end}) before it starts ({start})")


def load_history(
    store: Any, start: date, end: date, metric: str = "rmssd_valence", baseline_days: int = BASELINE_DAYS
) -> History:
    """The days ``start`` .. ``end`` (inclusive) of ``store`` (a SessionStore), and the baseline from the
    ``baseline_days`` before ``start``."""
    _check_range(start, end)
    if metric not in METRICS:
        raise ValueError(f"unknown volatility metric {metric!r}; one of {', '.join(METRICS)}")
    days, spans, marks = _read(store, start, end, metric)
    history = History(start, end, metric, days, spans, marks)
    if baseline_days > 0:
        b_end = start - timedelta(days=1)
        b_start = start - timedelta(days=baseline_days)
        before, _, _ = _read(store, b_start, b_end, metric)
        history.baseline = baseline_of(before, b_start, b_end)
    return history


def baseline_of(days: list[Period], start: date, end: date) -> Baseline | None:
    scored = [d for d in days if d.n_scored]
    if len(scored) < BASELINE_MIN_DAYS:
        return None
    v = [d.valence or 0.0 for d in scored]
    a = [d.arousal or 0.0 for d in scored]
    vols = [d.volatility for d in scored if d.volatility is not None]
    return Baseline(
        start,
        end,
        len(scored),
        _mean(v),
        _sd(v),
        _mean(a),
        _sd(a),
        _mean(vols) if vols else None,
    )


def _mean(x: list[float]) -> float:
    return sum(x) / len(x)


def _sd(x: list[float]) -> float:
    m = _mean(x)
    return math.sqrt(sum((xi - m) ** 2 for xi in x) / (len(x) - 1)) if len(x) > 1 else 0.0


def _read(store: Any, start: date, end: date, metric: str) -> tuple[list[Period], list[SessionSpan], list[Mark]]:
    lo, hi = day_start(start), day_start(end + timedelta(days=1))
    db = store.db
    days = [Period(start + timedelta(days=i), start + timedelta(days=i)) for i in range((end - start).days + 1)]

    def period(ts: float) -> Period | None:
        i = (local_day(ts) - start).days
        return days[i] if 0 <= i < len(days) else None

    rows = db.query(
        "SELECT s.id, s.started_at, s.ended_at, s.ended_abruptly, u.segment_id, u.start_s, u.end_s, "
        f"u.fused_label, u.valence, u.arousal, json_extract(m.data, '$.{metric}') "
        "FROM sessions s LEFT JOIN utterances u ON u.session_id = s.id "
        "LEFT JOIN moods m ON m.session_id = u.session_id AND m.segment_id = u.segment_id "
        "WHERE s.started_at >= ? AND s.started_at < ? ORDER BY s.id, u.segment_id",
        (lo, hi),
    )
    per_session: dict[int, dict[str, Any]] = {}
    for sid, started, ended, abrupt, seg, s0, s1, label, val, aro, vol in rows:
        p = period(started)
        if p is None:
            continue
        info = per_session.get(sid)
        if info is None:
            info = per_session[sid] = {"p": p, "started": started, "ended": ended, "abrupt": bool(abrupt)}
            info.update(n=0, talk=0.0, last=0.0, starts={})
            p.sessions.append(sid)
            p.abrupt += bool(abrupt)
        if seg is None:
            continue  # a session without utterances
        length = max(0.0, float(s1) - float(s0))
        info["n"] += 1
        info["talk"] += length
        info["last"] = max(info["last"], float(s1))
        info["starts"][seg] = float(s0)
        p.utterances += 1
        p.talk_s += length
        if label:
            p.labels[label] = p.labels.get(label, 0) + 1
        if val is not None and aro is not None:
            p.n_scored += 1
            p.sum_valence += float(val)
            p.sum_arousal += float(aro)
        if vol is not None:
            p.n_vol += 1
            p.sum_vol += float(vol)
    spans = []
    for sid, info in per_session.items():
        last = info["started"] + info["last"]
        if info["ended"] is None:
            state, ended = "open", last
        elif info["abrupt"]:  # the store closed it at its last utterance's write; never later than that
            state, ended = "abrupt", min(float(info["ended"]), last) if info["n"] else float(info["ended"])
        else:
            state, ended = "closed", float(info["ended"])
        spans.append(
            SessionSpan(sid, local_day(info["started"]), info["started"], ended, state, info["n"], info["talk"])
        )

    def at(sid: int, seg: int | None, fallback: float) -> float:
        info = per_session[sid]
        s0 = info["starts"].get(seg)
        return float(info["started"] + s0) if s0 is not None else float(fallback)

    marks: list[Mark] = []
    for sid, seg, wall, kind, severity in db.query(
        "SELECT a.session_id, a.segment_id, a.wall_time, a.kind, a.severity FROM alerts a "
        "JOIN sessions s ON s.id = a.session_id WHERE s.started_at >= ? AND s.started_at < ? "
        "ORDER BY a.session_id, a.alert_id",
        (lo, hi),
    ):
        if sid not in per_session:
            continue
        per_session[sid]["p"].alerts[severity] = per_session[sid]["p"].alerts.get(severity, 0) + 1
        marks.append(Mark(sid, seg, at(sid, seg, wall), per_session[sid]["p"].start, kind, severity))
    for sid, seg, wall, data in db.query(
        "SELECT f.session_id, f.segment_id, f.wall_time, f.data FROM feedback f "
        "JOIN sessions s ON s.id = f.session_id WHERE s.started_at >= ? AND s.started_at < ? "
        "ORDER BY f.session_id, f.wall_time",
        (lo, hi),
    ):
        if sid not in per_session:
            continue
        try:
            d = json.loads(data)
        except ValueError:
            d = {}
        per_session[sid]["p"].corrections += 1
        kind = str(d.get("kind") or "emotion")
        marks.append(Mark(sid, seg, at(sid, seg, wall), per_session[sid]["p"].start, kind, str(d.get("label") or "")))
    spans.sort(key=lambda s: s.started_at)
    return days, spans, marks


@dataclass(frozen=True)
class Change:
    what: str
    """valence, arousal, volatility, minutes, utterances."""
    a: float | None
    b: float | None
    direction: str
    """higher, lower, same (or "" when one side has no value)."""


# differences smaller than these are "about the same"
SAME = {"valence": 0.05, "arousal": 0.05, "volatility": 0.05}


def compare(a: Period, b: Period) -> list[Change]:
    """``a`` against ``b``: each figure and whether it went up, down or stayed about the same."""
    out = []
    for what in ("valence", "arousal", "volatility", "minutes", "utterances"):
        x, y = getattr(a, what), getattr(b, what)
        x = None if x is None else float(x)
        y = None if y is None else float(y)
        if x is None or y is None:
            direction = ""
        else:
            tol = SAME.get(what, 0.1 * max(abs(x), abs(y)))
            direction = "same" if abs(x - y) <= tol else ("higher" if x > y else "lower")
        out.append(Change(what, x, y, direction))
    return out


def previous_range(start: date, end: date) -> tuple[date, date]:
    """The range of the same length just before ``start`` .. ``end``."""
    n = (end - start).days + 1
    return start - timedelta(days=n), start - timedelta(days=1)
