"""``analyze-batch --executor ray``: Ray Data actors (one model set each) give the results the local executor
gives, the driver keeps the same journal, and the local Ray the command starts is gone when it ends."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import espeak, silence, wait_until, write_wav
from voiceassist.batch import output_for
from voiceassist.cli import main

pytest.importorskip("ray", reason="the Ray executor needs the 'ray' extra: pip install 'voiceassist[ray]'")

SPEECH = {
    "one.wav": "Good morning, how are you today?",
    "two.wav": "I am so angry that the bus was late again.",
    "more/three.wav": "Thank you, that is very kind of you.",
}
GARBAGE = "more/broken.wav"


def ray_processes(marker: str) -> list[str]:
    p = subprocess.run(["pgrep", "-af", marker], capture_output=True, text=True)
    return [line for line in p.stdout.splitlines() if "pgrep" not in line]


@pytest.mark.slow
def test_ray_executor_gives_the_local_results_and_stops_its_ray(tmp_path: Path):
    corpus = tmp_path / "corpus"
    for rel, text in SPEECH.items():
        (corpus / rel).parent.mkdir(parents=True, exist_ok=True)
        write_wav(corpus / rel, np.concatenate([silence(0.5), espeak(text), silence(1.0)]))
    (corpus / GARBAGE).write_bytes(b"not audio at all " * 100)
    local = tmp_path / "local"
    assert main(["analyze-batch", str(corpus), "-o", str(local), "--progress", "none"]) == 4

    ray_tmp = tempfile.mkdtemp(prefix="vab-ray-", dir="/tmp")  # short: Ray's socket paths live under it
    out = tmp_path / "ray"
    cmd = [sys.executable, "-m", "voiceassist", "analyze-batch", str(corpus), "-o", str(out)]
    env = {**os.environ, "RAY_TMPDIR": ray_tmp}
    try:
        p = subprocess.run(
            [*cmd, "--executor", "ray", "--jobs", "2", "--progress", "lines"],
            capture_output=True,
            text=True,
            timeout=300,
            env=env,
        )
        assert p.returncode == 4, p.stderr  # the garbage file failed, the rest is done
        assert "3 done, 0 skipped (already done), 1 failed" in p.stderr
        assert wait_until(lambda: not ray_processes(ray_tmp), timeout=20), ray_processes(ray_tmp)
    finally:
        shutil.rmtree(ray_tmp, ignore_errors=True)

    entries = [json.loads(line) for line in (out / "batch.jsonl").read_text().splitlines()]
    assert sorted(e["key"] for e in entries) == sorted([*SPEECH, GARBAGE])
    assert {e["key"]: e["status"] for e in entries}[GARBAGE] == "failed"
    workers = {e["worker"] for e in entries}
    assert 1 <= len(workers) <= 2 and all(e["pid"] not in workers for e in entries)  # analysed in the actors
    for rel in SPEECH:
        doc = json.loads((out / output_for(rel)).read_text())
        ref = json.loads((local / output_for(rel)).read_text())
        assert doc.keys() == ref.keys() and doc["backends"] == ref["backends"]
        assert [s["text"] for s in doc["segments"]] == [s["text"] for s in ref["segments"]]
        assert [s.keys() for s in doc["segments"]] == [s.keys() for s in ref["segments"]]
    assert [f["key"] for f in map(json.loads, (out / "failed.jsonl").read_text().splitlines())] == [GARBAGE]

    # resumed with the same journal semantics: nothing left to do, so no Ray is even started
    p = subprocess.run([*cmd, "--executor", "ray", "--skip-failed"], capture_output=True, text=True, timeout=120)
    assert p.returncode == 4 and "0 done, 3 skipped (already done), 1 failed" in p.stderr, p.stderr
    assert "Ray" not in p.stderr
