"""WS /v1/realtime for real: a client streams a recording in real time (20 ms binary frames) and gets the
pipeline's events in order; base64 frames; keep-alive; the session limit, the token, the Origin check, the
message size limit; a client that vanishes mid-stream leaves nothing running."""

from __future__ import annotations

import base64
import json
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect

from tests.api_server import Server, running, two_utterances_wav
from tests.conftest import wait_until
from voiceassist.api.security import SUBPROTOCOL

pytestmark = pytest.mark.slow
FRAME = 320  # 20 ms at 16 kHz


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    with running("api.max_sessions=2", "api.ws_ping_interval_s=0.5", "api.max_ws_message_kb=64") as s:
        yield s


@pytest.fixture(scope="module")
def two(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return two_utterances_wav(tmp_path_factory.mktemp("api-rt"))


def open_ws(server: Server, **kw: Any):
    headers = {"Authorization": f"Bearer {server.token}", **kw.pop("headers", {})}
    return connect(server.ws_url, additional_headers=headers, max_size=None, open_timeout=30, **kw)


def stream(ws, samples: np.ndarray, as_base64: bool = False) -> None:
    """Send in real time: one 20 ms frame every 20 ms."""
    t0 = time.monotonic()
    for i in range(0, len(samples), FRAME):
        frame = samples[i : i + FRAME].astype("<i2").tobytes()
        if as_base64:
            ws.send(json.dumps({"type": "input_audio_buffer.append", "audio": base64.b64encode(frame).decode()}))
        else:
            ws.send(frame)
        delay = t0 + (i + FRAME) / 16000 - time.monotonic()
        if delay > 0:
            time.sleep(delay)


def collect(ws, out: list[dict[str, Any]]) -> threading.Thread:
    def run() -> None:
        try:
            for message in ws:
                out.append(json.loads(message))
        except ConnectionClosed:
            pass

    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t


def test_a_recording_streamed_in_real_time_gives_the_event_sequence(server: Server, two: Path):
    samples, _ = sf.read(str(two), dtype="int16")
    events: list[dict[str, Any]] = []
    with open_ws(server) as ws:
        reader = collect(ws, events)
        ws.send(json.dumps({"type": "session.update", "session": {"language": "en"}}))
        stream(ws, samples)
        ws.send(json.dumps({"type": "input_audio_buffer.end"}))
        reader.join(60)
    kinds = [e["type"] for e in events]
    assert kinds[:2] == ["session.created", "session.updated"] and kinds[-1] == "session.ended", kinds
    assert events[1]["session"]["language"] == "en"
    finals = [e for e in events if e["type"] == "transcript.final"]
    assert len(finals) == 2, kinds
    assert "morning" in finals[0]["text"].lower() and "tired" in finals[1]["text"].lower()
    for f in finals:
        sid = f["segment_id"]
        order = [
            next(i for i, e in enumerate(events) if e["type"] == kind and e.get("segment_id") == sid)
            for kind in ("speech.started", "speech.stopped", "transcript.final", "emotion.utterance", "mood.update")
        ]
        assert order == sorted(order), (sid, order)
        reply = [e for e in events if e["type"] == "reply" and e.get("segment_id") == sid]
        assert reply and reply[0]["tone"] and reply[0]["text"]
    frames = [e for e in events if e["type"] == "emotion.frames"]
    assert frames and len(frames[0]["labels"]) == 9 and len(frames[0]["probs"][0]) == 9
    assert all("audio" not in e for e in events)
    utt = next(e for e in events if e["type"] == "emotion.utterance")
    assert utt["label"] and set(utt["scores"]) >= {"sad", "happy", "neutral"}


def test_base64_frames_and_chosen_events(server: Server, two: Path):
    samples, _ = sf.read(str(two), dtype="int16")
    events: list[dict[str, Any]] = []
    with open_ws(server) as ws:
        reader = collect(ws, events)
        ws.send(json.dumps({"type": "session.update", "session": {"events": ["transcript.final"]}}))
        stream(ws, samples[: int(3.2 * 16000)], as_base64=True)
        ws.send(json.dumps({"type": "input_audio_buffer.end"}))
        reader.join(60)
    kinds = {e["type"] for e in events}
    assert kinds == {"session.created", "session.updated", "transcript.final", "session.ended"}, kinds
    assert "morning" in next(e for e in events if e["type"] == "transcript.final")["text"].lower()


def test_a_silent_client_stays_connected_and_bad_messages_are_errors_not_disconnects(server: Server):
    with open_ws(server) as ws:
        assert json.loads(ws.recv(10))["type"] == "session.created"
        time.sleep(2.5)  # five protocol pings go by (api.ws_ping_interval_s = 0.5); the client library answers
        ws.send(json.dumps({"type": "ping", "id": 7}))
        assert json.loads(ws.recv(10)) == {"type": "pong", "id": 7}
        for bad, code in (("not json", "bad_message"), ('{"type": "dance"}', "unknown_message")):
            ws.send(bad)
            err = json.loads(ws.recv(10))
            assert err["type"] == "error" and err["error"]["code"] == code
        ws.send(b"\x01\x02\x03")  # an odd number of bytes is not s16le
        assert json.loads(ws.recv(10))["error"]["code"] == "bad_audio"
        ws.send(json.dumps({"type": "ping"}))
        assert json.loads(ws.recv(10))["type"] == "pong"


def test_limits_token_and_origin(server: Server):
    with pytest.raises(InvalidStatus) as e:
        connect(server.ws_url, open_timeout=10)
    assert e.value.response.status_code == 401
    with pytest.raises(InvalidStatus) as e:
        open_ws(server, origin="http://evil.example")
    assert e.value.response.status_code == 403
    with open_ws(server) as a, open_ws(server) as b:
        a.recv(10), b.recv(10)
        with pytest.raises(InvalidStatus) as e:
            open_ws(server)
        assert e.value.response.status_code == 429 and b"too_many_sessions" in e.value.response.body
    with open_ws(server) as ws:  # a message over api.max_ws_message_kb (64) closes with 1009
        ws.recv(10)
        ws.send(b"\0" * (100 * 1024))
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv(10)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009


def test_a_browser_can_authenticate_by_subprotocol_or_ticket(server: Server):
    """Browsers cannot set headers on a WebSocket: the token as a subprotocol, or a single-use ticket."""
    import httpx

    good = [SUBPROTOCOL, f"voiceassist.token.{server.token}"]
    with connect(server.ws_url, subprotocols=good, open_timeout=30) as ws:
        assert ws.subprotocol == SUBPROTOCOL and json.loads(ws.recv(10))["type"] == "session.created"
    with pytest.raises(InvalidStatus) as e:
        connect(server.ws_url, subprotocols=[SUBPROTOCOL, "voiceassist.token.wrong"], open_timeout=10)
    assert e.value.response.status_code == 401
    r = httpx.post(server.base + "/v1/realtime/tickets", headers=server.headers, timeout=10)
    assert r.status_code == 200 and r.json()["expires_in"] == 60
    ticket = r.json()["ticket"]
    assert httpx.post(server.base + "/v1/realtime/tickets", timeout=10).status_code == 401  # needs the token
    with connect(f"{server.ws_url}?ticket={ticket}", open_timeout=30) as ws:
        assert json.loads(ws.recv(10))["type"] == "session.created"
    with pytest.raises(InvalidStatus) as e:  # single use
        connect(f"{server.ws_url}?ticket={ticket}", open_timeout=10)
    assert e.value.response.status_code == 401 and b"invalid_ticket" in e.value.response.body


def test_tickets_expire():
    from voiceassist.api.security import TICKET_S, Auth

    auth = Auth("tok", True)
    t = auth.issue_ticket(now=100.0)
    assert not auth._redeem(t, now=100.0 + TICKET_S + 1)  # too late
    t = auth.issue_ticket(now=100.0)
    assert auth._redeem(t, now=110.0) and not auth._redeem(t, now=111.0)


def test_a_client_that_vanishes_mid_stream_leaves_nothing_running(server: Server, two: Path):
    samples, _ = sf.read(str(two), dtype="int16")

    def vanish() -> None:
        with open_ws(server) as ws:
            ws.recv(10)
            stream(ws, samples[: int(2.0 * 16000)])  # in the middle of the first sentence
            ws.socket.shutdown(socket.SHUT_RDWR)  # no closing handshake: the client is simply gone
        assert wait_until(lambda: server.engine.live_sessions == 0, timeout=30)

    vanish()  # once first, so the baseline counts the server's thread pool (AnyIO's workers) as it is then
    time.sleep(0.5)
    baseline = threading.active_count()
    for _ in range(2):
        vanish()
    assert wait_until(lambda: threading.active_count() <= baseline, timeout=30), [t.name for t in threading.enumerate()]


def test_a_realtime_session_is_stored_when_the_person_keeps_sessions(two: Path, tmp_path: Path):
    """Like the window's and listen's: the conversation, its words (store.keep_transcripts) and replies."""
    from voiceassist.storage import SessionStore

    db = tmp_path / "sessions.sqlite3"
    samples, _ = sf.read(str(two), dtype="int16")
    with running("store.enabled=true", f'store.path="{db}"') as srv:
        events: list[dict[str, Any]] = []
        with open_ws(srv) as ws:
            reader = collect(ws, events)
            stream(ws, samples)
            ws.send(json.dumps({"type": "input_audio_buffer.end"}))
            reader.join(60)
        assert events[-1]["type"] == "session.ended"
        finals = [e["text"] for e in events if e["type"] == "transcript.final"]
    store = SessionStore(db)
    [info] = store.sessions()
    rows = store.utterances(info.id)
    assert [r["text"] for r in rows] == finals and all(r["fused_label"] for r in rows)
    assert "websocket" in info.source
    store.close()
