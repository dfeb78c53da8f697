"""``voiceassist analyze-batch MANIFEST_OR_FOLDER -o OUT_DIR``: analyze many recordings (resumable,
shardable, optionally on Ray)."""

from __future__ import annotations

import argparse

from voiceassist.options import EXIT_FAILED


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    sub.add_parser("analyze-batch", help="analyze many recordings into one result.json each")


def run(args: argparse.Namespace) -> int:
    return EXIT_FAILED
