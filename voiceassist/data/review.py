"""``voiceassist data review``: go through the rows marked ``needs_review`` (by ``label``) one by one.

For each row it shows the text (and response), the current label, the prediction with its confidence
and the core words, then reads one command per line from standard input, so it works the same in a
terminal and with a script piped in (``printf 'a\\n4\\nq\\n' | voiceassist data review ...``):

- ``a``: accept the current label; ``p``: take the predicted label;
- ``1``-``9`` or a label name (English or Chinese, e.g. ``happy`` or ``开心``): relabel;
- ``s``: skip (the row stays marked); ``q`` (or the end of the input, or Ctrl-C): quit and save.

A decided row gets ``needs_review: false`` and ``"review": {"by", "at", "from", "to", "action"}`` (``by``:
``--reviewer`` or $USER; ``at``: ISO time, UTC). Every row is written out, reviewed or not, in order.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import getpass
import os
import sys
from typing import Any, TextIO

from voiceassist.data.records import Record
from voiceassist.data.step import StepResult
from voiceassist.emotion.labels import LABELS, LABELS_ZH

OUTPUT = "review"
_BY_NAME = {**{name: name for name in LABELS}, **{zh: name for name, zh in LABELS_ZH.items()}}
_MENU = "  ".join(f"{i} {name}" for i, name in enumerate(LABELS, 1))


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--reviewer", help="who is reviewing (default: $USER)")


def reviewer(args: argparse.Namespace) -> str:
    if getattr(args, "reviewer", None):
        return str(args.reviewer)
    try:
        return os.environ.get("USER") or getpass.getuser()
    except (OSError, KeyError):
        return "unknown"


def parse_command(text: str) -> tuple[str, str | None] | None:
    """("accept"|"predicted"|"skip"|"quit", None) or ("relabel", label); None for anything else."""
    cmd = text.strip()
    low = cmd.lower()
    if low in ("a", "accept"):
        return "accept", None
    if low in ("p", "predicted"):
        return "predicted", None
    if low in ("s", "skip"):
        return "skip", None
    if low in ("q", "quit"):
        return "quit", None
    if low.isdigit() and 1 <= int(low) <= len(LABELS):
        return "relabel", LABELS[int(low) - 1]
    if low in _BY_NAME or cmd in _BY_NAME:
        return "relabel", _BY_NAME.get(low) or _BY_NAME[cmd]
    return None


def show(row: Record, line: int, i: int, n: int, out: TextIO) -> None:
    pred = row.get("emotion_pred")
    conf = row.get("confidence")
    conf_text = f" ({conf:.2f})" if isinstance(conf, (int, float)) else ""
    words = row.get("core_words_pred") or row.get("core_words") or []
    print(f"\n[{i}/{n}] line {line}  dialogue {row.get('dialogue_id')}  ({row.get('lang', '?')})", file=out)
    print(f"  text:       {row.get('text', '')}", file=out)
    if row.get("response"):
        print(f"  response:   {row['response']}", file=out)
    given = f"  (before labelling: {row['emotion_given']})" if row.get("emotion_given") else ""
    print(f"  label:      {row.get('emotion') or '-'}{given}", file=out)
    print(f"  predicted:  {pred or '-'}{conf_text}", file=out)
    print(f"  core words: {', '.join(map(str, words)) or '-'}", file=out)


def _prompt(row: Record, out: TextIO) -> None:
    print(f"  {_MENU}", file=out)
    print(
        f"  a accept {row.get('emotion') or '-'} | p take {row.get('emotion_pred') or '-'} | 1-9 or a name: "
        "relabel | s skip | q quit and save",
        file=out,
    )
    print("> ", end="", file=out, flush=True)


def _new_label(row: Record, kind: str, label: str | None) -> str | None:
    """The label an accept / predicted / relabel command gives the row, or None when it has none."""
    old, pred = row.get("emotion"), row.get("emotion_pred")
    new = {"accept": old if old in LABELS else pred, "predicted": pred}.get(kind, label)
    return new if isinstance(new, str) and new in LABELS else None


def _ask(row: Record, inp: TextIO, out: TextIO) -> tuple[str, str | None]:
    """Read commands until one decides the row: ("quit"|"skip", None) or (kind, new label)."""
    while True:
        _prompt(row, out)
        try:
            raw = inp.readline()
        except KeyboardInterrupt:  # Ctrl-C in a terminal: like q, what was decided is saved
            raw = ""
        if not raw:  # end of input (Ctrl-D): quit and save
            return "quit", None
        action = parse_command(raw)
        if action is None:
            print(f"  unknown command {raw.strip()!r}", file=out)
            continue
        kind, label = action
        if kind in ("quit", "skip"):
            return kind, None
        new = _new_label(row, kind, label)
        if new is None:
            print("  no label to take here: relabel with 1-9 or a name, or skip", file=out)
            continue
        return kind, new


def run(rows: list[tuple[int, Record]], args: argparse.Namespace) -> StepResult:
    inp: TextIO = getattr(args, "stdin", None) or sys.stdin
    out: TextIO = getattr(args, "stdout", None) or sys.stdout
    by = reviewer(args)
    todo = [i for i, (_, row) in enumerate(rows) if row.get("needs_review") is True]
    kept: list[Record] = [dict(row) for _, row in rows]
    counts = {"accepted": 0, "relabelled": 0, "skipped": 0}
    quit_early = False
    for k, i in enumerate(todo, 1):
        row = kept[i]
        show(row, rows[i][0], k, len(todo), out)
        kind, new = _ask(row, inp, out)
        if kind == "quit":
            quit_early = True
            break
        if kind == "skip" or new is None:
            counts["skipped"] += 1
            continue
        old = row.get("emotion")
        counts["accepted" if new == old else "relabelled"] += 1
        row["emotion"] = new
        row["needs_review"] = False
        row["review"] = _record(by, old, new, kind)
        print(f"  -> {new}", file=out)
    remaining = sum(1 for r in kept if r.get("needs_review") is True)
    decided = counts["accepted"] + counts["relabelled"]
    print(f"\nreviewed {decided}, skipped {counts['skipped']}, {remaining} still marked", file=out)
    report: dict[str, Any] = {"reviewer": by, "to_review": len(todo), **counts, "remaining": remaining}
    report["quit_early"] = quit_early
    return StepResult(kept=kept, report=report)


def _record(by: str, old: Any, new: str, kind: str) -> dict[str, Any]:
    at = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
    return {"by": by, "at": at, "from": old, "to": new, "action": kind}
