"""``voiceassist report --from DATE --to DATE -o report.html [--language en|zh]`` and
``voiceassist report --weekly``: the caregiver report (voiceassist/review/report.py) as one HTML page that a
browser prints to PDF, or last week's report by e-mail when the person has agreed (privacy.weekly_report).

Exit codes: 0 written (or sent, or nothing due), 2 a range with no conversation (said, nothing written) or
a date that is not YYYY-MM-DD (argparse's message), 3 bad options or configuration (a range that ends before
it starts, no store, no consent or no e-mail for --weekly),
4 failure (a sending that failed, anything unexpected: one line here, the details in the log).
"""

from __future__ import annotations

import argparse
import logging
import sys
from datetime import date, timedelta
from pathlib import Path

from voiceassist.config import ConfigError, default_config_path, load_config
from voiceassist.options import EXIT_CONFIG, EXIT_FAILED, EXIT_INPUT, EXIT_OK

log = logging.getLogger(__name__)


def _date(text: str) -> date:
    if text == "today":
        return date.today()
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date: use YYYY-MM-DD, e.g. 2026-03-01") from None


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "report",
        help="the caregiver report: mood over a date range as an HTML page (print it to PDF)",
        description="Mood by day over a range, in words and charts, against the person's own baseline and the "
        "range before it. No words of the conversation unless alerts.include_transcript is on.",
    )
    p.add_argument("--from", dest="start", type=_date, help="first day, YYYY-MM-DD (default: 6 days before --to)")
    p.add_argument("--to", dest="end", type=_date, help="last day, YYYY-MM-DD or today (default: today)")
    p.add_argument("-o", "--output", type=Path, help="the HTML file to write (default: report-FROM-TO.html)")
    p.add_argument("--language", choices=["auto", "en", "zh"], help="the report's language (default: ui.language)")
    p.add_argument(
        "--weekly",
        action="store_true",
        help="e-mail last week's report to the caregiver if it is due and the person agreed (privacy.weekly_report)",
    )
    p.add_argument("--force", action="store_true", help="with --weekly: send even if that week was sent already")
    p.add_argument("--store", type=Path, help="the session store (default: store.path or the user data dir)")
    p.add_argument("--config", type=Path, default=None, help="config TOML (default: the user config file)")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    p.add_argument("-v", "--verbose", action="count", default=0)


def run(args: argparse.Namespace) -> int:
    try:
        cfg = load_config(args.config or default_config_path(), args.overrides, explicit=args.config is not None)
    except ConfigError as e:
        print(f"voiceassist: configuration error: {e}", file=sys.stderr)
        return EXIT_CONFIG
    from voiceassist.storage import SessionStore, default_store_path

    path = args.store or (Path(cfg.store.path) if cfg.store.path else default_store_path())
    if not path.is_file():
        print(f"voiceassist: no session store at {path}: nothing has been recorded yet", file=sys.stderr)
        return EXIT_CONFIG
    language = None if args.language in (None, "auto") else args.language
    store = SessionStore(path)
    try:
        if args.weekly:
            return _weekly(cfg, store, args.force, language)
        return _report(cfg, store, args, language)
    except Exception as e:  # one line here, the details in the log file
        log.error("report failed", exc_info=True)
        print(f"voiceassist: report failed: {e}", file=sys.stderr)
        return EXIT_FAILED
    finally:
        store.close()


def _report(cfg: object, store: object, args: argparse.Namespace, language: str | None) -> int:
    from voiceassist.review.charts import ChartsUnavailable
    from voiceassist.review.report import EmptyRange, ReportOptions, write_report

    end = args.end or date.today()
    start = args.start or end - timedelta(days=6)
    if end < start:
        print(f"voiceassist: the range ends ({end}) before it starts ({start})", file=sys.stderr)
        return EXIT_CONFIG
    out = args.output or Path(f"report-{start}-{end}.html")
    opts = ReportOptions.from_config(cfg, language)
    try:
        write_report(store, start, end, out, opts)
    except EmptyRange as e:
        print(f"voiceassist: {e} Nothing written.", file=sys.stderr)
        return EXIT_INPUT
    except ChartsUnavailable as e:
        print(f"voiceassist: {e}", file=sys.stderr)
        return EXIT_CONFIG
    print(f"report for {start} to {end} written to {out} (open it in a browser; print it to PDF from there)")
    return EXIT_OK


def _weekly(cfg: object, store: object, force: bool, language: str | None) -> int:
    from voiceassist.review.weekly import send_weekly_report

    result = send_weekly_report(cfg, store, force=force, language=language)
    print(result.message)
    if result.sent or result.message.startswith("already sent"):
        return EXIT_OK
    return EXIT_FAILED if result.message.startswith("not sent: e-mail") else EXIT_CONFIG
