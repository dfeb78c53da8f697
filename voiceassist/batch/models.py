"""The worker side of a batch: one set of models per process (or Ray actor), loaded once
(``pipeline.Models.load``), and one analysis Session per file on them, giving exactly the document
``voiceassist analyze`` writes (voiceassist/analysis.py). The models' StageReady events come from that one
load, so the document's "backends" and "errors" are what a single ``analyze`` run gives; each file gets a
fresh speaker baseline for the voice, as in ``analyze``.
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
from voiceassist.pipeline import Models, StageSetupError

log = logging.getLogger(__name__)


class SetupError(RuntimeError):
    """The models cannot be loaded (a bad configuration: the batch stops, exit 3)."""


def with_threads(cfg: Config, processes: int) -> Config:
    """``cfg`` with asr.cpu_threads split between ``processes`` model sets on this machine, unless set."""
    if cfg.asr.cpu_threads or processes <= 1:
        return cfg
    threads = max(1, (os.cpu_count() or 1) // processes)
    return dataclasses.replace(cfg, asr=dataclasses.replace(cfg.asr, cpu_threads=threads))


def load_models(cfg: Config) -> tuple[Models | None, str | None]:
    """The models of one worker, or the reason they cannot be loaded (every task then says so)."""
    t0 = time.monotonic()
    try:
        models = Models.load(cfg)
    except StageSetupError as e:
        return None, str(e)
    log.info("batch worker %d: models loaded in %.1f s", os.getpid(), time.monotonic() - t0)
    return models, None


def analyze_task(
    cfg: Config, models: Models | None, setup_error: str | None, task: dict[str, str], frames: bool
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
        source = FileSource(task["path"], realtime=False, chunk_ms=cfg.audio.file_chunk_ms)
        info = source.open()
        if info.duration_s == 0:
            raise AudioInputError(f"{task['path']}: the file contains no audio samples")
        doc = analyze(cfg, source, task["name"], frames=frames, models=models)
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
