"""``voiceassist data validate|label|review|dedup|stats|synth|split``: the data-curation toolkit
(voiceassist/data/)."""

from __future__ import annotations

import argparse

from voiceassist.options import EXIT_FAILED


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("data", help="curate emotion-dialogue data: validate, label, review, dedup, stats, synth, split")
    p.add_subparsers(dest="data_command", required=True)


def run(args: argparse.Namespace) -> int:
    return EXIT_FAILED
