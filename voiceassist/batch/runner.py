"""The batch driver: plan (inputs, shard, what is already done), run the files on an executor, and record
every outcome as it comes back (the result file atomically, then the journal line), then the summary.

Only the driver writes into OUT_DIR, whatever the executor: the workers (processes or Ray actors) return the
result text."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from voiceassist.batch.inputs import InputError, Item, discover, fingerprint, in_shard
from voiceassist.batch.journal import Journal, failed_unchanged, is_done, load_states
from voiceassist.batch.models import SetupError
from voiceassist.config import Config
from voiceassist.config_file import write_atomic
from voiceassist.options import EXIT_FAILED, EXIT_OK


@dataclass
class BatchOptions:
    input: Path
    out_dir: Path
    jobs: int = 1
    shard: tuple[int, int] | None = None
    executor: str = "local"  # local | ray
    ray_address: str | None = None
    frames: bool = False
    skip_failed: bool = False
    """Do not retry a file that failed before and is unchanged (it still counts as failed)."""
    verbose: int = 0


@dataclass
class BatchResult:
    files: int = 0
    """Files in this shard."""
    done: int = 0
    skipped: int = 0
    failed: int = 0
    audio_s: float = 0.0
    wall_s: float = 0.0
    failures: list[dict[str, Any]] = field(default_factory=list)
    summary: dict[str, Any] = field(default_factory=dict)
    journal_path: Path | None = None
    failed_path: Path | None = None


class NoAudioError(InputError):
    """The input holds no audio files."""


ProgressFactory = Callable[
    [int, int], Any
]  # (total, already done) -> an object with update(key, status, outcome), close()


def plan(opts: BatchOptions) -> list[Item]:
    """The items of this shard (raises InputError; NoAudioError when the input lists none at all)."""
    items = discover(opts.input)
    if not items:
        raise NoAudioError(f"{opts.input}: holds no audio files ({', '.join(_exts())})")
    return in_shard(items, opts.shard)


def _exts() -> list[str]:
    from voiceassist.batch.inputs import AUDIO_EXTENSIONS

    return sorted(AUDIO_EXTENSIONS)


def run_batch(cfg: Config, opts: BatchOptions, progress: ProgressFactory | None = None) -> BatchResult:
    """Raises InputError (exit 2), SetupError (exit 3: the models cannot load), JournalBusyError, and
    RayMissingError (exit 3) before anything is written."""
    t0, started = time.monotonic(), _now()
    items = plan(opts)
    if opts.executor == "ray":
        from voiceassist.batch.ray_exec import require_ray

        require_ray()
    journal = Journal(opts.out_dir, opts.shard)
    journal.open()
    result = BatchResult(files=len(items), journal_path=journal.path, failed_path=journal.failed_path)
    try:
        states = load_states(opts.out_dir)
        todo: list[tuple[Item, tuple[int, int] | None]] = []
        for it in items:
            fp, state = fingerprint(it.path), states.get(it.key)
            if is_done(state, fp, it.output, opts.out_dir):
                result.skipped += 1
            elif opts.skip_failed and failed_unchanged(state, fp):
                assert state is not None
                result.failures.append(state)
            else:
                todo.append((it, fp))
        result.failed = len(result.failures)
        bar = progress(len(items), result.skipped + result.failed) if progress else None
        by_key = {it.key: (it, fp) for it, fp in todo}
        try:
            for outcome in _execute(cfg, opts, [it for it, _ in todo]):
                if outcome["status"] == "setup-error":
                    raise SetupError(outcome["error"])
                it, fp = by_key[outcome["key"]]
                entry = _record(journal, opts.out_dir, it, fp, outcome)
                if entry["status"] == "done":
                    result.done += 1
                    result.audio_s += float(outcome.get("duration") or 0.0)
                else:
                    result.failed += 1
                    result.failures.append(entry)
                if bar is not None:
                    bar.update(it.key, entry["status"], {**outcome, "error": entry.get("error")})
        finally:
            if bar is not None:
                bar.close()
        result.wall_s = time.monotonic() - t0
        result.summary = _summary(opts, result, started)
        journal.finish(result.failures, result.summary)
    finally:
        journal.close()
    return result


def _execute(cfg: Config, opts: BatchOptions, items: list[Item]) -> Iterator[dict[str, Any]]:
    if not items:
        return iter(())
    tasks = [{"key": it.key, "path": it.path, "name": it.path} for it in items]
    if opts.executor == "ray":
        from voiceassist.batch.ray_exec import run_ray

        return run_ray(cfg, tasks, opts.frames, max(1, opts.jobs), opts.ray_address, opts.verbose)
    from voiceassist.batch.local import run_inline, run_pool

    if opts.jobs <= 1:
        return run_inline(cfg, tasks, opts.frames)
    return run_pool(cfg, tasks, opts.frames, opts.jobs, opts.verbose)


def _record(
    journal: Journal, out_dir: Path, it: Item, fp: tuple[int, int] | None, outcome: dict[str, Any]
) -> dict[str, Any]:
    status, error = outcome["status"], outcome.get("error")
    if status == "done":
        try:
            write_atomic(out_dir / it.output, outcome["text"])
        except OSError as e:
            status, error = "failed", f"cannot write {out_dir / it.output}: {e.strerror or e}"
    entry = {
        "key": it.key,
        "path": it.path,
        "status": status,
        "size": fp[0] if fp else None,
        "mtime_ns": fp[1] if fp else None,
        "output": it.output if status == "done" else None,
        "error": error,
        "duration": outcome.get("duration", 0.0),
        "segments": outcome.get("segments", 0),
        "errors": outcome.get("errors", 0),
        "wall_s": outcome.get("wall_s", 0.0),
        "worker": outcome.get("worker"),
    }
    return journal.record(entry)


def _summary(opts: BatchOptions, r: BatchResult, started: str) -> dict[str, Any]:
    return {
        "input": str(opts.input),
        "out_dir": str(opts.out_dir),
        "shard": None if opts.shard is None else f"{opts.shard[0]}/{opts.shard[1]}",
        "executor": opts.executor,
        "jobs": opts.jobs,
        "files": r.files,
        "done": r.done,
        "skipped": r.skipped,
        "failed": r.failed,
        "failed_files": [{"key": f.get("key"), "error": f.get("error")} for f in r.failures],
        "audio_s": round(r.audio_s, 3),
        "wall_s": round(r.wall_s, 3),
        "audio_hours_per_hour": round(r.audio_s / r.wall_s, 3) if r.wall_s > 0 else None,
        "started": started,
        "finished": _now(),
        "exit_code": EXIT_FAILED if r.failed else EXIT_OK,
    }


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")
