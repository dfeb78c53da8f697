"""What every step of the data toolkit shares.

A step reads one JSONL file, writes ``OUT/<name>.jsonl`` (the rows it keeps), ``OUT/rejected.jsonl``
(each dropped row with ``{"line", "reason", "detail", "row"}``) and ``OUT/report.json`` (counts by reason
and anything else the step measured). A malformed input line is reported with its line number and
skipped, or stops the step with ``--strict``; an empty input gives an empty output and a report; an
output folder that already holds results is not overwritten without ``--force``.

**The step-module convention.** Each step is one module ``voiceassist/data/<step>.py`` with

- ``add_arguments(parser: argparse.ArgumentParser) -> None``: the step's own options. The dispatcher
  (voiceassist/cli/data.py) has already added ``input``, ``-o/--output``, ``--force``, ``--strict`` and
  ``-v``; do not add those again.
- ``run(rows: list[tuple[int, Record]], args: argparse.Namespace) -> StepResult``: ``rows`` are the
  input's JSON objects with their 1-based line numbers (malformed lines were already reported and are
  added to the rejected rows by the dispatcher). Put the rows to keep in ``kept``, each dropped row in
  ``rejected`` with a reason code (``result.reject(line, "too_long", detail, row)``), and the step's
  figures in ``report``. Raise ``OptionError`` for a bad option value (exit 3) and ``DataError`` for
  input the step cannot use (exit 2); any other exception is a failure (exit 4, details in the log).
- optionally ``OUTPUT = "name"``: the main output's file name without ``.jsonl`` (default: the step).

``run`` never writes the main outputs itself: the dispatcher writes them with ``write_outputs`` (more
JSONL files beside the main one go in ``StepResult.extra``; other artefacts such as plots may be
written straight into ``args.output``). Heavy libraries are imported inside ``run``, so that
``voiceassist --help`` stays fast and a missing extra is a message, not an import error of every command.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from voiceassist.config_file import write_atomic
from voiceassist.data.records import Record


class DataError(Exception):
    """A step cannot run (bad input path, existing output without --force, --strict on a bad line)."""


class OptionError(DataError):
    """A bad option value or an output that exists without --force (exit 3, not 2)."""


@dataclass(frozen=True)
class Rejected:
    line: int  # 1-based line number in the input (0: not from a line, e.g. a generated row)
    reason: str  # a stable reason code: empty_text, too_long, bad_label, duplicate_id, near_duplicate, ...
    detail: str
    row: Any  # the row as read (a dict, or the raw text of a malformed line)


@dataclass
class StepResult:
    kept: list[Record] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)
    report: dict[str, Any] = field(default_factory=dict)  # step-specific figures, merged into report.json
    extra: dict[str, list[Record]] = field(default_factory=dict)  # more outputs: name -> rows (<name>.jsonl)

    def reject(self, line: int, reason: str, detail: str, row: Any) -> None:
        self.rejected.append(Rejected(line, reason, detail, row))


def read_jsonl(path: Path, strict: bool = False) -> Iterator[tuple[int, Record | None, Rejected | None]]:
    """(line number, row, None) for each object; (line number, None, Rejected) for a line that is not a
    JSON object (``strict``: DataError instead). Blank lines are skipped."""
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    with path.open(encoding="utf-8-sig", errors="replace") as f:  # a BOM is no error
        for n, raw in enumerate(f, 1):
            text = raw.strip()
            if not text:
                continue
            try:
                row = json.loads(text, parse_constant=_no_constant)
                if not isinstance(row, dict):
                    raise ValueError("not a JSON object")
            except ValueError as e:
                msg = f"{path}:{n}: malformed JSON line ({e})"
                if strict:
                    raise DataError(msg) from e
                yield n, None, Rejected(n, "malformed_json", str(e), text[:500])
                continue
            yield n, row, None


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def read_rows(path: Path, strict: bool = False) -> tuple[list[tuple[int, Record]], list[Rejected]]:
    rows, bad = [], []
    for n, row, rej in read_jsonl(path, strict):
        if rej is not None:
            bad.append(rej)
        elif row is not None:
            rows.append((n, row))
    return rows, bad


_SURROGATE = re.compile("[\ud800-\udfff]")


def dumps_row(row: Any) -> str:
    text = json.dumps(row, ensure_ascii=False, allow_nan=False)
    if _SURROGATE.search(text):  # a lone surrogate (read from a \ud800 escape) has no UTF-8 form:
        text = text.encode("utf-8", "backslashreplace").decode("utf-8")  # write it as that JSON escape again
    return text


def output_path(out_dir: Path, name: str) -> Path:
    return out_dir / f"{name}.jsonl"


def check_output(out_dir: Path, name: str, force: bool) -> None:
    """OptionError when ``out_dir`` already holds this step's output and ``force`` is not given."""
    target = output_path(out_dir, name)
    if target.exists() and not force:
        raise OptionError(f"{target} exists: use --force to overwrite it")


def write_outputs(
    out_dir: Path, name: str, result: StepResult, input_path: Path | None, read: int, force: bool = False
) -> dict[str, Any]:
    """Write ``<name>.jsonl``, ``rejected.jsonl`` and ``report.json`` into ``out_dir``; returns the report."""
    check_output(out_dir, name, force)
    target = output_path(out_dir, name)
    out_dir.mkdir(parents=True, exist_ok=True)
    reasons = Counter(r.reason for r in result.rejected)
    report = {
        "step": name,
        "input": str(input_path) if input_path else None,
        "read": read,
        "kept": len(result.kept),
        "rejected": len(result.rejected),
        "reasons": dict(sorted(reasons.items())),
        **result.report,
    }
    write_atomic(target, "".join(dumps_row(r) + "\n" for r in result.kept))
    for extra, rows in result.extra.items():
        write_atomic(output_path(out_dir, extra), "".join(dumps_row(r) + "\n" for r in rows))
    write_atomic(
        out_dir / "rejected.jsonl",
        "".join(
            dumps_row({"line": r.line, "reason": r.reason, "detail": r.detail, "row": r.row}) + "\n"
            for r in result.rejected
        ),
    )
    write_atomic(out_dir / "report.json", json.dumps(report, ensure_ascii=False, indent=2) + "\n")
    return report
