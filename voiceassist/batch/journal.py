"""The batch's memory on disk, in OUT_DIR: an append-only journal of what was done or failed, the list of
failures, and the summary. One set of file names per shard, so shards sharing OUT_DIR never write the same
file (``batch.jsonl`` unsharded, ``batch.shard-0-of-4.jsonl`` with ``--shard 0/4``; likewise
``failed[.shard-i-of-N].jsonl`` and ``summary[.shard-i-of-N].json``).

A journal line: {"key", "path", "status": "done"|"failed", "size", "mtime_ns", "output", "error", "duration",
"segments", "errors", "wall_s", "worker" (the pid that analysed it), "t", "host", "pid" (the driver's)}.
Each line is flushed and fsync'd before the next file is counted, after its result file is in place
(written atomically), so after a crash a file is either journaled as done with its result there, or it is
done again. On a new run every ``batch*.jsonl`` in OUT_DIR is read (so a job can be resharded); the newest
line of a key wins.
"""

from __future__ import annotations

import json
import os
import socket
import time
from pathlib import Path
from typing import IO, Any

from voiceassist.config_file import write_atomic
from voiceassist.eventjson import dumps

JOURNAL_GLOB = "batch*.jsonl"


class JournalBusyError(RuntimeError):
    """Another analyze-batch is writing this journal (the same shard of the same OUT_DIR)."""


def shard_suffix(shard: tuple[int, int] | None) -> str:
    return "" if shard is None else f".shard-{shard[0]}-of-{shard[1]}"


class Journal:
    def __init__(self, out_dir: Path, shard: tuple[int, int] | None = None) -> None:
        suffix = shard_suffix(shard)
        self.out_dir = out_dir
        self.path = out_dir / f"batch{suffix}.jsonl"
        self.failed_path = out_dir / f"failed{suffix}.jsonl"
        self.summary_path = out_dir / f"summary{suffix}.json"
        self._fh: IO[str] | None = None
        self._failed_fh: IO[str] | None = None
        self._host = socket.gethostname()

    def open(self) -> None:
        """Open for appending and take an exclusive lock (raises JournalBusyError when another process has
        it); failed.jsonl starts afresh: it lists the failures of this run."""
        self.out_dir.mkdir(parents=True, exist_ok=True)
        self._fh = open(self.path, "a", encoding="utf-8")  # noqa: SIM115 - held until close()
        try:
            import fcntl

            fcntl.flock(self._fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except ImportError:  # pragma: no cover - not on POSIX: no lock
            pass
        except BlockingIOError:
            self._fh.close()
            self._fh = None
            raise JournalBusyError(f"{self.path} is in use by another analyze-batch (the same shard)") from None
        except OSError:  # pragma: no cover - a file system without locks (some network mounts)
            pass
        if not _ends_with_newline(self.path):
            _append(self._fh, "")  # a line cut short by a crash stays alone on its line (and is ignored)
        self._failed_fh = open(self.failed_path, "w", encoding="utf-8")  # noqa: SIM115

    def record(self, entry: dict[str, Any]) -> dict[str, Any]:
        assert self._fh is not None and self._failed_fh is not None, "open() first"
        entry = {**entry, "t": round(time.time(), 6), "host": self._host, "pid": os.getpid()}
        _append(self._fh, dumps(entry))
        if entry["status"] == "failed":
            _append(self._failed_fh, dumps(failure(entry)))
        return entry

    def finish(self, failures: list[dict[str, Any]], summary: dict[str, Any]) -> None:
        """failed.jsonl rewritten with every failure known at the end (this run's and, with --skip-failed,
        the earlier ones not retried), then summary.json."""
        if self._failed_fh is not None:
            self._failed_fh.close()
            self._failed_fh = None
        write_atomic(self.failed_path, "".join(dumps(failure(f)) + "\n" for f in failures))
        write_atomic(self.summary_path, dumps(summary, indent=2) + "\n")

    def close(self) -> None:
        for fh in (self._failed_fh, self._fh):
            if fh is not None:
                fh.close()
        self._fh = self._failed_fh = None


def failure(entry: dict[str, Any]) -> dict[str, Any]:
    return {k: entry.get(k) for k in ("key", "path", "error", "size", "mtime_ns", "t")}


def _ends_with_newline(path: Path) -> bool:
    with open(path, "rb") as f:
        if f.seek(0, os.SEEK_END) == 0:
            return True
        f.seek(-1, os.SEEK_END)
        return f.read(1) == b"\n"


def _append(fh: IO[str], line: str) -> None:
    fh.write(line + "\n")
    fh.flush()
    os.fsync(fh.fileno())


def load_states(out_dir: Path) -> dict[str, dict[str, Any]]:
    """The newest journal line of each key, over every journal in ``out_dir``. A line cut short by a crash
    (or otherwise not JSON) is ignored."""
    states: dict[str, dict[str, Any]] = {}
    if not out_dir.is_dir():
        return states
    for path in sorted(out_dir.glob(JOURNAL_GLOB)):
        try:
            lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
        except OSError:
            continue
        for line in lines:
            try:
                entry = json.loads(line)
            except json.JSONDecodeError:
                continue
            if not isinstance(entry, dict) or not isinstance(entry.get("key"), str):
                continue
            old = states.get(entry["key"])
            if old is None or float(entry.get("t") or 0) >= float(old.get("t") or 0):
                states[entry["key"]] = entry
    return states


def is_done(state: dict[str, Any] | None, fp: tuple[int, int] | None, output: str, out_dir: Path) -> bool:
    """Done before, on the same input (size and mtime), and its result file is still there."""
    return (
        state is not None
        and state.get("status") == "done"
        and fp is not None
        and (state.get("size"), state.get("mtime_ns")) == fp
        and state.get("output") == output
        and (out_dir / output).is_file()
    )


def failed_unchanged(state: dict[str, Any] | None, fp: tuple[int, int] | None) -> bool:
    return (
        state is not None
        and state.get("status") == "failed"
        and (state.get("size"), state.get("mtime_ns")) == (fp if fp is not None else (None, None))
    )
