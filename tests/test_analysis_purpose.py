"""Analysing a recording is not a conversation: ``analyze``, ``analyze-batch`` and the API's uploads report a
crisis phrase they hear and never act on it. With the caregiver's alerts on (a webhook on loopback), nothing
reaches the outbox or any channel, no reply is composed, and the caregiver lock's database is not opened.
The same recording in a conversation does alert the caregiver (the control: these tests can fail)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soxr

from tests.conftest import silence, write_wav
from tests.test_alert_delivery import Hook
from voiceassist.pipeline import Models

pytestmark = pytest.mark.slow

CRISIS = "I want to end my life."


@pytest.fixture(scope="module")
def crisis_wav(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sentence in the embedded neural voice (clearer to Whisper than espeak-ng), between silences."""
    from voiceassist.voices import PiperSynthesizer

    voice = PiperSynthesizer(None)
    voice.load()
    x = soxr.resample(voice.render(CRISIS), voice.sample_rate, 16000).astype(np.float32)
    return write_wav(tmp_path_factory.mktemp("crisis") / "crisis.wav", np.concatenate([silence(0.5), x, silence(0.8)]))


@pytest.fixture
def hook():
    h = Hook()
    yield h
    h.close()


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """A fresh user home (config with alerts on and a webhook, data, state) for this process and children."""
    env = {
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "XDG_DATA_HOME": str(tmp_path / "data"),
        "XDG_STATE_HOME": str(tmp_path / "state"),
    }
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    return env


def alerts_config(path: Path, hook: Hook) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        '[alerts]\nenabled = true\nchannels = ["banner", "webhook"]\ndebounce_n = 1\n\n'
        f'[alerts.webhook]\nurl = "{hook.url}"\n\n[store]\nenabled = false\n\n[tts]\nenabled = false\n',
        encoding="utf-8",
    )
    return path


def outbox_path(home: dict[str, str]) -> Path:
    return Path(home["XDG_DATA_HOME"]) / "voiceassist" / "alerts.sqlite3"


def crisis_of(doc: dict) -> list[dict]:
    return [c for s in doc["segments"] for c in s["crisis"]]


def test_analysis_reports_the_crisis_and_alerts_nobody(crisis_wav: Path, hook: Hook, home: dict[str, str]):
    from voiceassist.analysis import analyze
    from voiceassist.audio.sources import FileSource
    from voiceassist.config import load_config
    from voiceassist.events import AlertRaised, Event, Reply

    cfg = load_config(alerts_config(Path(home["XDG_CONFIG_HOME"]) / "c.toml", hook), [])
    assert cfg.alerts.enabled
    heard: list[Event] = []
    source = FileSource(crisis_wav)
    source.open()
    doc = analyze(cfg, source, crisis_wav.name, on_event=heard.append)
    assert "end my life" in doc["segments"][0]["text"].lower()
    assert crisis_of(doc) == [{"category": "suicide", "phrase": "end my life"}]
    assert not [e for e in heard if isinstance(e, AlertRaised | Reply)]  # no alert, no reply composed
    assert "alerts" not in doc["backends"]
    assert hook.received == [] and not outbox_path(home).exists()  # not even the caregiver lock was opened


def test_a_conversation_on_the_same_recording_does_alert(crisis_wav: Path, hook: Hook, home: dict[str, str]):
    """The control: the same settings and recording as a conversation raise the urgent alert."""
    from voiceassist.audio.sources import FileSource
    from voiceassist.bus import Collector
    from voiceassist.config import load_config
    from voiceassist.events import AlertRaised, CrisisHeard
    from voiceassist.session import Session

    cfg = load_config(alerts_config(Path(home["XDG_CONFIG_HOME"]) / "c.toml", hook), [])
    col = Collector()
    s = Session(cfg, FileSource(crisis_wav), speak=False)
    s.subscribe(col)
    s.start()
    assert s.wait(120)
    assert col.of(CrisisHeard) and [a.kind for a in col.of(AlertRaised)] == ["crisis:suicide"]
    assert outbox_path(home).exists()


def test_cli_analyze_and_batch_alert_nobody(crisis_wav: Path, hook: Hook, home: dict[str, str], tmp_path: Path):
    conf = alerts_config(tmp_path / "config.toml", hook)
    env = {**os.environ, **home}
    out = tmp_path / "result.json"
    r = subprocess.run(
        [sys.executable, "-m", "voiceassist", "analyze", str(crisis_wav), "-o", str(out), "--config", str(conf)],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert r.returncode == 0, r.stderr
    assert crisis_of(json.loads(out.read_text()))[0]["category"] == "suicide"
    batch = [sys.executable, "-m", "voiceassist", "analyze-batch", str(crisis_wav.parent)]
    r = subprocess.run(
        [*batch, "-o", str(tmp_path / "batch"), "--config", str(conf)],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert r.returncode == 0, r.stderr
    doc = json.loads((tmp_path / "batch" / "results" / "crisis.wav.json").read_text())
    assert crisis_of(doc)[0]["category"] == "suicide"
    assert hook.received == [] and not outbox_path(home).exists()


def test_api_uploads_alert_nobody(crisis_wav: Path, hook: Hook, home: dict[str, str], tmp_path: Path):
    import httpx

    from tests.api_server import running

    with running(config=alerts_config(tmp_path / "config.toml", hook)) as srv:
        assert srv.engine.cfg.alerts.enabled  # type: ignore[attr-defined]
        docs = []
        for endpoint, fields in (
            ("/v1/audio/emotion", {}),
            ("/v1/audio/transcriptions", {"response_format": "verbose_json", "include[]": "emotion"}),
        ):
            with crisis_wav.open("rb") as f:
                r = httpx.post(
                    srv.base + endpoint, files={"file": ("c.wav", f, "audio/wav")}, data=fields, headers=srv.headers,
                    timeout=120,
                )  # fmt: skip
            assert r.status_code == 200, r.text
            docs.append(r.json())
    assert crisis_of(docs[0])[0]["category"] == "suicide"  # the analyze document reports it
    assert "end my life" in docs[1]["text"].lower()
    assert hook.received == [] and not outbox_path(home).exists()


def test_a_model_set_is_loaded_once_and_used_as_it_is():
    """Handed-in models are neither loaded nor warmed up again; their load's StageReady stands for them."""
    from voiceassist.config import Config
    from voiceassist.events import StageReady

    class Counting:
        name, description, embedded = "counting", "counting recogniser", True

        def __init__(self) -> None:
            self.loads = 0

        def load(self) -> None:
            self.loads += 1

        def warmup(self) -> None:
            self.loads += 1

        def transcribe(self, audio, language=None, words=False):  # never called here
            raise AssertionError

    asr = Counting()
    said = StageReady(stage="asr", description="from the one load", embedded=True, load_s=1.5)
    m = Models(asr=asr, ready=(said,))
    from voiceassist.pipeline.models import load_asr

    got, events = load_asr(Config(), m.for_session())
    assert got is asr and asr.loads == 0 and events == [said]
