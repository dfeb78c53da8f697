"""The built wheel works installed (not editable): it carries its data files (replies, translations,
lexicon overlay, crisis phrases, model catalogue), and `voiceassist analyze` and `voiceassist say` run from
a fresh virtual environment outside the checkout."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
import venv
import zipfile
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import espeak, silence, write_wav

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(out), str(ROOT)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    [whl] = out.glob("voiceassist-*.whl")
    return whl


def test_the_wheel_carries_every_data_file(wheel: Path):
    names = set(zipfile.ZipFile(wheel).namelist())
    shipped = {n.split("voiceassist/resources/", 1)[1] for n in names if n.startswith("voiceassist/resources/")}
    in_tree = {
        str(p.relative_to(ROOT / "voiceassist" / "resources"))
        for p in (ROOT / "voiceassist" / "resources").rglob("*.toml")
    }
    assert in_tree and in_tree <= shipped, in_tree - shipped
    assert "voiceassist/py.typed" in names
    for f in ("model.json", "head.npz"):  # the trained text-emotion head, the embedded default
        assert f"voiceassist/resources/models/text_emotion/{f}" in names
    assert not any(n.startswith(("tests/", "bench/")) for n in names)


def test_installed_wheel_analyzes_and_speaks(wheel: Path, tmp_path: Path):
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=False).create(env_dir)
    py = env_dir / "bin" / "python"
    site = Path(
        subprocess.check_output(
            [str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], text=True
        ).strip()
    )
    # the dependencies come from the development environment (no second multi-GB install); its own
    # editable voiceassist is not seen: .pth files of a directory added this way are not run
    (site / "_deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n", encoding="utf-8")
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(py), "install", "--no-deps", "-q", str(wheel)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    work = tmp_path / "elsewhere"
    work.mkdir()
    env = {**os.environ, "PYTHONPATH": "", "VOICEASSIST_RESOURCES": ""}
    env.pop("PYTHONPATH")
    env.pop("VOICEASSIST_RESOURCES")
    where = subprocess.check_output(
        [str(py), "-c", "import voiceassist; print(voiceassist.__file__)"], text=True, cwd=work, env=env
    ).strip()
    assert where.startswith(str(env_dir)), where  # the installed copy, not the checkout
    audio = write_wav(
        work / "talk.wav", np.concatenate([silence(0.5), espeak("I feel so lonely today."), silence(0.8)])
    )
    exe = env_dir / "bin" / "voiceassist"
    p = subprocess.run(
        [str(exe), "analyze", str(audio), "-o", "out.json"],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert p.returncode == 0, p.stderr[-3000:]
    doc = json.loads((work / "out.json").read_text(encoding="utf-8"))
    [seg] = doc["segments"]
    assert "lonely" in seg["text"].lower() and seg["emotion"]["fused"]["label"]
    assert "trained emotion head" in doc["backends"]["text-emotion"]["description"]  # from the wheel
    p = subprocess.run(
        [str(exe), "say", "I am here with you.", "--tone", "sad", "-o", "say.wav"],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert p.returncode == 0, p.stderr[-3000:]
    import soundfile as sf

    data, rate = sf.read(str(work / "say.wav"))
    assert len(data) / rate > 0.5 and np.abs(data).max() > 0.01
