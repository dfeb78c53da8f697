"""Labelled sentences for training and evaluation.

Two formats, told apart by the file name: ``.tsv`` (``label<TAB>language<TAB>text``, ``#`` comments, as
tests/data/text_emotion_eval.tsv) and anything else as the data toolkit's JSONL records
(voiceassist/data/records.py: ``text``, ``lang``, ``emotion``; other fields are ignored). A row whose label
is not one of the 9, whose text is empty, whose language is neither zh nor en, or a line that is not a JSON
object stops the run with ``FILE:LINE: what is wrong`` (training on part of a file without noticing is
worse than stopping). A missing ``lang`` is taken from the text (CJK characters: zh).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from voiceassist.data.records import LANGS
from voiceassist.data.step import DataError, read_jsonl
from voiceassist.emotion.head import sha256_file
from voiceassist.emotion.labels import LABELS
from voiceassist.lang import lang as lang_of
from voiceassist.train import TrainError


@dataclass(frozen=True)
class Example:
    text: str
    lang: str
    label: str
    line: int


@dataclass(frozen=True)
class DataFile:
    path: Path
    sha256: str
    examples: list[Example]

    @property
    def counts(self) -> dict[str, dict[str, int]]:
        """{lang: {label: n}} plus ``"all"``."""
        out: dict[str, dict[str, int]] = {}
        for scope in (*LANGS, "all"):
            c = Counter(e.label for e in self.examples if scope in ("all", e.lang))
            if c:
                out[scope] = {label: c[label] for label in LABELS if c[label]}
        return out

    def describe(self) -> dict[str, Any]:
        return {"path": str(self.path), "sha256": self.sha256, "rows": len(self.examples), "counts": self.counts}


def _check(path: Path, line: int, label: Any, lang: Any, text: Any) -> Example:
    where = f"{path}:{line}"
    if not isinstance(label, str) or label not in LABELS:
        raise TrainError(f"{where}: emotion {label!r} is not one of the 9 labels ({', '.join(LABELS)})")
    if not isinstance(text, str) or not text.strip():
        raise TrainError(f"{where}: the text is empty or not a string")
    if lang in (None, ""):
        lang = lang_of(text=text)
    if lang not in LANGS:
        raise TrainError(f"{where}: language {lang!r} is not one of {', '.join(LANGS)}")
    return Example(text=text.strip(), lang=str(lang), label=label, line=line)


def _read_tsv(path: Path) -> list[Example]:
    rows = []
    text = path.read_text(encoding="utf-8-sig")
    for n, raw in enumerate(text.splitlines(), 1):
        if not raw.strip() or raw.startswith("#"):
            continue
        parts = raw.split("\t")
        if len(parts) != 3:
            raise TrainError(f"{path}:{n}: expected label<TAB>language<TAB>text, found {len(parts)} fields")
        rows.append(_check(path, n, parts[0].strip(), parts[1].strip(), parts[2]))
    return rows


def _read_records(path: Path) -> list[Example]:
    rows = []
    try:
        for n, row, _ in read_jsonl(path, strict=True):
            assert row is not None
            rows.append(_check(path, n, row.get("emotion"), row.get("lang"), row.get("text")))
    except DataError as e:
        raise TrainError(str(e)) from e
    return rows


def read_data(path: Path, role: str = "data") -> DataFile:
    """Every row of ``path`` (TrainError naming the file and line on the first bad one)."""
    path = Path(path)
    if not path.is_file():
        raise TrainError(f"{path}: no such {role} file")
    try:
        examples = _read_tsv(path) if path.suffix.lower() == ".tsv" else _read_records(path)
        digest = sha256_file(path)
    except UnicodeDecodeError as e:
        raise TrainError(f"{path}: not UTF-8 text ({e.reason} at byte {e.start})") from e
    except OSError as e:
        raise TrainError(f"{path}: cannot read it ({e.strerror or e})") from e
    return DataFile(path=path, sha256=digest, examples=examples)
