"""Late fusion of speech and text emotion, with confidence-aware weights and explicit rules (pure numpy).

A voice backend that hears **arousal only** (the embedded prosody estimate, ``EmotionEstimate.arousal``)
cannot tell emotions of the same arousal apart (angry from elated, calm from sad), so it does not vote on
the label: the words decide, and the voice's arousal shifts the words' distribution towards the emotions
that match it (``exp(k * arousal * (AROUSAL[label] - mean))``, ``k = emotion.arousal_shift``, scaled by
the voice's evidence). It can tip a close call between a high- and a low-arousal emotion; it cannot turn a
clear one. Without words, the voice alone gives its arousal spread, with its capped confidence.

A categorical voice backend (Emotion2Vec+) is fused by weights: each side's configured weight times its
reliability. Speech reliability is how far its top score stands above chance; text reliability is its
evidence (a sentence with no emotion words has none, so a calm "I'm fine" said in a sad voice comes out
sad). Rules on top of the weighted average:

- the voice leads: when the words carry no emotional evidence (their estimate is neutral, or has little
  evidence) and the voice is sure of an emotion (``emotion.voice_leads_confidence``), the voice decides: an
  everyday sentence said angrily is angry;
- masking: when the words carry a clear negative emotion and the voice sounds positive (people smile while
  saying sad things, and prosody cannot tell elation from agitation), the words lead and the voice's
  positive mass counts as neutral, so a cheerful "我好难过" never comes out happy;
- fallback: an ``unknown``/``other`` result, or one below ``min_confidence``, carries a fallback action
  (ask to repeat / ask to clarify) and a suggested response, in the person's language.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from voiceassist.config import EmotionConfig
from voiceassist.emotion.base import EmotionEstimate
from voiceassist.emotion.labels import AROUSAL, INDEX, LABELS, N_LABELS, VALENCE
from voiceassist.lang import lang as lang_of

_POSITIVE = [INDEX["happy"], INDEX["surprised"]]

FALLBACK_RESPONSES: dict[str, dict[str, str]] = {
    "ask_to_repeat": {
        "en": "Sorry, I didn't quite catch that. Could you say it again?",
        "zh": "抱歉，我没有听清楚，可以再说一遍吗？",
    },
    "ask_to_clarify": {
        "en": "I'm not sure I understood how you feel. Could you tell me a bit more?",
        "zh": "我不太确定你现在的感受，能再多说一点吗？",
    },
}


@dataclass(frozen=True)
class Fused:
    scores: npt.NDArray[np.float64]
    speech_weight: float
    text_weight: float
    rule: str
    """"weighted", "speech only", "text only", "masking: words lead", "no input"."""
    fallback_action: str | None
    suggested_response: str | None

    @property
    def label(self) -> str:
        return LABELS[int(np.argmax(self.scores))]

    @property
    def confidence(self) -> float:
        return float(np.max(self.scores))


def _reliability(est: EmotionEstimate) -> float:
    chance = 1.0 / N_LABELS
    return float(np.clip((est.confidence - chance) / (1 - chance), 0.0, 1.0) * np.clip(est.evidence, 0.0, 1.0))


def fuse(
    speech: EmotionEstimate | None, text: EmotionEstimate | None, cfg: EmotionConfig, language: str = "en"
) -> Fused:
    """The fused estimate of one utterance under ``cfg`` (the [emotion] section: weights, thresholds)."""
    lang = lang_of(language)
    if speech is None and text is None:
        scores = np.zeros(N_LABELS)
        scores[INDEX["unknown"]] = 1.0
        return _with_fallback(scores, 0.0, 0.0, "no input", cfg, lang)
    if speech is not None and speech.arousal is not None and text is not None:
        return _arousal_shift(speech, text, cfg, lang)
    if speech is not None and text is not None and _voice_leads(speech, text, cfg):
        return _voice_led(speech, text, cfg, lang)
    ws = cfg.speech_weight * _reliability(speech) if speech is not None else 0.0
    wt = cfg.text_weight * float(np.clip(text.evidence, 0, 1)) if text is not None else 0.0
    p_s = speech.scores if speech is not None else None
    p_t = text.scores if text is not None else None
    rule = "weighted"
    if p_s is not None and p_t is not None and text is not None and text.evidence >= cfg.text_override_evidence:
        text_valence = float(p_t @ VALENCE)
        top_t = int(np.argmax(p_t))
        if VALENCE[top_t] < -0.3 and text_valence < -0.15 and int(np.argmax(p_s)) in _POSITIVE:
            p_s = p_s.copy()
            p_s[INDEX["neutral"]] += p_s[_POSITIVE].sum()
            p_s[_POSITIVE] = 0.0
            ws, wt, rule = 0.25, 0.75, "masking: words lead"
    if rule == "weighted":
        if ws + wt < 1e-6:  # neither side has anything to go on: plain average of what there is
            ws, wt = (0.5 if p_s is not None else 0.0), (0.5 if p_t is not None else 0.0)
        if wt == 0.0:
            rule = "speech only"
        elif ws == 0.0:
            rule = "text only"
    total = ws + wt
    scores = np.zeros(N_LABELS)
    if p_s is not None:
        scores += ws / total * p_s
    if p_t is not None:
        scores += wt / total * p_t
    scores = scores / scores.sum()
    return _with_fallback(scores, ws / total, wt / total, rule, cfg, lang)


_NOT_A_FEELING = (INDEX["neutral"], INDEX["other"], INDEX["unknown"])


def _voice_leads(speech: EmotionEstimate, text: EmotionEstimate, cfg: EmotionConfig) -> bool:
    """The words carry no emotional evidence (a plain sentence: "It's eleven o'clock", "我在家") and a
    categorical voice is sure of an emotion: then how it was said is what there is to go on."""
    plain_words = text.evidence < cfg.words_plain_below or int(np.argmax(text.scores)) in _NOT_A_FEELING
    return (
        plain_words
        and text.evidence < cfg.text_override_evidence
        and speech.confidence >= cfg.voice_leads_confidence
        and int(np.argmax(speech.scores)) not in _NOT_A_FEELING
    )


def _voice_led(speech: EmotionEstimate, text: EmotionEstimate, cfg: EmotionConfig, lang: str) -> Fused:
    """The voice decides; the words keep a small share (their neutral pulls an unsure reading towards calm)."""
    wt = cfg.text_weight * 0.25
    ws = cfg.speech_weight
    scores = (ws * speech.scores + wt * text.scores) / (ws + wt)
    top = int(np.argmax(speech.scores))
    if int(np.argmax(scores)) != top:  # the share the words keep never outvotes the voice's emotion
        scores = speech.scores.astype(np.float64).copy()
    return _with_fallback(
        scores / scores.sum(), ws / (ws + wt), wt / (ws + wt), "voice leads: the words are plain", cfg, lang
    )


def _arousal_shift(speech: EmotionEstimate, text: EmotionEstimate, cfg: EmotionConfig, lang: str) -> Fused:
    """The words decide; the voice's arousal (an arousal-only backend) shifts them towards matching emotions."""
    assert speech.arousal is not None
    a = float(np.clip(speech.arousal, -2.0, 2.0)) * float(np.clip(speech.evidence, 0.0, 1.0))
    k = cfg.arousal_shift
    centred = AROUSAL - float(AROUSAL[: INDEX["other"]].mean())
    scores = text.scores * np.exp(k * a * centred)
    scores = scores / scores.sum()
    return _with_fallback(scores, 0.0, 1.0, "words lead, voice arousal shifts", cfg, lang)


RECOGNISER_WEIGHT = 0.5
"""The share of a recogniser's own emotion tag (SenseVoice's) in the voice's estimate: an equal say with
the voice model (neither could be measured against the other here: no SenseVoice weights)."""


def with_recogniser_opinion(est: EmotionEstimate, opinion: dict[str, float]) -> EmotionEstimate:
    """The voice's estimate with a recogniser's emotion probabilities (by label) blended in: one more opinion on
    how it was said. An estimate that hears arousal only keeps its arousal; the blend is categorical."""
    other = np.zeros(N_LABELS)
    for label, p in opinion.items():
        if label in INDEX:
            other[INDEX[label]] += max(float(p), 0.0)
    if other.sum() <= 0:
        return est
    other /= other.sum()
    scores = (1 - RECOGNISER_WEIGHT) * est.scores + RECOGNISER_WEIGHT * other
    return dataclasses.replace(
        est, scores=scores / scores.sum(), backend=f"{est.backend} + the recogniser's emotion tag", arousal=None
    )


def recalibrated(f: Fused, scores: npt.ArrayLike, cfg: EmotionConfig, language: str = "en") -> Fused:
    """The fused result with the person's calibrated scores (voiceassist/personal/): label, confidence and
    the fallback action follow the new scores; the weights are kept and the rule says so."""
    p = np.asarray(scores, np.float64)
    lang = lang_of(language)
    return _with_fallback(p / p.sum(), f.speech_weight, f.text_weight, f"{f.rule}; personal calibration", cfg, lang)


def _with_fallback(
    scores: npt.NDArray[np.float64], ws: float, wt: float, rule: str, cfg: EmotionConfig, lang: str
) -> Fused:
    label = LABELS[int(np.argmax(scores))]
    action: str | None = None
    if label == "unknown":
        action = "ask_to_repeat"
    elif label == "other" or float(np.max(scores)) < cfg.min_confidence:
        action = "ask_to_clarify"
    response = FALLBACK_RESPONSES[action][lang] if action else None
    return Fused(
        scores=scores,
        speech_weight=round(ws, 4),
        text_weight=round(wt, 4),
        rule=rule,
        fallback_action=action,
        suggested_response=response,
    )
