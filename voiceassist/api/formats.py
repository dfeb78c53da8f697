"""The analyze document in the shapes of OpenAI's transcription formats: json, text, srt, vtt and
verbose_json (each segment with its emotion when asked)."""

from __future__ import annotations

from typing import Any

LANGUAGE_NAMES = {"en": "english", "zh": "chinese", "yue": "cantonese", "ja": "japanese", "ko": "korean"}
"""Whisper's language names, as verbose_json reports them (other codes are given as they are)."""


def spoken(doc: dict[str, Any]) -> list[dict[str, Any]]:
    """The segments that have words."""
    return [s for s in doc["segments"] if s.get("text")]


def full_text(doc: dict[str, Any]) -> str:
    segs = spoken(doc)
    sep = "" if segs and all(s.get("language") == "zh" for s in segs) else " "
    return sep.join(s["text"].strip() for s in segs).strip()


def language_of(doc: dict[str, Any]) -> str:
    langs = [s["language"] for s in spoken(doc) if s.get("language")]
    code = max(set(langs), key=langs.count) if langs else "en"
    return LANGUAGE_NAMES.get(code, code)


def _stamp(t: float, sep: str) -> str:
    ms = max(0, round(t * 1000))
    h, ms = divmod(ms, 3_600_000)
    m, ms = divmod(ms, 60_000)
    s, ms = divmod(ms, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}{sep}{ms:03d}"


def srt(doc: dict[str, Any]) -> str:
    blocks = [
        f"{i}\n{_stamp(s['start'], ',')} --> {_stamp(s['end'], ',')}\n{s['text'].strip()}\n"
        for i, s in enumerate(spoken(doc), 1)
    ]
    return "\n".join(blocks)


def vtt(doc: dict[str, Any]) -> str:
    blocks = [f"{_stamp(s['start'], '.')} --> {_stamp(s['end'], '.')}\n{s['text'].strip()}\n" for s in spoken(doc)]
    return "WEBVTT\n\n" + "\n".join(blocks)


def verbose_segment(i: int, s: dict[str, Any], with_emotion: bool) -> dict[str, Any]:
    asr = s.get("asr") or {}
    seg: dict[str, Any] = {
        "id": i,
        "seek": 0,
        "start": s["start"],
        "end": s["end"],
        "text": s["text"],
        "tokens": [],
        "temperature": 0.0,
        "avg_logprob": asr.get("avg_logprob"),
        "compression_ratio": 1.0,
        "no_speech_prob": asr.get("no_speech_prob"),
    }
    if with_emotion:
        seg["emotion"] = s.get("emotion")
        seg["mood"] = s.get("mood")
    return seg


def verbose_json(
    doc: dict[str, Any], with_emotion: bool, granularities: tuple[str, ...] = ("segment",)
) -> dict[str, Any]:
    """OpenAI's verbose_json: ``segments`` for the segment granularity (the default), ``words`` (each word
    with its start and end) for the word granularity, both when both are asked for."""
    out: dict[str, Any] = {
        "task": "transcribe",
        "language": language_of(doc),
        "duration": doc["duration"],
        "text": full_text(doc),
    }
    if "segment" in granularities or not granularities:
        out["segments"] = [verbose_segment(i, s, with_emotion) for i, s in enumerate(spoken(doc))]
    if "word" in granularities:
        out["words"] = [
            {"word": w["word"], "start": w["start"], "end": w["end"]} for s in spoken(doc) for w in s.get("words", [])
        ]
    out["usage"] = {"type": "duration", "seconds": round(doc["duration"])}
    if doc.get("warnings"):
        out["warnings"] = doc["warnings"]
    return out
