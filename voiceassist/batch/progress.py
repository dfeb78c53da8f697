"""Progress on stderr: a tqdm bar when tqdm is installed and stderr is a terminal, else one plain line per
file (logs and CI output stay readable)."""

from __future__ import annotations

import sys
from typing import IO, Any


class Progress:
    def __init__(self, total: int, skipped: int, stream: IO[str] | None = None, bar: bool | None = None) -> None:
        self.stream = stream or sys.stderr
        self.total, self.count, self.failed = total, skipped, 0
        self._bar: Any = None
        if bar is None:
            bar = bool(getattr(self.stream, "isatty", lambda: False)())
        if bar:
            try:
                from tqdm import tqdm
            except ImportError:
                tqdm = None
            if tqdm is not None:
                self._bar = tqdm(
                    total=total,
                    initial=skipped,
                    unit="file",
                    desc="analyze-batch",
                    file=self.stream,
                    dynamic_ncols=True,
                )

    def update(self, key: str, status: str, outcome: dict[str, Any]) -> None:
        self.count += 1
        if status == "failed":
            self.failed += 1
        if self._bar is not None:
            if status == "failed":
                self._bar.write(f"analyze-batch: failed: {key}: {outcome.get('error')}", file=self.stream)
            self._bar.set_postfix(failed=self.failed, refresh=False)
            self._bar.update(1)
            return
        if status == "failed":
            detail = f": {outcome.get('error')}"
        else:
            detail = f" ({outcome.get('duration', 0.0):.1f} s of audio in {outcome.get('wall_s', 0.0):.1f} s)"
        print(f"analyze-batch: [{self.count}/{self.total}] {status} {key}{detail}", file=self.stream, flush=True)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None
