"""``voiceassist serve`` as a user runs it: the token made on first run (mode 0600) and shown with
--show-token, the refusal to listen beyond loopback without a token, and the server answering."""

from __future__ import annotations

import os
import signal
import socket
import stat
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

pytestmark = pytest.mark.slow


def env_for(home: Path) -> dict[str, str]:
    return {
        **os.environ,
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / "cfg"),
        "XDG_DATA_HOME": str(home / "data"),
        "XDG_STATE_HOME": str(home / "state"),
    }


def voiceassist(args: list[str], home: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "voiceassist", *args], capture_output=True, text=True, env=env_for(home), timeout=120
    )


def test_the_token_is_made_once_private_and_shown(tmp_path: Path):
    first = voiceassist(["serve", "--show-token"], tmp_path)
    assert first.returncode == 0, first.stderr
    token = first.stdout.strip()
    path = tmp_path / "cfg" / "voiceassist" / "api-token"
    assert len(token) >= 32 and path.read_text().strip() == token
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700  # in a private folder, as every file of the app's
    os.chmod(path, 0o644)
    again = voiceassist(["serve", "--show-token"], tmp_path)
    assert again.stdout.strip() == token and stat.S_IMODE(path.stat().st_mode) == 0o600


def test_listening_beyond_loopback_needs_the_token(tmp_path: Path):
    p = voiceassist(["serve", "--host", "0.0.0.0", "--set", "api.auth=false"], tmp_path)
    assert p.returncode == 3 and "api.auth" in p.stderr and "Traceback" not in p.stderr, p.stderr
    assert "serve" in voiceassist(["--help"], tmp_path).stdout


def test_voiceassist_serve_answers_and_stops_on_sigterm(tmp_path: Path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    token = voiceassist(["serve", "--show-token"], tmp_path).stdout.strip()
    proc = subprocess.Popen(
        [sys.executable, "-m", "voiceassist", "serve", "--port", str(port), "--set", "store.enabled=false"],
        env=env_for(tmp_path),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 90
        while True:
            try:
                if httpx.get(base + "/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert proc.poll() is None and time.monotonic() < deadline, proc.stderr.read() if proc.stderr else ""
            time.sleep(0.3)
        r = httpx.get(base + "/v1/models", headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 200 and r.json()["object"] == "list"
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert token not in err and "serving on http://127.0.0.1:" in err
