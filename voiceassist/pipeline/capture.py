"""The capture stage: everything that happens on the capture thread, between the audio source and the
model workers.

For each chunk of audio, in order: push-to-talk (a released button is heard as silence, timing kept), the
input level (live sources, 10 times a second), the segmenter (speech start and end), the early end of turn
(previews for the ASR worker, voiceassist/pipeline/transcribe.py), the live frame-curve offers, and barge-in
(speaking over the assistant stops its voice). When an utterance ends: turn-taking (what started while the
assistant was speaking is not the person's input, unless barge-in is on), then the quality check, and the
utterance goes to the model stages (``on_segment``). Nothing here calls a model; nothing blocks but the
hand-over to a full queue (backpressure).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Protocol

import numpy as np

from voiceassist.audio.chunk import AudioChunk, int16_to_float32
from voiceassist.audio.quality import check_segment
from voiceassist.audio.sources import AudioInputError, AudioSource
from voiceassist.audio.vad import Segmenter
from voiceassist.bus import EventBus
from voiceassist.config import Config
from voiceassist.events import (
    AudioLevel,
    Event,
    InputOverflow,
    QualityReport,
    SourceEnded,
    SpeechDiscarded,
    SpeechSegment,
    SpeechStarted,
)
from voiceassist.pipeline.live import LiveOffers, LiveRequest
from voiceassist.pipeline.transcribe import EarlyTurn

log = logging.getLogger(__name__)


class Speaker(Protocol):
    """What capture asks of the assistant's voice (the Responder): is it speaking, and stop it."""

    @property
    def assistant_speaking(self) -> bool: ...

    def barge_in(self, segment_id: int | None) -> None: ...


class Capture:
    def __init__(
        self,
        cfg: Config,
        source: AudioSource,
        bus: EventBus,
        on_segment: Callable[[SpeechSegment, QualityReport], None],
        *,
        early: EarlyTurn | None = None,
        live: Callable[[LiveRequest], None] | None = None,
        speaker: Speaker | None = None,
    ) -> None:
        """``on_segment``: an utterance the person spoke, with its quality report (only those that pass go
        on to the models: the caller decides). ``live``: offers of the utterance heard so far, for live
        curves. ``speaker``: the assistant's voice, for turn-taking and barge-in."""
        self.cfg = cfg
        self.source = source
        self.bus = bus
        self.on_segment = on_segment
        self.early = early
        self.live = live
        self.speaker = speaker
        self.segmenter = Segmenter(cfg.vad)
        self._input_enabled = threading.Event()
        self._input_enabled.set()
        self._ignored: set[int] = set()  # utterances that started while the assistant was speaking
        self._barged_id: int | None = None  # the utterance that interrupted the assistant
        self._live_offers = LiveOffers(cfg.emotion)

    def set_input_enabled(self, enabled: bool) -> None:
        """Push-to-talk: while disabled, what the microphone hears is replaced by silence (timing kept)."""
        if enabled:
            self._input_enabled.set()
        else:
            self._input_enabled.clear()

    def run(self, stop: threading.Event) -> None:
        """The capture thread's loop: until the source ends, fails or ``stop`` is set. What was heard of an
        utterance still open at the end is flushed and processed; SourceEnded says why it ended."""
        error: str | None = None
        last_overflows = 0
        duration = 0.0
        level_every = 0.1 if self.source.realtime else float("inf")
        next_level = 0.0
        try:
            for chunk in self.source.chunks(stop):
                duration = chunk.end_s
                if not self._input_enabled.is_set():  # push-to-talk released: the segmenter hears silence
                    chunk = AudioChunk(np.zeros_like(chunk.samples), chunk.start_s, chunk.captured_at)
                if chunk.end_s >= next_level:
                    next_level = chunk.end_s + level_every
                    self._publish_level(chunk)
                for ev in self.segmenter.push(chunk):
                    self._on_segmenter_event(ev)
                if self.early is not None:
                    for ev in self.early.step(self.segmenter, chunk.captured_at):
                        self._on_segmenter_event(ev)
                if self.live is not None:
                    self._maybe_offer_live(chunk.captured_at)
                if self.speaker is not None and self.cfg.tts.barge_in:
                    self._maybe_barge_in(self.speaker)
                if self.source.overflows != last_overflows:
                    last_overflows = self.source.overflows
                    self.bus.publish(InputOverflow(count=last_overflows))
        except AudioInputError as e:
            error = str(e)  # said by the front end (SourceEnded.error); the log keeps it too
            log.info("audio input ended with an error: %s", e)
        except Exception as e:  # never let the capture thread die silently
            error = f"{type(e).__name__}: {e}"
            log.error("capture failed", exc_info=True)
        finally:
            for ev in self.segmenter.flush():  # nothing already heard is lost
                self._on_segmenter_event(ev)
            self.bus.publish(
                SourceEnded(
                    source=self.source.info.name, duration_s=duration, overflows=self.source.overflows, error=error
                )
            )

    def _publish_level(self, chunk: AudioChunk) -> None:
        x = int16_to_float32(chunk.samples)
        rms = float(np.sqrt(np.mean(x * x))) if len(x) else 0.0
        self.bus.publish(
            AudioLevel(rms_dbfs=round(20 * np.log10(max(rms, 1e-6)), 1), in_speech=self.segmenter.in_speech)
        )

    def _maybe_barge_in(self, speaker: Speaker) -> None:
        seg_id = self.segmenter.current_id
        if (
            seg_id is None
            or seg_id == self._barged_id
            or not speaker.assistant_speaking
            or self.segmenter.current_voiced_s * 1000 < self.cfg.tts.barge_in_ms
        ):
            return
        self._barged_id = seg_id
        speaker.barge_in(seg_id)

    def _maybe_offer_live(self, captured_at: float) -> None:
        assert self.live is not None
        seg = self.segmenter
        req = self._live_offers.due(seg.current_id, seg.current_audio(), seg.current_start_s, captured_at)
        if req is not None:
            self.live(req)

    def _on_segmenter_event(self, ev: Event) -> None:
        if self.speaker is not None and not self.cfg.tts.barge_in:
            # Turn-taking: without echo cancellation the microphone hears the assistant; what starts while
            # it speaks is not taken as the person's input.
            if isinstance(ev, SpeechStarted) and self.speaker.assistant_speaking:
                self._ignored.add(ev.segment_id or 0)
            if isinstance(ev, SpeechSegment) and ev.segment_id in self._ignored:
                self._ignored.discard(ev.segment_id)
                self.bus.publish(
                    SpeechDiscarded(
                        segment_id=ev.segment_id,
                        start_s=ev.start_s,
                        voiced_s=ev.end_s - ev.start_s,
                        reason="assistant_speaking",
                    )
                )
                return
        if self.early is not None and isinstance(ev, SpeechSegment | SpeechDiscarded) and ev.segment_id is not None:
            self.early.closed(ev.segment_id)  # before the final is queued: its previews are stale now
        self.bus.publish(ev)
        if not isinstance(ev, SpeechSegment):
            return
        report, error = check_segment(ev, self.cfg.quality, self.cfg.vad)
        if error is not None:
            self.bus.publish(error)
        self.bus.publish(report)
        self.on_segment(ev, report)
