"""The output folder of a training run, written so that a good model is never replaced by half of one.

Everything is written into ``FOLDER.partial-XXXX`` beside the target; when the run has finished, an
existing ``FOLDER`` is moved aside (``FOLDER.old-XXXX``), the new one renamed into place and the old one
deleted. A run that fails or is interrupted (Ctrl-C, SIGTERM through the CLI) deletes its partial folder
and leaves ``FOLDER`` as it was. Only a process killed outright (SIGKILL, power loss) can leave a
``.partial-`` folder behind, never in place of the good one. An existing ``FOLDER`` that does not look like
a model folder (no model.json or config.json, not empty) is not replaced.

``train_log`` sends the run's log records (voiceassist.train, transformers) and warnings into a file.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import tempfile
import warnings
from collections.abc import Iterator
from pathlib import Path

from voiceassist.train import TrainError

log = logging.getLogger(__name__)


def _check_target(target: Path) -> None:
    if not target.exists():
        return
    if not target.is_dir():
        raise TrainError(f"{target} exists and is not a folder: choose another -o")
    if any(target.iterdir()) and not ((target / "model.json").is_file() or (target / "config.json").is_file()):
        raise TrainError(f"{target} exists and is not a model folder (no model.json): choose another -o")


@contextlib.contextmanager
def staged_folder(target: Path) -> Iterator[Path]:
    """Yield an empty folder beside ``target``; on success it becomes ``target``."""
    target = Path(target).absolute()
    _check_target(target)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        stage = Path(tempfile.mkdtemp(prefix=f"{target.name}.partial-", dir=target.parent))
        os.chmod(stage, 0o755)  # mkdtemp makes it private; a model folder is not
    except OSError as e:
        raise TrainError(f"cannot create a folder beside {target}: {e.strerror or e}") from e
    try:
        yield stage
        _commit(stage, target)
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise


def _commit(stage: Path, target: Path) -> None:
    old = None
    if target.exists():
        old = Path(tempfile.mkdtemp(prefix=f"{target.name}.old-", dir=target.parent))
        os.replace(target, old)  # renames over the empty placeholder folder
    try:
        os.replace(stage, target)
    except BaseException:
        if old is not None:
            os.replace(old, target)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


@contextlib.contextmanager
def train_log(path: Path) -> Iterator[logging.Handler]:
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.setLevel(logging.INFO)
    ours, theirs = logging.getLogger("voiceassist.train"), logging.getLogger("transformers")
    level = ours.level
    if ours.getEffectiveLevel() > logging.INFO:
        ours.setLevel(logging.INFO)
    for lg in (ours, theirs):
        lg.addHandler(handler)  # transformers keeps its own level (warnings)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                yield handler
            finally:
                seen: dict[str, int] = {}
                for w in caught:
                    key = f"{w.category.__name__}: {w.message} ({w.filename}:{w.lineno})"
                    seen[key] = seen.get(key, 0) + 1
                for key, n in seen.items():
                    log.warning("%s%s", key, f" [{n} times]" if n > 1 else "")
    finally:
        for lg in (ours, theirs):
            lg.removeHandler(handler)
        ours.setLevel(level)
        handler.close()
