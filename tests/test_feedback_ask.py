"""The assistant asks how the person felt only when unsure (or near a caregiver alert), a few times a
session at most, never on a crisis reply and never with asking off; the answer becomes a correction of
the utterance asked about. And the assessment applies a profile once, after fusion."""

from __future__ import annotations

from typing import Any

import numpy as np

from voiceassist.config import Config
from voiceassist.emotion import EmotionEstimate
from voiceassist.emotion.labels import INDEX, N_LABELS
from voiceassist.events import FusedEmotion, Transcript
from voiceassist.personal.ask import AskPolicy
from voiceassist.pipeline.assess import AssessmentStage, Opened, Part


def _est(**mass: float) -> EmotionEstimate:
    s = np.full(N_LABELS, 1e-3)
    for k, v in mass.items():
        s[INDEX[k]] = v
    return EmotionEstimate(scores=s / s.sum(), backend="test", evidence=1.0)


def _utter(stage: AssessmentStage, seg: int, text: str, est: EmotionEstimate) -> list[Any]:
    tr = Transcript(
        segment_id=seg,
        text=text,
        language="en",
        language_probability=1.0,
        start_s=seg,
        end_s=seg + 1.0,
        backend="test",
        no_speech_prob=0.0,
        avg_logprob=0.0,
    )
    out: list[Any] = []
    for part in (
        Part(seg, "opened", Opened(seg, seg + 1.0, 0.0)),
        Part(seg, "transcript", tr),
        Part(seg, "speech", None),
        Part(seg, "text", est),
    ):
        out += list(stage.handle(part))
    return out


def _stage(**reply: Any) -> tuple[AssessmentStage, list[Any], list[tuple[int, str]]]:
    cfg = Config()
    cfg.alerts.enabled = False
    for k, v in reply.items():
        setattr(cfg.reply, k, v)
    asked: list[Any] = []
    stage = AssessmentStage(cfg, reply=asked.append)
    answers: list[tuple[int, str]] = []
    stage.on_answer = lambda seg, lab: answers.append((seg, lab))
    return stage, asked, answers


UNSURE = _est(sad=0.4, fearful=0.35, neutral=0.25)
CLEAR = _est(happy=0.9, neutral=0.1)


def test_it_asks_when_unsure_and_the_answer_becomes_a_correction() -> None:
    stage, reqs, answers = _stage()
    _utter(stage, 1, "I don't know, it was a long day", UNSURE)
    q = reqs[-1]
    assert q.fallback_action == "ask_to_clarify" and "more sad or more worried" in q.suggested_response
    _utter(stage, 2, "More worried, I think", CLEAR)
    assert answers == [(1, "fearful")]
    assert reqs[-1].suggested_response is None  # a clear utterance: no question


def test_it_never_asks_in_a_crisis_over_the_limit_or_when_off() -> None:
    stage, reqs, _ = _stage(ask_max_per_session=1)
    _utter(stage, 1, "I want to kill myself", UNSURE)
    assert reqs[-1].crisis and reqs[-1].suggested_response is None
    _utter(stage, 2, "hmm", UNSURE)
    _utter(stage, 3, "hmm again", UNSURE)
    assert [r.suggested_response is not None for r in reqs[1:]] == [True, False]
    stage, reqs, _ = _stage(ask_feedback=False)
    _utter(stage, 1, "hmm", UNSURE)
    assert reqs[-1].suggested_response is None


def test_an_answer_naming_neither_or_both_is_not_taken() -> None:
    p = AskPolicy()
    assert p.question(1, UNSURE.scores, False, False, "zh") is not None
    assert p.answer("我也说不清", "zh") is None and p.pending is None
    p.question(2, UNSURE.scores, False, False, "en")
    assert p.answer("sad and worried", "en") is None
    assert AskPolicy().question(1, CLEAR.scores, False, True, "en") is not None  # near an alert: asks


class _Shift:
    """A profile-shaped object (apply) that moves everything to neutral."""

    def apply(self, scores: np.ndarray, emb: Any = None, text_scores: Any = None) -> np.ndarray:
        out = np.full(N_LABELS, 0.01)
        out[INDEX["neutral"]] = 1.0
        return out / out.sum()


def test_the_profile_is_applied_once_after_fusion_and_the_base_kept() -> None:
    stage, reqs, _ = _stage()
    stage.calibration = _Shift()
    [fused] = [e for e in _utter(stage, 1, "so happy", CLEAR) if isinstance(e, FusedEmotion)]
    assert fused.label == "neutral" and fused.rule.endswith("personal calibration")
    assert int(np.argmax(stage.base_scores[1])) == INDEX["happy"]  # what a correction stores as the base
    assert reqs[-1].label == "neutral"
