"""Config section for the local API server (``voiceassist serve``, voiceassist/api/)."""

from __future__ import annotations

from dataclasses import dataclass, field

from voiceassist.config.checks import require

LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")


@dataclass
class ApiConfig:
    host: str = "127.0.0.1"
    """Address to bind. Anything but loopback needs a token (it is always generated, never turned off)."""
    port: int = 8765
    token_file: str = ""
    """Where the bearer token is kept (mode 0600); empty: ``api-token`` beside the config file."""
    auth: bool = True
    """Ask for the bearer token on every request but /health. Off is allowed on loopback only."""
    cors_origins: list[str] = field(default_factory=list)
    """Browser origins allowed to call the API (CORS) and to open the WebSocket; empty: CORS off."""
    allowed_hosts: list[str] = field(default_factory=list)
    """Host header names accepted besides localhost, 127.0.0.1, ::1 and the bound address."""
    max_body_mb: float = 25.0
    """Largest request body (an upload); more is refused with 413."""
    max_audio_s: float = 600.0
    """Longest recording accepted (seconds); longer is refused with 400."""
    max_ws_message_kb: int = 1024
    """Largest WebSocket message; a larger one closes the connection (1009, message too big)."""
    max_sessions: int = 4
    """Live WebSocket sessions at once; one more is refused (429 before the upgrade)."""
    workers: int = 1
    """Recordings analysed at once (each on the one shared model set)."""
    max_queued: int = 32
    """Analyses that may wait for a worker; one more is refused with 429."""
    queue_timeout_s: float = 300.0
    """An analysis that waited this long for a worker is answered 503."""
    ws_ping_interval_s: float = 20.0
    """WebSocket protocol pings (the client's library answers them); a silent client is never dropped."""

    def validate(self) -> None:
        require(bool(self.host.strip()), "api.host", "an address (127.0.0.1 for this machine only)")
        require(0 <= self.port <= 65535, "api.port", "between 0 (any free port) and 65535")
        require(self.auth or self.host in LOOPBACK_HOSTS, "api.auth", "true unless api.host is loopback")
        require(0.001 <= self.max_body_mb <= 4096, "api.max_body_mb", "between 0.001 and 4096")
        require(1 <= self.max_audio_s <= 24 * 3600, "api.max_audio_s", "between 1 and 86400")
        require(1 <= self.max_ws_message_kb <= 65536, "api.max_ws_message_kb", "between 1 and 65536")
        require(1 <= self.max_sessions <= 256, "api.max_sessions", "between 1 and 256")
        require(1 <= self.workers <= 64, "api.workers", "between 1 and 64")
        require(0 <= self.max_queued <= 10000, "api.max_queued", "between 0 and 10000")
        require(1 <= self.queue_timeout_s <= 3600, "api.queue_timeout_s", "between 1 and 3600")
        require(0.1 <= self.ws_ping_interval_s <= 3600, "api.ws_ping_interval_s", "between 0.1 and 3600")
