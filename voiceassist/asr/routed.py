"""Mandarin to a Mandarin-first recogniser, everything else to Whisper: what ``asr.model = "auto"`` runs when
SenseVoice-Small or Paraformer-zh is installed (voiceassist/asr/funasr_asr.py).

Published figures put SenseVoice-Small near 3 % character errors on AISHELL-1 at a fraction of Whisper's
compute; Whisper base stays for English. The language is what the session asks for, or, with ``auto``,
Whisper's own detection among ``asr.languages``: one pass of its encoder over the utterance, which is also
what the voice-emotion head reads (``AsrResult.encoder``), so the head keeps working on Mandarin. English
goes on to Whisper's decoder with that same encoder output (one encoder pass in all). SenseVoice's emotion
tag, when it gives one, comes back as ``AsrResult.voice_emotion``: another opinion on how it was said.
"""

from __future__ import annotations

import dataclasses
import logging
import threading

import numpy as np

from voiceassist.asr.base import AsrResult
from voiceassist.asr.funasr_asr import FunAsrBackend
from voiceassist.asr.whisper import FasterWhisperBackend
from voiceassist.lang import is_zh

log = logging.getLogger(__name__)


class RoutedAsr:
    name = "routed"

    def __init__(self, whisper: FasterWhisperBackend, mandarin: FunAsrBackend) -> None:
        self.whisper = whisper
        self.mandarin = mandarin
        self.cfg = whisper.cfg
        self._lock = threading.RLock()

    @property
    def description(self) -> str:
        return f"Mandarin: {self.mandarin.description}; other languages: {self.whisper.description}"

    @property
    def embedded(self) -> bool:
        return False

    def load(self) -> None:
        self.whisper.load()
        self.mandarin.load()

    def warmup(self) -> None:
        self.whisper.warmup()
        self.mandarin.warmup()

    def transcribe(self, audio: np.ndarray, language: str | None = None, words: bool = False) -> AsrResult:
        asked = self.cfg.language if language is None else language
        with self._lock:
            probability = 1.0
            frames = self.whisper.encode_speech(audio, "short")  # the one encoder pass (detection reuses it)
            if asked == "auto":
                asked, probability = self.whisper.detect_language(audio)
            if not is_zh(asked):
                return self.whisper.transcribe(audio, asked, words)
            r, tags = self.mandarin.transcribe_with_tags(audio, "zh", words)
        return dataclasses.replace(
            r,
            language_probability=min(r.language_probability, probability),
            encoder=frames,
            voice_emotion=tags.get("emotion_scores"),
        )
