"""Utterance segmentation: webrtcvad frame decisions driven through an explicit state machine.

Pure logic over AudioChunks (no threads, no devices). States:

    SILENCE --(>= start_ratio of the last start_window frames voiced)--> SPEECH
    SPEECH  --(>= end_ratio of the last hangover frames unvoiced)-----> SILENCE   (segment: "silence")
    SPEECH  --(segment reaches max_segment_s)--------------------------> SPEECH    (segment: "max_length")
    end of stream while in SPEECH -------------------------------------> SILENCE   (segment: "end_of_stream")

Entry and exit use different windows and ratios (hysteresis), so a short pause does not split a
sentence and a click does not start one. Pre-roll frames from before the start are kept so the first
syllable is not clipped; utterances with less than ``min_speech_ms`` of voiced audio are discarded.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from enum import Enum

import numpy as np

from voiceassist.audio.chunk import SAMPLE_RATE, AudioChunk, Int16Array
from voiceassist.config import VadConfig
from voiceassist.events import Event, SpeechDiscarded, SpeechSegment, SpeechStarted

FrameClassifier = Callable[[Int16Array], bool]
MAX_HANGOVER_MS = 10000  # the longest hangover set_hangover accepts (vad.hangover_ms's own limit)


class VadState(Enum):
    SILENCE = "silence"
    SPEECH = "speech"


def webrtc_classifier(aggressiveness: int) -> FrameClassifier:
    import webrtcvad

    vad = webrtcvad.Vad(aggressiveness)

    def is_speech(frame: Int16Array) -> bool:
        return bool(vad.is_speech(frame.tobytes(), SAMPLE_RATE))

    return is_speech


class Segmenter:
    """Feed AudioChunks with ``push``; get SpeechStarted / SpeechSegment / SpeechDiscarded events back.

    Chunks must be contiguous. ``flush`` closes an utterance still open at the end of the stream.
    """

    def __init__(self, cfg: VadConfig, classifier: FrameClassifier | None = None, first_id: int = 1) -> None:
        self.cfg = cfg
        self.classify = classifier or webrtc_classifier(cfg.aggressiveness)
        self.frame_len = SAMPLE_RATE * cfg.frame_ms // 1000
        self.frame_s = cfg.frame_ms / 1000
        self._n_start = max(1, cfg.start_window_ms // cfg.frame_ms)
        self._n_hang = max(1, cfg.hangover_ms // cfg.frame_ms)
        self._n_hang_now = self._n_hang  # this utterance's hangover (set_hangover: the adaptive end of turn)
        self._n_pre = cfg.preroll_ms // cfg.frame_ms
        self._n_post = cfg.postroll_ms // cfg.frame_ms
        self._n_max = int(cfg.max_segment_s * 1000) // cfg.frame_ms
        self.state = VadState.SILENCE
        self.next_id = first_id
        self._pending = np.zeros(0, dtype=np.int16)
        self._origin_s: float | None = None  # stream time of frame 0
        self._frame_idx = 0  # index of the next frame to classify
        # Recent frames while silent: (frame index, samples, voiced, captured_at), for pre-roll and entry.
        self._recent: deque[tuple[int, Int16Array, bool, float]] = deque(maxlen=self._n_pre + self._n_start)
        # The open utterance.
        self._seg_id = 0
        self._seg_frames: list[Int16Array] = []
        self._seg_first = 0  # frame index of the segment's first frame
        self._voiced_count = 0
        self._last_voiced = -1  # frame index
        self._last_voiced_at = 0.0
        self._tail: deque[bool] = deque(maxlen=max(self._n_hang, MAX_HANGOVER_MS // cfg.frame_ms))

    # -- public -------------------------------------------------------------------------------------
    def push(self, chunk: AudioChunk) -> list[Event]:
        if self._origin_s is None:
            self._origin_s = chunk.start_s
        samples = np.concatenate([self._pending, chunk.samples]) if len(self._pending) else chunk.samples
        n_frames = len(samples) // self.frame_len
        events: list[Event] = []
        for k in range(n_frames):
            frame = samples[k * self.frame_len : (k + 1) * self.frame_len]
            frame_end_s = self._time(self._frame_idx + 1)
            captured_at = chunk.captured_at - max(0.0, chunk.end_s - frame_end_s)
            events.extend(self._step(frame, self.classify(frame), captured_at))
        self._pending = samples[n_frames * self.frame_len :].copy()
        return events

    def flush(self) -> list[Event]:
        """End of stream: close an open utterance."""
        events: list[Event] = []
        if self.state is VadState.SPEECH:
            events.extend(self._close(len(self._seg_frames), "end_of_stream"))
        self.state = VadState.SILENCE
        return events

    @property
    def in_speech(self) -> bool:
        return self.state is VadState.SPEECH

    @property
    def current_id(self) -> int | None:
        """Segment id of the utterance in progress (None when silent)."""
        return self._seg_id if self.state is VadState.SPEECH else None

    @property
    def current_voiced_s(self) -> float:
        """Voiced audio in the utterance in progress (0 when silent)."""
        return self._voiced_count * self.frame_s if self.state is VadState.SPEECH else 0.0

    @property
    def current_start_s(self) -> float:
        return self._time(self._seg_first)

    @property
    def current_pause_s(self) -> float:
        """Silence since the last voiced frame of the utterance in progress (0 when silent)."""
        if self.state is not VadState.SPEECH:
            return 0.0
        return (self._frame_idx - 1 - self._last_voiced) * self.frame_s

    @property
    def last_voiced_frame(self) -> int:
        """Index of the last voiced frame heard: an utterance whose value has not moved has heard no new
        speech (the key for work done at a pause)."""
        return self._last_voiced

    def speech_audio(self) -> tuple[AudioChunk, float] | None:
        """What the utterance in progress would be if it ended now: the audio ``_close`` would keep (up to
        the last voiced frame plus the post-roll) and the capture time of the last voiced frame."""
        if self.state is not VadState.SPEECH or not self._seg_frames:
            return None
        keep = min(len(self._seg_frames), self._last_voiced - self._seg_first + 1 + self._n_post)
        if keep <= 0:
            return None
        audio = AudioChunk(np.concatenate(self._seg_frames[:keep]), self._time(self._seg_first), self._last_voiced_at)
        return audio, self._last_voiced_at

    def set_hangover(self, segment_id: int, ms: int) -> list[Event]:
        """Change how much silence ends the utterance in progress (``segment_id``; ignored for any other).
        The utterance ends at once (events returned) when the silence heard already suffices."""
        if self.state is not VadState.SPEECH or segment_id != self._seg_id:
            return []
        self._n_hang_now = max(1, min(ms, MAX_HANGOVER_MS) // self.cfg.frame_ms)
        return self._close(self._keep(), "silence") if self._silence_ends() else []

    def current_audio(self) -> Int16Array:
        """Audio of the utterance in progress (empty when silent); for live per-frame analysis."""
        if not self._seg_frames:
            return np.zeros(0, dtype=np.int16)
        return np.concatenate(self._seg_frames)

    # -- state machine ------------------------------------------------------------------------------
    def _time(self, frame_idx: int) -> float:
        return (self._origin_s or 0.0) + frame_idx * self.frame_s

    def _step(self, frame: Int16Array, voiced: bool, captured_at: float) -> list[Event]:
        idx = self._frame_idx
        self._frame_idx += 1
        if self.state is VadState.SILENCE:
            self._recent.append((idx, frame, voiced, captured_at))
            window = list(self._recent)[-self._n_start :]
            if len(window) == self._n_start and sum(v for _, _, v, _ in window) >= self.cfg.start_ratio * self._n_start:
                return self._open(window)
            return []
        # SPEECH
        self._seg_frames.append(frame)
        self._tail.append(voiced)
        if voiced:
            self._voiced_count += 1
            self._last_voiced = idx
            self._last_voiced_at = captured_at
        if self._silence_ends():
            return self._close(self._keep(), "silence")
        if len(self._seg_frames) >= self._n_max:
            events = self._close(len(self._seg_frames), "max_length")
            # The monologue goes on: a new utterance starts right here, with no gap.
            events.extend(self._begin(self._frame_idx, [], captured_at))
            return events
        return []

    def _silence_ends(self) -> bool:
        n = self._n_hang_now
        if len(self._tail) < n:
            return False
        recent = list(self._tail)[-n:] if n < len(self._tail) else self._tail
        return recent.count(False) >= self.cfg.end_ratio * n

    def _keep(self) -> int:
        return min(len(self._seg_frames), self._last_voiced - self._seg_first + 1 + self._n_post)

    def _open(self, window: list[tuple[int, Int16Array, bool, float]]) -> list[Event]:
        first_voiced = next(i for i, _, v, _ in window if v)
        start = first_voiced - self._n_pre
        frames = [(i, f, v, c) for i, f, v, c in self._recent if i >= start]
        self._recent.clear()
        events = self._begin(frames[0][0], [f for _, f, _, _ in frames], frames[-1][3])
        for i, _, v, c in frames:
            if i >= first_voiced:
                self._tail.append(v)
            if v:
                self._voiced_count += 1
                self._last_voiced = i
                self._last_voiced_at = c
        return events

    def _begin(self, first_idx: int, frames: list[Int16Array], captured_at: float) -> list[Event]:
        self.state = VadState.SPEECH
        self._seg_id = self.next_id
        self.next_id += 1
        self._seg_first = first_idx
        self._seg_frames = frames
        self._voiced_count = 0
        self._last_voiced = first_idx - 1
        self._last_voiced_at = captured_at
        self._tail.clear()
        self._n_hang_now = self._n_hang
        return [SpeechStarted(segment_id=self._seg_id, start_s=self._time(first_idx))]

    def _close(self, keep_frames: int, reason: str) -> list[Event]:
        kept, rest = self._seg_frames[:keep_frames], self._seg_frames[keep_frames:]
        start_s = self._time(self._seg_first)
        end_s = self._time(self._seg_first + len(kept))
        voiced_s = self._voiced_count * self.frame_s
        seg_id = self._seg_id
        self.state = VadState.SILENCE
        self._seg_frames = []
        # Frames after the cut are silence that may serve as the next utterance's pre-roll.
        self._recent.clear()
        tail = rest[len(rest) - min(len(rest), self._recent.maxlen or 0) :]
        first_tail = self._seg_first + keep_frames + len(rest) - len(tail)
        for k, f in enumerate(tail):
            self._recent.append((first_tail + k, f, False, self._last_voiced_at))
        if voiced_s * 1000 < self.cfg.min_speech_ms or not kept:
            return [SpeechDiscarded(segment_id=seg_id, start_s=start_s, voiced_s=voiced_s)]
        audio = AudioChunk(np.concatenate(kept), start_s, self._last_voiced_at)
        return [
            SpeechSegment(
                segment_id=seg_id,
                start_s=start_s,
                end_s=end_s,
                audio=audio,
                reason=reason,  # type: ignore[arg-type]
                speech_end_at=self._last_voiced_at,
            )
        ]
