"""``voiceassist train``: train the text-emotion and reply models (voiceassist/train/)."""

from __future__ import annotations

import argparse

from voiceassist.options import EXIT_FAILED


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    sub.add_parser("train", help="train the text-emotion and reply models")


def run(args: argparse.Namespace) -> int:
    return EXIT_FAILED
