"""``WS /v1/realtime``: a live session. The client sends ``session.update`` (language, which events to
return), then audio: binary messages of 16 kHz mono s16le samples, or ``{"type":
"input_audio_buffer.append", "audio": BASE64}``; ``{"type": "input_audio_buffer.end"}`` ends the input
(what was heard is still processed, then ``session.ended`` comes and the server closes the socket).
``{"type": "ping"}`` is answered ``{"type": "pong"}``; the protocol's own pings keep a silent client
connected. The server sends the pipeline's events as JSON (eventjson's encoding, with a ``type``).

The audio goes into a ``PushSource`` of a Session on the shared models (engine.live_session); its events
are handed from the pipeline's threads to this connection's event loop, never sent from those threads.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import json
import logging
import secrets
from collections.abc import Mapping
from typing import Any

from fastapi import APIRouter, Request, WebSocket, WebSocketDisconnect
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from voiceassist.api.engine import Engine, Language, check_language
from voiceassist.api.errors import ApiError, error_body
from voiceassist.audio.base import AudioInputError
from voiceassist.audio.push import PushSource, pcm16_from_bytes
from voiceassist.eventjson import event_to_dict
from voiceassist.events import (
    AlertRaised,
    EmotionFrames,
    Event,
    FusedEmotion,
    MoodUpdate,
    PartialTranscript,
    QualityReport,
    Reply,
    SourceEnded,
    SpeechSegment,
    SpeechStarted,
    StageError,
    StoreStatus,
    Transcript,
)

log = logging.getLogger(__name__)
router = APIRouter()

EVENT_TYPES: dict[type[Event], str] = {
    SpeechStarted: "speech.started",
    SpeechSegment: "speech.stopped",
    QualityReport: "speech.quality",
    PartialTranscript: "transcript.partial",
    Transcript: "transcript.final",
    EmotionFrames: "emotion.frames",
    FusedEmotion: "emotion.utterance",
    MoodUpdate: "mood.update",
    Reply: "reply",
    AlertRaised: "alert",
    StageError: "stage.error",
    StoreStatus: "store.status",
}
DEFAULT_EVENTS = tuple(EVENT_TYPES.values())


def to_message(ev: Event) -> dict[str, Any]:
    d = event_to_dict(ev)
    del d["event"]
    return {"type": EVENT_TYPES[type(ev)], **d}


class Live:
    """One connection's session: started by the first ``session.update`` or the first audio."""

    def __init__(self, ws: WebSocket, engine: Engine) -> None:
        self.ws = ws
        self.engine = engine
        self.id = "sess_" + secrets.token_hex(8)
        self.language: Language | None = None
        self.events = set(DEFAULT_EVENTS)
        self.source: PushSource | None = None
        self.session: Any = None
        self.out: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue()
        self.loop = asyncio.get_running_loop()
        self.ended = asyncio.Event()

    def describe(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "language": self.language or self.engine.cfg.asr.language,
            "events": sorted(self.events),
            "input_audio_format": {"encoding": "pcm_s16le", "sample_rate": 16000, "channels": 1},
        }

    def on_event(self, ev: Event) -> None:  # on the pipeline's threads: hand over only
        if isinstance(ev, SourceEnded):
            self.loop.call_soon_threadsafe(self.ended.set)
            return
        kind = EVENT_TYPES.get(type(ev))
        if kind is not None and kind in self.events:
            self.loop.call_soon_threadsafe(self.out.put_nowait, to_message(ev))

    async def start(self) -> None:
        if self.session is not None:
            return
        self.source = PushSource(f"websocket {self.id}", chunk_ms=20)
        self.session = self.engine.live_session(self.source, self.language)
        self.session.subscribe(self.on_event)
        await run_in_threadpool(self.session.start)

    def update(self, msg: dict[str, Any]) -> None:
        if self.session is not None:
            raise ApiError(400, "session_started", "session.update must come before the first audio")
        conf = msg.get("session", msg)
        if not isinstance(conf, dict):
            raise ApiError(400, "bad_message", "session must be an object")
        if "language" in conf:
            self.language = check_language(conf["language"])
        if "events" in conf:
            wanted = conf["events"]
            if not isinstance(wanted, list) or not all(isinstance(w, str) for w in wanted):
                raise ApiError(400, "bad_message", "session.events must be a list of event types")
            unknown = sorted(set(wanted) - set(DEFAULT_EVENTS))
            if unknown:
                raise ApiError(400, "unknown_event", f"unknown event types {unknown}; known: {list(DEFAULT_EVENTS)}")
            self.events = set(wanted)

    async def audio(self, data: bytes) -> None:
        await self.start()
        assert self.source is not None
        try:
            samples = pcm16_from_bytes(data)
        except AudioInputError as e:
            raise ApiError(400, "bad_audio", str(e)) from None
        if not self.source.push(samples):
            await self.send({"type": "input_audio_buffer.overflow", "dropped_samples": len(samples)})

    async def send(self, msg: dict[str, Any]) -> None:
        await self.out.put(msg)

    async def finish(self) -> None:
        """End of input: the pipeline processes what it heard, then session.ended."""
        await self.start()
        assert self.source is not None and self.session is not None
        self.source.end()
        await self.ended.wait()
        await run_in_threadpool(self.session.wait, 60.0)
        await self.send({"type": "session.ended", "audio_s": self.source.pushed_samples / 16000})
        await self.out.put(None)

    async def close(self) -> None:
        if self.session is not None:
            assert self.source is not None
            self.source.end()
            await run_in_threadpool(self.session.stop, 5.0)


async def _sender(live: Live) -> None:
    while True:
        msg = await live.out.get()
        if msg is None:
            return
        await live.ws.send_text(json.dumps(msg, ensure_ascii=False, allow_nan=False))


async def _handle(live: Live, message: Mapping[str, Any]) -> bool:
    """One client message; False at the end of the input."""
    if message.get("bytes") is not None:
        await live.audio(message["bytes"])
        return True
    try:
        msg = json.loads(message.get("text") or "")
    except json.JSONDecodeError:
        raise ApiError(400, "bad_message", "a text message must be a JSON object") from None
    if not isinstance(msg, dict):
        raise ApiError(400, "bad_message", "a text message must be a JSON object")
    kind = msg.get("type")
    if kind == "ping":
        await live.send({"type": "pong", "id": msg.get("id")})
    elif kind == "session.update":
        live.update(msg)
        await live.send({"type": "session.updated", "session": live.describe()})
    elif kind == "input_audio_buffer.append":
        try:
            data = base64.b64decode(str(msg.get("audio", "")), validate=True)
        except (binascii.Error, ValueError):
            raise ApiError(400, "bad_audio", "audio must be base64 of 16 kHz mono s16le samples") from None
        await live.audio(data)
    elif kind in ("input_audio_buffer.end", "session.close"):
        return False
    else:
        raise ApiError(400, "unknown_message", f"unknown message type {kind!r}")
    return True


tickets = APIRouter(tags=["realtime"])


@tickets.post("/v1/realtime/tickets", summary="A single-use ticket for WS /v1/realtime (for browsers)")
async def new_ticket(request: Request) -> dict[str, Any]:
    """Browsers cannot send an Authorization header on a WebSocket: a page asks for a ticket (with the
    token, like any request), then opens ``/v1/realtime?ticket=...`` within 60 s. Or it offers the token as
    the subprotocol ``voiceassist.token.<token>``."""
    from voiceassist.api.security import TICKET_S

    ticket = request.app.state.auth.issue_ticket()
    return {"ticket": ticket, "expires_in": int(TICKET_S), "url": f"/v1/realtime?ticket={ticket}"}


@router.websocket("/v1/realtime")
async def realtime(ws: WebSocket) -> None:
    engine: Engine = ws.app.state.engine
    try:
        subprotocol = ws.app.state.auth.check_websocket(ws)
    except ApiError as e:
        await ws.send_denial_response(JSONResponse(error_body(e.status_code, e.code, e.message), e.status_code))
        return
    if not engine.open_live():
        limit = engine.cfg.api.max_sessions
        body = error_body(429, "too_many_sessions", f"{limit} live sessions are open (api.max_sessions); try later")
        await ws.send_denial_response(JSONResponse(body, 429))
        return
    live: Live | None = None
    sender: asyncio.Task[None] | None = None
    try:
        await ws.accept(subprotocol=subprotocol)
        live = Live(ws, engine)
        sender = asyncio.ensure_future(_sender(live))
        await live.send({"type": "session.created", "session": live.describe()})
        while True:
            message = await ws.receive()
            if message["type"] == "websocket.disconnect":
                break
            try:
                if not await _handle(live, message):
                    await live.finish()
                    await sender
                    await ws.close(1000)
                    break
            except ApiError as e:
                await live.send({"type": "error", **error_body(e.status_code, e.code, e.message)})
    except WebSocketDisconnect:
        pass
    except Exception:
        log.error("realtime session failed", exc_info=True)
        with contextlib.suppress(Exception):
            await ws.close(1011)
    finally:
        if sender is not None and not sender.done():
            sender.cancel()
        if live is not None:
            await live.close()
        engine.close_live()
