"""Mood over days and weeks (voiceassist/review): the daily and weekly sums from a store written through
its normal write path, the person's own baseline, comparing two ranges, a session whose process was
killed, an empty range, and the words of the volatility levels."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import pytest

from voiceassist.review.history import compare, load_history, previous_range
from voiceassist.review.sample import write_sample_history
from voiceassist.review.words import volatility_level
from voiceassist.storage import SessionStore

END = date(2026, 3, 29)  # a Sunday


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory):
    s = SessionStore(tmp_path_factory.mktemp("review") / "s.db")
    write_sample_history(s, 70, end=END, seed=3)
    yield s
    s.close()


def _rows(store: SessionStore, start: date, end: date) -> list[dict]:
    """The utterances of the sessions started in the range, read through the store's public API."""
    out = []
    for info in store.sessions():
        if start <= date.fromtimestamp(info.started_at) <= end:
            moods = {m["segment_id"]: m for m in store.moods(info.id)}
            for u in store.utterances(info.id):
                out.append({**u, "day": date.fromtimestamp(info.started_at), "mood": moods.get(u["segment_id"])})
    return out


def test_days_add_up_to_what_the_store_holds(store: SessionStore):
    start = END - timedelta(days=27)
    h = load_history(store, start, END)
    rows = _rows(store, start, END)
    assert len(h.days) == 28 and [d.start for d in h.days] == [start + timedelta(days=i) for i in range(28)]
    tot = h.total()
    assert tot.utterances == len(rows)
    assert tot.talk_s == pytest.approx(sum(u["end_s"] - u["start_s"] for u in rows))
    assert tot.valence == pytest.approx(sum(u["valence"] for u in rows) / len(rows))
    assert tot.arousal == pytest.approx(sum(u["arousal"] for u in rows) / len(rows))
    assert tot.volatility == pytest.approx(sum(u["mood"]["rmssd_valence"] for u in rows) / len(rows))
    for d in h.days:  # per day, too, and the shares of the emotions
        mine = [u for u in rows if u["day"] == d.start]
        assert d.utterances == len(mine)
        if mine:
            assert d.valence == pytest.approx(sum(u["valence"] for u in mine) / len(mine))
            assert sum(d.shares.values()) == pytest.approx(1.0)
            top = max({u["fused_label"] for u in mine}, key=lambda k: sum(u["fused_label"] == k for u in mine))
            assert d.labels[top] == max(d.labels.values())
    skipped = [d for d in h.days if d.empty]
    assert skipped and all(d.valence is None and d.minutes == 0 for d in skipped)  # days without conversation
    alerts = sum(len(store.alerts(s)) for s in tot.sessions)
    assert sum(tot.alerts.values()) == alerts and len([m for m in h.marks if m.kind == "volatility"]) == alerts
    corrections = sum(len(store.feedback(s)) for s in tot.sessions)
    assert tot.corrections == corrections > 0
    assert all(m.day == next(s.day for s in h.spans if s.id == m.session_id) for m in h.marks)


def test_weeks_are_monday_to_sunday_and_sum_the_days(store: SessionStore):
    start = END - timedelta(days=27)
    h = load_history(store, start, END)
    weeks = h.weeks()
    assert len(weeks) == 4 and all(w.start.weekday() == 0 and w.end.weekday() == 6 for w in weeks)
    assert sum(w.utterances for w in weeks) == h.total().utterances
    w0 = weeks[0]
    days = [d for d in h.days if w0.start <= d.start <= w0.end]
    n = sum(d.n_scored for d in days)
    assert w0.valence == pytest.approx(sum((d.valence or 0) * d.n_scored for d in days) / n)
    # a range starting mid-week: the first week is clipped to it
    part = load_history(store, END - timedelta(days=9), END).weeks()
    assert part[0].start == END - timedelta(days=9) and part[0].end.weekday() == 6


def test_the_baseline_is_the_persons_own_days_before_the_range(store: SessionStore):
    start = END - timedelta(days=6)
    h = load_history(store, start, END)
    before = load_history(store, start - timedelta(days=28), start - timedelta(days=1), baseline_days=0)
    b = h.baseline
    assert b is not None and b.end == start - timedelta(days=1) and b.start == start - timedelta(days=28)
    daily = [d.valence for d in before.days if d.valence is not None]
    assert b.days_with_data == len(daily)
    assert b.valence == pytest.approx(sum(daily) / len(daily))
    # the first days of the history have no baseline yet (fewer than 3 earlier days)
    first = load_history(store, END - timedelta(days=69), END - timedelta(days=60))
    assert first.baseline is None


def test_comparing_two_ranges(store: SessionStore):
    a0, a1 = END - timedelta(days=13), END
    assert previous_range(a0, a1) == (END - timedelta(days=27), END - timedelta(days=14))
    a = load_history(store, a0, a1).total()
    b = load_history(store, *previous_range(a0, a1)).total()
    changes = {c.what: c for c in compare(a, b)}
    assert set(changes) == {"valence", "arousal", "volatility", "minutes", "utterances"}
    v = changes["valence"]
    assert (v.a, v.b) == (pytest.approx(a.valence), pytest.approx(b.valence))
    assert v.direction == (
        "same" if abs(a.valence - b.valence) <= 0.05 else "higher" if a.valence > b.valence else "lower"
    )
    same = {c.what: c.direction for c in compare(a, a)}
    assert set(same.values()) == {"same"}
    # the sample's low spell (the middle third of the 70 days) reads lower than the last weeks
    low = load_history(store, END - timedelta(days=45), END - timedelta(days=32)).total()
    assert {c.what: c for c in compare(a, low)}["valence"].direction == "higher"


def test_an_empty_range_and_a_backwards_one(store: SessionStore):
    h = load_history(store, date(2020, 1, 1), date(2020, 1, 7))
    assert h.empty and h.total().valence is None and h.weeks() and h.baseline is None
    with pytest.raises(ValueError, match="ends"):
        load_history(store, END, END - timedelta(days=1))
    with pytest.raises(ValueError, match="metric"):
        load_history(store, END, END, metric="utterances; DROP TABLE sessions")


KILLED = """
import os, sys
from voiceassist.storage import SessionStore
s = SessionStore(__import__("pathlib").Path(sys.argv[1]))
sid = s.start_session("mic")
for seg, (a, b) in enumerate([(1.0, 3.0), (5.0, 8.5)], 1):
    s.add_utterance(sid, seg, a, b)
    s.update_utterance(sid, seg, fused_label="sad", valence=-0.7, arousal=-0.5, text="hello")
print(sid, flush=True)
os._exit(0)  # killed: the session is never closed
"""


def test_a_session_whose_app_was_killed_ends_abruptly_not_never(tmp_path: Path):
    db = tmp_path / "s.db"
    r = subprocess.run([sys.executable, "-c", KILLED, str(db)], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    sid = int(r.stdout.split()[0])
    store = SessionStore(db)  # the next start closes it as ended abruptly
    try:
        today = date.today()
        h = load_history(store, today, today)
        (span,) = h.spans
        assert span.id == sid and span.state == "abrupt" and span.utterances == 2
        assert 0 < span.duration_s <= 8.5 + 1.0  # until its last utterance, not "still going"
        assert h.total().abrupt == 1 and h.total().minutes == pytest.approx(5.5 / 60)
        open_sid = store.start_session("mic")  # this process's own session, still recording
        store.add_utterance(open_sid, 1, 0.5, 2.5)
        spans = {s.id: s for s in load_history(store, today, today).spans}
        assert spans[open_sid].state == "open" and spans[open_sid].duration_s == pytest.approx(2.5)
    finally:
        store.close()


def test_volatility_words_follow_the_alert_thresholds():
    assert [volatility_level(x, 0.5, 0.35) for x in (0.0, 0.34, 0.35, 0.49, 0.5, 1.2)] == [
        "steady",
        "steady",
        "changing",
        "changing",
        "very_changeable",
        "very_changeable",
    ]


def test_the_sample_is_written_through_the_store_and_dated_in_the_past(store: SessionStore):
    infos = store.sessions()
    assert len(infos) == 70 - 70 // 9 and all(i.ended_at is not None and not i.ended_abruptly for i in infos)
    first = min(infos, key=lambda i: i.started_at)
    assert date.fromtimestamp(first.started_at) == END - timedelta(days=69)
    assert first.ended_at - first.started_at < 3600  # closed on its own day, not at the time the test ran
    u = store.utterances(first.id)[0]
    assert json.dumps(u["fused"]) and u["wall_time"] - first.started_at < 600
