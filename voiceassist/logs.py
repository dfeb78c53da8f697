"""Logging is configured once, at the entry point: a rotating file in the user log dir plus stderr.

The log file and its rotations are private (0600 in a 0700 folder, whatever the umask)."""

from __future__ import annotations

import contextlib
import logging
import logging.handlers
import sys
from pathlib import Path

from voiceassist.paths import open_private, private_dir, private_file, user_log_dir

_SECRETS: set[str] = set()


def register_secret(value: str) -> None:
    """Never let this string (a password, a token) reach a log line: it is replaced by ***."""
    if value and len(value) >= 4:
        _SECRETS.add(value)


def redact(text: str) -> str:
    for secret in _SECRETS:
        text = text.replace(secret, "***")
    return text


class RedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if _SECRETS:
            msg = record.getMessage()
            clean = redact(msg)
            if record.exc_info and record.exc_info[1] is not None and not record.exc_text:
                record.exc_text = logging.Formatter().formatException(record.exc_info)
            if record.exc_text:
                record.exc_text = redact(record.exc_text)
            if clean != msg or record.args:
                record.msg, record.args = clean, None
        return True


class PrivateRotatingFileHandler(logging.handlers.RotatingFileHandler):
    """A rotating log whose files are created 0600 (the rotated ones keep the mode: they are renamed).

    A log that cannot be written (a full disk) is said once on stderr, not with a traceback per record; the
    records go on to the console, and the file is written again, with a line saying how many were missed,
    as soon as a write succeeds."""

    missed = 0
    """Records not written since the file stopped taking them."""

    def _open(self):  # type: ignore[no-untyped-def]
        return open(open_private(Path(self.baseFilename)), self.mode, encoding=self.encoding, errors=self.errors)

    def emit(self, record: logging.LogRecord) -> None:
        missed = self.missed
        if missed:  # the file failed before: say what it missed, which is also the try
            note = logging.makeLogRecord(
                {
                    "name": __name__,
                    "levelno": logging.WARNING,
                    "levelname": "WARNING",
                    "msg": "the log file is written again; %d records were missed while it could not be",
                    "args": (missed,),
                }
            )
            super().emit(note)
            if self.missed != missed:  # still failing: this record is missed too (counted for the note)
                return
            self.missed = 0
        super().emit(record)  # handleError below on failure

    def handleError(self, record: logging.LogRecord) -> None:
        err = sys.exc_info()[1]
        if not isinstance(err, OSError):
            super().handleError(record)
            return
        if not self.missed:
            sys.stderr.write(
                f"voiceassist: cannot write the log file {self.baseFilename}: {err}; logging to the "
                "screen only until it can\n"
            )
        self.missed += 1
        if self.stream is not None:  # drop what the failed write left buffered: the next record starts clean
            with contextlib.suppress(OSError):
                self.stream.close()
            self.stream = None


class ConsoleFormatter(logging.Formatter):
    """One line per record on the console: tracebacks go to the log file only (unless -vv)."""

    def __init__(self, tracebacks: bool = False) -> None:
        super().__init__("%(levelname)s %(name)s: %(message)s")
        self.tracebacks = tracebacks

    def format(self, record: logging.LogRecord) -> str:
        if self.tracebacks:
            return super().format(record)
        saved = record.exc_info, record.exc_text, record.stack_info
        record.exc_info, record.exc_text, record.stack_info = None, None, None
        try:
            line = super().format(record)
        finally:
            record.exc_info, record.exc_text, record.stack_info = saved
        return line + (" (details in the log file)" if saved[0] or saved[1] else "")


def setup_logging(verbose: int = 0, log_dir: Path | None = None) -> Path | None:
    """Returns the log file path (None when the log dir cannot be written: then stderr only)."""
    root = logging.getLogger()
    root.setLevel(logging.DEBUG)
    for h in list(root.handlers):
        root.removeHandler(h)
        h.close()
    console = logging.StreamHandler(sys.stderr)
    console.setLevel(logging.WARNING if verbose == 0 else logging.INFO if verbose == 1 else logging.DEBUG)
    console.setFormatter(ConsoleFormatter(tracebacks=verbose >= 2))
    console.addFilter(RedactingFilter())
    root.addHandler(console)
    path: Path | None = (log_dir or user_log_dir()) / "voiceassist.log"
    try:
        assert path is not None
        private_dir(path.parent)
        for old in path.parent.glob(path.name + "*"):  # files left by an older version (0644)
            private_file(old)
        fh = PrivateRotatingFileHandler(path, maxBytes=2_000_000, backupCount=3, encoding="utf-8")
        fh.setLevel(logging.DEBUG)
        fh.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(threadName)s %(name)s: %(message)s"))
        fh.addFilter(RedactingFilter())
        root.addHandler(fh)
    except OSError as e:
        logging.getLogger(__name__).warning("cannot write the log file %s: %s", path, e)
        path = None
    for noisy in ("faster_whisper", "numba", "urllib3", "httpx", "filelock"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    return path
