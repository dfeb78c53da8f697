"""One JSON encoder for every event (``listen --json``, logs, the API's event stream) and for documents
built from them (``analyze``): numpy arrays and scalars become lists and numbers, nested dataclasses become
objects, non-finite numbers become null, so what is written is always valid JSON."""

from __future__ import annotations

import dataclasses
import enum
import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from voiceassist.emotion.estimate import EmotionEstimate, FrameCurves
from voiceassist.emotion.labels import LABELS, as_dict
from voiceassist.events import EmotionFrames, Event, FusedEmotion

DIGITS = 4


def jsonable(v: Any) -> Any:
    """``v`` as plain JSON types (recursively)."""
    if v is None or isinstance(v, bool | int | str):
        return v
    if isinstance(v, float):
        return round(v, 6) if math.isfinite(v) else None
    if isinstance(v, np.ndarray):
        a = np.round(v.astype(np.float64), DIGITS) if v.dtype.kind in "fc" else v
        return [jsonable(x) for x in a.tolist()] if a.dtype.kind == "f" else a.tolist()
    if isinstance(v, np.generic):
        return jsonable(v.item())
    if isinstance(v, EmotionEstimate):
        return jsonable(v.to_json())
    if isinstance(v, FrameCurves):  # long: the live stream carries EmotionFrames instead
        return {"frames": int(v.probs.shape[0]), "frame_rate": v.frame_rate}
    if isinstance(v, enum.Enum):
        return jsonable(v.value)
    if isinstance(v, Path):
        return str(v)
    if dataclasses.is_dataclass(v) and not isinstance(v, type):
        return {f.name: jsonable(getattr(v, f.name)) for f in dataclasses.fields(v)}
    if isinstance(v, dict):
        return {str(k): jsonable(x) for k, x in v.items()}
    if isinstance(v, list | tuple | set | frozenset):
        return [jsonable(x) for x in v]
    return str(v)  # anything else: its text, never a crash


def event_to_dict(ev: Event) -> dict[str, Any]:
    """``{"event": "Transcript", "segment_id": 1, ...}``; raw audio is left out."""
    d: dict[str, Any] = {"event": type(ev).__name__}
    for f in dataclasses.fields(ev):
        if f.name != "audio":
            d[f.name] = jsonable(getattr(ev, f.name))
    if isinstance(ev, FusedEmotion):
        d["scores"] = jsonable(as_dict(ev.scores))
    if isinstance(ev, EmotionFrames):
        d["labels"] = list(LABELS)
    return d


def dumps(doc: Any, indent: int | None = None) -> str:
    """Strict JSON (``allow_nan=False``) of ``jsonable(doc)``."""
    return json.dumps(jsonable(doc), ensure_ascii=False, indent=indent, allow_nan=False)


def dumps_event(ev: Event) -> str:
    return dumps(event_to_dict(ev))
