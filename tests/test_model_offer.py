"""The real voice model one step away: the window's offer (consent text with size and licence, a download
with progress and cancel that resumes, the checked install), and a running session switching to the model
it installed without a restart."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.fake_hub import FakeHub
from voiceassist import models_manager as mm

FILES = {"config.yaml": b"model: Emotion2vec\n", "tokens.txt": b"happy\nsad\n", "model.pt": os.urandom(3 * 2**20)}


@pytest.fixture
def hub():
    h = FakeHub({"emotion2vec/emotion2vec_plus_base": dict(FILES)})
    yield h
    h.close()


def offer_for(qtbot, tmp_path: Path, hub: FakeHub):
    from voiceassist.events import StageReady
    from voiceassist.ui.model_offer import ModelOffer

    offer = ModelOffer(tmp_path / "models", endpoint=hub.url)
    offer.name, offer.entry = "emotion2vec_plus_base", mm.catalogue()["emotion2vec_plus_base"]
    qtbot.addWidget(offer)
    missing = StageReady(stage="speech-emotion", description="voice head", embedded=True, load_s=0.0,
                         note="Emotion2Vec+ model 'emotion2vec_plus_base' not found. Get it with ...")  # fmt: skip
    offer.offer_if_missing(missing)
    return offer


def test_the_offer_shows_size_and_licence_and_installs_after_consent(qtbot, tmp_path: Path, hub: FakeHub):
    from voiceassist.events import StageReady

    offer = offer_for(qtbot, tmp_path, hub)
    assert not offer.isHidden()
    text = offer.consent_text()
    assert "emotion2vec_plus_base" in text and "375 MB" in text and "FunASR model licence" in text
    assert "never sent" in text
    with qtbot.waitSignal(offer.installed, timeout=60000) as got:
        offer.start()
        assert offer.downloading and not offer.bar.isHidden()  # the GUI thread is back at once
    assert got.args == ["emotion2vec_plus_base"] and offer.isHidden()
    assert mm.verify(mm.catalogue()["emotion2vec_plus_base"], tmp_path / "models") == []
    # with the real model running, nothing is offered
    offer.offer_if_missing(StageReady(stage="speech-emotion", description="Emotion2Vec+", embedded=False, load_s=0))
    assert offer.isHidden()


def test_a_cancelled_download_says_so_and_the_next_try_resumes(qtbot, tmp_path: Path, hub: FakeHub):
    offer = offer_for(qtbot, tmp_path, hub)
    offer._relay.progress.connect(lambda done, total: offer.cancel() if done >= 2**20 else None)
    offer.start()
    qtbot.waitUntil(lambda: not offer.downloading, timeout=60000)
    assert "cancelled" in offer.text.text() and not mm.installed(offer.entry, tmp_path / "models")
    offer._relay.progress.disconnect()
    offer._relay.progress.connect(offer._progress)
    hub.requests.clear()
    with qtbot.waitSignal(offer.installed, timeout=60000):
        offer.start()
    ranges = [r[2] for r in hub.requests if r[0] == "GET" and r[1] == "model.pt"]
    assert ranges and ranges[0] is not None  # went on from what had arrived


def test_a_running_session_switches_to_a_model_installed_meanwhile(two_utterances, tmp_path: Path, tiny_e2v: Path):
    import shutil

    from tests.test_pipeline_emotion import ScriptedAsr
    from voiceassist.audio.sources import FileSource
    from voiceassist.bus import Collector
    from voiceassist.config import Config
    from voiceassist.events import SpeechEmotion, StageReady
    from voiceassist.pipeline import Models
    from voiceassist.session import ReloadVoiceModel, Session

    cfg = Config()
    cfg.paths.models_dir = str(tmp_path / "models")
    cfg.reply.enabled = False
    col = Collector()
    s = Session(cfg, FileSource(two_utterances[0], realtime=True), models=Models(asr=ScriptedAsr([("hello", "en")])))
    s.subscribe(col)
    s.start()
    first = [e for e in col.of(StageReady) if e.stage == "speech-emotion"]
    assert first and "Emotion2Vec+" not in first[0].description
    shutil.copytree(tiny_e2v, tmp_path / "models" / "emotion2vec_plus_base")  # the download just finished
    s.send(ReloadVoiceModel("emotion2vec_plus_base"))
    assert s.wait(120)
    ready = [e for e in col.of(StageReady) if e.stage == "speech-emotion"]
    assert len(ready) == 2 and ready[1].description.startswith("Emotion2Vec+")
    later = [e for e in col.of(SpeechEmotion) if e.t > ready[1].t]
    assert later and all(e.estimate.backend.startswith("Emotion2Vec+") for e in later)
