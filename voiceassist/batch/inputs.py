"""What a batch reads: the recordings of a folder (recursively) or of a manifest, each with a key (its
path relative to the folder or manifest), the result file it maps to, and the shard it belongs to.

Keys and result files (relative to OUT_DIR), collision-free because a key is a normalised path:

- under the folder / the manifest's folder: key ``a/b.wav`` -> ``results/a/b.wav.json`` (the tree mirrored,
  the extension kept, so ``x.wav`` and ``x.flac`` do not collide);
- a manifest entry outside the manifest's folder (absolute, or ``../``): key ``/abs/path/c.wav`` ->
  ``external/abs/path/c.wav.json``.

A shard is chosen by a stable hash of the key (SHA-256, not Python's salted ``hash``), not by position:
adding files to the folder never moves the files already there to another shard.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

AUDIO_EXTENSIONS = frozenset({".wav", ".flac", ".ogg", ".mp3", ".m4a", ".opus", ".webm", ".aac"})


class InputError(Exception):
    """The batch input cannot be used (no such folder or manifest, a manifest line that is not valid); the
    message says why."""


@dataclass(frozen=True)
class Item:
    key: str
    """Path relative to the folder or manifest (posix), or the absolute path of a file outside it."""
    path: str
    """The file to read."""

    @property
    def output(self) -> str:
        return output_for(self.key)


def output_for(key: str) -> str:
    """The result file of ``key``, relative to OUT_DIR."""
    if key.startswith("/"):
        return f"external{key}.json"
    return f"results/{key}.json"


def is_audio(name: str) -> bool:
    return Path(name).suffix.lower() in AUDIO_EXTENSIONS


def discover(target: Path) -> list[Item]:
    """The recordings of ``target``: a folder (every file with an audio extension, recursively; names
    starting with '.' are skipped, e.g. macOS '._x.wav' resource forks), a manifest (a text file of paths,
    one a line, '#' starts a comment; or JSON lines with a "path"), or one audio file. Sorted by key;
    a path listed twice is taken once. Raises InputError."""
    if not target.exists():
        raise InputError(f"{target}: no such file or folder")
    if target.is_dir():
        return _folder(target)
    if is_audio(target.name):
        return [Item(target.name, str(target))]
    return _manifest(target)


def _folder(root: Path) -> list[Item]:
    items = []
    for dirpath, dirnames, filenames in os.walk(root, followlinks=True):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        rel_dir = Path(dirpath).relative_to(root)
        for name in filenames:
            if name.startswith(".") or not is_audio(name):
                continue
            rel = (rel_dir / name).as_posix()
            items.append(Item(rel, str(Path(dirpath) / name)))
    return sorted(items, key=lambda it: it.key)


def _manifest(path: Path) -> list[Item]:
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as e:
        raise InputError(f"{path}: not a text manifest (nor a folder, nor an audio file): {e}") from e
    except OSError as e:
        raise InputError(f"cannot read {path}: {e.strerror or e}") from e
    base = path.parent
    items: dict[str, Item] = {}
    for n, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        entry: object = line
        if line.startswith("{"):
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as e:
                raise InputError(f"{path}:{n}: not valid JSON: {e.msg}") from e
            entry = obj.get("path") if isinstance(obj, dict) else None
        if not isinstance(entry, str) or not entry:
            raise InputError(f'{path}:{n}: a JSON line needs a "path" (a string)')
        item = _entry(base, entry)
        items.setdefault(item.key, item)
    return sorted(items.values(), key=lambda it: it.key)


def _entry(base: Path, entry: str) -> Item:
    p = Path(entry).expanduser()
    full = p if p.is_absolute() else base / p
    absolute = os.path.normpath(os.path.abspath(full))
    base_abs = os.path.normpath(os.path.abspath(base))
    rel = os.path.relpath(absolute, base_abs)
    if rel == os.curdir or rel.startswith(os.pardir + os.sep) or rel == os.pardir:
        return Item(Path(absolute).as_posix(), str(full))
    return Item(Path(rel).as_posix(), str(full))


# -- shards ------------------------------------------------------------------------------------------
def parse_shard(text: str) -> tuple[int, int]:
    """'i/N' with 0 <= i < N."""
    try:
        i_text, n_text = text.split("/")
        i, n = int(i_text), int(n_text)
    except ValueError:
        raise ValueError(f"--shard wants i/N (e.g. 0/4), not {text!r}") from None
    if n < 1 or not 0 <= i < n:
        raise ValueError(f"--shard {text}: i must be in 0..N-1 and N at least 1")
    return i, n


def shard_of(key: str, n: int) -> int:
    digest = hashlib.sha256(key.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") % n


def in_shard(items: list[Item], shard: tuple[int, int] | None) -> list[Item]:
    if shard is None or shard[1] == 1:
        return list(items)
    i, n = shard
    return [it for it in items if shard_of(it.key, n) == i]


def fingerprint(path: str) -> tuple[int, int] | None:
    """(size in bytes, mtime in ns) of the input, or None when it cannot be read."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_size, st.st_mtime_ns
