"""The models a Session runs on, and loading each one in the worker that owns it.

A Session started without models loads them itself, each in its own worker's thread (the window, ``listen``).
Front ends that run many Sessions load them once and hand them in, typed: ``Models.load(cfg)`` in a batch
worker process or the API server, then ``Session(..., models=models)``. A model handed in is used as it is:
its loader neither loads nor warms it up again, and its StageReady (with the note saying why an embedded
default runs) is the one of that load, so every Session reports the same backends a single run would.

Every backend may be called from several threads at once (concurrent API requests): each guards its own
mutable state with a lock. What belongs to one speaker (the voice backend's speaker baseline) does not
travel: ``for_session()`` gives each Session a fresh one.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from dataclasses import dataclass

from voiceassist.asr import AsrBackend, create_backend
from voiceassist.config import Config
from voiceassist.emotion import SpeechEmotionBackend, TextEmotionBackend
from voiceassist.events import Event, StageError, StageReady
from voiceassist.paths import models_dir

log = logging.getLogger(__name__)

MODEL_STAGES = ("asr", "speech-emotion", "text-emotion")


class StageSetupError(RuntimeError):
    """A stage the pipeline cannot run without (speech recognition) failed to load: a bad configuration
    (a model that does not exist, a compute type the device cannot do...). Raised before any audio is read;
    the message says what is wrong."""


@dataclass(frozen=True)
class Models:
    asr: AsrBackend | None = None
    speech_emotion: SpeechEmotionBackend | None = None
    text_emotion: TextEmotionBackend | None = None
    ready: tuple[Event, ...] = ()
    """The StageReady (and StageError) events of the load that made these models."""

    @classmethod
    def load(cls, cfg: Config) -> Models:
        """Every model ``cfg`` asks for, loaded and warmed up now, in this thread. Speech recognition failing
        raises StageSetupError; an emotion model failing falls back to the embedded default (said in
        ``ready``, as a Session would say it)."""
        t0 = time.monotonic()
        try:
            asr, events = load_asr(cfg, None)
        except Exception as e:
            raise StageSetupError(f"speech recognition cannot start: {e}") from e
        speech: SpeechEmotionBackend | None = None
        text: TextEmotionBackend | None = None
        if cfg.emotion.enabled:
            speech, more = load_speech_emotion(cfg, None)
            events += more
            text, more = load_text_emotion(cfg, None)
            events += more
        log.info("models loaded in %.1f s", time.monotonic() - t0)
        return cls(asr, speech, text, tuple(events))

    def for_session(self) -> Models:
        """These models for one more Session (or recording): the voice with a fresh speaker baseline."""
        if self.speech_emotion is None:
            return self
        return dataclasses.replace(self, speech_emotion=self.speech_emotion.fresh())

    def ready_of(self, stage: str, backend: AsrBackend | SpeechEmotionBackend | TextEmotionBackend) -> list[Event]:
        """What the load said about ``stage`` (its StageError, for a fallback, and StageReady); for a model
        made elsewhere (a test's probe, a caller's own backend), a StageReady that names it."""
        said: list[Event] = [e for e in self.ready if isinstance(e, StageReady | StageError) and e.stage == stage]
        if any(isinstance(e, StageReady) for e in said):
            return said
        return [*said, StageReady(stage=stage, description=backend.description, embedded=backend.embedded, load_s=0.0)]


def load_asr(cfg: Config, given: Models | None) -> tuple[AsrBackend, list[Event]]:
    """The recogniser. A Mandarin-first one (asr.backend = "funasr") that is missing or cannot load falls back
    to Whisper, said in the StageReady's note; Whisper itself failing is a bad configuration (it raises)."""
    if given is not None and given.asr is not None:
        return given.asr, given.ready_of("asr", given.asr)
    t0 = time.monotonic()
    note, events = None, []
    try:
        backend = create_backend(cfg.asr, cfg.paths.models_dir)
        backend.load()
    except Exception as e:
        if cfg.asr.backend == "faster-whisper":
            raise
        log.error("the %s recogniser failed to load; Whisper runs instead", cfg.asr.backend, exc_info=True)
        note = f"{cfg.asr.backend} cannot be used ({e}); Whisper runs instead"
        events.append(StageError(stage="asr", message=note))
        whisper = dataclasses.replace(cfg.asr, backend="faster-whisper", model="base")
        backend = create_backend(whisper, cfg.paths.models_dir)
        backend.load()
    backend.warmup()
    ready = StageReady(
        stage="asr",
        description=backend.description,
        embedded=backend.embedded,
        load_s=time.monotonic() - t0,
        note=note,
    )
    return backend, [*events, ready]


def load_speech_emotion(cfg: Config, given: Models | None) -> tuple[SpeechEmotionBackend, list[Event]]:
    if given is not None and given.speech_emotion is not None:
        return given.speech_emotion, given.ready_of("speech-emotion", given.speech_emotion)
    from voiceassist.emotion import create_speech_backend
    from voiceassist.emotion.prosody import ProsodyBackend

    t0 = time.monotonic()
    events: list[Event] = []
    backend: SpeechEmotionBackend
    try:
        backend, note = create_speech_backend(cfg.emotion, models_dir(cfg.paths.models_dir))
        backend.load()
    except Exception as e:  # a broken model folder: say so, and go on with the embedded backend
        log.error("speech emotion model failed to load", exc_info=True)
        backend, note = ProsodyBackend(cfg.emotion), str(e)
        events.append(StageError(stage="speech-emotion", message=str(e)))
    backend.warmup()
    ready = StageReady(
        stage="speech-emotion",
        description=backend.description,
        embedded=backend.embedded,
        load_s=time.monotonic() - t0,
        note=note,
    )
    return backend, [*events, ready]


def load_text_emotion(cfg: Config, given: Models | None) -> tuple[TextEmotionBackend, list[Event]]:
    if given is not None and given.text_emotion is not None:
        return given.text_emotion, given.ready_of("text-emotion", given.text_emotion)
    from voiceassist.emotion import create_text_backend
    from voiceassist.emotion.text import LexiconTextBackend

    t0 = time.monotonic()
    events: list[Event] = []
    backend: TextEmotionBackend
    try:
        backend, note = create_text_backend(cfg.emotion, models_dir(cfg.paths.models_dir))
        backend.load()
    except Exception as e:
        log.error("text emotion model failed to load", exc_info=True)
        backend, note = LexiconTextBackend(cfg.emotion), str(e)
        backend.load()
        events.append(StageError(stage="text-emotion", message=str(e)))
    ready = StageReady(
        stage="text-emotion",
        description=backend.description,
        embedded=backend.embedded,
        load_s=time.monotonic() - t0,
        note=note,
    )
    return backend, [*events, ready]
