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
    """The person says what the emotion of an utterance really was ("not sure": label None)."""

    segment_id: int
    label: str | None
    note: str = ""


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

            name = source_name or getattr(source, "describe", lambda: type(source).__name__)()
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
            speak = cfg.tts.enabled and bool(getattr(source, "realtime", True))
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
            if self.store is not None and self.recorder is not None:
                data = {"kind": "emotion", "label": cmd.label, "note": cmd.note}
                session_id, segment_id = self.recorder.session_id, cmd.segment_id
                assert self._writer is not None
                self._writer(_Call(lambda: self.store.add_feedback(session_id, segment_id, data)))
                self._writer.flush(5.0)  # in order after the utterance's own rows, and stored when send returns
        else:  # pragma: no cover - the type says this cannot happen
            raise TypeError(f"unknown command {cmd!r}")

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
