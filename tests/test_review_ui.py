"""The window's "Mood over time" tab and the live tab's meters, offscreen: six months of one conversation a
day load in under a second; a day's sessions open in the Timeline; empty and backwards ranges say so; a
killed session reads "ended abruptly"; the gauges show their scale, the curves break at silences, the
volatility meter says in words how close it is to the alert threshold."""

from __future__ import annotations

import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("PySide6")

from tests.test_review import KILLED
from voiceassist.config import load_config
from voiceassist.review.sample import write_sample_history
from voiceassist.storage import SessionStore


@pytest.fixture(scope="module")
def months(tmp_path_factory: pytest.TempPathFactory):
    store = SessionStore(tmp_path_factory.mktemp("months") / "s.db")
    write_sample_history(store, 183, seed=11)  # six months of one conversation a day, ending today
    yield store
    store.close()


def _cfg(tmp_path: Path):
    return load_config(tmp_path / "none.toml", ["tts.enabled=false"])


def test_six_months_load_in_under_a_second(qtbot, months: SessionStore, tmp_path: Path):
    from voiceassist.ui.review import PRESETS, ReviewTab

    tab = ReviewTab(_cfg(tmp_path), months)
    qtbot.addWidget(tab)
    tab.resize(1200, 800)
    tab.show()
    six = next(i for i, (name, _d) in enumerate(PRESETS) if name == "Last 6 months")
    t0 = time.perf_counter()
    tab.preset.setCurrentIndex(six)  # loads and draws
    qtbot.wait(1)
    elapsed = time.perf_counter() - t0
    assert elapsed < 1.0, f"{elapsed:.2f} s"
    h = tab.history
    assert h is not None and len(h.days) == 182 and len(tab.periods) == 182
    assert "talked with the assistant on" in tab.summary.text() and "not a population norm" in tab.note.text()
    xs, ys = tab.charts.valence.getData()
    assert len(xs) == 182 and np.isnan(ys).sum() == sum(1 for d in h.days if d.valence is None) > 0
    assert len(tab.charts.bar_items) >= 5 and len(tab.charts.alerts.data) > 0 and len(tab.charts.corrections.data) > 0
    tab.by.setCurrentIndex(tab.by.findData("week"))
    assert len(tab.periods) in (26, 27) and all(p.start.weekday() == 0 for p in tab.periods[1:])
    assert len(tab.charts.compared.getData()[0]) > 0  # the range before is drawn for comparison


def test_click_a_day_and_open_its_session_in_the_timeline(qtbot, months: SessionStore, tmp_path: Path):
    from voiceassist.ui.app import make_source_factory
    from voiceassist.ui.main_window import MainWindow

    cfg = _cfg(tmp_path)
    w = MainWindow(cfg, tmp_path / "c.toml", months, make_source_factory(cfg, None))
    qtbot.addWidget(w)
    assert [w.tabs.tabText(i) for i in range(w.tabs.count())] == ["Live", "Timeline", "Mood over time", "Settings"]
    r = w.review
    day = next(d.start for d in reversed(r.history.days) if d.utterances)
    r.select_day(day)
    assert r.day_sessions.count() == 1 and str(day) in r.day_label.text()
    sid = r.day_sessions.item(0).data(256)
    with qtbot.waitSignal(r.open_session) as sig:
        r.open_btn.click()
    assert sig.args == [sid]
    assert w.tabs.currentWidget() is w.timeline and w.timeline.session_id == sid
    skipped = next(d.start for d in r.history.days if d.empty)
    r.select_day(skipped)
    assert r.day_sessions.count() == 0 and "no conversations" in r.day_label.text()


def test_empty_and_backwards_ranges_say_so(qtbot, months: SessionStore, tmp_path: Path):
    from voiceassist.ui.review import ReviewTab

    tab = ReviewTab(_cfg(tmp_path), months)
    qtbot.addWidget(tab)
    tab.set_range(date(2020, 1, 1), date(2020, 1, 31))
    assert "No conversations between 2020-01-01 and 2020-01-31" in tab.summary.text()
    assert tab.charts.valence.getData()[0] is None or len(tab.charts.valence.getData()[0]) == 0
    tab.set_range(date(2020, 2, 1), date(2020, 1, 1))
    assert "ends before it starts" in tab.summary.text()
    none = ReviewTab(_cfg(tmp_path), None)
    qtbot.addWidget(none)
    assert "No session store" in none.summary.text()


def test_report_button_writes_the_page_off_the_gui_thread(qtbot, months: SessionStore, tmp_path: Path):
    from voiceassist.ui.review import ReviewTab

    tab = ReviewTab(_cfg(tmp_path), months)
    qtbot.addWidget(tab)
    out = tmp_path / "r.html"
    thread = tab.write_report(out)
    assert not tab.report_btn.isEnabled()
    qtbot.waitUntil(lambda: tab.report_btn.isEnabled(), timeout=30_000)
    thread.join(5)
    assert out.is_file() and "data:image/png;base64," in out.read_text(encoding="utf-8")
    assert str(out) in tab.report_status
    tab.set_range(date(2020, 1, 1), date(2020, 1, 2))
    tab.write_report(tmp_path / "empty.html")
    qtbot.waitUntil(lambda: tab.report_btn.isEnabled(), timeout=30_000)
    assert "No conversations" in tab.report_status and not (tmp_path / "empty.html").exists()


def test_a_killed_session_is_shown_as_ended_abruptly(qtbot, tmp_path: Path):
    from voiceassist.ui.review import ReviewTab

    db = tmp_path / "s.db"
    subprocess.run([sys.executable, "-c", KILLED, str(db)], check=True, capture_output=True, timeout=60)
    store = SessionStore(db)
    try:
        tab = ReviewTab(_cfg(tmp_path), store)
        qtbot.addWidget(tab)
        tab.select_day(date.today())
        text = tab.day_sessions.item(0).text()
        assert "ended abruptly" in text and "(2 utterances)" in text
        start, end = text.split()[2].split("-")[0], text.split()[2].split("-")[-1]
        assert start == end or (
            time.mktime(time.strptime(f"{date.today()} {end}", "%Y-%m-%d %H:%M"))
            - time.mktime(time.strptime(f"{date.today()} {start}", "%Y-%m-%d %H:%M"))
            <= 60
        )
    finally:
        store.close()


def test_live_gauges_curves_and_volatility_words(qtbot, tmp_path: Path):
    from voiceassist import events as E
    from voiceassist.ui.live import LiveTab, curve_connections

    live = LiveTab(_cfg(tmp_path))
    qtbot.addWidget(live)
    live.valence.setValue(-0.06)
    live.arousal.setValue(1.7)  # clipped to the scale
    assert live.valence.text() == "valence -0.06" and live.arousal.value() == 1.0
    assert "-1 (very unpleasant) to +1 (very pleasant)" in live.valence.toolTip()
    assert "-1 (calm, low energy)" in live.arousal.toolTip()
    for value, word in ((0.1, "steady"), (0.4, "changing"), (0.7, "very changeable")):
        live.show_volatility(value)
        assert f"<b>{word}</b>" in live.vol_label.text() and "alert threshold 0.50" in live.vol_label.text()
    assert "80%" in (live.show_volatility(0.4) or live.vol_label.text())
    # two utterances 1.5 s apart: the curves are not joined across the silence
    probs = np.full((25, 9), 0.1, dtype=np.float32)
    for start in (1.0, 3.0):
        live.on_event(
            E.EmotionFrames(
                segment_id=1, start_s=start, frame_rate=50.0, probs=probs, audio_captured_at=0.0, backend=""
            )
        )
    live.redraw()
    connect = next(c for c in live.curves.values() if c.getData()[0] is not None).opts["connect"]
    assert list(np.flatnonzero(connect == 0)) == [24, 49]
    t = np.array([0.0, 0.02, 0.04, 1.5, 1.52, 1.3])
    assert list(curve_connections(t)) == [1, 1, 0, 1, 0, 0]


def test_the_live_chat_keeps_its_last_lines_over_a_long_session(qtbot, tmp_path: Path, monkeypatch):
    """A day-long session: the chat keeps the last CHAT_LIMIT lines (not one per turn for ever), and the
    turns it still shows can still be corrected."""
    from voiceassist import events as E
    from voiceassist.ui import live as live_mod

    monkeypatch.setattr(live_mod, "CHAT_LIMIT", 6)
    live = live_mod.LiveTab(_cfg(tmp_path))
    qtbot.addWidget(live)
    scores = np.full(9, 1 / 9)
    for seg in range(1, 11):
        words = dict(language_probability=1.0, start_s=0.0, end_s=1.0, no_speech_prob=0.0, avg_logprob=0.0)
        live.on_event(E.Transcript(segment_id=seg, text=f"turn {seg}", language="en", backend="", **words))
        fused = dict(speech=None, text=None, speech_weight=0.5, text_weight=0.5, rule="", start_s=0.0, end_s=1.0)
        live.on_event(E.FusedEmotion(segment_id=seg, scores=scores, label="sad", confidence=0.6, language="en",
                                     fallback_action=None, suggested_response=None, **fused))  # fmt: skip
        live.on_event(E.Reply(segment_id=seg, text=f"reply {seg}", language="en", tone="gentle", strategy="",
                              intent=None, source="strategy"))  # fmt: skip
    rows = [live.chat.item(i).text() for i in range(live.chat.count())]
    assert len(rows) == 6 and rows[0].startswith("You: turn 8") and rows[-1].startswith("Assistant")
    assert sorted(live.turn_info) == [8, 9, 10] and not live.pending
    assert all(live.chat.row(info["item"]) >= 0 for info in live.turn_info.values())


def test_range_presets_and_the_compared_range(qtbot, months: SessionStore, tmp_path: Path):
    from voiceassist.ui.review import ReviewTab

    tab = ReviewTab(_cfg(tmp_path), months)
    qtbot.addWidget(tab)
    start, end = tab.range
    assert end == date.today() and (end - start).days == 27
    assert (tab.cmp_start.date().toPython(), tab.cmp_end.date().toPython()) == (
        start - timedelta(days=28),
        start - timedelta(days=1),
    )
    assert "Compared with" in tab.summary.text()
    tab.preset.setCurrentIndex(tab.preset.findData(0))  # everything
    assert tab.range[0] == min(date.fromtimestamp(s.started_at) for s in months.sessions())
