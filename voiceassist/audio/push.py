"""``PushSource``: audio that another part of the program hands over as it arrives (a network stream, a
test), as 16 kHz mono chunks. ``push`` never blocks and never computes much: it copies into a bounded
queue and counts what did not fit (``overflows``), like the microphone's callback."""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Iterator

import numpy as np

from voiceassist.audio.base import AudioInputError, AudioSource, ChunkMaker, SourceInfo
from voiceassist.audio.chunk import SAMPLE_RATE, AudioChunk, Int16Array

_END = None


class PushSource(AudioSource):
    """Live audio pushed in by the caller: ``push(samples)`` (int16 mono 16 kHz) as it arrives, ``end()``
    when there is no more. ``chunks`` yields fixed ``chunk_ms`` chunks stamped with the time they arrived;
    it returns at ``end()`` (after what was pushed) or when ``stop`` is set. At most ``queue_seconds`` of
    audio wait; a push beyond that is dropped and counted in ``overflows``."""

    realtime = True

    def __init__(self, name: str = "pushed audio", chunk_ms: int = 20, queue_seconds: float = 10.0) -> None:
        self.name = name
        self.chunk_ms = chunk_ms
        self._queue: queue.Queue[Int16Array | None] = queue.Queue()
        self._queued_samples = 0
        self._limit = int(queue_seconds * SAMPLE_RATE)
        self._lock = threading.Lock()
        self._ended = threading.Event()
        self.overflows = 0
        self.pushed_samples = 0
        self.info = SourceInfo(name, SAMPLE_RATE, 1, None)

    def describe(self) -> str:
        return self.name

    def open(self) -> SourceInfo:
        return self.info

    def push(self, samples: Int16Array) -> bool:
        """Queue ``samples`` (1-D int16); False when they were dropped (queue full, or after ``end``)."""
        if samples.dtype != np.int16 or samples.ndim != 1:
            raise ValueError(f"PushSource wants 1-D int16 samples, got {samples.dtype} {samples.shape}")
        if self._ended.is_set() or len(samples) == 0:
            return False
        with self._lock:
            if self._queued_samples + len(samples) > self._limit:
                self.overflows += 1
                return False
            self._queued_samples += len(samples)
            self.pushed_samples += len(samples)
        self._queue.put_nowait(samples.copy())
        return True

    def end(self) -> None:
        """No more audio: ``chunks`` returns once what was pushed has been read. Idempotent."""
        if not self._ended.is_set():
            self._ended.set()
            self._queue.put_nowait(_END)

    @property
    def ended(self) -> bool:
        return self._ended.is_set()

    def chunks(self, stop: threading.Event) -> Iterator[AudioChunk]:
        maker = ChunkMaker(SAMPLE_RATE * self.chunk_ms // 1000)
        while not stop.is_set():
            try:
                block = self._queue.get(timeout=0.1)
            except queue.Empty:
                continue
            if block is _END:
                break
            with self._lock:
                self._queued_samples -= len(block)
            now = time.monotonic()
            for chunk in maker.feed(block):
                yield AudioChunk(chunk.samples, chunk.start_s, now)
        else:
            return
        for chunk in maker.feed(np.zeros(0, dtype=np.int16), final=True):
            yield AudioChunk(chunk.samples, chunk.start_s, time.monotonic())


def pcm16_from_bytes(data: bytes) -> Int16Array:
    """Little-endian signed 16-bit PCM bytes -> samples; AudioInputError for an odd byte count."""
    if len(data) % 2:
        raise AudioInputError(f"16-bit PCM needs an even number of bytes, got {len(data)}")
    return np.frombuffer(data, dtype="<i2").astype(np.int16)
