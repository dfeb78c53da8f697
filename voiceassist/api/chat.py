"""``POST /v1/chat/completions``, OpenAI-compatible: the reply comes from the assistant's responder (the
strategy planner, or the generative backend when ``reply.backend = "generative"``), fitted to the user's
emotion. The extension field ``voiceassist`` gives that emotion (``{"emotion": "sad"}``, or
``{"clip_id": ...}`` from ``/v1/audio/emotion``); without it the words' emotion is read. The response's
``voiceassist`` says which emotion was used, from where, and the tone of the reply."""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from collections.abc import Callable
from typing import Any, Literal

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from pydantic import BaseModel, Field

from voiceassist.api.engine import Engine
from voiceassist.api.errors import ApiError, error_body
from voiceassist.emotion.labels import LABELS
from voiceassist.events import Reply
from voiceassist.lang import lang as lang_of
from voiceassist.reply.request import ReplyRequest

router = APIRouter(tags=["chat"])
MAX_MESSAGES = 200
MAX_CHARS = 4000


class Message(BaseModel):
    role: Literal["system", "developer", "user", "assistant", "tool"]
    content: str | list[dict[str, Any]] | None = None


class Extension(BaseModel):
    emotion: str | None = Field(None, description="the user's emotion: one of the 9 labels")
    confidence: float | None = Field(None, ge=0.0, le=1.0)
    clip_id: str | None = Field(None, description="X-Clip-Id of a /v1/audio/emotion response: its last utterance")


class ChatRequest(BaseModel):
    model: str = "voiceassist"
    messages: list[Message] = Field(..., min_length=1, max_length=MAX_MESSAGES)
    stream: bool = False
    voiceassist: Extension | None = None
    model_config = {"extra": "allow"}  # temperature, max_tokens...: accepted, not used


def text_of(m: Message) -> str:
    if isinstance(m.content, str):
        return m.content
    parts = m.content or []
    return " ".join(str(p.get("text", "")) for p in parts if isinstance(p, dict) and p.get("type") == "text")


def history_of(messages: list[Message]) -> list[tuple[str, str]]:
    """(user, assistant) pairs before the last user message."""
    pairs, said = [], None
    for m in messages[:-1]:
        if m.role == "user":
            said = text_of(m)
        elif m.role == "assistant" and said is not None:
            pairs.append((said, text_of(m)))
            said = None
    return pairs


def request_for(engine: Engine, ext: Extension | None, text: str, crisis: bool) -> tuple[ReplyRequest, str]:
    """The reply request and where its emotion came from: given, a clip's last utterance, or read from the
    words (fused as the pipeline does, so an unsure reading asks to clarify)."""
    lang = lang_of(text=text)
    if ext is not None and ext.clip_id:
        clip = engine.clip(ext.clip_id)
        if clip is None:
            raise ApiError(
                404, "clip_not_found", f"no clip {ext.clip_id!r} here (clips are kept in memory, the last 256)"
            )
        fused = clip["fused"]
        if fused is None:
            raise ApiError(
                400, "clip_without_emotion", "that clip has no utterance with an emotion", "voiceassist.clip_id"
            )
        req = ReplyRequest.from_fusion(text, lang, fused, fused.speech, fused.text, crisis=crisis)
        return req, "clip"
    if ext is not None and ext.emotion:
        if ext.emotion not in LABELS:
            raise ApiError(400, "unknown_emotion", f"emotion must be one of {', '.join(LABELS)}", "voiceassist.emotion")
        conf = 1.0 if ext.confidence is None else ext.confidence
        return ReplyRequest(text, lang, ext.emotion, confidence=conf, crisis=crisis), "given"
    from voiceassist.emotion.fusion import fuse

    est = engine.text_emotion(text, lang) if text.strip() else None
    return ReplyRequest.from_fusion(
        text, lang, fuse(None, est, engine.cfg.emotion, lang), None, est, crisis=crisis
    ), "text"


def said(body: ChatRequest) -> str:
    """The last user message; 400 for a request with nothing to answer."""
    users = [m for m in body.messages if m.role == "user"]
    if not users:
        raise ApiError(400, "no_user_message", "messages needs at least one message with role 'user'", "messages")
    text = text_of(users[-1])
    if len(text) > MAX_CHARS:
        raise ApiError(400, "message_too_long", f"the last user message is over {MAX_CHARS} characters", "messages")
    return text


def extension(req: ReplyRequest, source: str, reply: Reply, crisis: bool) -> dict[str, Any]:
    return {
        "emotion": {"label": req.label, "confidence": req.confidence, "source": source},
        "tone": reply.tone,
        "strategy": reply.strategy,
        "intent": reply.intent,
        "reply_source": reply.source,
        "language": reply.language,
        "crisis": crisis,
        "note": reply.note,
    }


def answer(
    engine: Engine, body: ChatRequest, on_piece: Callable[[str], None] | None = None, ident: str | None = None
) -> dict[str, Any]:
    """The completion document (runs on a worker thread: the text model and the planner are called here).
    ``on_piece`` hears the reply's text as it is produced (a generated reply sentence by sentence)."""
    text = said(body)
    crisis = bool(engine.crisis().detect(text)) if text else False
    req, source = request_for(engine, body.voiceassist, text, crisis)
    reply = engine.reply(req, history_of(body.messages), on_piece)
    n_in = sum(len(text_of(m).split()) for m in body.messages)
    return {
        "id": ident or "chatcmpl-" + secrets.token_hex(12),
        "object": "chat.completion",
        "created": int(time.time()),
        "model": body.model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": reply.text},
                "finish_reason": "stop",
                "logprobs": None,
            }
        ],
        "usage": {"prompt_tokens": n_in, "completion_tokens": len(reply.text.split()), "total_tokens": 0},
        "voiceassist": extension(req, source, reply, crisis),
    }


@router.post("/v1/chat/completions", summary="A reply in a tone that fits the user's emotion (OpenAI-compatible)")
async def chat_completions(request: Request, body: ChatRequest) -> Response:
    engine: Engine = request.app.state.engine
    said(body)  # a request with nothing to answer is a 400 before anything is queued or streamed
    if not body.stream:
        doc = await engine.run(lambda: answer(engine, body))
        doc["usage"]["total_tokens"] = doc["usage"]["prompt_tokens"] + doc["usage"]["completion_tokens"]
        return JSONResponse(doc)
    loop = asyncio.get_running_loop()
    pieces: asyncio.Queue[str | None] = asyncio.Queue()

    def on_piece(piece: str) -> None:  # on the worker thread: hand over only
        loop.call_soon_threadsafe(pieces.put_nowait, piece)

    ident = "chatcmpl-" + secrets.token_hex(12)
    task = asyncio.ensure_future(engine.run(lambda: answer(engine, body, on_piece, ident)))
    task.add_done_callback(lambda _: loop.call_soon_threadsafe(pieces.put_nowait, None))
    first = await pieces.get()
    if first is None:
        task.result()  # an error before the first word (a full queue, an unknown clip): its own status
    head = {"id": ident, "object": "chat.completion.chunk", "created": int(time.time()), "model": body.model}
    return StreamingResponse(_chunks(task, head, first, pieces), media_type="text/event-stream")


async def _chunks(
    task: asyncio.Future[dict[str, Any]], head: dict[str, Any], first: str | None, pieces: asyncio.Queue[str | None]
) -> Any:
    """Each piece of the reply as a delta as soon as it is written, then the finish (with the extension),
    then [DONE]. The first delta carries the role."""
    piece, sent = first, 0
    while piece is not None:
        delta = {"content": piece} if sent else {"role": "assistant", "content": piece}
        choice = {"index": 0, "delta": delta, "finish_reason": None}
        yield f"data: {json.dumps(head | {'choices': [choice]}, ensure_ascii=False)}\n\n"
        sent += 1
        piece = await pieces.get()
    try:
        doc = await task
    except ApiError as e:
        yield f"data: {json.dumps(error_body(e.status_code, e.code, e.message))}\n\n"
        return
    except Exception as e:  # the stream has begun: the error is its last event
        yield f"data: {json.dumps(error_body(500, 'internal_error', f'the reply failed ({type(e).__name__})'))}\n\n"
        return
    last = {"index": 0, "delta": {}, "finish_reason": "stop"}
    yield f"data: {json.dumps(head | {'choices': [last], 'voiceassist': doc['voiceassist']}, ensure_ascii=False)}\n\n"
    yield "data: [DONE]\n\n"
