"""The app factory: routes, errors, the token, the Host/Origin guard, the body limit and (when configured)
CORS, around one Engine (the shared models)."""

from __future__ import annotations

from typing import Any

from fastapi import Depends, FastAPI

from voiceassist import __version__
from voiceassist.api import chat, emotion, errors, feedback, meta, realtime, speech, transcribe
from voiceassist.api.engine import Engine
from voiceassist.api.limits import BodyLimit
from voiceassist.api.security import Auth, HostOriginGuard

DESCRIPTION = """The emotion-aware voice assistant, for other programs on this machine.

Every request but `/health` needs `Authorization: Bearer <token>` (`voiceassist serve --show-token`).
Errors are JSON: `{"error": {"message", "type", "param", "code"}}`; `code` is stable.
The transcription, chat and speech endpoints follow OpenAI's API, so its clients work unchanged.
`WS /v1/realtime` is a live session (see docs/api.md)."""


def create_app(engine: Engine, token: str) -> FastAPI:
    cfg = engine.cfg.api
    auth = Auth(token, cfg.auth)
    app = FastAPI(title="VoiceAssist", version=__version__, description=DESCRIPTION)
    app.state.engine = engine
    app.state.auth = auth
    errors.install(app)
    app.include_router(meta.health_router)
    protected: list[Any] = [Depends(auth.dependency())]
    for module in (meta, emotion, transcribe, chat, speech, feedback):
        app.include_router(module.router, dependencies=protected)
    app.include_router(realtime.tickets, dependencies=protected)
    app.include_router(realtime.router)  # checks the token itself (before accepting the socket)
    if cfg.cors_origins:
        from fastapi.middleware.cors import CORSMiddleware

        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(cfg.cors_origins),
            allow_methods=["GET", "POST"],
            allow_headers=["Authorization", "Content-Type"],
            expose_headers=["X-Clip-Id", "X-VoiceAssist-Tone", "X-VoiceAssist-Voice"],
        )
    app.add_middleware(BodyLimit, max_bytes=int(cfg.max_body_mb * 1_000_000))
    app.add_middleware(HostOriginGuard, cfg=cfg)  # outermost: a foreign Host gets nothing else
    return app
