"""One conversation (or the analysis of one recording): the Session builds and owns the event bus, the
pipeline, the store recorder, the alert service and the responder. Every front end (the CLI, the window,
the API server) creates a Session, subscribes to its bus, sends it commands and stops it; none of them wires
the parts itself.

A Session has a purpose. A **conversation** is with the person: replies, caregiver alerts, their calibration.
An **analysis** (``Session.for_analysis``: ``analyze``, ``analyze-batch``, the API's uploads) reads emotion,
mood and crisis phrases and acts on none of them: no responder, no alert service, no caregiver-lock I/O.

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
import sqlite3
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Literal

from voiceassist.audio.sources import AudioSource
from voiceassist.bus import EventBus
from voiceassist.commands import Command, CorrectEmotion, Mute, ReloadVoiceModel, SetInput, StopSpeaking
from voiceassist.config import Config
from voiceassist.events import Event, StageReady, StoreStatus
from voiceassist.pipeline import Models, Pipeline
from voiceassist.storage.writer import Call, WriterThread

if TYPE_CHECKING:
    from voiceassist.alerts.service import AlertService
    from voiceassist.personal.profile import Profile
    from voiceassist.responder import Responder
    from voiceassist.storage import SessionStore, StoreRecorder
    from voiceassist.tts import Player, Synthesizer
    from voiceassist.voices import VoiceSet

log = logging.getLogger(__name__)


__all__ = [
    "Command",
    "CorrectEmotion",
    "Mute",
    "Purpose",
    "ReloadVoiceModel",
    "Session",
    "SetInput",
    "StopSpeaking",
]


Purpose = Literal["conversation", "analysis"]


class Session:
    def __init__(
        self,
        cfg: Config,
        source: AudioSource,
        *,
        purpose: Purpose = "conversation",
        models: Models | None = None,
        store: SessionStore | None = None,
        source_name: str | None = None,
        bus: EventBus | None = None,
        live_frames: bool | None = None,
        speak: bool | None = None,
        alerts: AlertService | None = None,
        player: Player | None = None,
        synthesizer: Synthesizer | VoiceSet | None = None,
        calibration: Profile | None = None,
    ) -> None:
        """``purpose``: a ``conversation`` with the person (replies, caregiver alerts, their calibration) or
        the ``analysis`` of a recording (``Session.for_analysis``). ``models``: loaded models to run on (a
        batch worker's, the API server's); each Session gets them with a fresh speaker baseline.
        ``store``: a SessionStore to record into (None: not kept). ``speak``: say the replies (default:
        tts.enabled, for live sources). ``alerts``: an AlertService to use instead of building one.
        ``calibration``: a person's profile to apply (a conversation with a store loads the person's own)."""
        self.cfg = cfg
        self.purpose: Purpose = purpose
        self.bus = bus or EventBus()
        self.store = store
        self.store_note: str | None = None
        self._store_reason = ""
        """Why this conversation is not being saved, when its store could not even be started."""
        self.recorder: StoreRecorder | None = None
        self._writer: WriterThread | None = None
        if store is not None:
            from voiceassist.storage import StoreRecorder

            try:
                self.recorder = StoreRecorder(
                    store,
                    source_name or source.describe(),
                    keep_audio=cfg.store.keep_audio,
                    on_status=self._store_status,
                    keep_transcripts=cfg.store.keep_transcripts,
                )
            except sqlite3.Error as e:  # a full disk before the first word: the conversation goes on unsaved
                from voiceassist.storage.db import failure_reason as reason

                self._store_reason = reason(e)
                self.store_note = f"Not saving: {self._store_reason} ({store.path}). Listening goes on without saving."
                log.error("%s (%s)", self.store_note, e)
                store = self.store = None
            else:
                self._writer = WriterThread(self.recorder)
                self.bus.subscribe(self._writer, first=True)  # written before anyone hears (storage/writer.py)
        conversation = purpose == "conversation" and cfg.emotion.enabled
        self.responder: Responder | None = None
        if conversation and cfg.reply.enabled:
            from voiceassist.responder import Responder

            speak = cfg.tts.enabled and source.realtime if speak is None else speak
            self.responder = Responder(cfg, self.bus, speak=speak, player=player, synthesizer=synthesizer)
        self.alerts: AlertService | None = None
        if conversation:
            if alerts is None and cfg.alerts.enabled:
                from voiceassist.alerts.service import AlertService

                alerts = AlertService(cfg.alerts)  # verifies the caregiver lock
            elif alerts is None:  # alerts off: was that the caregiver? (a change without the PIN is told to them)
                from voiceassist.alerts.lock import check_caregiver_lock

                check_caregiver_lock(cfg.alerts)
            self.alerts = alerts
        self.person = cfg.store.person or "default"
        """Whose session this is: corrections and the calibration profile are per person."""
        self.profile: Profile | None = calibration
        self.calibration_note: str | None = None
        answered = self._asked_answer if store is not None and self.recorder is not None else None
        self._keeps_voice = purpose == "conversation" and store is not None
        baseline = None
        if self._keeps_voice:
            from voiceassist.personal.service import voice_baseline

            baseline = voice_baseline(store, self.person)  # the person's voice, as learnt in earlier sessions
        self.pipeline = Pipeline(
            cfg,
            source,
            self.bus,
            models=models.for_session() if models is not None else None,
            live_frames=live_frames,
            alerts=self.alerts,
            responder=self.responder,
            on_answer=answered,
            voice_baseline=baseline,
        )
        if calibration is not None:
            self.pipeline.set_calibration(calibration)
        self._closed = False
        self._close_lock = threading.Lock()
        if store is not None and self.recorder is not None:
            from voiceassist.storage import feedback

            feedback.set_person(store, self.recorder.session_id, self.person)

    @classmethod
    def for_analysis(
        cls,
        cfg: Config,
        source: AudioSource,
        *,
        models: Models | None = None,
        calibration: Profile | None = None,
        bus: EventBus | None = None,
    ) -> Session:
        """A Session that analyses a recording (``analyze``, ``analyze-batch``, the API's uploads): it reads
        the emotion, the mood and any crisis phrase of each utterance, and does nothing about them. No
        responder (no reply is composed or spoken), no alert service (nothing reaches the caregiver: a
        recording may be a film, a podcast or someone else's test file), no caregiver-lock I/O, nothing
        stored; the person's calibration only when one is handed in."""
        return cls(cfg, source, purpose="analysis", models=models, calibration=calibration, bus=bus, speak=False)

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
        if self.store_note is not None:
            self.bus.publish(StoreStatus(saving=False, message=self.store_note, reason=self._store_reason))
        if self.purpose == "conversation" and self.store is not None and self.cfg.store.calibration:
            self.recalibrate()  # here, not in __init__: fitting takes up to a second or two (a helper thread)
        try:
            self.pipeline.start(wait_ready=wait_ready)
        except BaseException:
            self._close()
            raise

    def _store_status(self, saving: bool, message: str) -> None:
        """The recorder (on the writer thread) says saving stopped or resumed: every front end hears it."""
        why = "" if saving or self.recorder is None else self.recorder.failed or ""
        self.bus.publish(StoreStatus(saving=saving, message=message, reason=why))

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
            self._keep_voice_baseline(self._writer)
            self._writer.flush(timeout)

    def _keep_voice_baseline(self, writer: WriterThread) -> None:
        """The voice backend's baseline of this person, kept with their profile for the next session."""
        state = self.pipeline.voice_baseline_state() if self._keeps_voice else None
        store = self.store
        if state is None or store is None:
            return
        from voiceassist.personal.service import save_voice_baseline

        person = self.person
        writer(Call(lambda: save_voice_baseline(store, person, state)))

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
        elif isinstance(cmd, ReloadVoiceModel):
            self.pipeline.reload_speech_model(cmd.speech_model)
        else:  # pragma: no cover - the type says this cannot happen
            raise TypeError(f"unknown command {cmd!r}")

    def _feedback(self, cmd: CorrectEmotion) -> None:
        if self.store is None or self.recorder is None or self._writer is None:
            return
        from voiceassist.storage import feedback

        if not cmd.undo:
            feedback.check_label(cmd.kind, cmd.label)
        sid, seg, store = self.recorder.session_id, cmd.segment_id, self.store
        base = self.pipeline.base_scores(seg)
        failed: list[Exception] = []

        def write() -> None:
            try:
                if cmd.undo:
                    feedback.undo(store, sid, seg, cmd.kind)
                else:
                    feedback.record(store, sid, seg, cmd.label, kind=cmd.kind, note=cmd.note, base_scores=base)
            except Exception as e:  # said to the caller below
                failed.append(e)

        self._writer(Call(write))  # in order after the utterance's own rows
        if not self._writer.flush(5.0):
            raise TimeoutError("the correction could not be stored within 5 s")
        if failed:
            raise failed[0]

    def _asked_answer(self, segment_id: int, label: str) -> None:
        """The person answered the assistant's question (assessment thread): stored on the writer thread."""
        from voiceassist.storage import feedback

        store, recorder, writer = self.store, self.recorder, self._writer
        if store is None or recorder is None or writer is None:
            return
        sid = recorder.session_id

        def write() -> None:
            feedback.record(store, sid, segment_id, label, source="asked", note="answered")

        writer(Call(write))

    def recalibrate(self) -> Profile | None:
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
        self.pipeline.set_calibration(self.profile if on else None)
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
