"""Label mappings, late fusion and the prosody backend, on synthetic inputs."""

from __future__ import annotations

import numpy as np
import pytest

from tests.conftest import espeak
from voiceassist.config import EmotionConfig
from voiceassist.emotion import EmotionEstimate, smooth_frames
from voiceassist.emotion.fusion import fuse
from voiceassist.emotion.labels import (
    INDEX,
    LABELS,
    LABELS_ZH,
    N_LABELS,
    e2v_token_to_label,
    text_label_to_label,
    valence_arousal,
    vector,
)
from voiceassist.emotion.prosody import ProsodyBackend, arousal_to_scores
from voiceassist.emotion.text import LexiconTextBackend

SR = 16000


CFG = EmotionConfig()


def test_label_space_is_the_emotion2vec_plus_one():
    assert LABELS == ("angry", "disgusted", "fearful", "happy", "neutral", "other", "sad", "surprised", "unknown")
    assert [LABELS_ZH[x] for x in LABELS] == ["生气", "厌恶", "恐惧", "开心", "中立", "其他", "难过", "吃惊", "未知"]


@pytest.mark.parametrize(
    ("token", "label"),
    [
        ("生气/angry", "angry"),
        ("厌恶/disgusted", "disgusted"),
        ("恐惧/fearful", "fearful"),
        ("开心/happy", "happy"),
        ("中立/neutral", "neutral"),
        ("其他/other", "other"),
        ("难过/sad", "sad"),
        ("吃惊/surprised", "surprised"),
        ("<unk>", "unknown"),
        ("angry", "angry"),
        ("难过", "sad"),
        ("unuse_0", None),
    ],
)
def test_emotion2vec_tokens(token: str, label: str | None):
    assert e2v_token_to_label(token) == label


@pytest.mark.parametrize(
    ("name", "label"),
    [
        ("joy", "happy"),
        ("sadness", "sad"),
        ("anger", "angry"),
        ("fear", "fearful"),
        ("disgust", "disgusted"),
        ("surprise", "surprised"),
        ("neutral", "neutral"),
        ("LABEL_7", "other"),
        ("愤怒", "angry"),
        ("悲伤", "sad"),
    ],
)
def test_text_classifier_labels(name: str, label: str):
    assert text_label_to_label(name) == label


def test_valence_arousal_of_pure_classes():
    v, a = valence_arousal(vector({"sad": 1.0}))
    assert v < 0 and a < 0
    v, a = valence_arousal(vector({"happy": 1.0}))
    assert v > 0 and a > 0
    assert valence_arousal(vector({"neutral": 1.0})) == (0.0, 0.0)


def _est(**scores: float) -> EmotionEstimate:
    v = vector(scores) + 0.02
    return EmotionEstimate(scores=v / v.sum(), backend="test")


@pytest.fixture(scope="module")
def lexicon() -> LexiconTextBackend:
    b = LexiconTextBackend()
    b.load()
    return b


def test_calm_words_in_a_sad_voice_come_out_sad(lexicon: LexiconTextBackend):
    f = fuse(_est(sad=0.6, neutral=0.2), lexicon.analyze("I'm fine.", "en"), CFG, "en")
    assert f.label == "sad" and f.speech_weight > 0.7 and f.rule == "voice leads: the words are plain"


def test_sad_words_in_a_cheerful_voice_never_come_out_happy(lexicon: LexiconTextBackend):
    f = fuse(_est(happy=0.7, neutral=0.1), lexicon.analyze("我好难过", "zh"), CFG, "zh")
    assert f.label == "sad" and f.rule.startswith("masking")
    # even with a very confident voice
    f = fuse(_est(happy=0.95), lexicon.analyze("我好难过", "zh"), CFG, "zh")
    assert f.label != "happy"


def test_agreeing_inputs_reinforce_and_weights_follow_confidence(lexicon: LexiconTextBackend):
    text = lexicon.analyze("今天真是太开心了", "zh")
    f = fuse(_est(happy=0.6, neutral=0.2), text, CFG)
    assert f.label == "happy" and 0 < f.speech_weight < 1
    confident = fuse(_est(angry=0.9), text, CFG)
    unsure = fuse(_est(angry=0.15, neutral=0.12), text, CFG)
    assert confident.speech_weight > unsure.speech_weight


def test_fusion_keeps_probabilities_and_handles_missing_sides(lexicon: LexiconTextBackend):
    text = lexicon.analyze("I'm furious!", "en")
    for f in (fuse(None, text, CFG), fuse(_est(sad=0.5), None, CFG), fuse(_est(sad=0.5), text, CFG)):
        assert f.scores.sum() == pytest.approx(1.0) and (f.scores >= 0).all()
    assert fuse(None, text, CFG).rule == "text only" and fuse(None, text, CFG).label == "angry"
    none = fuse(None, None, CFG)
    assert none.label == "unknown" and none.fallback_action == "ask_to_repeat"


@pytest.mark.parametrize(
    ("speech", "action"),
    [
        ({"unknown": 0.9}, "ask_to_repeat"),
        ({"other": 0.9}, "ask_to_clarify"),
        ({"angry": 0.2, "sad": 0.2, "fearful": 0.2, "happy": 0.18}, "ask_to_clarify"),
        ({"sad": 0.8}, None),
    ],
)
def test_fallback_actions(speech: dict[str, float], action: str | None, lexicon: LexiconTextBackend):
    f = fuse(_est(**speech), lexicon.analyze("okay", "en"), CFG, "zh")
    assert f.fallback_action == action
    if action:
        assert f.suggested_response and any("\u4e00" <= c <= "\u9fff" for c in f.suggested_response)
    else:
        assert f.suggested_response is None


def test_smoothing_keeps_length_and_mean():
    x = np.random.default_rng(0).standard_normal((37, 9))
    y = smooth_frames(x, 10)
    assert y.shape == x.shape and np.abs(np.diff(y, axis=0)).mean() < np.abs(np.diff(x, axis=0)).mean()
    assert smooth_frames(x[:3], 10).shape == (3, 9)


# -- prosody ---------------------------------------------------------------------------------------
def _voice(f0: float, seconds: float = 2.0, vibrato_st: float = 0.0, level: float = 0.1, rate_hz: float = 4.0):
    """A harmonic voice-like tone with pitch movement and syllable-rate amplitude modulation."""
    t = np.arange(int(seconds * SR)) / SR
    f = f0 * 2 ** (vibrato_st * np.sin(2 * np.pi * 1.5 * t) / 12)
    phase = 2 * np.pi * np.cumsum(f) / SR
    x = sum(np.sin(k * phase) / k for k in range(1, 8))
    env = 0.55 + 0.45 * np.sin(2 * np.pi * rate_hz * t)
    return (level * x * env / np.max(np.abs(x))).astype(np.float32)


def test_arousal_map_is_ordered_and_honest():
    low, mid, high = arousal_to_scores(np.array([-2.0, 0.0, 2.0]))
    assert LABELS[int(np.argmax(low))] == "sad"
    assert LABELS[int(np.argmax(mid))] == "neutral"
    assert high[[INDEX["angry"], INDEX["happy"]]].sum() > 0.4  # high arousal: it cannot say which
    assert max(low.max(), mid.max(), high.max()) < 0.75  # never claims more than prosody can know


def test_prosody_arousal_rises_with_pitch_loudness_and_movement():
    b = ProsodyBackend()
    calm, _ = b.analyze(_voice(110, vibrato_st=0.5, level=0.03, rate_hz=3.0))
    lively, _ = b.analyze(_voice(240, vibrato_st=6.0, level=0.4, rate_hz=6.0))
    assert lively.embedding[-1] > calm.embedding[-1] + 1.0
    assert calm.scores[INDEX["sad"]] > lively.scores[INDEX["sad"]]
    assert calm.label == "sad"  # low arousal
    # high arousal: angry and happy share the top (prosody cannot say which, see the arousal map)
    high = lively.scores[[INDEX["angry"], INDEX["happy"]]]
    assert high[0] == pytest.approx(high[1]) and high.sum() > 0.4 > calm.scores[[INDEX["angry"], INDEX["happy"]]].sum()
    assert lively.label in ("angry", "happy") and lively.scores.max() == pytest.approx(high[0])


def test_prosody_estimates_pitch_without_octave_errors():
    from voiceassist.emotion.prosody import frame_features

    for f0 in (90.0, 150.0, 260.0):
        ff = frame_features(_voice(f0))
        voiced = ff["f0"][ff["voiced"] > 0]
        assert len(voiced) > 50
        assert np.median(voiced) == pytest.approx(f0, rel=0.05)


def test_prosody_on_speech_silence_and_noise():
    b = ProsodyBackend()
    est, curves = b.analyze(espeak("Hello there, how are you doing today?").astype(np.float32) / 32768)
    assert est.embedding is not None and est.embedding.shape == (b.embedding_dim,)
    assert curves.frame_rate == 50 and curves.probs.shape[1] == 9 and curves.features is not None
    for audio in (
        np.zeros(SR, np.float32),
        np.random.default_rng(0).standard_normal(SR).astype(np.float32) * 0.1,
        np.zeros(10, np.float32),
    ):
        est, curves = b.analyze(audio)
        assert np.isfinite(est.scores).all() and np.isfinite(est.embedding).all()
        assert np.isfinite(curves.probs).all()


def test_prosody_baseline_adapts_to_the_speaker():
    """A naturally high, loud voice is not 'aroused' once it is the person's normal."""
    b = ProsodyBackend(baseline_after=3)
    first, _ = b.analyze(_voice(240, vibrato_st=3.0, level=0.3))
    for _ in range(4):
        later, _ = b.analyze(_voice(240, vibrato_st=3.0, level=0.3))
    assert abs(later.embedding[-1]) < abs(first.embedding[-1])


def _text(**probs: float):
    from voiceassist.emotion import EmotionEstimate

    s = np.full(len(LABELS), 0.0)
    for k, v in probs.items():
        s[INDEX[k]] = v
    s = s + (1 - s.sum()) / len(LABELS)
    return EmotionEstimate(scores=s, backend="words", evidence=1.0)


def _arousal_voice(arousal: float):
    from voiceassist.emotion import EmotionEstimate
    from voiceassist.emotion.prosody import arousal_to_scores

    return EmotionEstimate(scores=arousal_to_scores(arousal), backend="prosody", evidence=1.0, arousal=arousal)


def test_an_arousal_only_voice_tips_a_close_call_but_never_turns_a_clear_one():

    close = _text(sad=0.36, angry=0.33)
    assert (
        fuse(_arousal_voice(1.8), close, CFG).label == "angry" and fuse(_arousal_voice(-1.5), close, CFG).label == "sad"
    )
    clear = _text(sad=0.7, angry=0.1)
    assert fuse(_arousal_voice(2.0), clear, CFG).label == "sad"  # an agitated voice does not make sad words angry
    happy = _text(happy=0.6, sad=0.1)
    assert fuse(_arousal_voice(-2.0), happy, CFG).label == "happy"  # nor does a flat voice make happy words sad
    assert fuse(_arousal_voice(2.0), _text(neutral=0.6), CFG).label == "neutral"  # nor a plain request angry
    f = fuse(_arousal_voice(1.0), close, CFG)
    assert f.rule == "words lead, voice arousal shifts" and f.speech_weight == 0.0


def test_without_the_shift_the_words_alone_decide():

    words = _text(fearful=0.4, surprised=0.3)
    f = fuse(_arousal_voice(2.0), words, EmotionConfig(arousal_shift=0.0))
    assert np.allclose(f.scores, words.scores)


def test_the_arousal_shift_never_changes_a_label_with_a_clear_margin():
    """Over random word distributions: whenever the words' top label leads the runner-up by 2:1, fusing
    with any arousal-only voice keeps it."""
    from voiceassist.emotion import EmotionEstimate

    rng = np.random.default_rng(5)
    checked = 0
    for _ in range(2000):
        p = rng.dirichlet(np.full(len(LABELS), 0.5))
        top2 = np.sort(p)[-2:]
        if top2[1] < 2 * top2[0]:
            continue
        checked += 1
        words = EmotionEstimate(scores=p, backend="words")
        for a in (-2.0, -1.0, 1.0, 2.0):
            assert fuse(_arousal_voice(a), words, CFG).label == words.label
    assert checked > 300


# -- a categorical voice over plain words, and strong words over a voice (property tests) ------------
def _cat(p) -> EmotionEstimate:
    return EmotionEstimate(scores=np.asarray(p, np.float64), backend="voice head")


def test_a_sure_voice_decides_over_plain_words():
    """Whatever the plain words' distribution (their top is neutral, or their evidence is low) and whatever
    the voice's, when the voice is sure of an emotion the fused label is the voice's."""
    rng = np.random.default_rng(11)
    checked = 0
    for _ in range(3000):
        voice = rng.dirichlet(np.full(N_LABELS, 0.3))
        top = int(np.argmax(voice))
        if LABELS[top] in ("neutral", "other", "unknown") or voice[top] < CFG.voice_leads_confidence:
            continue
        words = rng.dirichlet(np.full(N_LABELS, 0.5))
        words[INDEX["neutral"]] += 2.0  # plain words: neutral on top
        words /= words.sum()
        evidence = float(rng.uniform(0.0, CFG.words_plain_below))
        text = EmotionEstimate(scores=words, backend="words", evidence=evidence)
        f = fuse(_cat(voice), text, CFG, "en")
        assert f.label == LABELS[top], (voice.round(2), words.round(2), evidence)
        checked += 1
    assert checked > 300


def test_strong_words_keep_their_rules_against_any_voice():
    """Words with clear negative evidence are never turned happy by a cheerful voice (masking), and a voice
    that is unsure never decides over the words."""
    rng = np.random.default_rng(12)
    for _ in range(2000):
        voice = rng.dirichlet(np.full(N_LABELS, 0.3))
        words = np.full(N_LABELS, 0.02)
        neg = rng.choice([INDEX[x] for x in ("sad", "angry", "fearful")])
        words[neg] = 0.8
        words /= words.sum()
        text = EmotionEstimate(scores=words, backend="words", evidence=float(rng.uniform(0.6, 1.0)))
        f = fuse(_cat(voice), text, CFG, "en")
        assert f.label not in ("happy", "surprised")
        assert not f.rule.startswith("voice leads")
    unsure = np.full(N_LABELS, 1.0 / N_LABELS)
    unsure[INDEX["angry"]] += 0.1
    text = EmotionEstimate(scores=np.eye(N_LABELS)[INDEX["neutral"]] * 0.9 + 0.1 / N_LABELS, backend="w", evidence=0.1)
    assert fuse(_cat(unsure / unsure.sum()), text, CFG, "en").rule != "voice leads: the words are plain"
