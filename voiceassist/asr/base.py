"""What every speech recogniser shares: the result type and the backend interface. Backends import from
here (never from the package), so the registry that creates them and the backends do not import each
other in a circle."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
import numpy.typing as npt

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
    voice_emotion: dict[str, float] | None = None
    """A recogniser that also tags emotion (SenseVoice): its probabilities by label, another opinion on the
    voice (the speech-emotion stage blends it in)."""
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


def preview_pass(asr: AsrBackend, audio: np.ndarray, language: str | None) -> AsrResult:
    """A partial transcript of speech still going on: the backend's cheap pass when it has one (an optional
    ``preview(audio, language)``: Whisper decodes greedily in the short window), else its usual pass."""
    cheap = getattr(asr, "preview", None)
    return cheap(audio, language) if callable(cheap) else asr.transcribe(audio, language)
