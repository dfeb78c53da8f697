"""Emotion recognition: result types, backend interfaces and the lazy registries.

Speech backends: ``emotion2vec`` (Emotion2Vec+ through FunASR, when its weights are present) and
``prosody`` (the embedded default: arousal from pitch, energy and rate). Text backends: ``lexicon`` (NRC and
DUTIR lexicons), ``embedded-head`` (a head trained by ``voiceassist train text-emotion`` on e5 embeddings and
the lexicon's evidence; the embedded default once one is shipped in resources/models/text_emotion/, until
then the lexicon is) and ``transformers`` (a sequence classifier from a local folder). Every backend maps
into the 9 Emotion2Vec+ classes (``labels.LABELS``).
"""

from __future__ import annotations

from voiceassist.emotion.base import (
    EmotionEstimate,
    EmotionModelError,
    FloatArray,
    FrameCurves,
    SpeechEmotionBackend,
    TextEmotionBackend,
    smooth_frames,
    softmax,
)
from voiceassist.emotion.registry import SPEECH_BACKENDS, TEXT_BACKENDS, create_speech_backend, create_text_backend

__all__ = [
    "SPEECH_BACKENDS",
    "TEXT_BACKENDS",
    "EmotionEstimate",
    "EmotionModelError",
    "FloatArray",
    "FrameCurves",
    "SpeechEmotionBackend",
    "TextEmotionBackend",
    "create_speech_backend",
    "create_text_backend",
    "smooth_frames",
    "softmax",
]
