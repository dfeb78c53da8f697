"""The UI-independent pipeline: capture, quality, turn-taking, ASR, the two emotion stages and the
assessment stage, each on its own thread.

    source (file or microphone) --chunks--> [capture thread] segmenter + quality checks + turn-taking
                                                 |  SpeechSegment (bounded queues, backpressure)
                  .------------------------------+-------------------------------.
                  v                                                              v
        [asr worker] owns Whisper --> Transcript --> [text-emotion worker]   [speech-emotion worker]
                  |                                   TextEmotion  |          EmotionFrames (live), SpeechEmotion
                  '--------------- Part messages -----------------+----------------'
                                                                  v
                        [assess worker] fusion -> mood -> alerts -> reply request, in segment order

Every stage publishes typed events on the bus; the session, the CLI and the window are subscribers. The
pipeline does not build the responder or the alert service: the Session (voiceassist/session.py) does, and
hands them in.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from collections.abc import Iterable
from typing import Any

import numpy as np

from voiceassist.asr import AsrBackend
from voiceassist.audio.chunk import AudioChunk, int16_to_float32
from voiceassist.audio.sources import AudioInputError, AudioSource
from voiceassist.audio.vad import Segmenter
from voiceassist.bus import EventBus
from voiceassist.config import Config
from voiceassist.emotion import EmotionEstimate, SpeechEmotionBackend, TextEmotionBackend
from voiceassist.events import (
    AudioLevel,
    Event,
    InputOverflow,
    PipelineStopped,
    QualityReport,
    SourceEnded,
    SourceStarted,
    SpeechDiscarded,
    SpeechEmotion,
    SpeechSegment,
    SpeechStarted,
    StageError,
    TextEmotion,
    Transcript,
)
from voiceassist.pipeline.assess import AssessmentStage, Opened, Part, PartKind, ReplyRequest
from voiceassist.pipeline.live import LiveCurves, LiveOffers, LiveRequest
from voiceassist.pipeline.loading import check_quality, load_asr, load_speech_emotion, load_text_emotion
from voiceassist.pipeline.transcribe import AsrStage, EarlyTurn, Preview
from voiceassist.textnorm import normalize as normalize_text
from voiceassist.worker import Worker

log = logging.getLogger(__name__)


class StageSetupError(RuntimeError):
    """A stage the pipeline cannot run without (speech recognition) failed to load: a bad configuration
    (a model that does not exist, a compute type the device cannot do...). Raised by ``start`` before any
    audio is read; the message says what is wrong."""


class Pipeline:
    def __init__(
        self,
        cfg: Config,
        source: AudioSource,
        bus: EventBus | None = None,
        asr: AsrBackend | None = None,
        speech_emotion: SpeechEmotionBackend | None = None,
        text_emotion: TextEmotionBackend | None = None,
        live_frames: bool | None = None,
        alerts: Any = None,
        responder: Any = None,
    ) -> None:
        """``alerts`` (an AlertService) and ``responder`` (a Responder) are built and owned by the Session;
        without them the pipeline assesses utterances but raises no alert and gives no reply."""
        self.cfg = cfg
        self.source = source
        self.bus = bus or EventBus()
        self._asr = asr
        self._ser = speech_emotion
        self._ter = text_emotion
        self._stop = threading.Event()
        self._capture: threading.Thread | None = None
        self.emotion_enabled = cfg.emotion.enabled
        self.alerts = alerts
        self.responder = responder if self.emotion_enabled else None
        self.assessment = AssessmentStage(cfg, alerts=alerts, reply=self._request_reply)
        self._assess_worker: Worker[Part] = Worker("assess", self.bus, self.assessment.handle, maxsize=256)
        realtime = source.realtime
        # Previews and the adaptive end of turn only on live audio: a file read at full speed is segmented
        # the same way on every machine (fixed hangover), whatever the speed of its ASR.
        self.early = EarlyTurn(cfg, self._offer_preview, lambda: self._asr_worker.pending > 0) if realtime else None
        self._asr_stage = AsrStage(cfg, lambda: self._asr, self.early, self._after_transcript)  # type: ignore[arg-type,return-value]
        self._asr_worker: Worker[SpeechSegment | Preview] = Worker(
            "asr",
            self.bus,
            self._asr_stage.handle,
            setup=self._load_asr,
            on_failed=lambda it: None if isinstance(it, Preview) else self._part(it.segment_id, "transcript", None),
        )
        self._emotion_worker: Worker[SpeechSegment | LiveRequest] = Worker(
            "speech-emotion",
            self.bus,
            self._speech_emotion,
            setup=self._load_speech_emotion,
            on_failed=lambda item: None if isinstance(item, LiveRequest) else self._part(item.segment_id, "speech"),
        )
        self._text_worker: Worker[Transcript] = Worker(
            "text-emotion",
            self.bus,
            self._text_emotion,
            setup=self._load_text_emotion,
            on_failed=lambda tr: self._part(tr.segment_id, "text"),
        )
        if live_frames is None:
            live_frames = cfg.emotion.live_frames and realtime
        self.voice_emotion = self.emotion_enabled and cfg.privacy.voice_emotion
        self.live_frames = live_frames and self.voice_emotion
        # capture-thread state (turn-taking, barge-in, live offers): only the capture thread touches it
        self._ignored: set[int] = set()  # utterances that started while the assistant was speaking
        self._barged_id: int | None = None  # the utterance that interrupted the assistant
        self._live_offers = LiveOffers(cfg.emotion)
        # speech-emotion-worker state
        self._live_curves = LiveCurves(cfg.emotion)
        self._input_enabled = threading.Event()
        self._input_enabled.set()
        self.segmenter = Segmenter(cfg.vad)
        self._stopped = False
        self._stop_lock = threading.Lock()

    @property
    def mood(self) -> Any:
        return self.assessment.mood

    def _request_reply(self, req: ReplyRequest) -> None:
        if self.responder is not None:
            self.responder.reply_worker.submit(req)

    # -- lifecycle ---------------------------------------------------------------------------------
    def start(self, wait_ready: bool = True) -> None:
        """Open the source (errors raise AudioInputError here, before any thread starts), start the
        workers (models load and warm up in their own threads), then start capturing."""
        info = self.source.open()
        workers = self._workers()
        for w in workers:
            w.start()
        if wait_ready:
            for w in workers:
                w.ready.wait()
            if self._asr_worker.failed_setup is not None:
                for w in workers:
                    w.stop(1.0)
                raise StageSetupError(f"speech recognition cannot start: {self._asr_worker.failed_setup}")
        self.bus.publish(SourceStarted(source=info.name, sample_rate_in=info.sample_rate, channels_in=info.channels))
        self._capture = threading.Thread(target=self._capture_loop, name="voiceassist-capture", daemon=True)
        self._capture.start()

    def wait(self, timeout: float | None = None) -> bool:
        """Wait until the source has ended and every segment is processed (file sources)."""
        if self._capture is None:
            return True
        deadline = None if timeout is None else time.monotonic() + timeout
        self._capture.join(timeout)
        if self._capture.is_alive():
            return False
        done = True
        for w in self._workers():  # in data-flow order: each one's output is queued before the next drains
            done = w.drain(_left(deadline)) and done
        self._finish("end of input")
        return done

    def stop(self, timeout: float = 5.0) -> bool:
        """Stop capturing (an utterance in progress is closed and still processed), let the workers finish
        what they hold, then stop them: all within ``timeout`` seconds in total. Idempotent. Returns False
        when something was still busy at the deadline (it is left behind, on a daemon thread)."""
        deadline = time.monotonic() + timeout
        self._stop.set()
        if self.responder is not None:
            self.responder.stop_speaking()
        if self._capture is not None:
            self._capture.join(_left(deadline))
        done = True
        for w in self._workers():
            done = w.drain(_left(deadline)) and done
        for w in reversed(self._workers()):
            done = w.stop(min(1.0, _left(deadline) or 0.0)) and done
        self._finish("stopped")
        return done

    def _workers(self) -> list[Worker]:  # type: ignore[type-arg]
        if not self.emotion_enabled:
            return [self._asr_worker]
        extra = self.responder.workers if self.responder is not None else []
        voice = [self._emotion_worker] if self.voice_emotion else []
        return [self._asr_worker, *voice, self._text_worker, self._assess_worker, *extra]

    def _part(self, segment_id: int | None, kind: PartKind, value: Any = None) -> None:
        if segment_id is not None and self.emotion_enabled:
            self._assess_worker.submit(Part(segment_id, kind, value))

    def _finish(self, reason: str) -> None:
        with self._stop_lock:
            if self._stopped:
                return
            self._stopped = True
        self.bus.publish(PipelineStopped(reason=reason))

    # -- capture thread ----------------------------------------------------------------------------
    def _capture_loop(self) -> None:
        error: str | None = None
        last_overflows = 0
        duration = 0.0
        level_every = 0.1 if self.source.realtime else float("inf")
        next_level = 0.0
        try:
            for chunk in self.source.chunks(self._stop):
                duration = chunk.end_s
                if not self._input_enabled.is_set():  # push-to-talk released: the segmenter hears silence
                    chunk = AudioChunk(np.zeros_like(chunk.samples), chunk.start_s, chunk.captured_at)
                if chunk.end_s >= next_level:
                    next_level = chunk.end_s + level_every
                    x = int16_to_float32(chunk.samples)
                    rms = float(np.sqrt(np.mean(x * x))) if len(x) else 0.0
                    self.bus.publish(
                        AudioLevel(rms_dbfs=round(20 * np.log10(max(rms, 1e-6)), 1), in_speech=self.segmenter.in_speech)
                    )
                for ev in self.segmenter.push(chunk):
                    self._on_segmenter_event(ev)
                if self.early is not None:
                    for ev in self.early.step(self.segmenter, chunk.captured_at):
                        self._on_segmenter_event(ev)
                if self.live_frames:
                    self._maybe_offer_live(chunk.captured_at)
                if self.responder is not None and self.cfg.tts.barge_in:
                    self._maybe_barge_in()
                if self.source.overflows != last_overflows:
                    last_overflows = self.source.overflows
                    self.bus.publish(InputOverflow(count=last_overflows))
        except AudioInputError as e:
            error = str(e)
            log.warning("audio input ended with an error: %s", e)
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

    def set_input_enabled(self, enabled: bool) -> None:
        """Push-to-talk: while disabled, what the microphone hears is replaced by silence (timing kept)."""
        if enabled:
            self._input_enabled.set()
        else:
            self._input_enabled.clear()

    def _maybe_barge_in(self) -> None:
        seg_id = self.segmenter.current_id
        if (
            self.responder is None
            or seg_id is None
            or seg_id == self._barged_id
            or not self.responder.assistant_speaking
            or self.segmenter.current_voiced_s * 1000 < self.cfg.tts.barge_in_ms
        ):
            return
        self._barged_id = seg_id
        self.responder.barge_in(seg_id)

    def _on_segmenter_event(self, ev: Event) -> None:
        if self.responder is not None and not self.cfg.tts.barge_in:
            # Turn-taking: without echo cancellation the microphone hears the assistant; what starts while
            # it speaks is not taken as the person's input.
            if isinstance(ev, SpeechStarted) and self.responder.assistant_speaking:
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
        if self.early is not None and isinstance(ev, SpeechSegment | SpeechDiscarded):
            self.early.closed(ev.segment_id)  # before the final is queued: its previews are stale now
        self.bus.publish(ev)
        if not isinstance(ev, SpeechSegment):
            return
        report = self._check_quality(ev)
        self.bus.publish(report)
        if report.ok:
            if self.emotion_enabled and ev.segment_id is not None:
                # the assessment learns the utterance order here, before any of its halves arrive
                self._part(ev.segment_id, "opened", Opened(ev.start_s, ev.end_s, ev.speech_end_at))
                if self.voice_emotion:
                    self._emotion_worker.submit(ev)
                else:  # the person turned voice analysis off: the words alone
                    self._part(ev.segment_id, "speech", None)
            self._asr_worker.submit(ev)

    def _maybe_offer_live(self, captured_at: float) -> None:
        seg = self.segmenter
        req = self._live_offers.due(seg.current_id, seg.current_audio(), seg.current_start_s, captured_at)
        if req is not None:
            self._emotion_worker.offer(req)

    def _check_quality(self, seg: SpeechSegment) -> QualityReport:
        report, error = check_quality(seg, self.cfg)
        if error is not None:
            self.bus.publish(error)
        return report  # type: ignore[no-any-return]

    # -- asr worker --------------------------------------------------------------------------------
    def _load_asr(self) -> Iterable[Event]:
        self._asr, events = load_asr(self.cfg, self._asr)
        return events

    def _offer_preview(self, p: Preview) -> None:
        self._asr_worker.offer(p)

    def _after_transcript(self, seg: SpeechSegment, tr: Transcript) -> None:
        if self.emotion_enabled:
            # The one place the text stages get their words: the Transcript event (shown, stored) keeps
            # what Whisper wrote; text emotion, crisis phrases and the reply read the normalised form.
            tr = dataclasses.replace(tr, text=normalize_text(tr.text, tr.language))
            self._part(seg.segment_id, "transcript", tr)
            if tr.text.strip():
                self._text_worker.submit(tr)

    # -- emotion workers ---------------------------------------------------------------------------
    def _load_speech_emotion(self) -> Iterable[Event]:
        self._ser, events = load_speech_emotion(self.cfg, self._ser)
        return events

    def _load_text_emotion(self) -> Iterable[Event]:
        self._ter, events = load_text_emotion(self.cfg, self._ter)
        return events

    def _speech_emotion(self, item: SpeechSegment | LiveRequest) -> Iterable[Event]:
        assert self._ser is not None
        if isinstance(item, LiveRequest):
            yield from self._live_frames(item)
            return
        t0 = time.monotonic()
        est: EmotionEstimate | None = None
        try:
            est, curves = self._ser.analyze(item.audio.as_float32())
            yield SpeechEmotion(
                segment_id=item.segment_id,
                estimate=est,
                frames=curves,
                start_s=item.start_s,
                end_s=item.end_s,
                processing_s=time.monotonic() - t0,
            )
        except Exception as e:
            log.error("speech emotion failed on segment %s", item.segment_id, exc_info=True)
            yield StageError(segment_id=item.segment_id, stage="speech-emotion", message=f"{type(e).__name__}: {e}")
        self._live_curves.finished(item.segment_id)
        self._part(item.segment_id, "speech", est)

    def _live_frames(self, req: LiveRequest) -> Iterable[Event]:
        assert self._ser is not None
        ev = self._live_curves.update(req, self._ser)
        if ev is not None:
            yield ev

    def _text_emotion(self, tr: Transcript) -> Iterable[Event]:
        assert self._ter is not None
        est: EmotionEstimate | None = None
        try:
            est = self._ter.analyze(tr.text, tr.language)
            yield TextEmotion(segment_id=tr.segment_id, estimate=est, text=tr.text, language=tr.language)
        except Exception as e:
            log.error("text emotion failed on segment %s", tr.segment_id, exc_info=True)
            yield StageError(segment_id=tr.segment_id, stage="text-emotion", message=f"{type(e).__name__}: {e}")
        self._part(tr.segment_id, "text", est)


def _left(deadline: float | None) -> float | None:
    """Seconds left until ``deadline`` (None: no deadline)."""
    return None if deadline is None else max(0.0, deadline - time.monotonic())
