"""A real API server for the tests: the app on uvicorn on a free loopback port, on its own thread, over one
Engine (the embedded models, loaded once per test module)."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tests.conftest import espeak, silence, write_wav

TOKEN = "test-token-7c1f2e9a4b"


@dataclass
class Server:
    base: str
    engine: object
    token: str = TOKEN

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    @property
    def ws_url(self) -> str:
        return self.base.replace("http://", "ws://") + "/v1/realtime"


@contextlib.contextmanager
def running(*overrides: str, config: Path | None = None) -> Iterator[Server]:
    from voiceassist.api.app import create_app
    from voiceassist.api.engine import Engine
    from voiceassist.api.serve import background
    from voiceassist.config import load_config

    cfg = load_config(config, ["api.port=0", "store.enabled=false", "tts.enabled=false", *overrides])
    engine = Engine(cfg)
    try:
        with background(create_app(engine, TOKEN), cfg) as base:
            yield Server(base, engine)
    finally:
        engine.close()


def talk_wav(folder: Path) -> Path:
    """About 3 s: a sentence between short silences."""
    return write_wav(
        folder / "talk.wav",
        np.concatenate([silence(0.4), espeak("I am so stressed at work, I cannot sleep at night."), silence(0.6)]),
    )


def two_utterances_wav(folder: Path) -> Path:
    a = espeak("Good morning, how are you today?")
    b = espeak("I feel a bit tired, but I am fine.")
    return write_wav(folder / "two.wav", np.concatenate([silence(0.8), a, silence(1.5), b, silence(1.2)]))


def api_threads() -> int:
    """Threads now alive (the test's baseline to come back to)."""
    return threading.active_count()
