"""The voice-emotion head: its model folder (loaded, refused when damaged), the running per-speaker baseline,
``train speech-emotion`` / ``eval speech-emotion`` on a small manifest of synthetic speech (the real loading
and training code; the figures on real acted speech are in docs/benchmarks.md), and the pipeline handing it
the recogniser's frames."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import espeak, silence, write_wav
from voiceassist.cli import main
from voiceassist.config import EmotionConfig
from voiceassist.emotion import EmotionModelError
from voiceassist.emotion.voice_head import Baseline, VoiceHead, VoiceHeadBackend, pool, window_pool

DIM = 8


PROSODY = ["f0_mean_st", "f0_std_st", "rate_hz"]


def tiny_head(folder: Path, classes=("angry", "neutral", "sad"), dim: int = DIM, prosody: bool = True) -> Path:
    """A hand-made head whose first pooled dimension decides: high -> angry, low -> sad (neutral at 0)."""
    folder.mkdir(parents=True, exist_ok=True)
    names = PROSODY if prosody else []
    d = dim + len(names)
    w = np.zeros((len(classes), d))
    w[classes.index("angry"), 0] = 3.0
    w[classes.index("sad"), 0] = -3.0
    mean = np.zeros(d)
    mean[dim:] = [9.0, 2.5, 4.0][: len(names)]  # prosody features sit near everyday speech
    std = np.ones(d)
    b = np.zeros(len(classes))
    b[classes.index("neutral")] = 1.0  # a band around the centre is neutral
    np.savez(folder / "head.npz", W=w, b=b, mean=mean, std=std, neutral=mean)
    meta = {"kind": "voice-head", "id": "tiny", "whisper": {"name": "tiny-test", "dim": dim},
            "pooling": ["mean"], "prosody": names, "classes": list(classes), "baseline_prior": 4,
            "temperature": 1.0}  # fmt: skip
    (folder / "model.json").write_text(json.dumps(meta), encoding="utf-8")
    return folder


def frames(level: float, t: int = 100) -> np.ndarray:
    f = np.random.default_rng(0).normal(0, 0.1, (t, DIM)).astype(np.float32)
    f[:, 0] += level
    return f


def test_pooling_and_the_sliding_window():
    f = np.arange(20, dtype=np.float64).reshape(10, 2)
    both = ("mean", "std")
    assert np.allclose(pool(f, both), [9, 10, np.std(f[:, 0]), np.std(f[:, 1])]) and np.allclose(pool(f), [9, 10])
    w = window_pool(f, 4, both)
    assert w.shape == (10, 4) and np.allclose(w[5], pool(f[3:7], both))
    assert np.allclose(w[0], pool(f[0:2], both))  # the edges average what they have


def test_a_head_reads_its_inputs_from_the_cached_candidates():
    from voiceassist.emotion.prosody import FEATURES
    from voiceassist.emotion.voice_head import select

    full = np.concatenate([np.full(4, 1.0), np.full(4, 2.0), np.arange(11.0)])  # mean, std, 11 prosody
    assert np.allclose(
        select(full, 4, ("mean",), ("rate_hz", "f0_mean_st")), [1, 1, 1, 1, FEATURES.index("rate_hz"), 0]
    )
    assert select(full, 4, ("mean", "std"), ()).tolist() == [1.0] * 4 + [2.0] * 4


def test_the_head_reads_the_frames_and_the_baseline_follows_the_speaker(tmp_path: Path):
    b = VoiceHeadBackend(EmotionConfig(frame_smoothing_ms=0), tiny_head(tmp_path / "h"))
    b.load()
    audio = np.zeros(16000, np.float32)
    est, curves = b.analyze(audio, frames(+1.5))
    assert est.label == "angry" and curves.probs.shape == (100, 9) and est.embedding is not None
    assert b.analyze(audio, frames(-1.5))[0].label == "sad"
    # a speaker whose ordinary voice sits high: as they talk, it becomes their neutral, not anger
    person = b.fresh()
    first = person.analyze(audio, frames(+1.0))[0]
    for _ in range(40):
        person.analyze(audio, frames(+1.0))
    later = person.analyze(audio, frames(+1.0))[0]
    assert first.label == "angry" and later.label == "neutral"
    assert person.analyze(audio, frames(+3.0))[0].label == "angry"  # raised above their usual: agitated
    assert b.fresh().analyze(audio, frames(+1.0))[0].label == "angry"  # another speaker starts afresh
    state = person.baseline_state()
    again = b.fresh()
    again.restore_baseline(json.loads(json.dumps(state)))  # kept as JSON with the person's profile
    assert np.allclose(
        again.analyze(audio, frames(+1.0))[0].scores, person.analyze(audio, frames(+1.0))[0].scores, atol=0.02
    )
    with pytest.raises(ValueError, match="made for"):
        again.restore_baseline({**state, "model": "another-head"})


def test_no_frames_or_frames_of_another_model_give_the_prosody_estimate_and_say_so(tmp_path: Path):
    b = VoiceHeadBackend(EmotionConfig(), tiny_head(tmp_path / "h"))
    b.load()
    speech = espeak("I am not sure about this.").astype(np.float32) / 32768
    est, _ = b.analyze(speech, None)
    assert est.arousal is not None and "not decoded" in est.backend
    est, _ = b.analyze(speech, np.zeros((50, 768), np.float32))
    assert "768 dims" in est.backend and "tiny-test" in est.backend


def test_a_damaged_or_mismatched_folder_is_refused_by_name(tmp_path: Path):
    good = tiny_head(tmp_path / "good")
    no_npz = tiny_head(tmp_path / "no_npz")
    (no_npz / "head.npz").unlink()
    with pytest.raises(EmotionModelError, match=r"missing head\.npz"):
        VoiceHead.load(no_npz)
    bad = tmp_path / "bad"
    shutil.copytree(good, bad)
    (bad / "head.npz").write_bytes(b"not numpy")
    with pytest.raises(EmotionModelError, match="cannot be read"):
        VoiceHead.load(bad)
    other = tmp_path / "other"
    shutil.copytree(good, other)
    meta = json.loads((other / "model.json").read_text())
    meta["whisper"]["dim"] = 16
    (other / "model.json").write_text(json.dumps(meta))
    with pytest.raises(EmotionModelError, match="inputs"):
        VoiceHead.load(other)


def test_a_broken_head_falls_back_to_prosody_with_a_note(tmp_path: Path):
    from voiceassist.config import Config
    from voiceassist.events import StageError, StageReady
    from voiceassist.pipeline.models import load_speech_emotion

    folder = tiny_head(tmp_path / "h")
    (folder / "head.npz").write_bytes(b"\x00" * 10)
    cfg = Config()
    cfg.emotion.speech_backend = "voice-head"
    cfg.emotion.voice_model = str(folder)
    backend, events = load_speech_emotion(cfg, None)
    ready = next(e for e in events if isinstance(e, StageReady))
    assert backend.name == "prosody" and "cannot be read" in (ready.note or "")
    assert any(isinstance(e, StageError) for e in events)


def test_baseline_arithmetic():
    b = Baseline(np.array([1.0, 0.0]), prior=2)  # the corpus's neutral voice, worth 2 utterances
    assert np.allclose(b.shift(), [0.0, 0.0])  # a first utterance: the corpus's statistics
    for _ in range(2):
        b.add([3.0, 2.0])
    assert np.allclose(b.person_mean(), [2.0, 1.0]) and np.allclose(b.shift(), [1.0, 1.0])
    b.restore({"n": 0})
    assert b.n == 0 and np.allclose(b.shift(), [0.0, 0.0])
    with pytest.raises(ValueError):
        b.restore({"n": 3, "sum": [1.0]})


# -- training on a manifest ---------------------------------------------------------------------------
SENTENCES = ["The meeting is at ten.", "I took the bus home.", "The shop was closed.", "It is raining again."]


@pytest.fixture(scope="module")
def manifest(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two voices, each saying four sentences 'agitated' (fast, high) and 'flat' (slow, low)."""
    root = tmp_path_factory.mktemp("voices")
    rows = []
    for voice in ("en-us", "en-gb"):
        for i, text in enumerate(SENTENCES):
            for label, rate, pitch in (("angry", 230, 80), ("sad", 110, 20)):
                x = espeak(f'<prosody pitch="{pitch}">{text}</prosody>', voice=voice, rate=rate, ssml=True)
                name = f"{voice}_{i}_{label}.wav"
                (root / "clips").mkdir(exist_ok=True)
                write_wav(root / "clips" / name, np.concatenate([silence(0.2), x, silence(0.2)]))
                rows.append({"path": f"clips/{name}", "emotion": "anger" if label == "angry" else "sadness",
                             "speaker": voice, "language": "en", "corpus": "espeak"})  # fmt: skip
    path = root / "manifest.csv"
    with path.open("w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    return path


@pytest.mark.slow
def test_train_and_eval_speech_emotion_end_to_end(manifest: Path, tmp_path: Path, capsys):
    out = tmp_path / "head"
    assert (
        main(["train", "speech-emotion", "--data", str(manifest), "-o", str(out), "--cache", str(tmp_path / "c")]) == 0
    )
    assert {"model.json", "head.npz", "metrics.json", "MODEL_CARD.md"} <= {p.name for p in out.iterdir()}
    metrics = json.loads((out / "metrics.json").read_text())
    loso = metrics["leave_one_speaker_out"]
    assert loso["n"] == 16 and loso["accuracy"] >= 0.75  # agitated vs flat, told apart on an unheard voice
    meta = json.loads((out / "model.json").read_text())
    assert meta["classes"] == ["angry", "sad"] and meta["whisper"] == {"name": "base", "dim": 512}
    capsys.readouterr()
    assert main(["eval", "speech-emotion", "--model", str(out), "--data", str(manifest), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["n"] == 16 and report["calm_vs_agitated"] >= 0.75
    # the app reads the folder: the same head on the frames of the app's own decode
    b = VoiceHeadBackend(EmotionConfig(), out)
    b.load()
    from voiceassist.asr.whisper import FasterWhisperBackend
    from voiceassist.config import AsrConfig
    from voiceassist.train.speech_data import load_audio

    asr = FasterWhisperBackend(AsrConfig())
    clip = manifest.parent / "clips" / "en-us_0_angry.wav"
    audio = load_audio(clip)
    r = asr.transcribe(audio, "en")
    assert r.encoder is not None and b.analyze(audio, r.encoder)[0].label == "angry"


def test_a_bad_manifest_names_its_rows(manifest: Path, tmp_path: Path, capsys):
    text = manifest.read_text().splitlines()
    bad = tmp_path / "bad.csv"
    bad.write_text("\n".join([text[0], text[1].replace("anger", "grumpy"), text[2].replace(".wav", "_gone.wav"),
                              *text[3:]]) + "\n")  # fmt: skip
    for p in (bad.parent / "clips",):
        p.symlink_to(manifest.parent / "clips")
    assert main(["train", "speech-emotion", "--data", str(bad), "-o", str(tmp_path / "x")]) == 3
    err = capsys.readouterr().err
    assert f"{bad}:2: 'grumpy'" in err and f"{bad}:3:" in err and "missing" in err and "--map" in err
    one = tmp_path / "one.csv"
    one.write_text("\n".join([text[0], *[t for t in text[1:] if ",en-us," in t]]) + "\n")
    assert main(["train", "speech-emotion", "--data", str(one), "-o", str(tmp_path / "y")]) == 3
    assert "two speakers" in capsys.readouterr().err
    assert not (tmp_path / "x").exists() and not (tmp_path / "y").exists()


class FramesAsr:
    """A recogniser stand-in that hears the same words every time and hands over encoder frames of the tiny
    head's size whose first dimension sits high (an agitated voice, for the tiny head)."""

    name, description, embedded = "frames", "scripted recogniser with frames", False

    def __init__(self) -> None:
        self.calls = 0

    def load(self) -> None:
        pass

    def warmup(self) -> None:
        pass

    def transcribe(self, audio, language=None, words=False):
        from voiceassist.asr import AsrResult

        self.calls += 1
        n = max(1, len(audio) // 320)
        return AsrResult("It is eleven o'clock.", "en", 1.0, 0.0, -0.1, False, encoder=frames(+1.5, n))


def test_the_pipeline_hands_the_head_the_frames_and_keeps_the_persons_baseline(two_utterances, tmp_path: Path):
    from voiceassist.audio.sources import FileSource
    from voiceassist.bus import Collector
    from voiceassist.config import Config
    from voiceassist.events import FusedEmotion, SpeechEmotion, StageReady
    from voiceassist.personal.service import reset, voice_baseline
    from voiceassist.pipeline import Models
    from voiceassist.session import Session
    from voiceassist.storage import SessionStore

    cfg = Config()
    cfg.emotion.speech_backend = "voice-head"
    cfg.emotion.voice_model = str(tiny_head(tmp_path / "head"))
    cfg.reply.enabled = False
    store = SessionStore(tmp_path / "s.db")

    def run_once() -> Collector:
        col = Collector()
        s = Session(cfg, FileSource(two_utterances[0]), store=store, models=Models(asr=FramesAsr()))
        s.subscribe(col)
        s.start()
        assert s.wait(120)
        return col

    col = run_once()
    ready = {e.stage: e for e in col.of(StageReady)}
    assert ready["speech-emotion"].description.startswith("voice-emotion head")
    speech = col.of(SpeechEmotion)
    assert len(speech) == 2 and all(e.estimate.label == "angry" for e in speech)
    # plain words, a sure voice: the voice decides
    assert [f.label for f in col.of(FusedEmotion)] == ["angry", "angry"]
    assert [f.rule for f in col.of(FusedEmotion)] == ["voice leads: the words are plain"] * 2
    assert voice_baseline(store, "default")["n"] == 2  # kept with the person's profile
    run_once()
    assert voice_baseline(store, "default")["n"] == 4  # the next session goes on from it
    reset(store, "default")
    assert voice_baseline(store, "default") is None  # reset with the profile
    store.close()
