"""The (text, emotion, response) rows a reply model learns from and is scored on, and the prompt it sees.

Rows are the data toolkit's JSONL records (voiceassist/data/records.py), read by ``dataset.read_data`` (so a
label outside the 9, an empty text or an unknown language is named as ``FILE:LINE``), each with a
non-empty ``response``: the reply written for it. An optional ``history`` holds earlier turns of the same
conversation, ``[[person, assistant], ...]`` (the seed corpus has none: single turns). A ``.tsv`` file has
no responses and is refused.

The prompt is built by ``GenerativeReplier.prompt`` itself (voiceassist/reply/generative.py), so a model
trained here sees at inference exactly the format it learned: the emotion, the tone's guidance line, the
last three turns of history, the person's words, then ``Assistant:``. The tone is the one
resources/replies/tones.toml gives the emotion's strategy, which is what the reply worker passes to the
model for a strategy or intent reply (``plan.tone``); labels without a section (other, unknown) get
"neutral", as ``ReplyPlanner.tone_for`` does.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from voiceassist.data.step import DataError, read_jsonl
from voiceassist.emotion.labels import LABELS
from voiceassist.paths import resources_dir
from voiceassist.train import TrainError
from voiceassist.train.dataset import DataFile, read_data

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


@dataclass(frozen=True)
class ReplyRow:
    text: str
    lang: str
    label: str
    response: str
    line: int
    history: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class ReplyData:
    data: DataFile
    """The labelled rows as the text-emotion tools read them (path, sha256, counts, per-row line)."""
    rows: list[ReplyRow]

    @property
    def path(self) -> Path:
        return self.data.path

    def describe(self) -> dict[str, Any]:
        return self.data.describe()


def _history(where: str, value: Any) -> tuple[tuple[str, str], ...]:
    if value in (None, []):
        return ()
    ok = isinstance(value, list) and all(
        isinstance(t, list) and len(t) == 2 and all(isinstance(s, str) for s in t) for t in value
    )
    if not ok:
        raise TrainError(f"{where}: history must be a list of [person, assistant] pairs of strings")
    return tuple((str(a), str(b)) for a, b in value)


def read_reply_data(path: Path, role: str = "data") -> ReplyData:
    """Every row of ``path`` with its response (TrainError naming the file and line on the first bad one)."""
    path = Path(path)
    if path.suffix.lower() == ".tsv":
        raise TrainError(f"{path}: a .tsv file has no responses; give JSONL records with a 'response' field")
    data = read_data(path, role)
    extra: dict[int, tuple[str, tuple[tuple[str, str], ...]]] = {}
    try:
        for n, row, _ in read_jsonl(path, strict=True):
            assert row is not None
            response = row.get("response")
            if not isinstance(response, str) or not response.strip():
                raise TrainError(f"{path}:{n}: the row has no response (a reply model needs the reply written for it)")
            extra[n] = (response.strip(), _history(f"{path}:{n}", row.get("history")))
    except DataError as e:  # read_data has read the file already: only a file changed meanwhile gets here
        raise TrainError(str(e)) from e
    rows = []
    for ex in data.examples:
        if ex.line not in extra:
            raise TrainError(f"{path}:{ex.line}: the file changed while it was read")
        response, history = extra[ex.line]
        rows.append(ReplyRow(ex.text, ex.lang, ex.label, response, ex.line, history))
    return ReplyData(data=data, rows=rows)


@lru_cache(maxsize=4)
def _read_tones(path: Path) -> dict[str, str]:
    try:
        table = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as e:
        raise TrainError(f"cannot read the reply tones {path}: {e}") from e
    return {
        label: str(s["tone"]) for label, s in table.items() if label in LABELS and isinstance(s, dict) and "tone" in s
    }


def emotion_tones(folder: Path | None = None) -> dict[str, str]:
    """{label: tone} for every label (tones.toml's section of that name; "neutral" when it has none)."""
    tones = _read_tones((folder or resources_dir() / "replies") / "tones.toml")
    return {label: tones.get(label, "neutral") for label in LABELS}


def prompt_for(row: ReplyRow, tones: dict[str, str]) -> str:
    """The prompt the generative backend builds for this row (GenerativeReplier.prompt)."""
    from voiceassist.reply.generative import GenerativeReplier

    builder = GenerativeReplier(Path("."))  # prompt() reads no model: no folder is opened
    return builder.prompt(row.text, row.label, tones[row.label], row.lang, list(row.history))
