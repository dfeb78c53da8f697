"""Logging is configured once, at the entry point: a rotating file in the user log dir plus stderr."""

from __future__ import annotations

import logging
import logging.handlers
import sys
from pathlib import Path

from voiceassist.paths import user_log_dir


def setup_logging(verbose: int = 0, log_dir: Path | None = None) -> Path | None:
    """Returns the log file path (None when the log dir cannot be written: then stderr only)."""
    root = logging.getLogger()
    root.setLevel(logging.DEBUG)
    for h in list(root.handlers):
        root.removeHandler(h)
        h.close()
    console = logging.StreamHandler(sys.stderr)
    console.setLevel(logging.WARNING if verbose == 0 else logging.INFO if verbose == 1 else logging.DEBUG)
    console.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    root.addHandler(console)
    path: Path | None = (log_dir or user_log_dir()) / "voiceassist.log"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)  # type: ignore[union-attr]
        fh = logging.handlers.RotatingFileHandler(path, maxBytes=2_000_000, backupCount=3, encoding="utf-8")
        fh.setLevel(logging.DEBUG)
        fh.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(threadName)s %(name)s: %(message)s"))
        root.addHandler(fh)
    except OSError as e:
        logging.getLogger(__name__).warning("cannot write the log file %s: %s", path, e)
        path = None
    for noisy in ("faster_whisper", "numba", "urllib3", "httpx", "filelock"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    return path
