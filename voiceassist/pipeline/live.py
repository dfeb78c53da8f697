"""Live frame curves while the person speaks: the capture thread offers the utterance heard so far every
``emotion.live_interval_ms`` (newest-only, so a slow model never queues updates up), and the speech-emotion
worker computes curves for the new part only, on it plus ``emotion.live_context_s`` of context."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from voiceassist.audio.chunk import SAMPLE_RATE, int16_to_float32
from voiceassist.config import EmotionConfig
from voiceassist.emotion import SpeechEmotionBackend
from voiceassist.events import EmotionFrames


@dataclass(frozen=True)
class LiveRequest:
    """The utterance heard so far, for a live frame-curve update."""

    segment_id: int
    audio: np.ndarray  # int16
    start_s: float
    captured_at: float


@dataclass(frozen=True)
class LiveVoiceFrames:
    """A partial pass's encoder output: the utterance heard so far (live curves)."""

    segment_id: int
    frames: npt.NDArray[np.float32]
    start_s: float
    captured_at: float


class LiveOffers:
    """Capture-thread side: whether the utterance heard so far is due for an update."""

    def __init__(self, cfg: EmotionConfig) -> None:
        self.cfg = cfg
        self._last: tuple[int, float] = (-1, 0.0)  # (segment id, seconds heard at the last offer)

    def due(self, segment_id: int | None, audio: np.ndarray, start_s: float, captured_at: float) -> LiveRequest | None:
        if segment_id is None:
            return None
        heard_s = len(audio) / SAMPLE_RATE
        last_id, last_s = self._last
        if heard_s < 0.2 or (last_id == segment_id and heard_s - last_s < self.cfg.live_interval_ms / 1000):
            return None
        self._last = (segment_id, heard_s)
        return LiveRequest(segment_id=segment_id, audio=audio, start_s=start_s, captured_at=captured_at)


class LiveCurves:
    """Speech-emotion-worker side: the frames already sent per utterance, and the new ones."""

    def __init__(self, cfg: EmotionConfig) -> None:
        self.cfg = cfg
        self._done: dict[int, int] = {}  # segment id -> frames already sent live

    def update(self, req: LiveRequest | LiveVoiceFrames, backend: SpeechEmotionBackend) -> EmotionFrames | None:
        """EmotionFrames for what is new since the last update of this utterance (None: nothing new)."""
        rate = backend.frame_rate
        done = self._done.get(req.segment_id, 0)
        if isinstance(req, LiveRequest):
            total = int(len(req.audio) / SAMPLE_RATE * rate)
            if total <= done:
                return None
            first = max(0, done - int(self.cfg.live_context_s * rate))
            curves = backend.frames(int16_to_float32(req.audio[int(first / rate * SAMPLE_RATE) :]))
        else:  # the encoder frames of the utterance so far: curves over all of them (context included)
            total, first = len(req.frames), 0
            if total <= done:
                return None
            curves = backend.frames(np.zeros(0, np.float32), req.frames)
        new = curves.probs[done - first : total - first]
        if len(new) == 0:
            return None
        self._done[req.segment_id] = done + len(new)
        return EmotionFrames(
            segment_id=req.segment_id,
            start_s=req.start_s + done / rate,
            frame_rate=rate,
            probs=new,
            audio_captured_at=req.captured_at,
            backend=backend.description,
        )

    def finished(self, segment_id: int) -> None:
        """The utterance is over (its full analysis is done): forget it."""
        self._done.pop(segment_id, None)
