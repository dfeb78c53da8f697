"""Mood volatility on synthetic sequences."""

from __future__ import annotations

import numpy as np
import pytest

from voiceassist.emotion.labels import vector
from voiceassist.mood import MoodTracker, mssd, pac

SAD = vector({"sad": 1.0})
HAPPY = vector({"happy": 1.0})


def test_constant_mood_has_zero_volatility():
    t = MoodTracker(window=5)
    emb = np.array([0.3, -1.2, 0.8, 2.0])
    for _ in range(8):
        s = t.update(emb, SAD)
    assert s.n == 5
    for name in (
        "volatility_l2",
        "volatility_cos",
        "mssd_valence",
        "rmssd_valence",
        "pac_valence",
        "mssd_arousal",
        "rmssd_arousal",
        "pac_arousal",
    ):
        assert s.metric(name) == pytest.approx(0.0, abs=1e-12), name
    assert s.mean_valence == pytest.approx(s.valence)
    assert s.valence < 0


def test_alternating_extremes_give_high_volatility():
    t = MoodTracker(window=5)
    a, b = np.array([1.0, 0.0, 0.0]), np.array([0.0, 1.0, 0.0])
    for i in range(6):
        s = t.update(a if i % 2 else b, HAPPY if i % 2 else SAD)
    assert s.volatility_l2 == pytest.approx(np.sqrt(2))
    assert s.volatility_cos == pytest.approx(1.0)
    dv = 0.8 - (-0.7)
    assert s.mssd_valence == pytest.approx(dv**2)
    assert s.rmssd_valence == pytest.approx(dv)
    assert s.pac_valence == 1.0


def test_formulas_match_the_definitions():
    x = np.array([0.0, 0.2, -0.5, -0.4, 0.6])
    assert mssd(x) == pytest.approx(np.mean([0.04, 0.49, 0.01, 1.0]))
    assert pac(x, 0.5) == pytest.approx(2 / 4)
    assert mssd(x[:1]) == 0.0 and pac(x[:1], 0.5) == 0.0


def test_window_forgets_old_utterances():
    t = MoodTracker(window=3)
    t.update(np.array([1.0, 0.0]), SAD)
    t.update(np.array([0.0, 1.0]), HAPPY)
    for _ in range(3):
        s = t.update(np.array([0.5, 0.5]), HAPPY)
    assert s.volatility_l2 == 0.0 and s.rmssd_valence == 0.0


def test_baseline_makes_volatility_relative_to_the_person():
    rng = np.random.default_rng(0)
    t = MoodTracker(window=3, baseline_min=5)
    base = np.ones(8)
    states = [t.update(base + 0.05 * rng.standard_normal(8), SAD) for _ in range(10)]
    assert states[0].volatility_relative is None  # no history yet
    calm = states[-1].volatility_relative
    assert calm is not None and 0.3 < calm < 3
    s = None
    for i in range(3):
        s = t.update(base * (1 if i % 2 else -1), SAD)
    assert s is not None and s.volatility_relative is not None and s.volatility_relative > 10 * calm


def test_embedding_size_change_resets_the_embedding_history():
    t = MoodTracker(window=5)
    t.update(np.ones(768), SAD)
    s = t.update(np.ones(12), SAD)
    assert s.volatility_l2 == 0.0
    s = t.update(np.zeros(12) + 2, SAD)
    assert s.volatility_l2 == pytest.approx(np.sqrt(12))


def test_missing_embedding_still_tracks_valence():
    t = MoodTracker(window=5)
    t.update(None, SAD)
    s = t.update(None, HAPPY)
    assert s.volatility_l2 == 0.0 and s.rmssd_valence > 1.0
