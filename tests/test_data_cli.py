"""``voiceassist data STEP INPUT -o OUT_DIR``: malformed lines (reported with their number, or --strict),
empty input, --force, exit codes, and the dispatch to every step module."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from voiceassist.cli import build_parser
from voiceassist.cli import data as cli_data

GOOD = [
    {"dialogue_id": "a", "lang": "zh", "text": "我今天特别开心", "emotion": "happy"},
    {"dialogue_id": "b", "lang": "en", "text": "I am so angry at my boss", "emotion": "angry"},
    {"dialogue_id": "c", "lang": "en", "text": "call me at (415) 555-2671 please", "emotion": "neutral"},
]


def jsonl(path: Path, rows: list, raw: dict[int, str] | None = None) -> Path:
    """Rows as JSONL; ``raw``: line number -> a literal line put there instead."""
    lines = [json.dumps(r, ensure_ascii=False) for r in rows]
    for n, text in sorted((raw or {}).items()):
        lines.insert(n - 1, text)
    path.write_text("".join(x + "\n" for x in lines), encoding="utf-8")
    return path


def read(path: Path) -> list:
    return [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines()]


def cli(*args: str, stdin: str = "") -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "voiceassist", "data", *args], input=stdin, capture_output=True, text=True, timeout=60
    )


def inproc(capsys, *argv: str) -> tuple[int, str]:
    rc = cli_data.run(build_parser().parse_args(["data", *argv]))
    return rc, capsys.readouterr().err


def test_malformed_lines_are_reported_with_their_number_and_skipped(tmp_path):
    src = jsonl(tmp_path / "in.jsonl", GOOD, raw={2: "{not json", 4: "", 5: "[1, 2]"})
    out = tmp_path / "out"
    p = cli("validate", str(src), "-o", str(out))
    assert p.returncode == 0, p.stderr
    assert f"{src}:2: malformed JSON line" in p.stderr and f"{src}:5: malformed JSON line" in p.stderr
    assert "Traceback" not in p.stderr
    assert [r["dialogue_id"] for r in read(out / "validate.jsonl")] == ["a", "b", "c"]
    assert read(out / "validate.jsonl")[2]["text"] == "call me at [PHONE] please"
    rejected = read(out / "rejected.jsonl")
    assert [(r["line"], r["reason"], r["row"]) for r in rejected] == [
        (2, "malformed_json", "{not json"),
        (5, "malformed_json", "[1, 2]"),
    ]
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert (report["read"], report["kept"], report["rejected"]) == (5, 3, 2)
    assert report["reasons"] == {"malformed_json": 2} and report["pii"]["found"]["phone"] == 1


def test_strict_stops_at_the_first_malformed_line(tmp_path):
    src = jsonl(tmp_path / "in.jsonl", GOOD, raw={3: "{broken"})
    out = tmp_path / "out"
    p = cli("validate", str(src), "-o", str(out), "--strict")
    assert p.returncode == 2
    assert f"{src}:3: malformed JSON line" in p.stderr and "Traceback" not in p.stderr
    assert not (out / "validate.jsonl").exists()


@pytest.mark.parametrize("step", ["validate", "label", "review", "split"])
def test_an_empty_file_gives_an_empty_output_and_a_report(tmp_path, capsys, step):
    src = tmp_path / "empty.jsonl"
    src.write_text("\n\n", encoding="utf-8")
    out = tmp_path / "out"
    rc, err = inproc(capsys, step, str(src), "-o", str(out))
    assert rc == 0, err
    assert (out / f"{step}.jsonl").read_text(encoding="utf-8") == ""
    assert (out / "rejected.jsonl").read_text(encoding="utf-8") == ""
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert (report["step"], report["read"], report["kept"], report["rejected"]) == (step, 0, 0, 0)


def test_an_existing_output_needs_force(tmp_path):
    src = jsonl(tmp_path / "in.jsonl", GOOD[:1])
    out = tmp_path / "out"
    assert cli("validate", str(src), "-o", str(out)).returncode == 0
    jsonl(src, GOOD)
    p = cli("validate", str(src), "-o", str(out))
    assert p.returncode == 3 and "--force" in p.stderr
    assert len(read(out / "validate.jsonl")) == 1  # untouched
    p = cli("validate", str(src), "-o", str(out), "--force")
    assert p.returncode == 0, p.stderr
    assert len(read(out / "validate.jsonl")) == 3


def test_review_refuses_an_existing_output_before_asking_anything(tmp_path):
    src = jsonl(tmp_path / "in.jsonl", [{**GOOD[0], "needs_review": True, "emotion_pred": "sad"}])
    out = tmp_path / "out"
    (out).mkdir()
    (out / "review.jsonl").write_text("", encoding="utf-8")
    p = cli("review", str(src), "-o", str(out), stdin="4\n")
    assert p.returncode == 3 and "--force" in p.stderr
    assert "我今天特别开心" not in p.stdout  # no row was shown


def test_exit_codes(tmp_path, capsys):
    src = jsonl(tmp_path / "in.jsonl", GOOD)
    rc, err = inproc(capsys, "validate", str(tmp_path / "missing.jsonl"), "-o", str(tmp_path / "o1"))
    assert rc == 2 and "no such file" in err
    rc, err = inproc(capsys, "validate", str(tmp_path), "-o", str(tmp_path / "o2"))  # a folder
    assert rc == 2
    rc, err = inproc(capsys, "split", str(src), "-o", str(tmp_path / "o3"), "--ratios", "1,2,3")
    assert rc == 3 and "--ratios" in err and not (tmp_path / "o3").exists()
    rc, err = inproc(capsys, "label", str(src), "-o", str(tmp_path / "o4"), "--set", "emotion.nope=1")
    assert rc == 3
    (tmp_path / "afile").write_text("x", encoding="utf-8")
    rc, err = inproc(capsys, "validate", str(src), "-o", str(tmp_path / "afile"))
    assert rc == 3 and "not a folder" in err


def test_a_step_that_is_not_available_is_exit_4(tmp_path, capsys, monkeypatch):
    src = jsonl(tmp_path / "in.jsonl", GOOD)
    args = build_parser().parse_args(["data", "stats", str(src), "-o", str(tmp_path / "out")])

    def missing(step: str):
        cli_data._LOAD_ERRORS[step] = "ModuleNotFoundError: No module named 'voiceassist.data.stats'"
        return None

    monkeypatch.setattr(cli_data, "_module", missing)
    assert cli_data.run(args) == 4
    err = capsys.readouterr().err
    assert "stats step is not available" in err and "No module named" in err
    assert not (tmp_path / "out").exists()


def test_a_step_that_fails_is_one_line_and_exit_4(tmp_path, capsys, monkeypatch):
    src = jsonl(tmp_path / "in.jsonl", GOOD)
    args = build_parser().parse_args(["data", "validate", str(src), "-o", str(tmp_path / "out")])
    mod = cli_data._module("validate")

    def boom(rows, args):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(mod, "run", boom)
    assert cli_data.run(args) == 4
    assert "validate failed: disk on fire" in capsys.readouterr().err


def test_rows_that_cannot_be_written_as_utf8_or_strict_json_are_rejected_not_fatal(tmp_path, capsys):
    src = tmp_path / "in.jsonl"
    src.write_text(
        '{"dialogue_id": "s", "lang": "en", "text": "bad \\ud800 surrogate here"}\n'
        '{"dialogue_id": "n", "lang": "en", "text": "not a number here", "x": NaN}\n' + json.dumps(GOOD[1]) + "\n",
        encoding="utf-8",
    )
    out = tmp_path / "out"
    rc, err = inproc(capsys, "validate", str(src), "-o", str(out))
    assert rc == 0, err
    rejected = read(out / "rejected.jsonl")
    assert [(r["line"], r["reason"]) for r in rejected] == [(1, "bad_chars"), (2, "malformed_json")]
    assert rejected[0]["row"]["text"] == "bad \ud800 surrogate here"  # written back as the same escape
    assert [r["dialogue_id"] for r in read(out / "validate.jsonl")] == ["b"]


def test_validate_label_split_and_dedup_chain(tmp_path, capsys):
    rows = [
        {"dialogue_id": f"d{i}", "lang": "zh", "text": t, "emotion": e}
        for i, (t, e) in enumerate(
            [("我今天特别开心", "happy"), ("我好难过，想哭", "sad"), ("我好难过，想哭！", "sad"), ("我很害怕打雷", "")]
        )
    ]
    src = jsonl(tmp_path / "in.jsonl", rows)
    assert inproc(capsys, "validate", str(src), "-o", str(tmp_path / "v"))[0] == 0
    assert inproc(capsys, "label", str(tmp_path / "v/validate.jsonl"), "-o", str(tmp_path / "l"))[0] == 0
    labelled = read(tmp_path / "l/label.jsonl")
    assert labelled[3]["emotion"] == labelled[3]["emotion_pred"] == "fearful"
    rc, err = inproc(capsys, "dedup", str(tmp_path / "l/label.jsonl"), "-o", str(tmp_path / "d"), "--no-semantic")
    assert rc == 0, err
    assert [r["dialogue_id"] for r in read(tmp_path / "d/dedup.jsonl")] == ["d0", "d1", "d3"]
    rc, err = inproc(capsys, "split", str(tmp_path / "l/label.jsonl"), "-o", str(tmp_path / "s"))
    assert rc == 0 and "split: 4 read, 4 kept" in err
    by = {r["dialogue_id"]: r["split"] for r in read(tmp_path / "s/split.jsonl")}
    assert by["d1"] == by["d2"]  # near-duplicates in one split
    assert sum(len(read(tmp_path / "s" / f"{s}.jsonl")) for s in ("train", "dev", "test")) == 4


def test_every_step_has_a_subcommand_with_the_common_options():
    parser = build_parser()
    for step in cli_data.STEPS:
        args = parser.parse_args(["data", step, "in.jsonl", "-o", "out", "--force", "--strict"])
        assert (args.data_command, args.force, args.strict) == (step, True, True)
        assert args.input == Path("in.jsonl") and args.output == Path("out")
