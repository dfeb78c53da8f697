"""What every step of the data toolkit shares.

A step reads one JSONL file, writes ``OUT/<name>.jsonl`` (the rows it keeps), ``OUT/rejected.jsonl``
(each dropped row with ``{"line", "reason", "detail", "row"}``) and ``OUT/report.json`` (counts by reason
and anything else the step measured). A malformed input line is reported with its line number and
skipped, or stops the step with ``--strict``; an empty input gives an empty output and a report; an
output folder that already holds results is not overwritten without ``--force``.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from voiceassist.config_file import write_atomic
from voiceassist.data.records import Record


class DataError(Exception):
    """A step cannot run (bad input path, existing output without --force, --strict on a bad line)."""


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

    def reject(self, line: int, reason: str, detail: str, row: Any) -> None:
        self.rejected.append(Rejected(line, reason, detail, row))


def read_jsonl(path: Path, strict: bool = False) -> Iterator[tuple[int, Record | None, Rejected | None]]:
    """(line number, row, None) for each object; (line number, None, Rejected) for a line that is not a
    JSON object (``strict``: DataError instead). Blank lines are skipped."""
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    with path.open(encoding="utf-8", errors="replace") as f:
        for n, raw in enumerate(f, 1):
            text = raw.strip()
            if not text:
                continue
            try:
                row = json.loads(text)
                if not isinstance(row, dict):
                    raise ValueError("not a JSON object")
            except ValueError as e:
                msg = f"{path}:{n}: malformed JSON line ({e})"
                if strict:
                    raise DataError(msg) from e
                yield n, None, Rejected(n, "malformed_json", str(e), text[:500])
                continue
            yield n, row, None


def read_rows(path: Path, strict: bool = False) -> tuple[list[tuple[int, Record]], list[Rejected]]:
    rows, bad = [], []
    for n, row, rej in read_jsonl(path, strict):
        if rej is not None:
            bad.append(rej)
        elif row is not None:
            rows.append((n, row))
    return rows, bad


def dumps_row(row: Any) -> str:
    return json.dumps(row, ensure_ascii=False, allow_nan=False)


def write_outputs(
    out_dir: Path, name: str, result: StepResult, input_path: Path | None, read: int, force: bool = False
) -> dict[str, Any]:
    """Write ``<name>.jsonl``, ``rejected.jsonl`` and ``report.json`` into ``out_dir``; returns the report."""
    target = out_dir / f"{name}.jsonl"
    if target.exists() and not force:
        raise DataError(f"{target} exists: use --force to overwrite it")
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
    write_atomic(
        out_dir / "rejected.jsonl",
        "".join(
            dumps_row({"line": r.line, "reason": r.reason, "detail": r.detail, "row": r.row}) + "\n"
            for r in result.rejected
        ),
    )
    write_atomic(out_dir / "report.json", json.dumps(report, ensure_ascii=False, indent=2) + "\n")
    return report
