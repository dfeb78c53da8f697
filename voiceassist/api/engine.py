"""What the server shares between requests: one model set (loaded once, as analyze-batch does: every
backend is safe to share between threads, and each Session gets a fresh speaker baseline); the analysis
queue (``api.workers`` at once, ``api.max_queued`` waiting, 429 beyond, 503 after ``api.queue_timeout_s``);
live sessions (``api.max_sessions``); and the recent clips' emotions, which a chat request may name by id.

Every request goes through the code the CLI uses: ``voiceassist.analysis.analyze`` on an analysis Session
for a file (the language a request asks for is in that Session's config: ``transcribe(audio, language)``),
a conversation Session on a ``PushSource`` for a live stream.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import secrets
import shutil
import tempfile
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from voiceassist.api.errors import ApiError
from voiceassist.audio.base import AudioSource, SourceInfo
from voiceassist.audio.chunk import AudioChunk
from voiceassist.config import Config
from voiceassist.emotion import EmotionEstimate
from voiceassist.events import Event, FusedEmotion, Reply
from voiceassist.lang import parse_code
from voiceassist.pipeline import Models
from voiceassist.session import Session

if TYPE_CHECKING:
    from voiceassist.reply.request import ReplyRequest
    from voiceassist.responder import Responder
    from voiceassist.storage import SessionStore

log = logging.getLogger(__name__)
T = TypeVar("T")
Language = Literal["en", "zh"]
CLIPS_KEPT = 256


def check_language(language: str | None) -> Language | None:
    """ "en" or "zh" (en-US, zh-CN... too), or None for the server's setting (auto: detected); 400 otherwise."""
    try:
        return parse_code(language)
    except ValueError as e:
        raise ApiError(400, "unsupported_language", str(e), "language") from None


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
    def __init__(self, cfg: Config, models: Models | None = None) -> None:
        self.cfg = cfg
        self.models = models if models is not None else Models.load(cfg)
        self._reply_lock = threading.Lock()
        self._store: SessionStore | None = None
        self._store_lock = threading.Lock()
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
        self._responder: Responder | None = None
        self._crisis: Any = None
        self.voices: Any = None

    # -- the shared models -------------------------------------------------------------------------
    def text_emotion(self, text: str, language: str) -> EmotionEstimate | None:
        """The text-emotion estimate of ``text``, or None without emotion models."""
        if self.models.text_emotion is None:
            return None
        return self.models.text_emotion.analyze(text, language)

    def config_for(self, language: Language | None = None, emotion: bool = True, words: bool = False) -> Config:
        """The server's config for one request: the language it asks for, emotion on or off, word times."""
        cfg = self.cfg
        if language is not None or words:
            asr = dataclasses.replace(cfg.asr, language=language or cfg.asr.language, word_timestamps=words)
            cfg = dataclasses.replace(cfg, asr=asr)
        if not emotion or self.models.speech_emotion is None:
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
        words: bool = False,
        on_event: Callable[[Event], None] | None = None,
        cancel: threading.Event | None = None,
    ) -> dict[str, Any]:
        """The analyze document of ``source`` (opened) on the shared models. 400 when it is too long."""
        from voiceassist.analysis import analyze

        capped = Capped(source, self.cfg.api.max_audio_s, cancel)
        capped.info = source.info
        doc = analyze(
            self.config_for(language, emotion, words),
            capped,
            name,
            frames=frames,
            embeddings=embeddings,
            models=self.models,
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

    def store(self) -> SessionStore:
        """The person's session store (encrypted, as the window's), opened on first use; shared by the live
        sessions and the feedback route (one connection under a lock)."""
        with self._store_lock:
            if self._store is None:
                from voiceassist.storage import SessionStore, default_store_path

                s = self.cfg.store
                self._store = SessionStore(Path(s.path) if s.path else default_store_path())
                self._store.apply_retention(s.retention_days)
            return self._store

    def live_session(self, source: AudioSource, language: Language | None = None) -> Session:
        """A conversation Session on the shared models for a live stream; replies are text (never spoken
        here). Stored like the window's and ``listen``'s sessions when the person keeps sessions
        (``store.enabled``, with ``store.keep_transcripts`` and ``store.keep_audio`` as they chose)."""
        store = None
        if self.cfg.store.enabled:
            try:
                store = self.store()
            except Exception:  # the session still runs, it is just not kept (and the log says why)
                log.warning("a realtime session will not be saved: the session store cannot be opened", exc_info=True)
        return Session(
            self.config_for(language),
            source,
            models=self.models,
            speak=False,
            store=store,
            source_name=source.describe(),
        )

    # -- replies (chat) ----------------------------------------------------------------------------
    def reply(
        self, req: ReplyRequest, history: list[tuple[str, str]], on_piece: Callable[[str], None] | None = None
    ) -> Reply:
        """The Reply to ``req`` from the assistant's responder (planner, or the generative backend when
        configured), with this conversation's ``history``; ``on_piece`` hears its text as it is produced."""
        with self._reply_lock:
            if self._responder is None:
                from voiceassist.bus import EventBus
                from voiceassist.responder import Responder

                responder = Responder(self.cfg, EventBus(), speak=False)
                responder.load_replier()
                self._responder = responder
            for item in self._responder.answer_stream(req, history=history):
                if isinstance(item, Reply):
                    return item
                if on_piece is not None:
                    on_piece(item)
        raise AssertionError("answer_stream ends with the Reply")  # pragma: no cover

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
        with self._store_lock:
            if self._store is not None:
                self._store.close()
                self._store = None


def too_long(max_s: float) -> ApiError:
    return ApiError(
        400,
        "audio_too_long",
        f"the recording is longer than the limit of {max_s:g} s (api.max_audio_s); send a shorter one",
    )
