"""One worker thread that owns one model: a bounded input queue, a stop event, a bounded join.

The model is loaded (and warmed up) inside the worker's own thread; items are handled there, one at a
time. A failure on one item becomes a StageError event and the worker goes on.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any, Generic, TypeVar

from voiceassist.bus import EventBus
from voiceassist.events import Event, StageError

log = logging.getLogger(__name__)

T = TypeVar("T")
_DRAIN = object()
_LATEST = object()


class Worker(Generic[T]):
    def __init__(
        self,
        name: str,
        bus: EventBus,
        handle: Callable[[T], Iterable[Event]],
        setup: Callable[[], Iterable[Event]] | None = None,
        maxsize: int = 16,
        on_failed: Callable[[T], None] | None = None,
    ) -> None:
        """``on_failed(item)`` is called (in this worker's thread, after the StageError) for an item that
        could not be handled: the handler raised, or the model failed to load. Downstream stages waiting
        for that item's result are told so instead of waiting forever."""
        self.name = name
        self._on_failed = on_failed
        self.bus = bus
        self._handle = handle
        self._setup = setup
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=maxsize)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.ready = threading.Event()
        self.failed_setup: str | None = None
        self._latest: Any = None
        self._latest_lock = threading.Lock()

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name=f"voiceassist-{self.name}", daemon=True)
            self._thread.start()

    def submit(self, item: T, stop: threading.Event | None = None) -> bool:
        """Queue an item, waiting while the queue is full (backpressure) unless a stop is requested."""
        while not self._stop.is_set() and not (stop is not None and stop.is_set()):
            try:
                self._queue.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def offer(self, item: T) -> None:
        """Hand over an item that only matters while it is the newest (a live view update): it replaces
        any offered item not yet taken, and never blocks or queues up behind a slow model."""
        with self._latest_lock:
            replaced = self._latest is not None
            self._latest = item
        if not replaced:
            try:
                self._queue.put_nowait(_LATEST)
            except queue.Full:
                with self._latest_lock:
                    self._latest = None

    @property
    def pending(self) -> int:
        return self._queue.qsize()

    def _run(self) -> None:
        if self._setup is not None:
            try:
                for ev in self._setup():
                    self.bus.publish(ev)
            except Exception as e:
                log.error("%s: setup failed", self.name, exc_info=True)
                self.failed_setup = str(e)
                self.bus.publish(StageError(stage=self.name, message=str(e)))
        self.ready.set()
        while not self._stop.is_set():
            try:
                item = self._queue.get(timeout=0.1)
            except queue.Empty:
                continue
            if item is _DRAIN:
                break
            if item is _LATEST:
                with self._latest_lock:
                    item, self._latest = self._latest, None
                if item is None:
                    continue
            try:
                if self.failed_setup is not None:
                    seg = getattr(item, "segment_id", None)
                    self.bus.publish(StageError(segment_id=seg, stage=self.name, message=self.failed_setup))
                    self._failed(item)
                    continue
                for ev in self._handle(item):
                    self.bus.publish(ev)
            except Exception as e:
                log.error("%s: failed on an item", self.name, exc_info=True)
                self.bus.publish(
                    StageError(
                        segment_id=getattr(item, "segment_id", None),
                        stage=self.name,
                        message=f"{type(e).__name__}: {e}",
                    )
                )
                self._failed(item)

    def _failed(self, item: Any) -> None:
        if self._on_failed is not None:
            try:
                self._on_failed(item)
            except Exception:
                log.error("%s: on_failed raised", self.name, exc_info=True)

    def drain(self, timeout: float | None = None) -> bool:
        """Finish every queued item, then stop. Returns False if that took longer than ``timeout``."""
        if self._thread is None:
            return True
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            try:
                self._queue.put(_DRAIN, timeout=0.1)
                break
            except queue.Full:
                if not self._thread.is_alive() or (deadline is not None and time.monotonic() > deadline):
                    break
        remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
        self._thread.join(remaining)
        return not self._thread.is_alive()

    def stop(self, timeout: float = 5.0) -> bool:
        """Stop soon, dropping queued items. Idempotent. Returns False if the thread is still busy."""
        self._stop.set()
        if self._thread is None:
            return True
        self._thread.join(timeout)
        alive = self._thread.is_alive()
        if alive:
            log.warning("%s did not stop within %.1f s (a model call in progress); leaving it", self.name, timeout)
        return not alive
