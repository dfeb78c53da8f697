"""The alert state machine (thresholds, hysteresis, debounce, cooldown, severities) and crisis phrases."""

from __future__ import annotations

from pathlib import Path

import pytest

from voiceassist.alerts.policy import CrisisDetector, CrisisPolicy, PolicyState, Severity, VolatilityPolicy
from voiceassist.paths import resources_dir


def run(policy: VolatilityPolicy, values: list[float], dt: float = 10.0, t0: float = 0.0):
    out = []
    for i, v in enumerate(values):
        out.append(policy.observe(t0 + i * dt, i + 1, v))
    return out


def policy(**kw) -> VolatilityPolicy:
    return VolatilityPolicy(
        **{"enter": 0.5, "exit": 0.35, "warning": 0.8, "debounce_n": 3, "debounce_s": 0, "cooldown_s": 600.0, **kw}
    )


def test_below_threshold_never_fires():
    p = policy()
    assert not any(run(p, [0.1, 0.49, 0.3, 0.0, 0.45] * 4))
    assert p.state is PolicyState.NORMAL


def test_debounce_needs_n_utterances_in_a_row():
    p = policy()
    out = run(p, [0.6, 0.6, 0.1, 0.6, 0.6, 0.6])
    fired = [i for i, d in enumerate(out) if d]
    assert fired == [5]
    d = out[5][0]
    assert d.kind == "volatility" and d.severity is Severity.INFO and d.segment_ids == (4, 5, 6)
    assert "for 3 utterances" in d.rule and not d.suppressed


def test_debounce_by_time():
    p = policy(debounce_n=10, debounce_s=60.0)
    out = run(p, [0.6, 0.6, 0.6, 0.6], dt=30.0)
    assert [i for i, d in enumerate(out) if d] == [2]  # held 60 s


def test_hysteresis_keeps_an_episode_until_below_exit():
    p = policy()
    out = run(p, [0.6, 0.6, 0.6, 0.4, 0.45, 0.4, 0.6, 0.6, 0.6])
    assert sum(1 for d in out if d) == 1  # hovering between exit and enter does not re-fire
    assert p.state is PolicyState.ACTIVE
    p.observe(1000, 99, 0.2)
    assert p.state is PolicyState.NORMAL


def test_pending_drops_back_below_exit_but_not_between():
    p = policy()
    run(p, [0.6, 0.4])  # 0.4 >= exit: still pending, and it counts
    assert p.state is PolicyState.PENDING
    out = run(p, [0.6], t0=100)
    assert out[0] and p.state is PolicyState.ACTIVE


def test_cooldown_stores_but_does_not_send_a_repeat():
    p = policy(cooldown_s=600.0)
    first = run(p, [0.6, 0.6, 0.6, 0.1], dt=10)
    second = run(p, [0.6, 0.6, 0.6, 0.1], dt=10, t0=100)
    third = run(p, [0.6, 0.6, 0.6], dt=10, t0=1000)
    assert not first[2][0].suppressed
    assert second[2][0].suppressed
    assert not third[2][0].suppressed


def test_severity_warning_and_one_escalation():
    p = policy()
    out = run(p, [0.9, 0.9, 0.9])
    assert out[2][0].severity is Severity.WARNING
    p2 = policy()
    out = run(p2, [0.6, 0.6, 0.6, 0.9, 0.95, 0.9])
    sev = [d[0].severity for d in out if d]
    assert sev == [Severity.INFO, Severity.WARNING]


def test_thresholds_are_validated():
    with pytest.raises(ValueError):
        VolatilityPolicy(enter=0.3, exit=0.5)


@pytest.fixture(scope="module")
def detector() -> CrisisDetector:
    return CrisisDetector.from_file(resources_dir() / "crisis_phrases.toml")


@pytest.mark.parametrize(
    ("text", "category"),
    [
        ("I want to kill myself.", "suicide"),
        ("Sometimes I think everyone would be better off dead without me", "suicide"),
        ("I don't want to live anymore", "suicide"),
        ("I keep cutting myself when it gets bad", "self_harm"),
        ("I'm going to kill him when I see him", "violence"),
        ("我真的不想活了", "suicide"),
        ("活着没意思，想结束生命", "suicide"),
        ("我又想伤害自己了", "self_harm"),
        ("我要杀了他", "violence"),
    ],
)
def test_crisis_phrases_in_both_languages(detector: CrisisDetector, text: str, category: str):
    assert category in {m.category for m in detector.detect(text)}


@pytest.mark.parametrize(
    "text",
    [
        "I'm just killing time before the movie.",
        "This workout is killing me, haha.",
        "I hurt my knee playing football.",
        "Kill the lights, please.",
        "My phone is dying.",
        "I'd kill for a coffee right now.",
        "We watched Suicide Squad last night.",
        "笑死我了，这个视频太好笑了",
        "好久不见，想死你了！",
        "今天累死了",
        "我们晚上玩狼人杀吧",
        "这部电影讲的是一个杀人游戏",
    ],
)
def test_ordinary_sentences_sharing_words_do_not_trigger(detector: CrisisDetector, text: str):
    assert detector.detect(text) == []


def test_crisis_policy_is_urgent_at_once_and_does_not_flood(detector: CrisisDetector):
    p = CrisisPolicy(cooldown_s=300)
    first = p.observe(0.0, 1, detector.detect("I want to end my life"))
    assert len(first) == 1 and first[0].severity is Severity.URGENT and not first[0].suppressed
    assert first[0].kind == "crisis:suicide" and first[0].phrases == ("end my life",)
    again = p.observe(60.0, 2, detector.detect("I want to die"))
    assert again[0].suppressed  # stored as evidence, not sent again within 5 minutes
    other = p.observe(61.0, 3, detector.detect("I'll hurt someone"))
    assert not other[0].suppressed  # another category
    later = p.observe(400.0, 4, detector.detect("I want to die"))
    assert not later[0].suppressed


def test_extra_phrase_file(tmp_path: Path):
    f = tmp_path / "extra.toml"
    f.write_text('[custom]\nen = ["give * away"]\nzh = ["不想见人"]\n', encoding="utf-8")
    d = CrisisDetector.from_file(f)
    assert d.detect("I want to give everything away")[0].category == "custom"
    assert d.detect("我最近不想见人")[0].category == "custom"
