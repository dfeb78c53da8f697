"""The ASR stage: final transcripts, and the work done before the end of the turn.

While the person speaks, the capture thread (``EarlyTurn``) offers the ASR worker two kinds of preview,
through the worker's newest-only slot (so they never queue up, and a final utterance never waits behind
more than the one preview being decoded):

- a **partial**: the audio so far, at most every ``turn.partial_every_ms`` of new speech, only while the
  person is voicing and the worker has no final to do. Its words are shown greyed (``PartialTranscript``).
- a **speculative final**: at the first short pause (``turn.speculative_pause_ms``), exactly the audio the
  utterance would keep if it ended there. Its words are shown too, and they decide the end of turn
  (voiceassist/asr/turn.py): the turn is held open until they are known, then the capture thread is told
  the hangover for that utterance (holding costs nothing: the final words could not come sooner). If the
  person goes on, the result is thrown away; if the pause becomes the end of the turn, the final pass finds
  the same audio and reuses the result (``Transcript.early``): the words are ready when the turn ends.

On the ASR worker (``AsrStage``) a preview for an utterance that has already ended is dropped unseen, and a
preview that fails is logged and dropped (it never blocks the final pass). Previews go through the same
speech gate and guard as the final pass, so noise and music give no partial words.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np

from voiceassist.asr import AsrBackend, AsrResult, preview_pass
from voiceassist.asr.eot import EndOfTurnModel
from voiceassist.asr.turn import hangover_ms, pitch_falls
from voiceassist.audio.chunk import AudioChunk
from voiceassist.audio.vad import Segmenter
from voiceassist.config import Config
from voiceassist.events import Event, PartialTranscript, SpeechSegment, Transcript
from voiceassist.pipeline.emotion import VoiceFrames
from voiceassist.pipeline.live import LiveVoiceFrames

log = logging.getLogger(__name__)

MIN_PREVIEW_S = 0.5  # no partial for less speech than this: Whisper has too little to go on


@dataclass(frozen=True)
class Preview:
    """Audio of an utterance still open, for a partial or a speculative final."""

    segment_id: int
    audio: AudioChunk  # start_s: the utterance's start; captured_at: capture time of its last sample
    speculative: bool  # the audio ends at a pause: the utterance as it would be if it ended there
    voiced_key: int  # Segmenter.last_voiced_frame when made


@dataclass(frozen=True)
class Hint:
    segment_id: int
    voiced_key: int
    hangover_ms: int


class EarlyTurn:
    """Capture-thread side: decides when to offer previews, and applies end-of-turn hints to the segmenter.

    ``offer`` hands a Preview to the ASR worker (its newest-only slot); ``asr_busy`` says whether the worker
    has finals queued. Hints come from the ASR worker through ``hint`` (any thread)."""

    def __init__(self, cfg: Config, offer: Callable[[Preview], None], asr_busy: Callable[[], bool]) -> None:
        self.turn = cfg.turn
        self.offer = offer
        self.asr_busy = asr_busy
        self.adaptive = cfg.turn.end_of_turn != "fixed" and cfg.turn.speculative_pause_ms > 0
        self.default_ms = cfg.vad.hangover_ms
        # While the speculative pass runs, the turn is held open (up to this): its words decide how long
        # the silence must be, and the final transcript cannot come sooner than they do anyway.
        self.hold_ms = max(cfg.turn.trailing_hangover_ms, cfg.vad.hangover_ms)
        self._awaiting: int | None = None  # voiced key of the speculative pass whose hint is awaited
        self._seg: int | None = None
        self._partial_at_voiced = 0.0  # voiced seconds when the last partial was offered
        self._spec_key: int | None = None  # last_voiced_frame of the last speculative offer
        self._hint: Hint | None = None
        self._lock = threading.Lock()
        self.closed_upto = 0  # the newest utterance id that has ended (read by the ASR worker)

    def hint(self, h: Hint) -> None:
        with self._lock:
            self._hint = h

    def closed(self, segment_id: int) -> None:
        self.closed_upto = max(self.closed_upto, segment_id)

    def step(self, seg: Segmenter, captured_at: float) -> list[Event]:
        """After each pushed chunk (its last sample captured at ``captured_at``): offer what is due; return
        the segmenter events an end-of-turn hint caused."""
        events = self._apply_hint(seg)
        sid = seg.current_id
        if sid is None:
            return events
        if sid != self._seg:
            self._seg, self._partial_at_voiced, self._spec_key, self._awaiting = sid, 0.0, None, None
        if self._awaiting is not None and self._awaiting != seg.last_voiced_frame:
            self._awaiting = None  # the person went on: the usual hangover until the next pause
            events += seg.set_hangover(sid, self.default_ms)
        pause = seg.current_pause_s
        if self.turn.speculative_pause_ms and pause * 1000 >= self.turn.speculative_pause_ms:
            if self._spec_key != seg.last_voiced_frame:
                self._spec_key = seg.last_voiced_frame
                got = seg.speech_audio()
                if got is not None:
                    self.offer(Preview(sid, got[0], True, seg.last_voiced_frame))
                    if self.adaptive:
                        self._awaiting = seg.last_voiced_frame
                        events += seg.set_hangover(sid, self.hold_ms)
            return events
        voiced = seg.current_voiced_s
        if (
            self.turn.partials
            and pause == 0.0  # voicing now: a pause may be the end, and the speculative pass is due then
            and voiced >= MIN_PREVIEW_S
            and (voiced - self._partial_at_voiced) * 1000 >= self.turn.partial_every_ms
            and not self.asr_busy()
        ):
            self._partial_at_voiced = voiced
            audio = AudioChunk(seg.current_audio(), seg.current_start_s, captured_at)
            self.offer(Preview(sid, audio, False, seg.last_voiced_frame))
        return events

    def _apply_hint(self, seg: Segmenter) -> list[Event]:
        with self._lock:
            h, self._hint = self._hint, None
        if h is None or not self.adaptive or h.voiced_key != seg.last_voiced_frame:
            return []  # the person spoke again since: the hint was about words that have moved on
        self._awaiting = None
        return seg.set_hangover(h.segment_id, h.hangover_ms)


class AsrStage:
    """ASR-worker side: one model for finals and previews; reuses a speculative result for the final."""

    def __init__(
        self,
        cfg: Config,
        backend: Callable[[], AsrBackend],
        early: EarlyTurn | None,
        after_final: Callable[[SpeechSegment, Transcript], None],
        voice: Callable[[VoiceFrames], None] | None = None,
        live_voice: Callable[[LiveVoiceFrames], None] | None = None,
    ) -> None:
        """``early``: the capture side of previews (None for audio read at full speed: no previews come).
        ``voice``: hears each final pass's encoder frames (the voice-emotion head reads them); ``live_voice``
        each partial pass's."""
        self.cfg = cfg
        self._backend = backend
        self.early = early
        self._after_final = after_final
        self._voice = voice
        self._live_voice = live_voice
        self._spec: tuple[int, np.ndarray, AsrResult] | None = None  # (segment id, audio, result)
        self.reused = 0
        # the semantic end of turn's model: owned here, read on the ASR worker (loaded on first use)
        self.eot = EndOfTurnModel() if cfg.turn.end_of_turn == "semantic" and early is not None else None

    def handle(self, item: SpeechSegment | Preview) -> Iterable[Event]:
        if isinstance(item, Preview):
            yield from self._preview(item)
        else:
            yield from self._final(item)

    def _final(self, seg: SpeechSegment) -> Iterable[Event]:
        asr = self._backend()
        t0 = time.monotonic()
        spec, self._spec = self._spec, None
        early = (
            spec is not None
            and spec[0] == seg.segment_id
            and len(spec[1]) == len(seg.audio.samples)
            and np.array_equal(spec[1], seg.audio.samples)
        )
        if early:
            assert spec is not None
            r = spec[2]
            self.reused += 1
        else:
            # a failure: the worker's on_failed tells the assessment
            r = asr.transcribe(seg.audio.as_float32(), self.cfg.asr.language, self.cfg.asr.word_timestamps)
        tr = Transcript(
            segment_id=seg.segment_id,
            text=r.text,
            language=r.language,
            language_probability=round(r.language_probability, 4),
            start_s=seg.start_s,
            end_s=seg.end_s,
            backend=asr.description,
            no_speech_prob=round(r.no_speech_prob, 4),
            avg_logprob=round(r.avg_logprob, 4) if r.avg_logprob > -1e9 else -99.0,
            dropped_as_hallucination=r.dropped_as_hallucination,
            dropped_reason=r.dropped_reason,
            processing_s=time.monotonic() - t0,
            early=early,
            words=tuple(dataclasses.replace(w, start=w.start + seg.start_s, end=w.end + seg.start_s) for w in r.words),
        )
        yield tr
        if self._voice is not None:
            self._voice(VoiceFrames(seg.segment_id, r.encoder, r.voice_emotion))
        self._after_final(seg, tr)

    def _preview(self, p: Preview) -> Iterable[Event]:
        early = self.early
        assert early is not None, "previews come only from the capture side of live audio"
        if p.segment_id <= early.closed_upto:
            return  # the utterance has ended: its final pass is queued, this would only delay it
        t0 = time.monotonic()
        waited = t0 - p.audio.captured_at  # from the last sample it holds (a speculative pass: the speech end)
        try:
            asr, audio, language = self._backend(), p.audio.as_float32(), self.cfg.asr.language
            # the speculative pass is the final's own (reused when the turn ends there); a partial is cheap
            if p.speculative:
                r = asr.transcribe(audio, language, self.cfg.asr.word_timestamps)
            else:
                r = preview_pass(asr, audio, language)
        except Exception:
            log.warning("a %s pass failed (dropped)", "speculative" if p.speculative else "partial", exc_info=True)
            if p.speculative:  # the turn was held open for it: let it end the usual way
                early.hint(Hint(p.segment_id, p.voiced_key, self.cfg.vad.hangover_ms))
            return
        if p.speculative:
            self._spec = (p.segment_id, p.audio.samples, r)
            falling = pitch_falls(p.audio.as_float32()) if r.text else None
            p_finished = self.eot.probability_or_none(r.text, r.language) if self.eot is not None else None
            ms = hangover_ms(self.cfg.turn, self.cfg.vad, r.text, r.language, falling, p_finished)
            early.hint(Hint(p.segment_id, p.voiced_key, ms))
            log.debug(
                "speculative pass, utterance %d: started %.3f s after the speech end, took %.3f s; P(finished) "
                "%s, pitch falls %s: hangover %d ms",
                p.segment_id, waited, time.monotonic() - t0, p_finished, falling, ms,
            )  # fmt: skip
        if self._live_voice is not None and r.encoder is not None and p.segment_id > early.closed_upto:
            self._live_voice(LiveVoiceFrames(p.segment_id, r.encoder, p.audio.start_s, p.audio.captured_at))
        if r.text and p.segment_id > early.closed_upto:
            yield PartialTranscript(
                segment_id=p.segment_id,
                text=r.text,
                language=r.language,
                start_s=p.audio.start_s,
                audio_end_s=p.audio.end_s,
                captured_at=p.audio.captured_at,
                processing_s=time.monotonic() - t0,
            )
