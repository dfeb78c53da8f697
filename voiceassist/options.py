"""What every front end shares on its command line: exit codes, the common options (--config, --set,
--language, --model, --device, -v), and loading the configuration from them."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from voiceassist.config import Config, default_config_path, load_config

EXIT_OK, EXIT_INPUT, EXIT_CONFIG, EXIT_FAILED = 0, 2, 3, 4


def add_common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", type=Path, default=None, help="config TOML (default: the user config file)")
    p.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a setting, e.g. --set vad.aggressiveness=3 (repeatable)",
    )
    p.add_argument("--language", choices=["auto", "zh", "en"], help="spoken language (default: auto)")
    p.add_argument("--model", help="Whisper model name or folder (default: base)")
    p.add_argument("--device", choices=["auto", "cpu", "cuda"], help="where the models run")
    p.add_argument("-v", "--verbose", action="count", default=0)


def config_from_args(args: argparse.Namespace) -> Config:
    overrides = list(args.overrides)
    for flag, key in (
        ("language", "asr.language"),
        ("model", "asr.model"),
        ("device", "asr.device"),
        ("device", "emotion.device"),
    ):
        value = getattr(args, flag, None)
        if value:
            overrides.append(f"{key}={json.dumps(value)}")
    if getattr(args, "input", None):
        overrides.append(f"audio.input_device={json.dumps(args.input)}")
    if getattr(args, "no_emotion", False):
        overrides.append("emotion.enabled=false")
    return load_config(args.config or default_config_path(), overrides, explicit=args.config is not None)
