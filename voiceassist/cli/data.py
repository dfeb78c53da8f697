"""``voiceassist data STEP INPUT -o OUT_DIR [--force] [--strict] [step options]``: the data-curation toolkit.

Steps: validate, label, review, dedup, stats, synth, split; each is the module
``voiceassist/data/<step>.py`` (``add_arguments(parser)`` and ``run(rows, args) -> StepResult``, see
voiceassist/data/step.py). This module reads the input, runs the step, and writes ``OUT_DIR/<step>.jsonl``,
``OUT_DIR/rejected.jsonl`` and ``OUT_DIR/report.json``.

Exit codes: 0 done (rows may have been rejected: see the report), 2 unusable input (no such file, a
malformed line with ``--strict``), 3 bad options (a bad value, an existing output without ``--force``),
4 failure (a step that is not available, a missing extra, anything unexpected: one line here, the
details in the log file). A malformed line is reported with its line number and skipped; an empty input
gives an empty output and a report.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

from voiceassist.data.step import DataError, OptionError, check_output, read_rows, write_outputs
from voiceassist.options import EXIT_CONFIG, EXIT_FAILED, EXIT_INPUT, EXIT_OK

log = logging.getLogger(__name__)

STEPS: dict[str, str] = {
    "validate": "check fields, labels, lengths, characters, language, duplicate ids; mask or reject PII",
    "label": "predict emotion and core words with the assistant's text-emotion backend; mark rows to review",
    "review": "go through the rows marked needs_review in the terminal (commands read from stdin)",
    "dedup": "drop exact and near-duplicate rows",
    "stats": "counts, lengths and label distributions of a data set",
    "synth": "generate rows from a seed set",
    "split": "train/dev/test by dialogue, stratified by (lang, emotion), near-duplicates kept together",
}
_LOAD_ERRORS: dict[str, str] = {}  # step -> why its module could not be imported


def _module(step: str) -> ModuleType | None:
    try:
        return importlib.import_module(f"voiceassist.data.{step}")
    except Exception as e:  # a missing or broken step module must not break every other command
        _LOAD_ERRORS[step] = f"{type(e).__name__}: {e}"
        log.debug("voiceassist.data.%s cannot be imported", step, exc_info=True)
        return None


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "data",
        help="curate emotion-dialogue data: validate, label, review, dedup, stats, synth, split",
        description="One JSONL in, one JSONL out per step, with OUT_DIR/report.json (counts) and "
        "OUT_DIR/rejected.jsonl (each dropped row with its reason code).",
    )
    steps = p.add_subparsers(dest="data_command", required=True, metavar="STEP")
    for step, text in STEPS.items():
        mod = _module(step)
        doc = (mod.__doc__ or "").strip() if mod else ""
        sp = steps.add_parser(
            step, help=text, description=doc or text, formatter_class=argparse.RawDescriptionHelpFormatter
        )
        sp.add_argument("input", type=Path, help="the input JSONL file")
        sp.add_argument("-o", "--output", type=Path, required=True, metavar="OUT_DIR", help="the output folder")
        sp.add_argument("--force", action="store_true", help="overwrite the outputs of an earlier run")
        sp.add_argument("--strict", action="store_true", help="stop (exit 2) at the first malformed line")
        sp.add_argument("-v", "--verbose", action="count", default=0)
        if mod is not None and hasattr(mod, "add_arguments"):
            mod.add_arguments(sp)


def _fail(message: str, code: int) -> int:
    print(f"voiceassist data: {message}", file=sys.stderr)
    return code


def _summary(step: str, report: dict[str, Any], out_dir: Path, name: str) -> str:
    reasons = ", ".join(f"{k} {v}" for k, v in report.get("reasons", {}).items())
    rejected = f"{report['rejected']} rejected" + (f" ({reasons})" if reasons else "")
    return (
        f"{step}: {report['read']} read, {report['kept']} kept, {rejected} -> {out_dir / (name + '.jsonl')}, "
        f"{out_dir / 'report.json'}"
    )


def run(args: argparse.Namespace) -> int:
    step: str = args.data_command
    mod = _module(step)
    if mod is None or not hasattr(mod, "run"):
        why = _LOAD_ERRORS.get(step, "it has no run(rows, args)")
        return _fail(f"the {step} step is not available ({why})", EXIT_FAILED)
    name = str(getattr(mod, "OUTPUT", step))
    out_dir: Path = args.output
    try:
        if out_dir.exists() and not out_dir.is_dir():
            raise OptionError(f"{out_dir} is not a folder")
        if not getattr(args, "dry_run", False):  # before the work (a review session is not lost at the end)
            check_output(out_dir, name, args.force)
        rows, bad = read_rows(args.input, args.strict)
    except OptionError as e:
        return _fail(str(e), EXIT_CONFIG)
    except DataError as e:
        return _fail(str(e), EXIT_INPUT)
    except OSError as e:
        return _fail(f"{args.input}: cannot read it: {e.strerror or e}", EXIT_INPUT)
    for r in bad:
        print(f"voiceassist data: {args.input}:{r.line}: malformed JSON line ({r.detail}), skipped", file=sys.stderr)
    try:
        result = mod.run(rows, args)
    except OptionError as e:
        return _fail(str(e), EXIT_CONFIG)
    except DataError as e:
        return _fail(str(e), EXIT_INPUT)
    except ImportError as e:
        log.error("data %s: a package is missing", step, exc_info=True)
        missing = e.name or str(e)
        return _fail(f"{step} needs {missing}: pip install 'voiceassist[data]'", EXIT_FAILED)
    except KeyboardInterrupt:
        return _fail(f"{step} interrupted, nothing written", EXIT_FAILED)
    except Exception as e:  # one line here, the traceback in the log file
        log.error("data %s failed", step, exc_info=True)
        return _fail(f"{step} failed: {e}", EXIT_FAILED)
    result.rejected = sorted([*bad, *result.rejected], key=lambda r: r.line)
    if getattr(args, "dry_run", False):  # e.g. dedup --dry-run --sweep: say what would happen, write nothing
        import json

        print(json.dumps({k: v for k, v in result.report.items() if k != "rows"}, ensure_ascii=False, indent=1))
        return EXIT_OK
    try:
        report = write_outputs(out_dir, name, result, args.input, read=len(rows) + len(bad), force=args.force)
    except OptionError as e:
        return _fail(str(e), EXIT_CONFIG)
    except OSError as e:
        log.error("data %s: writing %s failed", step, out_dir, exc_info=True)
        return _fail(f"cannot write {out_dir}: {e.strerror or e}", EXIT_FAILED)
    print(_summary(step, report, out_dir, name), file=sys.stderr)
    return EXIT_OK
