"""``voiceassist analyze-batch``: the analyze document for every file of a folder or manifest, resumable
(journal with size+mtime), failures recorded without stopping, shards that split a job by a stable hash,
and worker processes that give the same results."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import espeak, silence, write_wav
from voiceassist.batch import InputError, discover, output_for, parse_shard, shard_of
from voiceassist.cli import main

SPEECH = {
    "a.wav": ["Good morning, how are you today?"],
    "b.wav": ["I feel a bit tired, but I am fine."],
    "sub/c.flac": ["Could you please remind me to call my sister.", "I am so angry that the bus was late again."],
    "sub/deeper/d.wav": ["Thank you, that is very kind of you."],
}
GARBAGE = "sub/broken.wav"


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("corpus")
    for rel, sentences in SPEECH.items():
        parts = [silence(0.5)]
        for s in sentences:
            parts += [espeak(s), silence(1.2)]
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        write_wav(root / rel, np.concatenate(parts))
    (root / GARBAGE).write_bytes(b"definitely not audio " * 200)
    (root / "notes.txt").write_text("not a recording")  # not an audio extension: not an input
    (root / ".hidden.wav").write_bytes(b"AppleDouble")  # dot files are skipped
    return root


@pytest.fixture(scope="module")
def reference(corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict]:
    """What ``voiceassist analyze`` writes for each speech file."""
    out = tmp_path_factory.mktemp("reference")
    docs = {}
    for rel in SPEECH:
        target = out / (rel.replace("/", "_") + ".json")
        assert main(["analyze", str(corpus / rel), "-o", str(target)]) == 0
        docs[rel] = json.loads(target.read_text(encoding="utf-8"))
    return docs


def batch(*args: str) -> int:
    return main(["analyze-batch", *args, "--progress", "lines"])


def journal(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def result(out: Path, rel: str) -> dict:
    return json.loads((out / output_for(rel)).read_text(encoding="utf-8"))


def texts(doc: dict) -> list[str]:
    return [s["text"] for s in doc["segments"]]


def same_schema(doc: dict, ref: dict) -> None:
    assert doc.keys() == ref.keys()
    assert doc["backends"].keys() == ref["backends"].keys()
    assert [s.keys() for s in doc["segments"]] == [s.keys() for s in ref["segments"]]
    assert texts(doc) == texts(ref)


@pytest.mark.slow
def test_batch_writes_the_analyze_document_resumes_and_redoes_what_changed(corpus, reference, tmp_path, capsys):
    out = tmp_path / "out"
    assert batch(str(corpus), "-o", str(out)) == 4  # the garbage file failed, the batch went on
    err = capsys.readouterr().err
    assert "4 done, 0 skipped (already done), 1 failed" in err and "exit code 4" in err
    for rel, ref in reference.items():
        doc = result(out, rel)
        same_schema(doc, ref)
        assert doc == ref  # exactly the document analyze writes (same models, same settings)
    assert sum(len(texts(d)) for d in reference.values()) == 5
    entries = {e["key"]: e for e in journal(out / "batch.jsonl")}
    assert set(entries) == {*SPEECH, GARBAGE}
    assert entries[GARBAGE]["status"] == "failed" and "not an audio file" in entries[GARBAGE]["error"]
    assert entries["a.wav"]["size"] == (corpus / "a.wav").stat().st_size
    failed = journal(out / "failed.jsonl")
    assert [f["key"] for f in failed] == [GARBAGE] and failed[0]["error"]
    summary = json.loads((out / "summary.json").read_text())
    assert (summary["files"], summary["done"], summary["skipped"], summary["failed"]) == (5, 4, 0, 1)
    assert summary["exit_code"] == 4 and summary["audio_s"] > 10

    # again: everything done is skipped (the garbage file is tried again, and fails again)
    stamps = {rel: (out / output_for(rel)).stat().st_mtime_ns for rel in SPEECH}
    assert batch(str(corpus), "-o", str(out)) == 4
    assert "0 done, 4 skipped (already done), 1 failed" in capsys.readouterr().err
    assert {rel: (out / output_for(rel)).stat().st_mtime_ns for rel in SPEECH} == stamps
    assert batch(str(corpus), "-o", str(out), "--skip-failed") == 4  # nothing to do at all
    assert "0 done, 4 skipped (already done), 1 failed" in capsys.readouterr().err

    # a changed input (mtime), a lost result file and a journal line cut short by a crash: those are redone
    st = (corpus / "b.wav").stat()
    os.utime(corpus / "b.wav", ns=(st.st_atime_ns, st.st_mtime_ns + 5_000_000_000))
    (out / output_for("sub/deeper/d.wav")).unlink()
    with open(out / "batch.jsonl", "a", encoding="utf-8") as f:
        f.write('{"key": "a.wav", "status": "fai')
    assert batch(str(corpus), "-o", str(out), "--skip-failed") == 4
    assert "2 done, 2 skipped (already done), 1 failed" in capsys.readouterr().err
    redone = [e["key"] for e in journal_lines(out / "batch.jsonl")[-2:]]
    assert sorted(redone) == ["b.wav", "sub/deeper/d.wav"]
    assert texts(result(out, "b.wav")) == texts(reference["b.wav"])


def journal_lines(path: Path) -> list[dict]:
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return out


@pytest.mark.slow
def test_two_shards_cover_every_file_exactly_once(corpus, reference, tmp_path, capsys):
    out = tmp_path / "out"
    codes = [batch(str(corpus), "-o", str(out), "--shard", s) for s in ("0/2", "1/2")]
    shard_keys = [[e["key"] for e in journal(out / f"batch.shard-{i}-of-2.jsonl")] for i in (0, 1)]
    assert not (out / "batch.jsonl").exists()
    assert sorted(shard_keys[0] + shard_keys[1]) == sorted([*SPEECH, GARBAGE])  # each once, none twice
    assert all(shard_of(k, 2) == i for i in (0, 1) for k in shard_keys[i])
    assert codes == [4 if GARBAGE in keys else 0 for keys in shard_keys]
    for rel, ref in reference.items():
        same_schema(result(out, rel), ref)
    for i in (0, 1):
        summary = json.loads((out / f"summary.shard-{i}-of-2.json").read_text())
        assert summary["shard"] == f"{i}/2" and summary["files"] == len(shard_keys[i])
    # the unsharded run over the same OUT_DIR finds it all done
    assert batch(str(corpus), "-o", str(out)) == 4
    assert "0 done, 4 skipped" in capsys.readouterr().err


@pytest.mark.slow
def test_two_worker_processes_give_the_same_results(corpus, reference, tmp_path):
    out = tmp_path / "out"
    manifest = tmp_path / "list.jsonl"  # a manifest this time: JSON lines, paths relative to it
    lines = [json.dumps({"path": os.path.relpath(corpus / rel, tmp_path)}) for rel in [*SPEECH, GARBAGE]]
    manifest.write_text("\n".join(lines) + "\n")
    assert batch(str(manifest), "-o", str(out), "--jobs", "2") == 4
    entries = journal(out / "batch.jsonl")
    by_path = {Path(e["path"]).resolve(): e for e in entries}
    for rel, ref in reference.items():
        e = by_path[(corpus / rel).resolve()]
        assert e["status"] == "done"
        same_schema(json.loads((out / e["output"]).read_text()), ref)
    assert by_path[(corpus / GARBAGE).resolve()]["status"] == "failed"
    assert {e["pid"] for e in entries} == {os.getpid()}  # only the driver writes the journal
    workers = {e["worker"] for e in entries}
    assert 1 <= len(workers) <= 2 and os.getpid() not in workers  # the files were analysed in the 2 workers
    assert len(entries) == 5


# -- quick: inputs, shards, exit codes ----------------------------------------------------------------
def test_manifests_folders_keys_and_outputs(tmp_path: Path):
    (tmp_path / "data" / "x").mkdir(parents=True)
    for name in ("data/a.wav", "data/a.flac", "data/x/b.MP3", "data/x/c.txt", "other.ogg"):
        (tmp_path / name).write_bytes(b"x")
    assert [it.key for it in discover(tmp_path / "data")] == ["a.flac", "a.wav", "x/b.MP3"]
    manifest = tmp_path / "data" / "list.txt"
    manifest.write_text(f"# comment\n\na.wav\n  x/b.MP3  \n./a.wav\n{tmp_path / 'other.ogg'}\n../other.ogg\n")
    items = discover(manifest)
    assert [it.key for it in items] == [(tmp_path / "other.ogg").as_posix(), "a.wav", "x/b.MP3"]
    assert Path(items[1].path) == tmp_path / "data" / "a.wav"
    assert items[0].output == f"external{(tmp_path / 'other.ogg').as_posix()}.json"
    assert items[1].output == "results/a.wav.json" and output_for("a.flac") == "results/a.flac.json"
    jsonl = tmp_path / "data" / "list.jsonl"
    jsonl.write_text('{"path": "a.wav", "label": "sad"}\n{"path": "x/b.MP3"}\n')
    assert [it.key for it in discover(jsonl)] == ["a.wav", "x/b.MP3"]
    jsonl.write_text('{"path": "a.wav"}\n{"file": "b.wav"}\n')
    with pytest.raises(InputError, match=r"list.jsonl:2"):
        discover(jsonl)
    jsonl.write_text('{"path": "a.wav"\n')
    with pytest.raises(InputError, match="not valid JSON"):
        discover(jsonl)


def test_shards_are_stable_when_files_are_added():
    keys = [f"day{d}/rec{i:03d}.wav" for d in range(3) for i in range(100)]
    before = {k: shard_of(k, 4) for k in keys}
    more = keys + [f"day9/new{i}.wav" for i in range(50)]
    assert all(shard_of(k, 4) == before[k] for k in keys)  # by hash, not by position
    counts = np.bincount([shard_of(k, 4) for k in more], minlength=4)
    assert counts.min() > 40  # roughly even
    assert parse_shard("2/4") == (2, 4)
    for bad in ("4/4", "-1/2", "1", "a/b", "0/0"):
        with pytest.raises(ValueError):
            parse_shard(bad)


def test_exit_codes_for_unusable_input_bad_options_and_missing_ray(tmp_path, monkeypatch, capsys):
    assert batch(str(tmp_path / "nope"), "-o", str(tmp_path / "out")) == 2
    assert "no such file or folder" in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "readme.txt").write_text("hi")
    assert batch(str(tmp_path / "empty"), "-o", str(tmp_path / "out")) == 2
    assert "holds no audio files" in capsys.readouterr().err
    (tmp_path / "empty" / "a.wav").write_bytes(b"x")
    assert batch(str(tmp_path / "empty"), "-o", str(tmp_path / "out"), "--shard", "2/2") == 3
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray fails
    assert batch(str(tmp_path / "empty"), "-o", str(tmp_path / "out"), "--executor", "ray") == 3
    assert "pip install 'voiceassist[ray]'" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()  # nothing written before the checks
