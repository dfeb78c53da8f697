"""``POST /v1/feedback``: a correction of the emotion read in one stored utterance, or a rating of its
reply, from another program (storage/feedback.py). Stored (committed) before the answer is sent.

Body: ``{"session_id": 3, "segment_id": 2, "label": "neutral" | null, "kind": "emotion" | "reply",
"note": ""}``; a reply rating's label is ``fits`` or ``does_not_fit``. 404 ``utterance_not_found`` for an
utterance that no longer exists, 400 ``invalid_label`` for a label outside the set."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from voiceassist.api.errors import ApiError

router = APIRouter(tags=["feedback"])


class FeedbackIn(BaseModel):
    session_id: int
    segment_id: int
    label: str | None = None
    kind: str = "emotion"
    note: str = Field(default="", max_length=2000)


def submit(store: Any, body: FeedbackIn) -> dict[str, Any]:
    """Store one answer; the function the route calls (usable without the server)."""
    from voiceassist.storage.feedback import FeedbackError, check_label, current, record

    try:
        check_label(body.kind, body.label)
    except FeedbackError as e:
        raise ApiError(400, "invalid_label", str(e), "label") from e
    try:
        fid = record(store, body.session_id, body.segment_id, body.label, kind=body.kind, note=body.note, source="api")
    except FeedbackError as e:
        raise ApiError(404, "utterance_not_found", str(e), "segment_id") from e
    now = current(store, body.session_id, body.segment_id, body.kind) or {}
    return {"object": "feedback", "id": fid, "stored": True, "label": now.get("label"), "kind": body.kind}


def _store(request: Request) -> Any:
    """The server's session store (the engine's, opened on first use)."""
    return request.app.state.engine.store()


@router.post("/v1/feedback", summary="Correct the emotion read in a stored utterance, or rate its reply")
async def feedback(request: Request, body: FeedbackIn) -> dict[str, Any]:
    return await run_in_threadpool(lambda: submit(_store(request), body))
