"""A small synchronous event bus. Publishers call subscribers in their own thread, so subscribers must be
quick (append to a buffer, emit a Qt signal, print a line). A failing subscriber is logged, not raised."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from voiceassist.events import Event

log = logging.getLogger(__name__)

Subscriber = Callable[[Event], None]


class EventBus:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._subscribers: list[Subscriber] = []

    def subscribe(self, fn: Subscriber, first: bool = False) -> Callable[[], None]:
        """Call ``fn`` with every event from now on, after the subscribers before it (``first``: before every
        other one: the session store's writer, so nothing is shown before it is stored)."""
        with self._lock:
            if first:
                self._subscribers.insert(0, fn)
            else:
                self._subscribers.append(fn)

        def unsubscribe() -> None:
            with self._lock:
                if fn in self._subscribers:
                    self._subscribers.remove(fn)

        return unsubscribe

    def publish(self, event: Event) -> None:
        with self._lock:
            subscribers = list(self._subscribers)
        for fn in subscribers:
            try:
                fn(event)
            except Exception:
                log.exception("event subscriber %r failed on %s", fn, type(event).__name__)


class Collector:
    """A subscriber that keeps every event (for the CLI and tests)."""

    def __init__(self) -> None:
        self.events: list[Event] = []
        self._lock = threading.Lock()

    def __call__(self, event: Event) -> None:
        with self._lock:
            self.events.append(event)

    def of(self, kind: type) -> list:  # type: ignore[type-arg]
        with self._lock:
            return [e for e in self.events if isinstance(e, kind)]
