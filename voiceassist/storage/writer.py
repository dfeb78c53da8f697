"""The store's writer thread: a bus subscriber (the session's StoreRecorder) run on a thread of its own, so
the database is written by one thread and never by the capture thread or a model's worker.

**Shown means stored.** An event a person sees (a transcript, the emotion read in it, the mood, a reply, a
crisis phrase, an alert) is committed before any later subscriber (the window, ``listen``, the API) hears
of it: the writer is the bus's first subscriber and, for those events, the publishing thread waits until
the row is written (at most ``SHOWN_WAIT_S``: a stalled disk delays nothing for longer, and is said in the
log). So a process killed the moment a line is printed has that line in its history. Everything else (audio
levels, frame curves, partial transcripts) is queued and written in order without waiting.

At the end of the pipeline the writer waits until all is written, so subscribers after it see
PipelineStopped only once the session is stored.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from voiceassist.events import AlertRaised, CrisisHeard, FusedEmotion, MoodUpdate, PipelineStopped, Reply, Transcript

log = logging.getLogger(__name__)

SHOWN = (Transcript, FusedEmotion, MoodUpdate, Reply, CrisisHeard, AlertRaised)
"""The events front ends show a person: written before anyone else hears of them."""
SHOWN_WAIT_S = 2.0


@dataclass(frozen=True)
class Call:
    """A write for the writer thread that is not an event (a correction, the person's voice baseline)."""

    fn: Callable[[], None]


class WriterThread:
    def __init__(self, target: Callable[[Any], None]) -> None:
        self._target = target
        self._queue: queue.Queue[Any] = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="voiceassist-store-writer", daemon=True)
        self._thread.start()

    def __call__(self, item: Any) -> None:
        if isinstance(item, SHOWN):
            if not self.flush(SHOWN_WAIT_S, item):
                log.warning("the store took over %.0f s to write a %s; shown anyway", SHOWN_WAIT_S, type(item).__name__)
            return
        self._queue.put(item)
        if isinstance(item, PipelineStopped):
            self.flush(10.0)

    def flush(self, timeout: float, item: Any = None) -> bool:
        """Until everything queued (and ``item``, when given) is written, at most ``timeout`` seconds."""
        done = threading.Event()
        if item is not None:
            self._queue.put(item)
        self._queue.put(done)
        return done.wait(timeout)

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if isinstance(item, threading.Event):
                item.set()
                continue
            try:
                if isinstance(item, Call):
                    item.fn()
                else:
                    self._target(item)
            except Exception:
                log.error("store writer failed on %s", type(item).__name__, exc_info=True)
