"""Local executors: in this process (``--jobs 1``), or ``--jobs K`` worker processes (multiprocessing, spawn
context) that each load the models once and then analyse one file after another.

Each worker process holds one file at a time, so when one dies (a crash in native code, the out-of-memory
killer) the files it may have held are known: the pool is restarted and they are tried again, and a file in
flight during two such deaths is recorded as failed.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from collections import deque
from collections.abc import Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from multiprocessing import get_context
from typing import Any

from voiceassist.batch.models import analyze_task, load_models, with_threads
from voiceassist.config import Config
from voiceassist.pipeline import Models

log = logging.getLogger(__name__)

MAX_DEATHS = 2  # a file in flight when a worker process died this often is recorded as failed


def run_inline(cfg: Config, tasks: list[dict[str, str]], frames: bool) -> Iterator[dict[str, Any]]:
    models, error = load_models(cfg)
    for task in tasks:
        yield analyze_task(cfg, models, error, task, frames)


# -- worker processes --------------------------------------------------------------------------------
_cfg: Config | None = None
_models: Models | None = None
_setup_error: str | None = None
_frames = False


def _init(cfg: Config, frames: bool, verbose: int, driver: int) -> None:
    global _cfg, _models, _setup_error, _frames
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the driver's: it stops the pool
    threading.Thread(target=_exit_with, args=(driver,), name="voiceassist-batch-orphan", daemon=True).start()
    from voiceassist.logs import setup_logging

    setup_logging(verbose)
    _cfg, _frames = cfg, frames
    _models, _setup_error = load_models(cfg)  # an error: every task then says so, and the driver stops the batch


def _exit_with(driver: int) -> None:
    """A worker whose driver died (killed: no clean shutdown) would wait on its queue forever: it exits."""
    while os.getppid() == driver:
        time.sleep(1.0)
    os._exit(1)


def _work(task: dict[str, str]) -> dict[str, Any]:
    assert _cfg is not None, "the pool's initializer runs first"
    return analyze_task(_cfg, _models, _setup_error, task, _frames)


def run_pool(
    cfg: Config, tasks: list[dict[str, str]], frames: bool, jobs: int, verbose: int = 0
) -> Iterator[dict[str, Any]]:
    """Outcomes in the order they finish."""
    jobs = max(1, min(jobs, len(tasks)))
    cfg = with_threads(cfg, jobs)
    pending = deque(tasks)
    deaths: dict[str, int] = {}
    while pending:
        pool = ProcessPoolExecutor(
            max_workers=jobs,
            mp_context=get_context("spawn"),
            initializer=_init,
            initargs=(cfg, frames, verbose, os.getpid()),
        )
        inflight: dict[Future[dict[str, Any]], dict[str, str]] = {}
        broken = False
        try:
            while (pending and not broken) or inflight:
                while pending and not broken and len(inflight) < jobs:
                    task = pending.popleft()
                    try:
                        inflight[pool.submit(_work, task)] = task
                    except BrokenProcessPool:
                        pending.appendleft(task)
                        broken = True
                if not inflight:
                    break
                done, _ = wait(inflight, return_when=FIRST_COMPLETED)
                for fut in done:
                    task = inflight.pop(fut)
                    try:
                        yield fut.result()
                    except BrokenProcessPool:
                        broken = True
                        deaths[task["key"]] = deaths.get(task["key"], 0) + 1
                        if deaths[task["key"]] >= MAX_DEATHS:
                            yield _died(task)
                        else:
                            pending.appendleft(task)
            if broken:
                log.warning("analyze-batch: a worker process died; starting new ones")
        except BaseException:  # stopped (Ctrl-C, or the driver gave up): do not wait for the files in flight
            for proc in list((getattr(pool, "_processes", None) or {}).values()):
                proc.terminate()
            raise
        finally:
            pool.shutdown(wait=not broken and not inflight, cancel_futures=True)


def _died(task: dict[str, str]) -> dict[str, Any]:
    return {
        "key": task["key"],
        "status": "failed",
        "text": None,
        "error": f"the worker process died (a crash, or out of memory) while analysing it, {MAX_DEATHS} times",
        "duration": 0.0,
        "segments": 0,
        "errors": 0,
        "wall_s": 0.0,
    }
