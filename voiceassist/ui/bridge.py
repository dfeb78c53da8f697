"""Pipeline events into the GUI thread: the bus calls the bridge in worker threads; the bridge emits a Qt
signal, which Qt queues to the receiver's (GUI) thread."""

from __future__ import annotations

import logging

from PySide6.QtCore import QObject, Signal

from voiceassist.events import Event

log = logging.getLogger(__name__)


class EventBridge(QObject):
    event = Signal(object)  # type: ignore[assignment]  # a Signal shadows QObject.event(); it is the API here

    def __call__(self, ev: Event | tuple[int, Event]) -> None:  # called in any thread: only emit
        try:
            self.event.emit(ev)
        except RuntimeError:  # "Signal source has been deleted": the window is gone, its session still stopping
            log.debug("an event for a closed window was dropped: %s", type(ev).__name__)
