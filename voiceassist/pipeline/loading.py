"""Loading each stage's model in its worker's thread: the backend and the StageReady that says which one
runs (and, when a configured model could not be used, why the embedded default runs instead)."""

from __future__ import annotations

import logging
import time
from typing import Any

from voiceassist.asr import AsrBackend, create_backend
from voiceassist.audio.chunk import SAMPLE_RATE
from voiceassist.config import Config
from voiceassist.emotion import SpeechEmotionBackend, TextEmotionBackend
from voiceassist.events import Event, StageError, StageReady
from voiceassist.paths import models_dir

log = logging.getLogger(__name__)


def load_asr(cfg: Config, backend: AsrBackend | None) -> tuple[AsrBackend, list[Event]]:
    t0 = time.monotonic()
    if backend is None:
        backend = create_backend(cfg.asr, cfg.paths.models_dir)
    backend.load()
    warm = getattr(backend, "warmup", None)
    if warm is not None:
        warm()
    embedded = bool(getattr(getattr(backend, "resolved", None), "embedded", False))
    return backend, [
        StageReady(stage="asr", description=backend.description, embedded=embedded, load_s=time.monotonic() - t0)
    ]


def load_speech_emotion(cfg: Config, backend: SpeechEmotionBackend | None) -> tuple[SpeechEmotionBackend, list[Event]]:
    from voiceassist.emotion import create_speech_backend

    t0 = time.monotonic()
    note, events = None, []
    if backend is None:
        try:
            backend, note = create_speech_backend(cfg.emotion, models_dir(cfg.paths.models_dir))
            backend.load()
        except Exception as e:  # a broken model folder: say so, and go on with the embedded backend
            log.error("speech emotion model failed to load", exc_info=True)
            from voiceassist.emotion.prosody import ProsodyBackend

            backend, note = ProsodyBackend(cfg.emotion), str(e)
            events.append(StageError(stage="speech-emotion", message=str(e)))
    else:
        backend.load()
    backend.warmup()
    ready = StageReady(
        stage="speech-emotion",
        description=backend.description,
        embedded=backend.embedded,
        load_s=time.monotonic() - t0,
        note=note,
    )
    return backend, [*events, ready]


def load_text_emotion(cfg: Config, backend: TextEmotionBackend | None) -> tuple[TextEmotionBackend, list[Event]]:
    from voiceassist.emotion import create_text_backend

    t0 = time.monotonic()
    note, events = None, []
    if backend is None:
        try:
            backend, note = create_text_backend(cfg.emotion, models_dir(cfg.paths.models_dir))
            backend.load()
        except Exception as e:
            log.error("text emotion model failed to load", exc_info=True)
            from voiceassist.emotion.text import LexiconTextBackend

            backend, note = LexiconTextBackend(cfg.emotion), str(e)
            backend.load()
            events.append(StageError(stage="text-emotion", message=str(e)))
    else:
        backend.load()
    ready = StageReady(
        stage="text-emotion",
        description=backend.description,
        embedded=backend.embedded,
        load_s=time.monotonic() - t0,
        note=note,
    )
    return backend, [*events, ready]


def check_quality(seg: Any, cfg: Config) -> tuple[Any, Event | None]:
    """The QualityReport of a SpeechSegment (level, clipping, and silero's verdict when configured), and a
    StageError when silero could not run."""
    from voiceassist.audio.quality import MESSAGES, assess
    from voiceassist.events import QualityReport

    q = assess(seg.audio.samples, cfg.quality)
    issue, error = q.issue, None
    if issue is None and cfg.vad.silero_confirm:
        try:
            from voiceassist.audio.silero import silero_speech_seconds

            speech_s = silero_speech_seconds(seg.audio.as_float32(), cfg.vad.silero_threshold, cfg.vad.min_speech_ms)
            if speech_s * 1000 < cfg.vad.min_speech_ms:
                issue = "noise"
        except Exception as e:
            error = StageError(segment_id=seg.segment_id, stage="silero", message=str(e))
    msg = MESSAGES.get(issue) if issue else None
    report = QualityReport(
        segment_id=seg.segment_id,
        ok=issue is None,
        issue=issue,
        message=msg[0] if msg else None,
        message_zh=msg[1] if msg else None,
        rms_dbfs=round(q.rms_dbfs, 2),
        peak_dbfs=round(q.peak_dbfs, 2),
        clipped_ratio=round(q.clipped_ratio, 5),
        trimmed_start_s=seg.start_s + q.trim_start / SAMPLE_RATE,
        trimmed_end_s=seg.start_s + q.trim_end / SAMPLE_RATE,
    )
    return report, error
