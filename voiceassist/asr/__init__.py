"""Speech recognition backends, created by name from a lazy registry."""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
import numpy.typing as npt

from voiceassist.config import AsrConfig
from voiceassist.events import Word


@dataclass(frozen=True)
class AsrResult:
    text: str
    language: str
    language_probability: float
    no_speech_prob: float
    avg_logprob: float
    dropped_as_hallucination: bool  # Whisper produced text, but the guards rejected all of it
    dropped_reason: str | None = None  # why the guards dropped or cut something (see voiceassist/asr/guard.py)
    words: tuple[Word, ...] = ()  # with ``words=True``: each word's times in seconds from the audio's start
    encoder: npt.NDArray[np.float32] | None = field(default=None, repr=False, compare=False)
    """The recogniser's encoder output over the speech, (frames, dim) at 50 frames/s (Whisper's), when it
    has one: the voice-emotion head reads how it was said from the pass already run (no second encoder)."""


class AsrBackend(Protocol):
    """A speech recogniser. Safe to call from several threads (it guards its own state): one loaded model
    serves every Session of a batch worker or of the API server."""

    name: str

    @property
    def description(self) -> str:
        """Shown on screen and written to results: which model, from where, on what device."""
        ...

    @property
    def embedded(self) -> bool:
        """The embedded default copy (from PyPI) runs, not a model the person installed."""
        ...

    def load(self) -> None: ...

    def warmup(self) -> None:
        """One short pass, so the first utterance does not pay for lazy initialisation."""
        ...

    def transcribe(self, audio: np.ndarray, language: str | None = None, words: bool = False) -> AsrResult:
        """16 kHz mono float32 in [-1, 1] -> result. ``language``: "zh", "en", "auto" (detected among
        asr.languages) or None (the backend's configured asr.language). ``words``: word-level times too.
        Runs wholly in the calling thread."""
        ...


# name -> "module:Class"; the module is imported only when the backend is created.
BACKENDS = {
    "faster-whisper": "voiceassist.asr.whisper:FasterWhisperBackend",
    "funasr": "voiceassist.asr.funasr_asr:FunAsrBackend",  # SenseVoice-Small, Paraformer-zh (Mandarin-first)
}
EXTRAS = {"faster-whisper": "asr", "funasr": "emotion"}
"""The extra that brings each backend's packages (funasr's: FunASR, torch, kaldi-native-fbank)."""


class UnknownBackendError(ValueError):
    pass


def create_backend(cfg: AsrConfig, models_dir: str = "") -> AsrBackend:
    target = BACKENDS.get(cfg.backend)
    if target is None:
        raise UnknownBackendError(f"unknown ASR backend {cfg.backend!r}; known: {', '.join(BACKENDS)}")
    module, cls = target.split(":")
    try:
        mod = importlib.import_module(module)
    except ImportError as e:
        extra = EXTRAS.get(cfg.backend, "asr")
        raise ImportError(
            f"the {cfg.backend} backend needs the '{extra}' extra: pip install 'voiceassist[{extra}]' ({e})"
        ) from e
    return getattr(mod, cls)(cfg, models_dir)  # type: ignore[no-any-return]
