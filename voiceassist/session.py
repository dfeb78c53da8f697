"""One conversation: the Session builds and owns the event bus, the pipeline, the store recorder, the alert
service and the responder. Every front end (the CLI, the window, the API server) creates a Session,
subscribes to its bus, sends it commands and stops it; none of them wires the parts itself.

    front end --commands--> Session --owns--> Pipeline (capture, ASR, emotion, assessment)
        ^                      |                 Responder (reply + speech workers)
        '------ events --------'                 AlertService (policies, outbox, dispatcher)
                                                 StoreRecorder (on its own writer thread)

Commands are messages (``Mute``, ``StopSpeaking``, ``SetInput``, ``CorrectEmotion``); the Session turns each
into what the owning part does, so no front end reaches into a worker. Stopping is bounded as a whole
(one deadline), and ``stop_async`` runs it off the caller's thread (the GUI thread never waits on it).
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from voiceassist.audio.sources import AudioSource
from voiceassist.bus import EventBus
from voiceassist.config import Config
from voiceassist.events import Event, PipelineStopped, StageReady
from voiceassist.pipeline import Pipeline

log = logging.getLogger(__name__)


# -- commands ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Mute:
    """Replies are shown, not spoken (and what is being spoken stops)."""

    on: bool


@dataclass(frozen=True)
class StopSpeaking:
    """Stop the reply being spoken now."""


@dataclass(frozen=True)
class SetInput:
    """Push-to-talk: while disabled, the microphone's audio is replaced by silence (timing kept)."""

    enabled: bool


@dataclass(frozen=True)
class CorrectEmotion:
    """The person says what the emotion of an utterance really was ("not sure": label None), or rates its
    reply (``kind="reply"``, label "fits" / "does_not_fit"); ``undo`` steps back their last answer. Stored
    before ``send`` returns (storage/feedback.py); FeedbackError for a missing utterance or a bad label."""

    segment_id: int
    label: str | None
    note: str = ""
    kind: str = "emotion"
    undo: bool = False


Command = Mute | StopSpeaking | SetInput | CorrectEmotion


class _WriterThread:
    """Runs a bus subscriber (the store recorder) on its own thread, so the database is written by one
    thread and never by the capture thread. At the end of the pipeline it waits until all is written, so
    subscribers after it see PipelineStopped only once the session is stored."""

    def __init__(self, target: Callable[[Any], None]) -> None:
        self._target = target
        self._queue: queue.Queue[Any] = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="voiceassist-store-writer", daemon=True)
        self._thread.start()

    def __call__(self, item: Any) -> None:
        self._queue.put(item)
        if isinstance(item, PipelineStopped):
            self.flush(10.0)

    def flush(self, timeout: float) -> bool:
        done = threading.Event()
        self._queue.put(done)
        return done.wait(timeout)

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if isinstance(item, threading.Event):
                item.set()
                continue
            try:
                if isinstance(item, _Call):
                    item.fn()
                else:
                    self._target(item)
            except Exception:
                log.error("store writer failed on %s", type(item).__name__, exc_info=True)


class Session:
    def __init__(
        self,
        cfg: Config,
        source: AudioSource,
        *,
        store: Any = None,
        source_name: str | None = None,
        bus: EventBus | None = None,
        asr: Any = None,
        speech_emotion: Any = None,
        text_emotion: Any = None,
        live_frames: bool | None = None,
        speak: bool | None = None,
        alerts: Any = None,
        player: Any = None,
        synthesizer: Any = None,
        on_store_error: Callable[[str], None] | None = None,
    ) -> None:
        """``store``: a SessionStore to record into (None: not kept). ``speak``: say the replies (default:
        tts.enabled, for live sources). ``alerts``: an AlertService to use instead of building one."""
        self.cfg = cfg
        self.bus = bus or EventBus()
        self.store = store
        self.recorder: Any = None
        self._writer: _WriterThread | None = None
        if store is not None:
            from voiceassist.storage import StoreRecorder

            name = source_name or source.describe()
            self.recorder = StoreRecorder(
                store,
                name,
                keep_audio=cfg.store.keep_audio,
                on_error=on_store_error,
                keep_transcripts=cfg.store.keep_transcripts,
            )
            self._writer = _WriterThread(self.recorder)
            self.bus.subscribe(self._writer)  # first subscriber: the store is written before others hear the end
        active = cfg.emotion.enabled
        if speak is None:
            speak = cfg.tts.enabled and source.realtime
        self.responder: Any = None
        if active and cfg.reply.enabled:
            from voiceassist.responder import Responder

            self.responder = Responder(cfg, self.bus, speak=speak, player=player, synthesizer=synthesizer)
        if alerts is None and active and cfg.alerts.enabled:
            from voiceassist.alerts.service import AlertService

            alerts = AlertService(cfg.alerts)  # verifies the caregiver lock
        elif alerts is None:  # alerts off: was that the caregiver? (a change without the PIN is told to them)
            from voiceassist.alerts.lock import check_caregiver_lock

            check_caregiver_lock(cfg.alerts)
        self.alerts = alerts if active else None
        self.pipeline = Pipeline(
            cfg,
            source,
            self.bus,
            asr=asr,
            speech_emotion=speech_emotion,
            text_emotion=text_emotion,
            live_frames=live_frames,
            alerts=self.alerts,
            responder=self.responder,
        )
        self._closed = False
        self._close_lock = threading.Lock()
        self.person = cfg.store.person or "default"
        """Whose session this is: corrections and the calibration profile are per person."""
        self.profile: Any = None
        self.calibration_note: str | None = None
        if store is not None and self.recorder is not None:
            from voiceassist.storage import feedback

            feedback.set_person(store, self.recorder.session_id, self.person)
            self.pipeline.assessment.on_answer = self._asked_answer

    # -- lifecycle ---------------------------------------------------------------------------------
    def start(self, wait_ready: bool = True) -> None:
        """Start alerts, then the pipeline (the source is opened first: AudioInputError raises here)."""
        if self.alerts is not None:
            self.alerts.start()
            self.bus.publish(
                StageReady(
                    stage="alerts",
                    description="caregiver alerts ON: " + ", ".join(["banner", *self.alerts.channels]),
                    embedded=False,
                    load_s=0.0,
                )
            )
        if self.store is not None and self.recorder is not None and self.cfg.store.calibration:
            self.recalibrate()  # here, not in __init__: fitting takes up to a second or two (a helper thread)
        try:
            self.pipeline.start(wait_ready=wait_ready)
        except BaseException:
            self._close()
            raise

    def wait(self, timeout: float | None = None) -> bool:
        """Until the source has ended and everything heard is processed (file sources); then closes."""
        done = self.pipeline.wait(timeout)
        if done:
            self._close()
        return done

    def stop(self, timeout: float = 5.0) -> bool:
        """Stop listening; the utterance in flight is finished. All of it within ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        done = self.pipeline.stop(timeout)
        self._close(max(0.5, deadline - time.monotonic()))
        return done

    def stop_async(self, timeout: float = 5.0, on_done: Callable[[bool], None] | None = None) -> threading.Thread:
        """``stop`` on a helper thread (for the GUI thread); ``on_done(finished_in_time)`` is called there."""

        def run() -> None:
            ok = self.stop(timeout)
            if on_done is not None:
                on_done(ok)

        t = threading.Thread(target=run, name="voiceassist-session-stop", daemon=True)
        t.start()
        return t

    def _close(self, timeout: float = 5.0) -> None:
        with self._close_lock:
            if self._closed:
                return
            self._closed = True
        if self.alerts is not None:
            self.alerts.stop()
        if self._writer is not None:
            self._writer.flush(timeout)

    # -- commands ----------------------------------------------------------------------------------
    def send(self, cmd: Command) -> None:
        r = self.responder
        if isinstance(cmd, Mute):
            if r is not None:
                r.muted = cmd.on
                if cmd.on:
                    r.stop_speaking()
        elif isinstance(cmd, StopSpeaking):
            if r is not None:
                r.stop_speaking()
        elif isinstance(cmd, SetInput):
            self.pipeline.set_input_enabled(cmd.enabled)
        elif isinstance(cmd, CorrectEmotion):
            self._feedback(cmd)
        else:  # pragma: no cover - the type says this cannot happen
            raise TypeError(f"unknown command {cmd!r}")

    def _feedback(self, cmd: CorrectEmotion) -> None:
        if self.store is None or self.recorder is None or self._writer is None:
            return
        from voiceassist.storage import feedback

        if not cmd.undo:
            feedback.check_label(cmd.kind, cmd.label)
        sid, seg, store = self.recorder.session_id, cmd.segment_id, self.store
        base = self.pipeline.assessment.base_scores.get(seg)
        failed: list[Exception] = []

        def write() -> None:
            try:
                if cmd.undo:
                    feedback.undo(store, sid, seg, cmd.kind)
                else:
                    feedback.record(store, sid, seg, cmd.label, kind=cmd.kind, note=cmd.note, base_scores=base)
            except Exception as e:  # said to the caller below
                failed.append(e)

        self._writer(_Call(write))  # in order after the utterance's own rows
        if not self._writer.flush(5.0):
            raise TimeoutError("the correction could not be stored within 5 s")
        if failed:
            raise failed[0]

    def _asked_answer(self, segment_id: int, label: str) -> None:
        """The person answered the assistant's question (assessment thread): stored on the writer thread."""
        from voiceassist.storage import feedback

        store, sid, writer = self.store, self.recorder.session_id, self._writer

        def write() -> None:
            feedback.record(store, sid, segment_id, label, source="asked", note="answered")

        if writer is not None:
            writer(_Call(write))

    def recalibrate(self) -> Any:
        """Refit the person's profile from their corrections; used from the next utterance (when a stage
        beats the base model on them). A profile that cannot be read is said in ``calibration_note``.
        Takes up to a second or two with many corrections: call it off the GUI thread."""
        from voiceassist.personal.service import load, refit

        _, self.calibration_note = load(self.store, self.person)
        try:
            self.profile = refit(self.store, self.person)
            if self.calibration_note:
                self.calibration_note = self.calibration_note.replace(
                    "the base model is used", "it was refitted from the stored corrections"
                )
        except Exception as e:
            log.warning("calibration profile of %s not fitted; the base model is used", self.person, exc_info=True)
            self.profile, self.calibration_note = None, f"calibration not fitted ({e}); the base model is used"
        on = self.profile is not None and self.profile.active and self.cfg.store.calibration
        self.pipeline.assessment.calibration = self.profile if on else None
        if self.calibration_note or on:  # the models' versions: stored with the session, shown in the window
            desc = self.profile.describe() if self.profile is not None else f"{self.person}: base model"
            note = self.calibration_note
            self.bus.publish(StageReady(stage="calibration", description=desc, embedded=False, load_s=0.0, note=note))
        return self.profile

    # -- what the front ends read ------------------------------------------------------------------
    @property
    def assistant_speaking(self) -> bool:
        return bool(self.responder is not None and self.responder.assistant_speaking)

    def subscribe(self, fn: Callable[[Event], None]) -> Callable[[], None]:
        return self.bus.subscribe(fn)


@dataclass(frozen=True)
class _Call:
    """A write for the writer thread that is not an event (a correction)."""

    fn: Callable[[], None]
