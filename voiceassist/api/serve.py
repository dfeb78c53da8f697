"""``voiceassist serve``: the local API server (routed here by voiceassist/entry.py). Loads the models once,
then serves on 127.0.0.1 (another address only with the token on). ``--show-token`` prints the bearer token
(made on first run, kept beside the config file with mode 0600) and exits."""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import signal
import sys
import threading
from collections.abc import Iterator
from typing import Any

from voiceassist.config import Config, ConfigError
from voiceassist.options import EXIT_CONFIG, EXIT_FAILED, EXIT_OK, add_common, config_from_args

log = logging.getLogger(__name__)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="voiceassist serve", description="the local API server (docs/api.md)")
    p.add_argument("--host", help="address to bind (default: api.host, 127.0.0.1)")
    p.add_argument("--port", type=int, help="port (default: api.port, 8765; 0: any free port)")
    p.add_argument("--show-token", action="store_true", help="print the bearer token and where it is kept, and exit")
    add_common(p)
    return p


def uvicorn_config(app: Any, cfg: Config) -> Any:
    import uvicorn

    api = cfg.api
    return uvicorn.Config(
        app,
        host=api.host,
        port=api.port,
        log_config=None,  # ours (voiceassist.logs): no request line, body or token is logged
        access_log=False,
        ws_max_size=api.max_ws_message_kb * 1024,
        ws_ping_interval=api.ws_ping_interval_s,
        ws_ping_timeout=max(20.0, api.ws_ping_interval_s),
        lifespan="off",
        timeout_graceful_shutdown=5,
    )


@contextlib.contextmanager
def background(app: Any, cfg: Config) -> Iterator[str]:
    """The app served on its own thread (tests, benchmarks): yields the base URL; stops it after."""
    import uvicorn

    server = uvicorn.Server(uvicorn_config(app, cfg))
    thread = threading.Thread(target=server.run, name="voiceassist-api-server", daemon=True)
    thread.start()
    while not server.started:
        if not thread.is_alive():
            raise RuntimeError("the API server did not start (is the port taken?)")
        thread.join(0.02)
    host, port = server.servers[0].sockets[0].getsockname()[:2]
    try:
        yield f"http://{'[' + host + ']' if ':' in host else host}:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.host:
        args.overrides.append(f"api.host={json.dumps(args.host)}")
    if args.port is not None:
        args.overrides.append(f"api.port={args.port}")
    try:
        cfg = config_from_args(args)
    except ConfigError as e:
        print(f"voiceassist: configuration error: {e}", file=sys.stderr)
        return EXIT_CONFIG
    from voiceassist.api.security import check_bind, load_or_create_token, token_path

    path = token_path(cfg.api)
    try:
        token = load_or_create_token(path)
    except OSError as e:
        print(f"voiceassist: cannot read or write the API token {path}: {e}", file=sys.stderr)
        return EXIT_CONFIG
    if args.show_token:
        print(token)
        print(f"(kept in {path}; send it as 'Authorization: Bearer <token>')", file=sys.stderr)
        return EXIT_OK
    try:
        check_bind(cfg.api)
    except ValueError as e:
        print(f"voiceassist: {e}", file=sys.stderr)
        return EXIT_CONFIG
    from voiceassist.logs import setup_logging

    setup_logging(args.verbose)
    return _serve(cfg, token)


def _serve(cfg: Config, token: str) -> int:
    from voiceassist.api.app import create_app
    from voiceassist.api.engine import Engine
    from voiceassist.pipeline import StageSetupError

    print("loading models...", file=sys.stderr, flush=True)
    try:
        engine = Engine(cfg)
    except StageSetupError as e:
        print(f"voiceassist: configuration error: {e}", file=sys.stderr)
        return EXIT_CONFIG
    import uvicorn

    server = uvicorn.Server(uvicorn_config(create_app(engine, token), cfg))
    host = f"[{cfg.api.host}]" if ":" in cfg.api.host else cfg.api.host
    print(
        f"serving on http://{host}:{cfg.api.port} (API docs: /docs; token: voiceassist serve --show-token)",
        file=sys.stderr,
        flush=True,
    )
    # uvicorn stops gracefully on SIGINT/SIGTERM, then raises the signal again for the handler it found:
    # ours, so the shutdown below (the temporary folder) still runs and the exit code is 0.
    previous = signal.signal(signal.SIGTERM, lambda *_: None)
    try:
        server.run()
    except KeyboardInterrupt:
        pass
    except (OSError, SystemExit) as e:  # the port is taken, or the address is not this machine's
        print(f"voiceassist: cannot listen on {host}:{cfg.api.port}: {e}", file=sys.stderr)
        return EXIT_FAILED
    finally:
        signal.signal(signal.SIGTERM, previous)
        engine.close()
    return EXIT_OK
