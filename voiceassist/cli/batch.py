"""``voiceassist analyze-batch MANIFEST_OR_FOLDER -o OUT_DIR``: analyze many recordings (resumable,
shardable, optionally on Ray). The work is in voiceassist/batch/; the OUT_DIR layout is described there."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from voiceassist.config import ConfigError
from voiceassist.options import EXIT_CONFIG, EXIT_FAILED, EXIT_INPUT, EXIT_OK, add_common, config_from_args

log = logging.getLogger(__name__)

DESCRIPTION = """\
Runs 'voiceassist analyze' over many recordings: one result per input, the same JSON document, in
OUT_DIR/results/<relative path>.json. The input is a folder (searched recursively for .wav .flac .ogg .mp3
.m4a .opus .webm .aac) or a manifest: a text file with one path a line, or JSON lines with {"path": ...};
relative paths are relative to the manifest.

Resumable: OUT_DIR/batch.jsonl records each file done or failed (with its size and mtime); run the same
command again and only what is not done yet (or has changed since) is analysed. A file that cannot be
analysed is listed in OUT_DIR/failed.jsonl and the batch goes on. OUT_DIR/summary.json has the counts.

Exit codes: 0 all done, 2 the input does not exist or holds no audio, 3 bad configuration (or Ray missing),
4 some files failed."""


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "analyze-batch",
        help="analyze many recordings (a folder or a manifest) into one result.json each; resumable",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("batch_input", type=Path, metavar="MANIFEST_OR_FOLDER")
    p.add_argument("-o", "--output", type=Path, required=True, metavar="OUT_DIR", help="where the results go")
    p.add_argument(
        "--jobs", "-j", type=int, default=1, metavar="K", help="worker processes (Ray actors), each with its own models"
    )
    p.add_argument(
        "--shard",
        metavar="i/N",
        help="do only shard i of N (0-based; by a stable hash of each file's relative path), e.g. one per machine; "
        "the shards may share OUT_DIR",
    )
    p.add_argument("--executor", choices=["local", "ray"], default="local", help="ray: Ray Data (voiceassist[ray])")
    p.add_argument("--ray-address", help="Ray cluster to join (default: $RAY_ADDRESS, else a local Ray for this run)")
    p.add_argument(
        "--granularity",
        choices=["utterance", "frame"],
        default="utterance",
        help="frame: add each segment's frame-level emotion curves (as analyze does)",
    )
    p.add_argument("--no-emotion", action="store_true", help="segment and transcribe only")
    p.add_argument(
        "--skip-failed",
        action="store_true",
        help="do not retry files that failed before and are unchanged (they still count as failed)",
    )
    p.add_argument(
        "--progress",
        choices=["auto", "bar", "lines", "none"],
        default="auto",
        help="auto: a bar (tqdm) on a terminal, else one line per file",
    )
    add_common(p)


def run(args: argparse.Namespace) -> int:
    from voiceassist.batch import BatchOptions, InputError, JournalBusyError, SetupError, parse_shard, run_batch
    from voiceassist.batch.progress import Progress
    from voiceassist.batch.ray_exec import RAY_MISSING, RayMissingError

    try:
        shard = parse_shard(args.shard) if args.shard else None
    except ValueError as e:
        print(f"voiceassist: {e}", file=sys.stderr)
        return EXIT_CONFIG
    if args.jobs < 1:
        print("voiceassist: --jobs must be at least 1", file=sys.stderr)
        return EXIT_CONFIG
    try:
        cfg = config_from_args(args)
    except ConfigError as e:
        print(f"voiceassist: configuration error: {e}", file=sys.stderr)
        return EXIT_CONFIG
    opts = BatchOptions(
        input=args.batch_input,
        out_dir=args.output,
        jobs=args.jobs,
        shard=shard,
        executor=args.executor,
        ray_address=args.ray_address,
        frames=args.granularity == "frame",
        skip_failed=args.skip_failed,
        verbose=args.verbose,
    )
    mode = args.progress

    def progress(total: int, done_before: int) -> Progress | None:
        if mode == "none":
            return None
        return Progress(total, done_before, bar=None if mode == "auto" else mode == "bar")

    try:
        result = run_batch(cfg, opts, progress)
    except InputError as e:
        print(f"voiceassist: {e}", file=sys.stderr)
        return EXIT_INPUT
    except RayMissingError:
        print(f"voiceassist: {RAY_MISSING}", file=sys.stderr)
        return EXIT_CONFIG
    except SetupError as e:
        print(f"voiceassist: configuration error: {e}", file=sys.stderr)
        return EXIT_CONFIG
    except JournalBusyError as e:
        print(f"voiceassist: {e}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        print("voiceassist: analyze-batch interrupted; run it again to go on where it stopped", file=sys.stderr)
        return 130
    except Exception as e:  # a last line of defence: a message, the details in the log, no traceback
        log.error("analyze-batch failed", exc_info=True)
        print(f"voiceassist: analyze-batch failed: {e}", file=sys.stderr)
        return EXIT_FAILED
    s = result.summary
    where = f"shard {s['shard']}, " if s["shard"] else ""
    print(
        f"analyze-batch: {result.files} files ({where}{s['executor']}, jobs {s['jobs']}): {result.done} done, "
        f"{result.skipped} skipped (already done), {result.failed} failed; "
        f"{_span(result.audio_s)} of audio in {_span(result.wall_s)}; results in {args.output}",
        file=sys.stderr,
    )
    if result.failed:
        print(
            f"analyze-batch: {result.failed} file(s) failed, listed in {result.failed_path}; exit code 4",
            file=sys.stderr,
        )
        return EXIT_FAILED
    return EXIT_OK


def _span(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.1f} s"
    if seconds < 7200:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.2f} h"
