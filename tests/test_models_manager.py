"""The model manager for real against a loopback server with the Hugging Face hub's layout: pull,
verify, resume after an interruption, a corrupt transfer rejected, offline with a clear message."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fake_hub import FakeHub
from voiceassist import models_manager as mm

FILES = {"config.yaml": b"model: Emotion2vec\n", "tokens.txt": b"happy\nsad\n", "model.pt": os.urandom(400_000)}


@pytest.fixture
def hub():
    h = FakeHub({"emotion2vec/emotion2vec_plus_base": dict(FILES)})
    yield h
    h.close()


@pytest.fixture
def cat() -> dict[str, mm.Entry]:
    return {"emotion2vec_plus_base": mm.catalogue()["emotion2vec_plus_base"]}


def test_catalogue_covers_the_required_models():
    c = mm.catalogue()
    assert {
        "whisper-tiny",
        "whisper-small",
        "whisper-large-v3",
        "whisper-large-v3-turbo",
        "emotion2vec_plus_seed",
        "emotion2vec_plus_base",
        "emotion2vec_plus_large",
        "text-emotion-en",
        "text-emotion-zh",
        "llm-qwen2.5-0.5b",
    } <= set(c)
    assert c["emotion2vec_plus_large"].ms == "iic/emotion2vec_plus_large"
    # what `models pull` writes is where asr.model finds it (faster-whisper's own names for these)
    assert c["whisper-large-v3-turbo"].folder == "large-v3-turbo" and c["whisper-small"].folder == "small"
    assert c["whisper-large-v3-turbo"].hf == "mobiuslabsgmbh/faster-whisper-large-v3-turbo"


def test_pull_checks_and_installs_atomically(hub: FakeHub, cat, tmp_path: Path):
    folder = mm.pull("emotion2vec_plus_base", tmp_path, endpoint=hub.url, cat=cat)
    assert folder == tmp_path / "emotion2vec_plus_base"
    assert (folder / "model.pt").read_bytes() == FILES["model.pt"]
    assert mm.installed(cat["emotion2vec_plus_base"], tmp_path)
    assert not (tmp_path / ".partial" / "emotion2vec_plus_base").exists()
    manifest = json.loads((folder / mm.MANIFEST).read_text())
    assert manifest["files"]["model.pt"]["sha256"] and manifest["files"]["model.pt"]["size"] == 400_000
    assert mm.verify(cat["emotion2vec_plus_base"], tmp_path) == []
    (folder / "model.pt").write_bytes(b"x" * 400_000)  # damaged on disk later
    assert "sha256" in mm.verify(cat["emotion2vec_plus_base"], tmp_path)[0]


def test_an_interrupted_download_resumes(hub: FakeHub, cat, tmp_path: Path):
    """huggingface_hub writes in 10 MB chunks: cut a 12 MB file after 11 MB; the retry asks only for the
    rest (an HTTP Range request) and the file is whole."""
    big = os.urandom(12 * 2**20)
    hub.repos["emotion2vec/emotion2vec_plus_base"]["model.pt"] = big
    hub.fail_after["model.pt"] = 11 * 2**20
    folder = mm.pull("emotion2vec_plus_base", tmp_path, endpoint=hub.url, cat=cat)
    assert (folder / "model.pt").read_bytes() == big
    gets = [r for r in hub.requests if r[0] == "GET" and r[1] == "model.pt"]
    assert len(gets) == 2 and gets[0][2] is None
    assert gets[1][2] is not None and int(gets[1][2].split("=")[1].rstrip("-")) >= 10 * 2**20


def test_a_corrupt_transfer_is_rejected_and_nothing_is_installed(hub: FakeHub, cat, tmp_path: Path):
    hub.corrupt.add("model.pt")
    with pytest.raises(mm.ModelManagerError) as e:
        mm.pull("emotion2vec_plus_base", tmp_path, endpoint=hub.url, cat=cat)
    assert not (tmp_path / "emotion2vec_plus_base").exists()
    assert "model.pt: sha256 does not match the hub's" in str(e.value), str(e.value)
    assert "it was not installed" in str(e.value), str(e.value)


def test_offline_gives_a_clear_message(cat, tmp_path: Path):
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(mm.ModelManagerError) as e:
        mm.pull("emotion2vec_plus_base", tmp_path, endpoint=f"http://127.0.0.1:{port}", cat=cat)
    msg = str(e.value)
    assert "could not download" in msg and str(tmp_path / "emotion2vec_plus_base") in msg
    assert "config.yaml" in msg and "huggingface.co/emotion2vec/emotion2vec_plus_base" in msg


def test_cli_pull_list_verify_remove(hub: FakeHub, tmp_path: Path):
    def cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "voiceassist", "models", *args, "--models-dir", str(tmp_path)],
            capture_output=True,
            text=True,
            timeout=120,
            env=env,
        )

    r = cli("pull", "emotion2vec_plus_base", "--endpoint", hub.url)
    assert r.returncode == 0, r.stderr
    assert "licence: FunASR model licence" in r.stdout  # said before it downloads
    r = cli("list")
    assert "* emotion2vec_plus_base" in r.stdout and "whisper-large-v3" in r.stdout
    assert cli("verify").stdout.strip() == "emotion2vec_plus_base: ok"
    assert cli("remove", "emotion2vec_plus_base").returncode == 0
    assert not (tmp_path / "emotion2vec_plus_base").exists()
    assert cli("pull", "nonsense").returncode == 3
    assert cli("pull").returncode == 3  # neither a name nor --recommended
    # --recommended picks by the hardware: on this GPU-less 2-core machine, the seed model (served here from
    # the fake hub's repository through a catalogue that points seed at it)
    import os as _os

    table = (
        (mm.resources_dir() / "models.toml")
        .read_text()
        .replace('hf = "emotion2vec/emotion2vec_plus_seed"', 'hf = "emotion2vec/emotion2vec_plus_base"')
    )
    catalogue_file = tmp_path / "catalogue.toml"
    catalogue_file.write_text(table)
    r = cli("pull", "--recommended", "--endpoint", hub.url, "--catalogue", str(catalogue_file))
    expected = "emotion2vec_plus_seed" if (_os.cpu_count() or 1) < 8 else "emotion2vec_plus_base"
    assert r.returncode == 0 and "recommended for this machine (no GPU" in r.stdout and expected in r.stdout, r.stderr
    # with every GPU hidden (none here anyway) both runtimes report the CPU fallback
    r = cli("gpu", env={**os.environ, "CUDA_VISIBLE_DEVICES": ""})
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == [
        "CTranslate2 (Whisper): 0 CUDA device(s)",
        "torch (Emotion2Vec+, LLM): no CUDA device; CPU",
    ], r.stdout


def test_a_pulled_emotion_model_is_what_the_app_loads(hub: FakeHub, cat, tmp_path: Path, tiny_e2v: Path):
    """The real tiny checkpoint served by the fake hub, pulled, then loaded by the emotion backend."""
    from types import SimpleNamespace

    from voiceassist.emotion import create_speech_backend

    hub.repos["emotion2vec/emotion2vec_plus_base"] = {p.name: p.read_bytes() for p in tiny_e2v.iterdir()}
    mm.pull("emotion2vec_plus_base", tmp_path, endpoint=hub.url, cat=cat)
    b, note = create_speech_backend(
        SimpleNamespace(
            speech_backend="auto", speech_model="emotion2vec_plus_base", device="cpu", frame_smoothing_ms=0
        ),
        tmp_path,
    )
    b.load()
    assert note is None and b.name == "emotion2vec"


def test_a_voice_is_pulled_from_a_repository_of_many(tmp_path: Path):
    """Piper voices share one hub repository: only the chosen voice's files are fetched and checked, and
    the voice set finds the installed voice where the pull put it."""
    from voiceassist.voices import find_piper_voice

    zh = "zh/zh_CN/huayan/medium/zh_CN-huayan-medium"
    files = {
        f"{zh}.onnx": os.urandom(300_000),
        f"{zh}.onnx.json": b'{"audio": {"sample_rate": 22050}}',
        f"{zh}.onnx.MODEL_CARD": b"licence: see dataset",
        "en/en_US/lessac/medium/en_US-lessac-medium.onnx": os.urandom(200_000),
    }
    h = FakeHub({"rhasspy/piper-voices": files})
    try:
        entry = mm.catalogue()["piper-zh_CN-huayan-medium"]
        folder = mm.pull(entry.name, tmp_path, endpoint=h.url, cat={entry.name: entry})
    finally:
        h.close()
    got = sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file() and p.name != mm.MANIFEST)
    assert got == sorted(f for f in files if f.startswith("zh/"))  # not the English voice
    assert mm.verify(entry, tmp_path) == []
    assert find_piper_voice(tmp_path, "zh") == folder / f"{zh}.onnx"
    assert find_piper_voice(tmp_path, "en") is None


def test_a_download_reports_progress_can_be_cancelled_and_resumes(hub: FakeHub, cat, tmp_path: Path):
    import threading

    big = os.urandom(5 * 2**20)
    hub.repos["emotion2vec/emotion2vec_plus_base"]["model.pt"] = big
    cancel = threading.Event()
    seen: list[tuple[int, int]] = []

    def progress(done: int, total: int) -> None:
        seen.append((done, total))
        if done >= 2 * 2**20:
            cancel.set()  # the person presses Cancel part-way

    with pytest.raises(mm.Cancelled, match="resume"):
        mm.pull("emotion2vec_plus_base", tmp_path, endpoint=hub.url, cat=cat, progress=progress, cancel=cancel)
    total = sum(len(v) for v in hub.repos["emotion2vec/emotion2vec_plus_base"].values())
    assert seen and all(t == total for _, t in seen) and [d for d, _ in seen] == sorted(d for d, _ in seen)
    assert not mm.installed(cat["emotion2vec_plus_base"], tmp_path)  # nothing half-done is used
    hub.requests.clear()
    seen.clear()
    folder = mm.pull("emotion2vec_plus_base", tmp_path, endpoint=hub.url, cat=cat, progress=progress)
    assert (folder / "model.pt").read_bytes() == big and seen[-1] == (total, total)
    resumed = [r for r in hub.requests if r[0] == "GET" and r[1] == "model.pt"]
    assert len(resumed) == 1 and int(resumed[0][2].split("=")[1].rstrip("-")) >= 2 * 2**20  # from where it stopped


def test_the_recommended_size_follows_the_hardware():
    assert mm.recommended(24.0, 8) == "emotion2vec_plus_large"
    assert mm.recommended(4.0, 8) == "emotion2vec_plus_base"
    assert mm.recommended(None, 16) == "emotion2vec_plus_base"
    assert mm.recommended(None, 2) == "emotion2vec_plus_seed"
    for name in ("emotion2vec_plus_seed", "emotion2vec_plus_base", "emotion2vec_plus_large"):
        assert mm.catalogue()[name].license and mm.catalogue()[name].license_url.startswith("https://")
