"""The request body limit (``api.max_body_mb``), enforced while the body arrives: a Content-Length over it
is answered 413 at once, and a body that grows past it (chunked) stops being read with the same 413."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from voiceassist.api.errors import ApiError
from voiceassist.api.security import send_error


def too_large(limit: int) -> ApiError:
    return ApiError(
        413, "request_too_large", f"the request body is over the limit of {limit / 1e6:g} MB (api.max_body_mb)"
    )


class BodyLimit:
    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for k, v in scope.get("headers", []):
            if k == b"content-length":
                try:
                    declared = int(v)
                except ValueError:
                    await send_error(scope, send, 400, "bad_request", "Content-Length is not a number")
                    return
                if declared > self.max_bytes:
                    err = too_large(self.max_bytes)
                    await send_error(scope, send, 413, err.code, err.message)
                    return
        seen = 0

        async def limited() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise too_large(self.max_bytes)
            return message

        await self.app(scope, limited, send)
