"""Who may talk to the server: a bearer token (made on first run, kept with the user's config, mode 0600),
the Host header (against DNS rebinding: a web page that renames itself to 127.0.0.1), and for WebSockets
the Origin (a browser page may open one only from an origin in ``api.cors_origins``)."""

from __future__ import annotations

import hmac
import logging
import os
import secrets
import stat
import threading
import time
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Receive, Scope, Send

from voiceassist.api.errors import ApiError, error_body
from voiceassist.config import ApiConfig
from voiceassist.config.serving import LOOPBACK_HOSTS
from voiceassist.logs import register_secret

log = logging.getLogger(__name__)

TOKEN_FILE = "api-token"


def token_path(cfg: ApiConfig) -> Path:
    if cfg.token_file:
        return Path(cfg.token_file).expanduser()
    from voiceassist.paths import user_config_dir

    return user_config_dir() / TOKEN_FILE


def load_or_create_token(path: Path) -> str:
    """The token in ``path``; a new random one (written with mode 0600) when there is none. A token file
    that others can read is made private again."""
    try:
        text = path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        text = ""
    if text:
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077:
            os.chmod(path, 0o600)
            log.warning("%s could be read by others (mode %o): made private (0600)", path, mode)
        register_secret(text)
        return text
    from voiceassist.paths import open_private, private_dir

    token = secrets.token_urlsafe(32)
    private_dir(path.parent)  # 0700, like every folder of the app's
    fd = open_private(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(token + "\n")
    os.chmod(path, 0o600)
    register_secret(token)
    log.info("a new API token was written to %s", path)
    return token


def check_bind(cfg: ApiConfig) -> None:
    """Binding anything but loopback needs the token on (ConfigError-like ValueError otherwise)."""
    if cfg.host not in LOOPBACK_HOSTS and not cfg.auth:
        raise ValueError(f"refusing to listen on {cfg.host} without a token: set api.auth = true")


_bearer = HTTPBearer(auto_error=False, description="the token shown by 'voiceassist serve --show-token'")


SUBPROTOCOL = "voiceassist"
"""The WebSocket subprotocol the server answers with when the token came as one."""
TOKEN_SUBPROTOCOL = "voiceassist.token."
"""A browser cannot set headers on a WebSocket: it may send the token as the subprotocol
``voiceassist.token.<token>`` (next to ``voiceassist``), or use a ticket."""
TICKET_S = 60.0


class Auth:
    """The bearer-token check, as a FastAPI dependency; for WebSockets, ``check_websocket`` also takes the
    token as a subprotocol, or a short-lived single-use ticket in the query (``?ticket=``, from
    ``POST /v1/realtime/tickets``), the two ways a browser can authenticate a WebSocket."""

    def __init__(self, token: str, enabled: bool) -> None:
        self.token = token
        self.enabled = enabled
        self._tickets: dict[str, float] = {}  # ticket -> monotonic expiry
        self._lock = threading.Lock()

    def issue_ticket(self, now: float | None = None) -> str:
        """A ticket for one WebSocket connection within ``TICKET_S`` seconds."""
        now = time.monotonic() if now is None else now
        ticket = "tkt_" + secrets.token_urlsafe(24)
        register_secret(ticket)
        with self._lock:
            self._tickets = {t: exp for t, exp in self._tickets.items() if exp > now}  # the expired go
            self._tickets[ticket] = now + TICKET_S
        return ticket

    def _redeem(self, ticket: str, now: float | None = None) -> bool:
        now = time.monotonic() if now is None else now
        with self._lock:
            expiry = self._tickets.pop(ticket, None)  # single use, whatever the outcome
        return expiry is not None and expiry > now

    def check_websocket(self, conn: HTTPConnection) -> str | None:
        """Authenticate a WebSocket handshake (ApiError 401 when it is not); the subprotocol to accept
        with: ``voiceassist`` when the client offered subprotocols, else None."""
        offered = [p.strip() for p in conn.headers.get("sec-websocket-protocol", "").split(",") if p.strip()]
        answer = SUBPROTOCOL if offered else None
        if not self.enabled:
            return answer
        header = conn.headers.get("authorization")
        if header:
            self.check(header)
            return answer
        tokens = [p[len(TOKEN_SUBPROTOCOL) :] for p in offered if p.startswith(TOKEN_SUBPROTOCOL)]
        if tokens:
            if not hmac.compare_digest(tokens[0].encode(), self.token.encode()):
                raise ApiError(401, "invalid_token", "the token in the subprotocol is not this server's")
            return answer
        ticket = conn.query_params.get("ticket")
        if ticket is not None:
            if not self._redeem(ticket):
                raise ApiError(401, "invalid_ticket", "the ticket is unknown, used or expired (tickets last 60 s)")
            return answer
        self.check(None)  # says what to send
        return answer

    def check(self, header: str | None) -> None:
        if not self.enabled:
            return
        if not header:
            raise ApiError(
                401, "missing_token", "send 'Authorization: Bearer <token>' (voiceassist serve --show-token)"
            )
        scheme, _, given = header.partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), self.token.encode()):
            raise ApiError(
                401, "invalid_token", "the bearer token is not this server's (voiceassist serve --show-token)"
            )

    def dependency(self) -> Any:
        def verify(conn: HTTPConnection, _: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]) -> None:
            self.check(conn.headers.get("authorization"))

        return verify


def _host_name(value: str) -> str:
    """'localhost:8765' -> 'localhost'; '[::1]:8765' -> '::1'."""
    value = value.strip().lower()
    if value.startswith("["):
        return value[1 : value.find("]")] if "]" in value else value
    return value.rsplit(":", 1)[0] if value.count(":") == 1 else value


class HostOriginGuard:
    """ASGI middleware: a request whose Host is not one of ours is refused (400, before any route runs);
    a WebSocket handshake with an Origin not in ``api.cors_origins`` is refused (403)."""

    def __init__(self, app: ASGIApp, cfg: ApiConfig) -> None:
        self.app = app
        self.hosts = {h.lower() for h in (*LOOPBACK_HOSTS, cfg.host, *cfg.allowed_hosts)}
        self.any_host = cfg.host in ("0.0.0.0", "::") and not cfg.allowed_hosts
        self.origins = {o.rstrip("/").lower() for o in cfg.cors_origins}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope.get("headers", [])}
        host = _host_name(headers.get("host", ""))
        if not self.any_host and host not in self.hosts:
            await self._refuse(
                scope, receive, send, 400, "bad_host", f"Host {host!r} is not served here (api.allowed_hosts)"
            )
            return
        origin = headers.get("origin")
        if scope["type"] == "websocket" and origin is not None and origin.rstrip("/").lower() not in self.origins:
            await self._refuse(
                scope, receive, send, 403, "bad_origin", f"Origin {origin!r} may not connect (api.cors_origins)"
            )
            return
        await self.app(scope, receive, send)

    @staticmethod
    async def _refuse(scope: Scope, receive: Receive, send: Send, status: int, code: str, message: str) -> None:
        if scope["type"] == "websocket":
            await receive()  # websocket.connect: the handshake is then answered with the refusal
        await send_error(scope, send, status, code, message)


async def send_error(scope: Scope, send: Send, status: int, code: str, message: str) -> None:
    """A JSON error straight from middleware; for a WebSocket handshake, the HTTP response that refuses it
    (the ASGI websocket.http.response extension, which uvicorn has)."""
    from voiceassist.eventjson import dumps

    body = dumps(error_body(status, code, message)).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    if scope["type"] == "websocket":
        if "websocket.http.response" in scope.get("extensions", {}):
            await send({"type": "websocket.http.response.start", "status": status, "headers": headers})
            await send({"type": "websocket.http.response.body", "body": body})
        else:
            await send({"type": "websocket.close", "code": 1008, "reason": message[:120]})
        return
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
