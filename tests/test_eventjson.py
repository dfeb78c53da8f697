"""One JSON encoder for every event: each event type, with numpy arrays, nested estimates and frame curves
and non-finite numbers in it, becomes valid strict JSON; lines printed from many threads never mix."""

from __future__ import annotations

import dataclasses
import inspect
import io
import json
import threading
import typing

import numpy as np
import pytest

from voiceassist import events as E
from voiceassist.audio.chunk import AudioChunk
from voiceassist.cli.listen import LinePrinter
from voiceassist.emotion.estimate import EmotionEstimate, FrameCurves
from voiceassist.eventjson import dumps, dumps_event, event_to_dict
from voiceassist.mood import MoodState

EVENT_TYPES = [
    c
    for _, c in inspect.getmembers(E, inspect.isclass)
    if issubclass(c, E.Event) and c is not E.Event and c.__module__ == E.__name__
]


def sample(annotation: typing.Any, name: str) -> typing.Any:
    """A value of the field's type, with the awkward cases in it (arrays, NaN, nested objects)."""
    text = str(annotation)
    scores = np.full(9, 1 / 9)
    if "EmotionEstimate" in text:
        return EmotionEstimate(
            scores=scores, backend="test", embedding=np.array([np.nan, 1.0, np.inf], np.float32), keywords=("难过",)
        )
    if "FrameCurves" in text:
        return FrameCurves(
            probs=np.full((5, 9), 1 / 9, np.float32), frame_rate=50.0, features=np.zeros((5, 4), np.float32)
        )
    if "MoodState" in text:
        fields = {
            f.name: (float("nan") if f.type in ("float", "float | None") else 1) for f in dataclasses.fields(MoodState)
        }
        return MoodState(**fields)
    if "AudioChunk" in text:
        return AudioChunk(np.zeros(160, np.int16), 0.0, 0.0)
    if "ndarray" in text or "NDArray" in text or name in ("scores", "probs"):
        return np.full((3, 9) if name == "probs" else 9, np.float32(0.1))
    if "tuple" in text:
        return (1, 2)
    if "bool" in text:
        return True
    if "int" in text and "float" not in text:
        return 3
    if "float" in text:
        return float("inf") if name.endswith("_s") else 0.5
    if "Literal" in text:
        return typing.get_args(annotation)[0] if typing.get_args(annotation) else "x"
    return 'text with "quotes"\nand a newline, 中文'


def build(cls: type) -> E.Event:
    hints = typing.get_type_hints(cls, globalns=vars(E))
    kwargs = {
        f.name: sample(hints[f.name], f.name)
        for f in dataclasses.fields(cls)
        if f.name != "t"
        and ((f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING) or f.name == "segment_id")
    }
    return cls(**kwargs)


def test_every_event_type_is_covered():
    assert len(EVENT_TYPES) >= 20
    assert {E.SpeechEmotion, E.EmotionFrames, E.FusedEmotion, E.MoodUpdate, E.Transcript} <= set(EVENT_TYPES)


@pytest.mark.parametrize("cls", EVENT_TYPES, ids=lambda c: c.__name__)
def test_every_event_serialises_to_strict_json(cls: type):
    ev = build(cls)
    line = dumps_event(ev)
    assert "\n" not in line  # one event, one line
    doc = json.loads(line)  # strict: NaN/Infinity would not parse as standard JSON below
    json.loads(line, parse_constant=lambda c: pytest.fail(f"non-standard constant {c} in {cls.__name__}"))
    assert doc["event"] == cls.__name__
    assert "audio" not in doc
    if cls is E.FusedEmotion:
        assert set(doc["scores"]) >= {"angry", "sad", "happy"}
    if cls is E.EmotionFrames:
        assert len(doc["labels"]) == 9 and len(doc["probs"]) == 3
    if cls is E.SpeechEmotion:
        assert doc["estimate"]["label"] and doc["frames"] == {"frames": 5, "frame_rate": 50.0}
    assert event_to_dict(ev)["event"] == cls.__name__


def test_non_finite_numbers_become_null():
    assert json.loads(dumps({"a": float("nan"), "b": [float("inf"), 1.5], "c": np.float32("nan")})) == {
        "a": None,
        "b": [None, 1.5],
        "c": None,
    }


def test_lines_from_many_threads_never_mix():
    out = io.StringIO()
    printer = LinePrinter(out)
    ev = build(E.FusedEmotion)

    def spam() -> None:
        for _ in range(200):
            printer(dumps_event(ev))

    threads = [threading.Thread(target=spam) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    lines = out.getvalue().splitlines()
    assert len(lines) == 1600
    assert all(json.loads(line)["event"] == "FusedEmotion" for line in lines)
