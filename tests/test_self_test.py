"""``voiceassist app --self-test`` from the source tree: the same command packaging/build.sh runs on the frozen
build. It must pass on the embedded models, say each step, fail (non-zero, the step named) when a model
cannot load, and leave the user's folders alone."""

from __future__ import annotations

import fnmatch
import os
import subprocess
import sys
from pathlib import Path

import pytest
import soundfile as sf
import tomllib

from voiceassist.paths import resources_dir
from voiceassist.ui.selftest import RECORDING, SCRIPT, word_overlap

ROOT = Path(__file__).resolve().parents[1]


def self_test(tmp_path: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    home = tmp_path / "user"
    env = {
        **os.environ,
        "QT_QPA_PLATFORM": "offscreen",
        "XDG_CONFIG_HOME": str(home / "config"),
        "XDG_DATA_HOME": str(home / "data"),
        "XDG_STATE_HOME": str(home / "state"),
    }
    return subprocess.run(
        [sys.executable, "-m", "voiceassist.entry", "app", "--self-test", *extra],
        capture_output=True,
        text=True,
        timeout=180,
        env=env,
        cwd=tmp_path,
    )


@pytest.mark.slow
def test_self_test_passes_on_the_embedded_models_and_says_each_step(tmp_path: Path):
    proc = self_test(tmp_path)
    out = proc.stdout
    assert proc.returncode == 0, out + proc.stderr
    for step in (
        "ok   load asr",
        "ok   load speech-emotion",
        "ok   load text-emotion",
        "ok   pipeline (3 s recording)",
        "ok   render the reply",
        "ok   draw the window",
    ):
        assert step in out, out
    assert "FAIL" not in out
    assert out.rstrip().splitlines()[-1].startswith("self-test: PASSED")
    assert "faster-whisper base (embedded" in out
    assert "Piper en_US-joe-medium" in out
    # it ran in a temporary home: the user's config, data and state folders were never created
    assert not (tmp_path / "user").exists(), sorted((tmp_path / "user").rglob("*"))


@pytest.mark.slow
@pytest.mark.parametrize(
    ("setting", "failed_line"),
    [
        ("asr.model", "FAIL pipeline (3 s recording)"),  # no ASR: the pipeline does not start
        ("emotion.text_model", "FAIL load text-emotion"),  # the lexicons ran instead of the shipped head
    ],
)
def test_self_test_fails_and_names_the_step_when_a_model_cannot_load(tmp_path: Path, setting: str, failed_line: str):
    missing = tmp_path / "no-such-model"
    proc = self_test(tmp_path, "--set", f'{setting}="{missing}"')
    assert proc.returncode == 4, proc.stdout + proc.stderr
    assert failed_line in proc.stdout
    assert proc.stdout.rstrip().splitlines()[-1].startswith("self-test: FAILED")


def test_the_bundled_recording_is_three_seconds_of_16k_mono_and_ships_in_the_wheel():
    path = resources_dir() / RECORDING
    info = sf.info(str(path))
    assert (info.samplerate, info.channels, info.subtype) == (16000, 1, "PCM_16")
    assert 3.0 <= info.duration < 4.0
    globs = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]["voiceassist"]
    assert any(fnmatch.fnmatch(f"resources/{RECORDING}", g) for g in globs), globs


def test_word_overlap_counts_the_words_said_that_were_heard():
    assert word_overlap("I had a really good day today and I feel happy.", SCRIPT) == 1.0
    assert word_overlap("Thanks for watching!", SCRIPT) == 0.0
    assert word_overlap("a really good day", SCRIPT) == 0.4  # 4 of its 10 distinct words
