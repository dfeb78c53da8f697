"""``voiceassist eval text-emotion --model FOLDER|lexicon --data TEST.jsonl [-o REPORT_DIR] [--json]``.

Accuracy, macro-F1, per-class precision/recall/F1/support, confusion matrix and calibration (ECE over 15
bins, reliability diagram), for all rows and per language; printed as a table (or the JSON report with
``--json``), and with ``-o`` written as report.json, confusion.json, confusion.png and reliability.png.
Exit codes: 0 done, 3 bad input (a malformed line or a label outside the 9: the message names the file
and line; a model folder with a missing or mismatched file), 4 failure.

``voiceassist eval reply --model FOLDER|strategy --data TEST.jsonl [-o REPORT_DIR] [--json]``: a reply per
row (the reply planner's, or a generative model folder's as the generative backend would use it, with its
safety filter and strategy fallback, counted), scored against the row's reference response: BLEU
(sacreBLEU, signature printed), ROUGE-L (words for English, characters for Chinese), distinct-1/2, length,
and the share of replies whose tone fits the emotion (voiceassist/train/reply_metrics.py); per language and
overall. With ``-o``: report.json and replies.jsonl. Same exit codes (3 also for a row without a response).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from voiceassist.cli import speech_emotion
from voiceassist.options import EXIT_CONFIG, EXIT_FAILED, EXIT_OK

log = logging.getLogger(__name__)


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("eval", help="evaluate the text-emotion model (or the lexicon), or the replies, on a file")
    models = p.add_subparsers(dest="eval_command", required=True, metavar="MODEL")
    e = models.add_parser(
        "text-emotion",
        help="accuracy, macro-F1, per-class scores, confusion and calibration, per language",
        description="Score a model folder (from 'voiceassist train text-emotion', or a transformers classifier) or "
        "the lexicon on JSONL records (text, lang, emotion) or a label<TAB>lang<TAB>text file.",
    )
    e.add_argument("--model", required=True, metavar="FOLDER|lexicon", help="a model folder, or 'lexicon'")
    e.add_argument("--data", type=Path, required=True, metavar="TEST.jsonl", help="the labelled rows")
    e.add_argument("-o", "--output", type=Path, metavar="REPORT_DIR", help="write the report and plots here")
    e.add_argument("--json", action="store_true", help="print the JSON report instead of the table")
    e.add_argument("-v", "--verbose", action="count", default=0)
    r = models.add_parser(
        "reply",
        help="BLEU, ROUGE-L, distinct-n, length and tone fit of replies against reference responses",
        description="Generate a reply per row (the strategy planner, or a model folder from 'voiceassist train "
        "reply' used as the generative backend uses it) of JSONL records (text, lang, emotion, response) and score "
        "it against the row's response, per language and overall.",
    )
    r.add_argument("--model", required=True, metavar="FOLDER|strategy", help="a model folder, or 'strategy'")
    r.add_argument("--data", type=Path, required=True, metavar="TEST.jsonl", help="rows with reference responses")
    r.add_argument("-o", "--output", type=Path, metavar="REPORT_DIR", help="write report.json and replies.jsonl")
    r.add_argument("--json", action="store_true", help="print the JSON report instead of the table")
    r.add_argument("--max-new-tokens", type=int, default=0, help="model: default reply.max_new_tokens (60)")
    r.add_argument("--timeout", type=float, default=0.0, help="model: seconds per reply, default reply.timeout_s (3)")
    r.add_argument("--seed", type=int, default=0, help="the planner's choice among reply variants")
    r.add_argument("--threads", type=int, default=1, help="model: torch threads (default 1; 0: torch's default)")
    r.add_argument("-v", "--verbose", action="count", default=0)
    speech_emotion.add_eval_parser(models)


def run(args: argparse.Namespace) -> int:
    if args.eval_command == "reply":
        return _run_reply(args)
    if args.eval_command == "speech-emotion":
        return speech_emotion.run_eval(args, _report)
    from voiceassist.train.dataset import read_data
    from voiceassist.train.evaluate import evaluate, format_report, write_report

    def work() -> tuple[dict[str, Any], list[Path]]:
        report = evaluate(args.model, read_data(args.data, "evaluation"))
        return report, (write_report(report, args.output) if args.output else [])

    return _report(args, work, format_report, "")


def _run_reply(args: argparse.Namespace) -> int:
    from voiceassist.train.reply_data import read_reply_data
    from voiceassist.train.reply_eval import evaluate, format_report, write_report

    if args.max_new_tokens < 0 or args.timeout < 0 or args.threads < 0:
        print("voiceassist eval: --max-new-tokens, --timeout and --threads cannot be negative", file=sys.stderr)
        return EXIT_CONFIG

    def work() -> tuple[dict[str, Any], list[Path]]:
        data = read_reply_data(args.data, "evaluation")
        report, replies = evaluate(
            args.model,
            data,
            max_new_tokens=args.max_new_tokens,
            timeout_s=args.timeout,
            seed=args.seed,
            threads=args.threads,
        )
        return report, (write_report(report, replies, args.output) if args.output else [])

    return _report(args, work, format_report, " (pip install sacrebleu; for a model folder also torch transformers)")


def _report(
    args: argparse.Namespace,
    work: Callable[[], tuple[dict[str, Any], list[Path]]],
    format_report: Callable[[dict[str, Any]], str],
    missing_hint: str,
) -> int:
    """Run an evaluation, print its report (text or --json) and say what was written; errors in one line."""
    from voiceassist.train import TrainError

    try:
        report, paths = work()
    except TrainError as e:
        print(f"voiceassist eval: {e}", file=sys.stderr)
        return EXIT_CONFIG
    except ImportError as e:
        log.error("eval: a package is missing", exc_info=True)
        print(f"voiceassist eval: a package is missing: {e.name or e}{missing_hint}", file=sys.stderr)
        return EXIT_FAILED
    except Exception as e:  # one line here, the traceback in the log file
        log.error("eval failed", exc_info=True)
        print(f"voiceassist eval: evaluation failed: {e}", file=sys.stderr)
        return EXIT_FAILED
    print(json.dumps(report, ensure_ascii=False, indent=2) if args.json else format_report(report))
    if paths:
        print(f"voiceassist eval: wrote {', '.join(str(p) for p in paths)}", file=sys.stderr)
    return EXIT_OK
