"""Command line: ``voiceassist analyze | listen | app | serve | say | alerts | models | devices | config-path``.

One module per command below this package; each front end (this CLI, the window, the API server) drives a
``Session`` (voiceassist/session.py) and never imports another front end.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from pathlib import Path

from voiceassist import __version__
from voiceassist.config import ConfigError, default_config_path
from voiceassist.logs import setup_logging
from voiceassist.options import EXIT_CONFIG, EXIT_FAILED, EXIT_OK, add_common, config_from_args

log = logging.getLogger(__name__)

# command -> module in this package with ``add_parser(subparsers)`` and ``run(args) -> exit code``
TOOL_COMMANDS = {
    "data": "data",
    "analyze-batch": "batch",
    "train": "train",
    "eval": "evaluate",
    "report": "report",
    "privacy": "privacy",
    "feedback": "feedback",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="voiceassist", description="Emotion-aware voice assistant")
    parser.add_argument("--version", action="version", version=f"voiceassist {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    a = sub.add_parser("analyze", help="segment and transcribe a recording into one JSON document")
    a.add_argument("file", type=Path)
    a.add_argument("-o", "--output", type=Path, help="write the JSON here (default: print it)")
    a.add_argument("--realtime", action="store_true", help="replay at real-time speed, as if live")
    a.add_argument(
        "--granularity",
        choices=["utterance", "frame"],
        default="utterance",
        help="frame: add each segment's frame-level emotion curves (50 frames/s)",
    )
    a.add_argument(
        "--embeddings",
        type=Path,
        metavar="DIR",
        help="write emotion embeddings as .npy: seg<ID>.npy (D,), and with --granularity frame "
        "seg<ID>_frames.npy (T, D)",
    )
    a.add_argument("--no-emotion", action="store_true", help="segment and transcribe only")
    add_common(a)

    li = sub.add_parser("listen", help="live: microphone to events, printed as they happen")
    li.add_argument("--input", help="input device name or index (see 'voiceassist devices')")
    li.add_argument("--file", type=Path, help="replay this recording in real time instead of the microphone")
    li.add_argument("--seconds", type=float, default=0, help="stop after this many seconds (0: until Ctrl-C)")
    li.add_argument("--json", action="store_true", help="one JSON object per line instead of text")
    add_common(li)

    al = sub.add_parser("alerts", help="caregiver alerts: test, status, set-pin, on, off")
    al_sub = al.add_subparsers(dest="alerts_command", required=True)
    for name, text in (
        ("test", "send a test alert through the configured channels"),
        ("status", "recent alerts and deliveries still pending"),
        ("set-pin", "set or change the caregiver PIN"),
        ("reset-pin", "set a new PIN without the old one (the caregiver is told)"),
        ("on", "turn alerts on (asks for the PIN)"),
        ("off", "turn alerts off (asks for the PIN)"),
    ):
        p = al_sub.add_parser(name, help=text)
        p.add_argument("--config", type=Path, default=None, help="config TOML (default: the user config file)")
        p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
        p.add_argument("--pin", help="the caregiver PIN (default: asked for, not echoed)")
        p.add_argument("--new-pin", help="set-pin/reset-pin: the new PIN (default: asked for)")
        p.add_argument("--outbox", type=Path, help=argparse.SUPPRESS)
        p.add_argument("-v", "--verbose", action="count", default=0)

    # listed here for --help; "voiceassist app" itself is run by the window's own entry (voiceassist/entry.py)
    sub.add_parser(
        "app", help="the desktop window (live view, mood timeline, settings); see 'voiceassist app -h'", add_help=False
    )
    # likewise "voiceassist serve" (voiceassist/api/serve.py, docs/api.md)
    sub.add_parser("serve", help="the local API server (HTTP + WebSocket); see 'voiceassist serve -h'", add_help=False)

    mo = sub.add_parser("models", help="list, pull, verify or remove models")
    mo_sub = mo.add_subparsers(dest="models_command", required=True)
    for name, text in (
        ("list", "what is supported and what is installed"),
        ("pull", "download and install a model"),
        ("verify", "check installed models against their hub metadata"),
        ("remove", "delete an installed model"),
        ("gpu", "what GPU was detected, and for what"),
    ):
        p = mo_sub.add_parser(name, help=text)
        if name == "remove":
            p.add_argument("name")
        if name == "pull":
            p.add_argument("name", nargs="?", help="a model of 'voiceassist models list'")
            p.add_argument(
                "--recommended",
                action="store_true",
                help="the Emotion2Vec+ size for this machine (GPU: large or base; CPU: base or seed)",
            )
        if name == "verify":
            p.add_argument("name", nargs="?")
        if name == "pull":
            p.add_argument("--hub", choices=["hf", "ms"], default="hf", help="Hugging Face (default) or ModelScope")
            p.add_argument("--endpoint", help="hub address (default: huggingface.co, or $HF_ENDPOINT)")
        p.add_argument("--models-dir", type=Path, help="default: models/ in a checkout, else the user data dir")
        p.add_argument("--catalogue", type=Path, help=argparse.SUPPRESS)

    sy = sub.add_parser("say", help="speak TEXT in a tone, into a WAV file (or through the speakers)")
    sy.add_argument("text")
    sy.add_argument(
        "--tone",
        default="neutral",
        help="calm, empathetic, reassuring, gentle, neutral, curious, cheerful; or an emotion "
        "(sad, angry, happy, fearful, surprised) for its reply tone",
    )
    sy.add_argument("--language", choices=["auto", "en", "zh"], default="auto")
    sy.add_argument("-o", "--output", type=Path, help="write a WAV here (default: play it)")
    sy.add_argument("--config", type=Path, default=None)
    sy.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    sy.add_argument("-v", "--verbose", action="count", default=0)

    for name in TOOL_COMMANDS:  # commands with their own module (and their own options)
        importlib.import_module(f"voiceassist.cli.{TOOL_COMMANDS[name]}").add_parser(sub)
    sub.add_parser("devices", help="list audio input devices")
    sub.add_parser("config-path", help="print where the config file is read from")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "config-path":
        print(default_config_path())
        return EXIT_OK
    setup_logging(getattr(args, "verbose", 0))
    if args.command == "devices":
        from voiceassist.cli.say import cmd_devices

        return cmd_devices()
    if args.command == "alerts":
        from voiceassist.cli.alerts import cmd_alerts

        return cmd_alerts(args)
    if args.command == "say":
        from voiceassist.cli.say import cmd_say

        return cmd_say(args)
    if args.command in TOOL_COMMANDS:
        return int(importlib.import_module(f"voiceassist.cli.{TOOL_COMMANDS[args.command]}").run(args))
    if args.command == "models":
        from voiceassist.cli.models import cmd_models

        return cmd_models(args)
    try:
        cfg = config_from_args(args)
    except ConfigError as e:
        print(f"voiceassist: configuration error: {e}", file=sys.stderr)
        return EXIT_CONFIG
    try:
        if args.command == "analyze":
            from voiceassist.cli.analyze import cmd_analyze

            return cmd_analyze(args, cfg)
        from voiceassist.cli.listen import cmd_listen

        return cmd_listen(args, cfg)
    except Exception as e:  # a last line of defence: a message, the details in the log, no traceback
        log.error("%s failed", args.command, exc_info=True)
        print(f"voiceassist: {args.command} failed: {e}", file=sys.stderr)
        return EXIT_FAILED
