"""``GET /health`` (no token needed) and ``GET /v1/models``: the model catalogue, what is installed, and
what this server runs."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from voiceassist import __version__
from voiceassist.api.engine import Engine
from voiceassist.events import StageReady

health_router = APIRouter(tags=["meta"])
router = APIRouter(tags=["meta"])


@health_router.get("/health", summary="Is the server up (no token needed)")
async def health(request: Request) -> dict[str, Any]:
    engine: Engine = request.app.state.engine
    return {
        "status": "ok",
        "version": __version__,
        "analyses": {"running": engine.running, "waiting": engine.pending - engine.running},
        "live_sessions": engine.live_sessions,
    }


@router.get("/v1/models", summary="What runs here, and the catalogue with what is installed")
async def models(request: Request) -> dict[str, Any]:
    from voiceassist import models_manager as mm
    from voiceassist.paths import models_dir

    engine: Engine = request.app.state.engine
    data: list[dict[str, Any]] = [
        {
            "id": "voiceassist",
            "object": "model",
            "created": 0,
            "owned_by": "voiceassist",
            "kind": "assistant",
            "loaded": True,
            "description": "chat replies, transcription with emotion, speech",
        }
    ]
    for ev in engine.models.ready:
        if isinstance(ev, StageReady):
            data.append(
                {
                    "id": f"voiceassist-{ev.stage}",
                    "object": "model",
                    "created": 0,
                    "owned_by": "voiceassist",
                    "kind": ev.stage,
                    "loaded": True,
                    "embedded": ev.embedded,
                    "description": ev.description,
                    "note": ev.note,
                }
            )
    folder = models_dir(engine.cfg.paths.models_dir)
    for e in mm.catalogue().values():
        data.append(
            {
                "id": e.name,
                "object": "model",
                "created": 0,
                "owned_by": "voiceassist",
                "kind": e.kind,
                "loaded": False,
                "installed": mm.installed(e, folder),
                "size_mb": e.size_mb,
                "source": e.hf or e.ms,
            }
        )
    return {"object": "list", "data": data}
