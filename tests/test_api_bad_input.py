"""Bad input through the API: each kind of bad file the CLI handles gets a 4xx JSON error with a stable code
and the server keeps serving; limits answer 413/400/429; a client that leaves mid-upload or mid-stream
leaves no thread and no file behind."""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse

import httpx
import numpy as np
import pytest
import soundfile as sf

from tests.api_server import Server, running, talk_wav
from tests.conftest import wait_until

pytestmark = pytest.mark.slow
SR = 16000


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    with running("api.max_audio_s=60", "api.max_body_mb=25") as s:
        yield s


@pytest.fixture(scope="module")
def talk(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return talk_wav(tmp_path_factory.mktemp("api-bad"))


def bad_files(folder: Path, talk: Path) -> dict[str, tuple[bytes, str, int, str]]:
    """name -> (bytes, file name, status, error code)."""
    nan = np.sin(np.arange(SR, dtype=np.float32) / 10).astype(np.float32)
    nan[2000:6000] = np.nan
    sf.write(str(folder / "nan.wav"), nan, SR, subtype="FLOAT")
    sf.write(str(folder / "zero.wav"), np.zeros(0, np.int16), SR)
    sf.write(str(folder / "long.wav"), np.zeros(61 * 4000, np.int16), 4000, subtype="PCM_U8")
    rate_128 = bytearray(talk.read_bytes())
    rate_128[24:28] = (128).to_bytes(4, "little")
    x, _ = sf.read(str(talk), dtype="int16")
    sf.write(str(folder / "talk.flac"), x, SR)
    damaged = bytearray((folder / "talk.flac").read_bytes())
    first_frame = damaged.index(b"\xff\xf8")  # the header survives, every audio frame is garbage
    for i in range(first_frame + 6, len(damaged)):
        damaged[i] = (damaged[i] * 7 + 13) % 256
    return {
        "empty": (b"", "empty.wav", 400, "invalid_audio"),
        "corrupt": (os.urandom(5000), "garbage.wav", 400, "invalid_audio"),
        "wrong type": (b"hello\n" * 100, "notes.txt", 400, "invalid_audio"),
        "no samples": ((folder / "zero.wav").read_bytes(), "zero.wav", 400, "invalid_audio"),
        "NaN samples": ((folder / "nan.wav").read_bytes(), "nan.wav", 400, "invalid_audio"),
        "implausible header": (bytes(rate_128), "rate128.wav", 400, "invalid_audio"),
        "damaged from the first frame": (bytes(damaged), "damaged.flac", 400, "invalid_audio"),
        "too long": ((folder / "long.wav").read_bytes(), "long.wav", 400, "audio_too_long"),
        "huge": (b"\0" * (26 * 1000 * 1000), "huge.wav", 413, "request_too_large"),
    }


@pytest.mark.parametrize("endpoint", ["/v1/audio/emotion", "/v1/audio/transcriptions"])
def test_every_bad_file_is_a_4xx_json_error_and_the_server_goes_on(
    server: Server, talk: Path, tmp_path: Path, endpoint
):
    for kind, (data, name, status, code) in bad_files(tmp_path, talk).items():
        r = httpx.post(server.base + endpoint, headers=server.headers, files={"file": (name, data)}, timeout=120)
        assert r.status_code == status, (kind, r.status_code, r.text[:300])
        err = r.json()["error"]
        assert err["code"] == code and err["message"], (kind, err)
        assert "Traceback" not in err["message"] and str(server.engine.upload_dir) not in err["message"]
        assert httpx.get(server.base + "/health").status_code == 200
    with talk.open("rb") as fh:
        ok = httpx.post(server.base + endpoint, headers=server.headers, files={"file": ("talk.wav", fh)}, timeout=120)
    assert ok.status_code == 200, ok.text


def test_requests_that_are_not_uploads_are_clear_400s(server: Server):
    r = httpx.post(server.base + "/v1/audio/emotion", headers=server.headers, json={"file": "x"})
    assert r.status_code == 400 and r.json()["error"]["param"] == "file"
    r = httpx.post(server.base + "/v1/chat/completions", headers=server.headers, content=b"{not json")
    assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_request"
    r = httpx.post(server.base + "/v1/chat/completions", headers=server.headers, json={"messages": []})
    assert r.status_code == 400
    r = httpx.post(
        server.base + "/v1/audio/transcriptions",
        headers=server.headers,
        files={"file": ("a.wav", b"RIFF")},
        data={"response_format": "docx"},
    )
    assert r.status_code == 400 and r.json()["error"]["param"] == "response_format"
    r = httpx.post(
        server.base + "/v1/audio/transcriptions",
        headers=server.headers,
        files={"file": ("a.wav", b"RIFF")},
        data={"language": "xx"},
    )
    assert r.status_code == 400 and r.json()["error"]["code"] == "unsupported_language"
    r = httpx.get(server.base + "/v1/nothing", headers=server.headers)
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"


def test_a_full_queue_answers_429_and_the_rest_are_served(server: Server, tmp_path: Path):
    from tests.conftest import espeak, write_wav

    long = write_wav(
        tmp_path / "long.wav", np.concatenate([espeak("one two three four five six seven.") for _ in range(5)])
    )
    api = server.engine.cfg.api
    saved = api.max_queued
    api.max_queued = 1
    results: list[int] = []

    def post() -> None:
        with long.open("rb") as fh:
            r = httpx.post(server.base + "/v1/audio/emotion", headers=server.headers, files={"file": fh}, timeout=120)
        results.append(r.status_code)
        if r.status_code == 429:
            assert r.json()["error"]["code"] == "queue_full" and r.headers["retry-after"]

    try:
        threads = [threading.Thread(target=post) for _ in range(5)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
    finally:
        api.max_queued = saved
    assert sorted(set(results)) == [200, 429] and results.count(200) >= 2, results


def _settled(server: Server, baseline: int) -> None:
    assert wait_until(lambda: threading.active_count() <= baseline, timeout=30), [t.name for t in threading.enumerate()]
    assert wait_until(lambda: not any(server.engine.upload_dir.iterdir()), timeout=30), list(
        server.engine.upload_dir.iterdir()
    )


def test_a_client_leaving_mid_upload_or_mid_stream_leaves_nothing(server: Server, talk: Path):
    with talk.open("rb") as fh:  # warm the worker pools, so the baseline counts their threads
        httpx.post(server.base + "/v1/audio/emotion", headers=server.headers, files={"file": fh}, timeout=120)
    time.sleep(0.5)
    baseline = threading.active_count()
    tmp_before = set(os.listdir(os.environ.get("TMPDIR", "/tmp")))
    url = urlparse(server.base)
    for _ in range(3):  # mid-upload: headers promise 5 MB, 1 MB arrives, the socket closes
        boundary = "xyzzy"
        head = f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.wav"\r\n\r\n'.encode()
        s = socket.create_connection((url.hostname, url.port))
        s.sendall(
            (
                f"POST /v1/audio/emotion HTTP/1.1\r\nHost: {url.hostname}\r\n"
                f"Authorization: Bearer {server.token}\r\n"
                f"Content-Type: multipart/form-data; boundary={boundary}\r\nContent-Length: 5000000\r\n\r\n"
            ).encode()
            + head
            + talk.read_bytes()[:44]
            + b"\0" * 1_000_000
        )
        time.sleep(0.2)
        s.close()
    for _ in range(2):  # mid-stream: the first event arrives, the client goes
        with (
            talk.open("rb") as fh,
            httpx.stream(
                "POST",
                server.base + "/v1/audio/transcriptions",
                headers=server.headers,
                files={"file": ("talk.wav", fh)},
                data={"stream": "true", "include[]": "emotion"},
                timeout=120,
            ) as r,
        ):
            assert r.status_code == 200
            next(r.iter_lines())
    _settled(server, baseline)
    assert httpx.get(server.base + "/health").status_code == 200
    tmp_after = set(os.listdir(os.environ.get("TMPDIR", "/tmp")))
    leftover = [n for n in tmp_after - tmp_before if n.startswith("voiceassist-api-")]
    assert not leftover, leftover
