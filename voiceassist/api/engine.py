"""What the server shares between requests: one model set (loaded once, as analyze-batch does), each model
behind its own lock; the analysis queue (``api.workers`` at once, ``api.max_queued`` waiting, 429 beyond,
503 after ``api.queue_timeout_s``); live sessions (``api.max_sessions``); and the recent clips' emotions,
which a chat request may name by id.

Every request goes through the code the CLI uses: ``voiceassist.analysis.analyze`` on a Session for a file,
a Session on a ``PushSource`` for a live stream.
"""

from __future__ import annotations

import asyncio
import dataclasses
import secrets
import shutil
import tempfile
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Literal, TypeVar

from voiceassist.api.errors import ApiError
from voiceassist.audio.base import AudioSource, SourceInfo
from voiceassist.audio.chunk import AudioChunk
from voiceassist.batch.models import ModelSet
from voiceassist.config import Config
from voiceassist.events import Event, FusedEmotion, StageReady
from voiceassist.lang import parse_code
from voiceassist.session import Session

T = TypeVar("T")
Language = Literal["en", "zh"]
CLIPS_KEPT = 256


def check_language(language: str | None) -> Language | None:
    """ "en" or "zh" (en-US, zh-CN... too), or None for the server's setting (auto: detected); 400 otherwise."""
    try:
        return parse_code(language)
    except ValueError as e:
        raise ApiError(400, "unsupported_language", str(e), "language") from None


class Guarded:
    """A loaded backend shared by all requests: each call holds the backend's lock (one model, one call at
    a time); ``load`` and ``warmup`` do nothing (it is loaded). ``language`` pins the ASR language for the
    calls made through this wrapper (the backend reads it from its config; it is swapped under the lock)."""

    def __init__(self, inner: Any, lock: threading.Lock, language: str | None = None) -> None:
        self._inner = inner
        self._lock = lock
        self._language = language

    def load(self) -> None:
        pass

    def warmup(self) -> None:
        pass

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._inner, name)
        if not callable(value):
            return value

        def call(*args: Any, **kwargs: Any) -> Any:
            with self._lock:
                cfg = getattr(self._inner, "cfg", None)
                if self._language is None or not dataclasses.is_dataclass(cfg) or not hasattr(cfg, "language"):
                    return value(*args, **kwargs)
                self._inner.cfg = dataclasses.replace(cfg, language=self._language)  # type: ignore[type-var]
                try:
                    return value(*args, **kwargs)
                finally:
                    self._inner.cfg = cfg

        return call


class Capped(AudioSource):
    """A source read up to ``max_s`` seconds (``cut`` tells whether there was more), or until ``cancel`` is
    set (the client went away)."""

    def __init__(self, inner: AudioSource, max_s: float, cancel: threading.Event | None = None) -> None:
        self.inner = inner
        self.max_s = max_s
        self.cancel = cancel or threading.Event()
        self.cut = False
        self.realtime = inner.realtime

    def open(self) -> SourceInfo:
        self.info = self.inner.open()
        return self.info

    @property
    def warnings(self) -> Sequence[str]:  # type: ignore[override]
        return self.inner.warnings

    def describe(self) -> str:
        return self.inner.describe()

    @property
    def overflows(self) -> int:  # type: ignore[override]
        return self.inner.overflows

    def chunks(self, stop: threading.Event) -> Iterator[AudioChunk]:
        for chunk in self.inner.chunks(stop):
            if self.cancel.is_set():
                return
            if chunk.end_s > self.max_s + 1e-6:
                self.cut = True
                return
            yield chunk


class Engine:
    def __init__(self, cfg: Config, models: ModelSet | None = None) -> None:
        self.cfg = cfg
        self.models = models if models is not None else ModelSet(cfg)
        self.ready: list[Event] = list(self.models.load_events)
        self._locks = {k: threading.Lock() for k in ("asr", "speech", "text", "reply")}
        self._pool = ThreadPoolExecutor(cfg.api.workers, thread_name_prefix="voiceassist-api-analysis")
        self.tts_pool = ThreadPoolExecutor(1, thread_name_prefix="voiceassist-api-tts")  # the engine's one thread
        self._slots: asyncio.Semaphore | None = None
        self.pending = 0  # analyses waiting or running
        self.running = 0
        self.upload_dir = Path(tempfile.mkdtemp(prefix="voiceassist-api-"))
        self._live_lock = threading.Lock()
        self.live_sessions = 0
        self._clips: OrderedDict[str, dict[str, Any]] = OrderedDict()
        self._clips_lock = threading.Lock()
        self._responder: Any = None
        self._crisis: Any = None
        self.voices: Any = None

    # -- the shared models -------------------------------------------------------------------------
    def backends(self, language: Language | None = None, emotion: bool = True) -> dict[str, Any]:
        """Backends for one Session. The prosody default keeps a per-speaker baseline, so each Session gets
        a fresh one (it loads nothing); every other model is shared, behind its lock."""
        m = self.models
        out: dict[str, Any] = {"asr": Guarded(m.asr, self._locks["asr"], language)}
        if emotion and m.speech is not None:
            from voiceassist.emotion.prosody import ProsodyBackend

            fresh = isinstance(m.speech, ProsodyBackend)
            out["speech_emotion"] = (
                ProsodyBackend(self.cfg.emotion) if fresh else Guarded(m.speech, self._locks["speech"])
            )
        if emotion and m.text is not None:
            out["text_emotion"] = Guarded(m.text, self._locks["text"])
        return out

    def text_emotion(self, text: str, language: str) -> Any:
        """The text-emotion estimate of ``text`` (an EmotionEstimate), or None without emotion models."""
        if self.models.text is None:
            return None
        with self._locks["text"]:
            return self.models.text.analyze(text, language)

    def ready_events(self, emotion: bool = True) -> list[Event]:
        keep = ("asr",) if not emotion else ("asr", "speech-emotion", "text-emotion")
        return [e for e in self.ready if not isinstance(e, StageReady) or e.stage in keep]

    def config_for(self, language: Language | None = None, emotion: bool = True) -> Config:
        cfg = self.cfg
        if language is not None:
            cfg = dataclasses.replace(cfg, asr=dataclasses.replace(cfg.asr, language=language))
        if not emotion or self.models.speech is None:
            cfg = dataclasses.replace(cfg, emotion=dataclasses.replace(cfg.emotion, enabled=False))
        return cfg

    # -- the analysis queue ------------------------------------------------------------------------
    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """``fn(*args)`` on an analysis worker thread, queued behind the analyses already there."""
        api = self.cfg.api
        if self._slots is None:
            self._slots = asyncio.Semaphore(api.workers)
        if self.pending >= api.workers + api.max_queued:
            raise ApiError(
                429,
                "queue_full",
                f"{self.pending} analyses are running or waiting (api.workers + api.max_queued); try again shortly",
                headers={"Retry-After": "5"},
            )
        self.pending += 1
        try:
            try:
                await asyncio.wait_for(self._slots.acquire(), api.queue_timeout_s)
            except asyncio.TimeoutError:
                raise ApiError(
                    503,
                    "busy",
                    f"no analysis worker was free within {api.queue_timeout_s:g} s",
                    headers={"Retry-After": "30"},
                ) from None
            self.running += 1
            try:
                return await asyncio.get_running_loop().run_in_executor(self._pool, fn, *args)
            finally:
                self.running -= 1
                self._slots.release()
        finally:
            self.pending -= 1

    def analyze(
        self,
        source: AudioSource,
        name: str,
        *,
        frames: bool = False,
        embeddings: Path | None = None,
        emotion: bool = True,
        language: Language | None = None,
        on_event: Callable[[Event], None] | None = None,
        cancel: threading.Event | None = None,
    ) -> dict[str, Any]:
        """The analyze document of ``source`` (opened) on the shared models. 400 when it is too long."""
        from voiceassist.analysis import analyze

        capped = Capped(source, self.cfg.api.max_audio_s, cancel)
        capped.info = source.info
        emotion = emotion and self.models.speech is not None
        doc = analyze(
            self.config_for(language, emotion),
            capped,
            name,
            frames=frames,
            embeddings=embeddings,
            backends=self.backends(language, emotion),
            ready=self.ready_events(emotion),
            on_event=on_event,
        )
        if capped.cut:
            raise too_long(self.cfg.api.max_audio_s)
        return doc

    # -- live sessions -----------------------------------------------------------------------------
    def open_live(self) -> bool:
        with self._live_lock:
            if self.live_sessions >= self.cfg.api.max_sessions:
                return False
            self.live_sessions += 1
            return True

    def close_live(self) -> None:
        with self._live_lock:
            self.live_sessions -= 1

    def live_session(self, source: AudioSource, language: Language | None = None) -> Session:
        """A Session on the shared models for a live stream; replies are text (never spoken here)."""
        return Session(self.config_for(language), source, speak=False, **self.backends(language))

    # -- replies (chat) ----------------------------------------------------------------------------
    def reply(self, req: Any, history: list[tuple[str, str]]) -> Any:
        """The Reply to ``req`` (a ReplyRequest) from the assistant's responder (planner, or the generative
        backend when configured), with this conversation's ``history``."""
        with self._locks["reply"]:
            if self._responder is None:
                from voiceassist.bus import EventBus
                from voiceassist.responder import Responder

                responder = Responder(self.cfg, EventBus(), speak=False)
                responder.load_replier()
                self._responder = responder
            return self._responder.answer(req, history=history)

    def crisis(self) -> Any:
        """The crisis-phrase detector of ``alerts.crisis_phrases`` (the pipeline's)."""
        if self._crisis is None:
            from voiceassist.alerts.policy import CrisisDetector

            self._crisis = CrisisDetector.from_config(self.cfg.alerts.crisis_phrases)
        return self._crisis

    # -- clips: an analysed recording's emotion, by id, for chat -----------------------------------
    def remember_clip(self, fused: FusedEmotion | None) -> str:
        """Keep a recording's emotion (its last utterance's FusedEmotion, None when it had none) for chat."""
        clip_id = "clip_" + secrets.token_hex(8)
        with self._clips_lock:
            self._clips[clip_id] = {"created": time.time(), "fused": fused}
            while len(self._clips) > CLIPS_KEPT:
                self._clips.popitem(last=False)
        return clip_id

    def clip(self, clip_id: str) -> dict[str, Any] | None:
        with self._clips_lock:
            return self._clips.get(clip_id)

    # -- uploads and shutdown ----------------------------------------------------------------------
    def scratch(self) -> Path:
        """A new private folder for one request's files (removed with ``release``)."""
        return Path(tempfile.mkdtemp(prefix="req-", dir=self.upload_dir))

    @staticmethod
    def release(folder: Path) -> None:
        shutil.rmtree(folder, ignore_errors=True)

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
        self.tts_pool.shutdown(wait=False, cancel_futures=True)
        shutil.rmtree(self.upload_dir, ignore_errors=True)


def too_long(max_s: float) -> ApiError:
    return ApiError(
        400,
        "audio_too_long",
        f"the recording is longer than the limit of {max_s:g} s (api.max_audio_s); send a shorter one",
    )
