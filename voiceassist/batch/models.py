"""The worker side of a batch: one set of models per process (or Ray actor), loaded once, and one Session per
file on them, giving exactly the document ``voiceassist analyze`` writes (voiceassist/analysis.py).

The pipeline's loaders call ``load()`` and ``warmup()`` on a backend handed in (voiceassist/pipeline/loading.py),
which would reload Whisper for every file; each backend is handed in behind ``Loaded``, where those two are
no-ops. The backends' StageReady events (with the note saying why an embedded default runs, and the error
when a configured model failed to load) come from the one real load and replace the per-file ones, so the
document's "backends" and "errors" are what a single ``analyze`` run gives. The prosody backend keeps a
per-speaker baseline across utterances: every file gets a fresh one (it loads nothing), as in ``analyze``.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import time
import traceback
from typing import Any

from voiceassist.analysis import analyze
from voiceassist.audio.sources import AudioInputError, FileSource
from voiceassist.config import Config
from voiceassist.eventjson import dumps
from voiceassist.events import Event
from voiceassist.pipeline import StageSetupError
from voiceassist.pipeline.loading import load_asr, load_speech_emotion, load_text_emotion

log = logging.getLogger(__name__)


class SetupError(RuntimeError):
    """The models cannot be loaded (a bad configuration: the batch stops, exit 3)."""


class Loaded:
    """A backend already loaded and warmed up: ``load`` and ``warmup`` do nothing, the rest is the backend's."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner

    def load(self) -> None:
        pass

    def warmup(self) -> None:
        pass

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


def with_threads(cfg: Config, processes: int) -> Config:
    """``cfg`` with asr.cpu_threads split between ``processes`` model sets on this machine, unless set."""
    if cfg.asr.cpu_threads or processes <= 1:
        return cfg
    threads = max(1, (os.cpu_count() or 1) // processes)
    return dataclasses.replace(cfg, asr=dataclasses.replace(cfg.asr, cpu_threads=threads))


class ModelSet:
    def __init__(self, cfg: Config) -> None:
        t0 = time.monotonic()
        self.cfg = cfg
        try:
            self.asr, events = load_asr(cfg, None)
        except Exception as e:
            raise SetupError(f"speech recognition cannot start: {e}") from e
        self.speech: Any = None
        self.text: Any = None
        if cfg.emotion.enabled:
            self.speech, more = load_speech_emotion(cfg, None)
            events += more
            self.text, more = load_text_emotion(cfg, None)
            events += more
        self.load_events: list[Event] = events
        self.load_s = time.monotonic() - t0
        log.info("batch worker %d: models loaded in %.1f s", os.getpid(), self.load_s)

    def backends(self) -> dict[str, Any]:
        speech = self.speech
        if speech is not None:
            from voiceassist.emotion.prosody import ProsodyBackend

            speech = ProsodyBackend(self.cfg.emotion) if isinstance(speech, ProsodyBackend) else Loaded(speech)
        return {
            "asr": Loaded(self.asr),
            "speech_emotion": speech,
            "text_emotion": None if self.text is None else Loaded(self.text),
        }

    def analyze(self, source: FileSource, name: str, frames: bool = False) -> dict[str, Any]:
        """``voiceassist.analysis.analyze`` on these models (``source`` already opened)."""
        return analyze(self.cfg, source, name, frames=frames, backends=self.backends(), ready=list(self.load_events))


def analyze_task(
    models: ModelSet | None, setup_error: str | None, task: dict[str, str], frames: bool
) -> dict[str, Any]:
    """One file: {"key", "status": "done"|"failed"|"setup-error", "text" (the result.json text) or None,
    "error", "duration", "segments", "errors", "wall_s", "worker"}. Never raises for a bad file."""
    t0 = time.monotonic()
    out: dict[str, Any] = {"key": task["key"], "status": "failed", "text": None, "error": None}
    out.update(duration=0.0, segments=0, errors=0, wall_s=0.0, worker=os.getpid())
    if models is None:
        out.update(status="setup-error", error=setup_error or "the models are not loaded")
        return out
    try:
        source = FileSource(task["path"], realtime=False, chunk_ms=models.cfg.audio.file_chunk_ms)
        info = source.open()
        if info.duration_s == 0:
            raise AudioInputError(f"{task['path']}: the file contains no audio samples")
        doc = models.analyze(source, task["name"], frames=frames)
        out.update(status="done", text=dumps(doc, indent=2) + "\n", duration=doc["duration"])
        out.update(segments=len(doc["segments"]), errors=len(doc["errors"]))
    except AudioInputError as e:
        out["error"] = str(e)
    except StageSetupError as e:
        out.update(status="setup-error", error=str(e))
    except Exception as e:  # one bad file never stops the batch; the details go to the log
        log.error("analyze-batch: %s failed", task["path"], exc_info=True)
        out["error"] = f"{type(e).__name__}: {e}"
        out["traceback"] = traceback.format_exc(limit=20)
    out["wall_s"] = round(time.monotonic() - t0, 3)
    return out
