"""The UI-independent pipeline: the capture stage and the model stages, each on its own thread, wired.

    source (file or microphone) --chunks--> [capture thread] pipeline/capture.py: segmenter, quality,
                                                 |  turn-taking, barge-in, previews, live offers
                                                 |  SpeechSegment (bounded queues, backpressure)
                  .------------------------------+-------------------------------.
                  v                                                              v
        [asr worker] owns Whisper --> Transcript --> [text-emotion worker]   [speech-emotion worker]
        pipeline/transcribe.py                        pipeline/emotion.py     pipeline/emotion.py
                  |                                   TextEmotion  |          EmotionFrames, SpeechEmotion
                  '--------------- Part messages -----------------+----------------'
                                                                  v
                        [assess worker] pipeline/assess.py: fusion -> mood -> alerts -> reply request

Every stage publishes typed events on the bus. The pipeline does not build the responder or the alert
service: the Session (voiceassist/session.py) does, and hands them in; the responder owns its own workers,
started, drained and stopped here after the pipeline's own.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from voiceassist.asr import AsrBackend
from voiceassist.audio.sources import AudioSource
from voiceassist.audio.vad import Segmenter
from voiceassist.bus import EventBus
from voiceassist.config import Config
from voiceassist.emotion import SpeechEmotionBackend, TextEmotionBackend
from voiceassist.events import Event, PipelineStopped, QualityReport, SourceStarted, SpeechSegment, Transcript
from voiceassist.mood import MoodTracker
from voiceassist.pipeline.assess import AssessmentStage, Opened, Part, PartKind
from voiceassist.pipeline.capture import Capture
from voiceassist.pipeline.emotion import Reload, SpeechEmotionStage, SpeechItem, TextEmotionStage, VoiceFrames
from voiceassist.pipeline.live import LiveRequest, LiveVoiceFrames
from voiceassist.pipeline.models import Models, StageSetupError, load_asr, load_speech_emotion, load_text_emotion
from voiceassist.pipeline.transcribe import AsrStage, EarlyTurn, Preview
from voiceassist.reply.request import ReplyRequest
from voiceassist.textnorm import normalize as normalize_text
from voiceassist.worker import Worker

if TYPE_CHECKING:
    from voiceassist.alerts.service import AlertService
    from voiceassist.personal.profile import Profile
    from voiceassist.responder import Responder

log = logging.getLogger(__name__)

__all__ = ["Pipeline", "StageSetupError"]


class Pipeline:
    def __init__(
        self,
        cfg: Config,
        source: AudioSource,
        bus: EventBus | None = None,
        *,
        models: Models | None = None,
        live_frames: bool | None = None,
        alerts: AlertService | None = None,
        responder: Responder | None = None,
        on_answer: Callable[[int, str], None] | None = None,
        voice_baseline: dict[str, Any] | None = None,
    ) -> None:
        """``models``: loaded models to use as they are (None, or a model left None: loaded by its worker).
        ``alerts`` (an AlertService) and ``responder`` (a Responder) are built and owned by the Session;
        without them the pipeline assesses utterances but raises no alert and gives no reply.
        ``on_answer(segment_id, emotion)``: the person answered the assistant's question about a turn.
        ``voice_baseline``: the person's stored voice baseline, for the voice backend once it is loaded."""
        self.cfg = cfg
        self.source = source
        self.bus = bus or EventBus()
        self._given = models or Models()
        self._voice_baseline = voice_baseline
        self._asr: AsrBackend | None = None
        self._ser: SpeechEmotionBackend | None = None
        self._live_from_asr = False  # a partial pass has given encoder frames: the live curves come from those
        self._ter: TextEmotionBackend | None = None
        self._stop = threading.Event()
        self._capture_thread: threading.Thread | None = None
        self.emotion_enabled = cfg.emotion.enabled
        self.responder = responder if self.emotion_enabled else None
        self.voice_emotion = self.emotion_enabled and cfg.privacy.voice_emotion
        self.assessment = AssessmentStage(
            cfg, alerts=alerts, reply=self._request_reply if self.responder is not None else None, on_answer=on_answer
        )
        self._assess_worker: Worker[Part] = Worker("assess", self.bus, self.assessment.handle, maxsize=256)
        realtime = source.realtime
        # Previews and the adaptive end of turn only on live audio: a file read at full speed is segmented
        # the same way on every machine (fixed hangover), whatever the speed of its ASR.
        self.early = EarlyTurn(cfg, self._offer_preview, self._asr_busy) if realtime else None
        self._asr_stage = AsrStage(
            cfg, self._asr_backend, self.early, self._after_transcript, self._voice_frames, self._live_voice
        )
        self._asr_worker: Worker[SpeechSegment | Preview] = Worker(
            "asr", self.bus, self._asr_stage.handle, setup=self._load_asr, on_failed=self._asr_failed
        )
        speech_stage = SpeechEmotionStage(
            cfg, self._speech_backend, lambda seg, est: self._part(seg, "speech", est), self._reload_speech
        )
        self._emotion_worker: Worker[SpeechItem] = Worker(
            "speech-emotion",
            self.bus,
            speech_stage.handle,
            setup=self._load_speech_emotion,
            on_failed=speech_stage.failed,
        )
        text_stage = TextEmotionStage(self._text_backend, lambda seg, est: self._part(seg, "text", est))
        self._text_worker: Worker[Transcript] = Worker(
            "text-emotion",
            self.bus,
            text_stage.handle,
            setup=self._load_text_emotion,
            on_failed=lambda tr: self._part(tr.segment_id, "text"),
        )
        if live_frames is None:
            live_frames = cfg.emotion.live_frames and realtime
        self.live_frames = live_frames and self.voice_emotion
        self.capture = Capture(
            cfg,
            source,
            self.bus,
            self._on_segment,
            early=self.early,
            live=self._offer_live if self.live_frames else None,
            speaker=self.responder,
        )
        self._stopped = False
        self._stop_lock = threading.Lock()

    # -- what the Session asks and sets -------------------------------------------------------------
    @property
    def segmenter(self) -> Segmenter:
        return self.capture.segmenter

    @property
    def mood(self) -> MoodTracker:
        return self.assessment.mood

    def set_input_enabled(self, enabled: bool) -> None:
        """Push-to-talk: while disabled, what the microphone hears is replaced by silence (timing kept)."""
        self.capture.set_input_enabled(enabled)

    def set_calibration(self, profile: Profile | None) -> None:
        """The person's calibration profile, applied after fusion from the next utterance (None: base model)."""
        self.assessment.calibration = profile

    @property
    def calibration(self) -> Profile | None:
        return self.assessment.calibration

    def base_scores(self, segment_id: int) -> npt.NDArray[np.float64] | None:
        """The base model's fused scores of a recent utterance (stored with a correction of it)."""
        scores = self.assessment.base_scores.get(segment_id)
        return None if scores is None else np.asarray(scores, dtype=np.float64)

    # -- lifecycle ---------------------------------------------------------------------------------
    def start(self, wait_ready: bool = True) -> None:
        """Open the source (errors raise AudioInputError here, before any thread starts), start the
        workers (models load and warm up in their own threads), then start capturing."""
        info = self.source.open()
        workers = self._workers()
        for w in workers:
            w.start()
        if self.responder is not None:
            self.responder.start()
        if wait_ready:
            for w in workers:
                w.ready.wait()
            if self.responder is not None:
                self.responder.wait_ready()
            if self._asr_worker.failed_setup is not None:
                for w in workers:
                    w.stop(1.0)
                if self.responder is not None:
                    self.responder.stop(1.0)
                raise StageSetupError(f"speech recognition cannot start: {self._asr_worker.failed_setup}")
        self.bus.publish(SourceStarted(source=info.name, sample_rate_in=info.sample_rate, channels_in=info.channels))
        self._capture_thread = threading.Thread(
            target=self.capture.run, args=(self._stop,), name="voiceassist-capture", daemon=True
        )
        self._capture_thread.start()

    def wait(self, timeout: float | None = None) -> bool:
        """Wait until the source has ended and every segment is processed (file sources)."""
        if self._capture_thread is None:
            return True
        deadline = None if timeout is None else time.monotonic() + timeout
        self._capture_thread.join(timeout)
        if self._capture_thread.is_alive():
            return False
        done = True
        for w in self._workers():  # in data-flow order: each one's output is queued before the next drains
            done = w.drain(_left(deadline)) and done
        if self.responder is not None:
            done = self.responder.drain(_left(deadline)) and done
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
        if self._capture_thread is not None:
            self._capture_thread.join(_left(deadline))
        done = True
        for w in self._workers():
            done = w.drain(_left(deadline)) and done
        if self.responder is not None:
            done = self.responder.drain(_left(deadline)) and done
            done = self.responder.stop(min(1.0, _left(deadline) or 0.0)) and done
        for w in reversed(self._workers()):
            done = w.stop(min(1.0, _left(deadline) or 0.0)) and done
        self._finish("stopped")
        return done

    def _workers(self) -> list[Worker[Any]]:
        if not self.emotion_enabled:
            return [self._asr_worker]
        voice: list[Worker[Any]] = [self._emotion_worker] if self.voice_emotion else []
        return [self._asr_worker, *voice, self._text_worker, self._assess_worker]

    def _finish(self, reason: str) -> None:
        with self._stop_lock:
            if self._stopped:
                return
            self._stopped = True
        self.bus.publish(PipelineStopped(reason=reason))

    # -- between the stages ------------------------------------------------------------------------
    def _part(self, segment_id: int | None, kind: PartKind, value: object = None) -> None:
        if segment_id is not None and self.emotion_enabled:
            self._assess_worker.submit(Part(segment_id, kind, value))

    def _request_reply(self, req: ReplyRequest) -> None:
        if self.responder is not None:
            self.responder.submit(req)

    def _on_segment(self, seg: SpeechSegment, report: QualityReport) -> None:
        """Capture thread: an utterance ended. One that passed the quality check goes to the models."""
        if not report.ok or seg.segment_id is None:
            return
        if self.emotion_enabled:
            # the assessment learns the utterance order here, before any of its halves arrive
            self._part(seg.segment_id, "opened", Opened(seg.start_s, seg.end_s, seg.speech_end_at))
            if self.voice_emotion:
                self._emotion_worker.submit(seg)
            else:  # the person turned voice analysis off: the words alone
                self._part(seg.segment_id, "speech", None)
        self._asr_worker.submit(seg)

    def _offer_preview(self, p: Preview) -> None:
        self._asr_worker.offer(p)

    def _asr_failed(self, item: SpeechSegment | Preview) -> None:
        if isinstance(item, SpeechSegment):
            self._part(item.segment_id, "transcript", None)
            self._voice_frames(VoiceFrames(item.segment_id, None) if item.segment_id is not None else None)

    def _reads_asr_frames(self) -> bool:
        return self._ser is not None and self._ser.uses_asr_frames

    def _voice_frames(self, vf: VoiceFrames | None) -> None:
        """ASR worker: an utterance's encoder frames, for a voice backend that reads them. Always handed over
        (a backend that reads the audio drops them): the voice stage waits for them, whenever it loaded."""
        if vf is not None and self.voice_emotion:
            self._emotion_worker.submit(vf)

    def _live_voice(self, lv: LiveVoiceFrames) -> None:
        """ASR worker: a partial pass's encoder frames: the live curves of a voice backend that reads them."""
        if self.live_frames and self._reads_asr_frames():
            self._live_from_asr = True
            self._emotion_worker.offer(lv)

    def _offer_live(self, req: LiveRequest) -> None:
        """Capture thread: the utterance heard so far, for a voice backend that reads the audio itself, and for
        one that reads the recogniser's frames until those come (partials off, or a recogniser without an
        encoder: its curves from the audio, at the same 50 frames a second, so the two join up)."""
        if self._ser is not None and (not self._ser.uses_asr_frames or not self._live_from_asr):
            self._emotion_worker.offer(req)

    def _asr_busy(self) -> bool:
        return self._asr_worker.pending > 0

    def _after_transcript(self, seg: SpeechSegment, tr: Transcript) -> None:
        if self.emotion_enabled:
            # The one place the text stages get their words: the Transcript event (shown, stored) keeps
            # what Whisper wrote; text emotion, crisis phrases and the reply read the normalised form.
            tr = dataclasses.replace(tr, text=normalize_text(tr.text, tr.language))
            self._part(seg.segment_id, "transcript", tr)
            if tr.text.strip():
                self._text_worker.submit(tr)

    # -- loading (each in its worker's thread) -------------------------------------------------------
    def _load_asr(self) -> Iterable[Event]:
        self._asr, events = load_asr(self.cfg, self._given)
        return events

    def _load_speech_emotion(self) -> Iterable[Event]:
        ser, events = load_speech_emotion(self.cfg, self._given)
        if self._voice_baseline is not None:
            try:
                ser.restore_baseline(self._voice_baseline)
            except ValueError as e:  # made for another model: this one starts from its corpus statistics
                log.info("the stored voice baseline is not used: %s", e)
        self._ser = ser
        return events

    def reload_speech_model(self, speech_model: str | None = None) -> None:
        """Switch to a voice model installed while listening (the worker that owns it loads it, between
        utterances); its StageReady says which runs now."""
        if self.voice_emotion:
            self._emotion_worker.submit(Reload(speech_model))

    def _reload_speech(self, item: Reload) -> Iterable[Event]:
        cfg = self.cfg
        if item.speech_model:
            cfg = dataclasses.replace(cfg, emotion=dataclasses.replace(cfg.emotion, speech_model=item.speech_model))
        ser, events = load_speech_emotion(cfg, None)
        self._ser = ser
        return events

    def voice_baseline_state(self) -> dict[str, Any] | None:
        """The voice backend's running baseline of this person now (None: none kept, or not loaded)."""
        return self._ser.baseline_state() if self._ser is not None else None

    def _load_text_emotion(self) -> Iterable[Event]:
        self._ter, events = load_text_emotion(self.cfg, self._given)
        return events

    def _asr_backend(self) -> AsrBackend:
        assert self._asr is not None, "the ASR worker handles items only after its setup"
        return self._asr

    def _speech_backend(self) -> SpeechEmotionBackend:
        assert self._ser is not None, "the speech-emotion worker handles items only after its setup"
        return self._ser

    def _text_backend(self) -> TextEmotionBackend:
        assert self._ter is not None, "the text-emotion worker handles items only after its setup"
        return self._ter


def _left(deadline: float | None) -> float | None:
    """Seconds left until ``deadline`` (None: no deadline)."""
    return None if deadline is None else max(0.0, deadline - time.monotonic())
