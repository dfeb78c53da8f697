"""``voiceassist analyze FILE``: a recording into one JSON document (voiceassist/analysis.py)."""

from __future__ import annotations

import argparse
import sys

from voiceassist.analysis import analyze
from voiceassist.audio.sources import AudioInputError, FileSource
from voiceassist.config import Config
from voiceassist.config_file import write_atomic
from voiceassist.eventjson import dumps
from voiceassist.options import EXIT_CONFIG, EXIT_FAILED, EXIT_INPUT, EXIT_OK
from voiceassist.pipeline import StageSetupError


def cmd_analyze(args: argparse.Namespace, cfg: Config) -> int:
    source = FileSource(args.file, realtime=args.realtime, chunk_ms=cfg.audio.file_chunk_ms)
    try:
        info = source.open()
    except AudioInputError as e:
        print(f"voiceassist: {e}", file=sys.stderr)
        return EXIT_INPUT
    if info.duration_s == 0:
        print(f"voiceassist: {args.file}: the file contains no audio samples", file=sys.stderr)
        return EXIT_INPUT
    try:
        doc = analyze(cfg, source, str(args.file), frames=args.granularity == "frame", embeddings=args.embeddings)
    except StageSetupError as e:
        print(f"voiceassist: configuration error: {e}", file=sys.stderr)
        return EXIT_CONFIG
    except AudioInputError as e:  # nothing of it could be read
        print(f"voiceassist: {e}", file=sys.stderr)
        return EXIT_INPUT
    except KeyboardInterrupt:
        return 130
    text = dumps(doc, indent=2)
    if args.output:
        try:
            write_atomic(args.output, text + "\n")
        except OSError as e:
            print(f"voiceassist: cannot write {args.output}: {e}", file=sys.stderr)
            print(text)  # the result is not lost
            return EXIT_FAILED
    else:
        print(text)
    for w in doc.get("warnings", []):
        print(f"voiceassist: warning: {w}", file=sys.stderr)
    for err in doc["errors"]:
        print(f"voiceassist: warning: {err['stage']}: {err['message']}", file=sys.stderr)
    return EXIT_OK
