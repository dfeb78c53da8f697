"""The API server for real: uvicorn on a loopback port, httpx and the openai client against it (emotion,
transcription, chat, speech), the document against the CLI's, and the security defaults."""

from __future__ import annotations

import base64
import io
import json
import logging
import zipfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import openai
import pytest
import soundfile as sf

from tests.api_server import TOKEN, Server, running, talk_wav

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    with running("reply.seed=3") as s:
        yield s


@pytest.fixture(scope="module")
def talk(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return talk_wav(tmp_path_factory.mktemp("api"))


@pytest.fixture(scope="module")
def client(server: Server):
    from openai import OpenAI

    return OpenAI(base_url=server.base + "/v1", api_key=TOKEN, max_retries=0, timeout=120)


def post_emotion(server: Server, path: Path, **fields: str) -> httpx.Response:
    with path.open("rb") as fh:
        return httpx.post(
            server.base + "/v1/audio/emotion",
            headers=server.headers,
            files={"file": (path.name, fh, "audio/wav")},
            data=fields,
            timeout=120,
        )


def test_health_needs_no_token_and_the_rest_does(server: Server):
    r = httpx.get(server.base + "/health")
    assert r.status_code == 200 and r.json()["status"] == "ok"
    r = httpx.get(server.base + "/v1/models")
    assert r.status_code == 401 and r.json()["error"]["code"] == "missing_token"
    r = httpx.get(server.base + "/v1/models", headers={"Authorization": "Bearer wrong"})
    assert r.status_code == 401 and r.json()["error"]["code"] == "invalid_token"
    r = httpx.get(server.base + "/v1/models", headers=server.headers)
    assert r.status_code == 200
    models = {m["id"]: m for m in r.json()["data"]}
    assert models["voiceassist-asr"]["loaded"] and "faster-whisper" in models["voiceassist-asr"]["description"]
    assert "emotion2vec_plus_base" in models and models["emotion2vec_plus_base"]["installed"] is False


def test_openapi_documents_every_endpoint(server: Server):
    paths = httpx.get(server.base + "/openapi.json").json()["paths"]
    for p in ("/v1/audio/emotion", "/v1/audio/transcriptions", "/v1/chat/completions", "/v1/audio/speech"):
        assert p in paths, p
    assert httpx.get(server.base + "/docs").status_code == 200


def test_emotion_is_the_analyze_document(server: Server, talk: Path, tmp_path: Path):
    r = post_emotion(server, talk)
    assert r.status_code == 200, r.text
    doc = r.json()
    assert r.headers["x-clip-id"].startswith("clip_")
    from voiceassist.cli import main

    out = tmp_path / "cli.json"
    assert main(["analyze", str(talk), "-o", str(out), "--set", "store.enabled=false"]) == 0
    cli = json.loads(out.read_text(encoding="utf-8"))
    assert doc.keys() == cli.keys() and doc["backends"] == cli["backends"]
    assert [s.keys() for s in doc["segments"]] == [s.keys() for s in cli["segments"]]
    assert [s["text"] for s in doc["segments"]] == [s["text"] for s in cli["segments"]]
    assert [s["emotion"]["fused"]["label"] for s in doc["segments"]] == [
        s["emotion"]["fused"]["label"] for s in cli["segments"]
    ]
    assert "stressed" in doc["segments"][0]["text"].lower()
    assert doc["file"] == "talk.wav"  # the client's name, never the server's temporary path


def test_emotion_frames_and_embeddings_base64_and_npy(server: Server, talk: Path):
    r = post_emotion(server, talk, granularity="frame", embeddings="true")
    assert r.status_code == 200, r.text
    doc = r.json()
    frames = doc["segments"][0]["emotion"]["frames"]
    assert frames["frame_rate"] == 50.0 and len(frames["probs"][0]) == 9
    files = doc["embeddings"]["files"]
    assert doc["embeddings"]["format"] == "base64" and {f["kind"] for f in files} == {"utterance", "frames"}
    for f in files:
        arr = np.frombuffer(base64.b64decode(f["data"]), dtype="<f4").reshape(f["shape"])
        assert np.isfinite(arr).all()
    r = post_emotion(server, talk, granularity="frame", embeddings="true", embeddings_format="npy")
    assert r.status_code == 200 and r.headers["content-type"] == "application/zip"
    z = zipfile.ZipFile(io.BytesIO(r.content))
    inner = json.loads(z.read("result.json"))
    for f in inner["embeddings"]["files"]:
        arr = np.load(io.BytesIO(z.read(f["file"])))
        assert list(arr.shape) == f["shape"]


def test_openai_client_transcription_formats(server: Server, client, talk: Path):
    with talk.open("rb") as fh:
        tr = client.audio.transcriptions.create(model="whisper-1", file=fh)
    assert "stressed" in tr.text.lower()
    with talk.open("rb") as fh:
        v = client.audio.transcriptions.create(
            model="whisper-1", file=fh, response_format="verbose_json", include=["emotion"], language="en"
        )
    assert v.language == "english" and v.duration > 2 and v.segments
    emotion = v.segments[0].model_extra["emotion"]
    assert emotion["fused"]["label"] in ("fearful", "sad", "angry", "neutral", "other", "unknown", "disgusted")
    for fmt, needle in (("srt", " --> "), ("vtt", "WEBVTT"), ("text", "stressed")):
        with talk.open("rb") as fh:
            out = client.audio.transcriptions.create(model="whisper-1", file=fh, response_format=fmt)
        assert needle in str(out), (fmt, out)
    with talk.open("rb") as fh:
        plain = client.audio.transcriptions.create(model="whisper-1", file=fh, response_format="verbose_json")
    assert "emotion" not in (plain.segments[0].model_extra or {})


def test_word_timestamps_through_the_openai_client(server: Server, client, talk: Path):
    with talk.open("rb") as fh:
        v = client.audio.transcriptions.create(
            model="whisper-1", file=fh, response_format="verbose_json", timestamp_granularities=["word", "segment"]
        )
    words = v.words or []
    assert len(words) >= 5 and v.segments  # both granularities asked for: both given
    said = " ".join(w.word for w in words).lower()
    assert "stressed" in said and "sleep" in said
    starts = [w.start for w in words]
    assert starts == sorted(starts) and all(w.end >= w.start for w in words)
    seg = v.segments[0]  # stream times: the words lie within their utterance
    assert seg.start - 0.5 <= words[0].start and words[-1].end <= seg.end + 0.5
    with talk.open("rb") as fh:
        only_words = client.audio.transcriptions.create(
            model="whisper-1", file=fh, response_format="verbose_json", timestamp_granularities=["word"]
        )
    assert only_words.words and not only_words.segments
    with talk.open("rb") as fh, pytest.raises(openai.BadRequestError, match="verbose_json"):
        client.audio.transcriptions.create(model="whisper-1", file=fh, timestamp_granularities=["word"])


def test_streamed_transcription_with_emotion_events(server: Server, client, talk: Path):
    with talk.open("rb") as fh:
        events = list(client.audio.transcriptions.create(model="whisper-1", file=fh, stream=True, include=["emotion"]))
    kinds = [e.type for e in events]
    assert kinds[0] == "transcript.text.delta" and kinds[-1] == "transcript.text.done", kinds
    assert "emotion.segment" in kinds
    seg = next(e for e in events if e.type == "emotion.segment").model_extra["segment"]
    assert seg["emotion"]["fused"]["label"] and "stressed" in seg["text"].lower()
    assert "stressed" in events[-1].text.lower()


def test_chat_fits_the_tone_to_the_emotion(server: Server, client, talk: Path):
    said = [{"role": "user", "content": "My exam is tomorrow."}]
    sad = client.chat.completions.create(
        model="voiceassist", messages=said, extra_body={"voiceassist": {"emotion": "sad"}}
    )
    ext = sad.model_extra["voiceassist"]
    assert ext["emotion"] == {"label": "sad", "confidence": 1.0, "source": "given"}
    assert ext["tone"] == "empathetic" and sad.choices[0].message.content
    happy = client.chat.completions.create(
        model="voiceassist", messages=[{"role": "user", "content": "I won the competition today!"}]
    )
    assert happy.model_extra["voiceassist"]["emotion"]["source"] == "text"
    assert happy.model_extra["voiceassist"]["tone"] == "cheerful", happy.model_extra
    clip = post_emotion(server, talk).headers["x-clip-id"]
    fromclip = client.chat.completions.create(
        model="voiceassist",
        messages=[{"role": "user", "content": "I am so stressed at work, I cannot sleep at night."}],
        extra_body={"voiceassist": {"clip_id": clip}},
    )
    assert fromclip.model_extra["voiceassist"]["emotion"]["source"] == "clip"
    r = httpx.post(
        server.base + "/v1/chat/completions",
        headers=server.headers,
        json={"messages": [{"role": "user", "content": "hi"}], "voiceassist": {"clip_id": "clip_nope"}},
    )
    assert r.status_code == 404 and r.json()["error"]["code"] == "clip_not_found"
    r = httpx.post(
        server.base + "/v1/chat/completions",
        headers=server.headers,
        json={"messages": [{"role": "user", "content": "hi"}], "voiceassist": {"emotion": "grumpy"}},
    )
    assert r.status_code == 400 and r.json()["error"]["code"] == "unknown_emotion"
    stream = client.chat.completions.create(model="voiceassist", messages=said, stream=True)
    text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    assert text


def test_chat_streams_a_generated_reply_as_it_is_written(server: Server, client):
    """The first sentence reaches the client while the model is still writing the second: the stand-in
    model holds its second sentence back until the client has the first (a buffered stream would hang)."""
    import threading

    from voiceassist.bus import EventBus
    from voiceassist.responder import Responder

    first_seen = threading.Event()

    class Writer:  # a language model's stand-in: two sentences, the second only after the first arrived
        last_error = None

        def stream(self, text, label, tone, language, history):
            yield "That sounds like a lot. "
            assert first_seen.wait(30), "the first sentence was not delivered before the reply was finished"
            yield "Do you want to talk about it?"

    engine = server.engine
    responder = Responder(engine.cfg, EventBus(), speak=False)  # type: ignore[attr-defined]
    responder._gen = Writer()
    saved, engine._responder = engine._responder, responder  # type: ignore[attr-defined]
    try:
        said = [{"role": "user", "content": "My exam is tomorrow and I have not studied."}]
        deltas, ext = [], None
        for chunk in client.chat.completions.create(model="voiceassist", messages=said, stream=True):
            if chunk.choices and chunk.choices[0].delta.content:
                deltas.append(chunk.choices[0].delta.content)
                first_seen.set()
            ext = (chunk.model_extra or {}).get("voiceassist") or ext
        assert deltas == ["That sounds like a lot. ", "Do you want to talk about it?"]
        assert ext is not None and ext["reply_source"] == "generative"
    finally:
        engine._responder = saved  # type: ignore[attr-defined]


def test_crisis_words_get_the_fixed_careful_reply(client):
    out = client.chat.completions.create(
        model="voiceassist", messages=[{"role": "user", "content": "I want to kill myself"}]
    )
    assert out.model_extra["voiceassist"]["crisis"] is True
    assert out.model_extra["voiceassist"]["reply_source"] == "crisis"


def test_speech_in_a_tone_is_heard_back(server: Server, client, tmp_path: Path):
    resp = client.audio.speech.create(
        model="voiceassist",
        voice="alloy",
        input="Hello, it is a lovely morning.",
        response_format="wav",
        extra_body={"tone": "sad"},
    )
    assert resp.response.headers["x-voiceassist-tone"] == "empathetic"  # sad's reply tone
    samples, rate = sf.read(io.BytesIO(resp.content))
    assert len(samples) / rate > 1.0 and np.abs(samples).max() > 0.05
    path = tmp_path / "spoken.wav"
    path.write_bytes(resp.content)
    with path.open("rb") as fh:
        heard = client.audio.transcriptions.create(model="whisper-1", file=fh, response_format="text")
    assert "morning" in str(heard).lower(), heard
    mp3 = client.audio.speech.create(model="voiceassist", voice="joe", input="Good night.")
    assert mp3.response.headers["content-type"] == "audio/mpeg" and len(mp3.content) > 1000
    r = httpx.post(server.base + "/v1/audio/speech", headers=server.headers, json={"input": "hi", "voice": "nobody"})
    assert r.status_code == 400 and r.json()["error"]["code"] == "unknown_voice"
    r = httpx.post(server.base + "/v1/audio/speech", headers=server.headers, json={"input": "hi", "tone": "smug"})
    assert r.status_code == 400 and r.json()["error"]["code"] == "unknown_tone"


def test_foreign_host_and_cors_are_refused_by_default(server: Server):
    r = httpx.get(server.base + "/health", headers={"Host": "evil.example:8765"})
    assert r.status_code == 400 and r.json()["error"]["code"] == "bad_host"
    r = httpx.options(
        server.base + "/v1/models",
        headers={"Origin": "http://evil.example", "Access-Control-Request-Method": "GET"},
    )
    assert "access-control-allow-origin" not in r.headers


def test_nothing_secret_reaches_the_log(server: Server, client, talk: Path, caplog: pytest.LogCaptureFixture):
    caplog.set_level(logging.DEBUG)
    with talk.open("rb") as fh:
        text = client.audio.transcriptions.create(model="whisper-1", file=fh).text
    client.chat.completions.create(model="voiceassist", messages=[{"role": "user", "content": "my secret plan"}])
    httpx.get(server.base + "/v1/models", headers={"Authorization": "Bearer not-the-token"})
    logged = caplog.text
    assert TOKEN not in logged and "not-the-token" not in logged
    assert text and text not in logged and "my secret plan" not in logged and "stressed" not in logged
