"""Speech recognition backends, created by name from a lazy registry."""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from voiceassist.config import AsrConfig


@dataclass(frozen=True)
class AsrResult:
    text: str
    language: str
    language_probability: float
    no_speech_prob: float
    avg_logprob: float
    dropped_as_hallucination: bool  # Whisper produced text, but the guards rejected all of it
    dropped_reason: str | None = None  # why the guards dropped or cut something (see voiceassist/asr/guard.py)


class AsrBackend(Protocol):
    name: str
    description: str  # shown on screen and written to results: which model, from where, on what device

    def load(self) -> None: ...

    def transcribe(self, audio: np.ndarray) -> AsrResult:
        """16 kHz mono float32 in [-1, 1] -> result. Runs wholly in the calling (worker) thread."""
        ...


# name -> "module:Class"; the module is imported only when the backend is created.
BACKENDS = {"faster-whisper": "voiceassist.asr.whisper:FasterWhisperBackend"}


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
        raise ImportError(
            f"the {cfg.backend} backend needs the 'asr' extra: pip install 'voiceassist[asr]' ({e})"
        ) from e
    return getattr(mod, cls)(cfg, models_dir)  # type: ignore[no-any-return]
