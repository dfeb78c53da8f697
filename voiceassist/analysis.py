"""Analysing a recording into one JSON document: the format ``voiceassist analyze`` writes and the API
returns (one schema, one code path). Times are seconds; segment fields are only ever added, never renamed.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from voiceassist.audio.sources import AudioInputError, AudioSource
from voiceassist.bus import Collector
from voiceassist.config import Config
from voiceassist.emotion.labels import LABELS, LABELS_ZH, as_dict
from voiceassist.events import (
    CrisisHeard,
    Event,
    FusedEmotion,
    MoodUpdate,
    QualityReport,
    SourceEnded,
    SpeechEmotion,
    SpeechSegment,
    StageError,
    StageReady,
    Transcript,
)
from voiceassist.pipeline import Models
from voiceassist.session import Session
from voiceassist.storage.embeddings import EmbeddingRow
from voiceassist.storage.embeddings import write_embeddings as write_embeddings_files

if TYPE_CHECKING:
    from voiceassist.personal.profile import Profile


def analyze(
    cfg: Config,
    source: AudioSource,
    name: str,
    frames: bool = False,
    embeddings: Path | None = None,
    models: Models | None = None,
    calibration: Profile | None = None,
    on_event: Callable[[Event], None] | None = None,
) -> dict[str, Any]:
    """Run ``source`` (already opened) through an analysis Session (``Session.for_analysis``: no reply, no
    caregiver alert, nothing stored) and build the document. With ``embeddings``, the emotion embeddings are
    written there as .npy and listed under "embeddings". ``models``: models already loaded (analyze-batch
    and the API server load them once); their load's StageReady events stand for them in "backends".
    ``calibration``: a person's profile to apply. ``on_event`` hears every event as it happens (the API's
    streamed transcription). A recording of which nothing could be read (damaged from its first frame)
    raises AudioInputError; one damaged later gives what was read, with the error in "errors"."""
    collector = Collector()
    session = Session.for_analysis(cfg, source, models=models, calibration=calibration)
    session.subscribe(collector)
    if on_event is not None:
        session.subscribe(on_event)
    session.start()
    try:
        session.wait()
    except BaseException:
        session.stop()
        raise
    ended = collector.of(SourceEnded)
    duration = ended[-1].duration_s if ended else 0.0
    if ended and ended[-1].error and duration == 0.0:  # nothing could be read: a bad input, not a result
        raise AudioInputError(ended[-1].error)
    doc = build_result(
        Path(name),
        duration,
        collector.events,
        frames=frames,
        min_language_probability=cfg.asr.min_language_probability,
        languages=cfg.asr.languages,
    )
    if source.warnings:
        doc["warnings"] = list(source.warnings)
    if embeddings is not None:
        try:
            doc["embeddings"] = write_embeddings(embeddings, collector.of(SpeechEmotion), frames=frames)
        except OSError as e:
            doc["errors"].append({"stage": "embeddings", "segment": None, "message": f"cannot write: {e}"})
    return doc


def emotion_doc(fused: FusedEmotion | None, speech: SpeechEmotion | None, frames: bool) -> dict[str, Any] | None:
    if fused is None:
        return None
    doc: dict[str, Any] = {
        "speech": fused.speech.to_json() if fused.speech else None,
        "text": fused.text.to_json() if fused.text else None,
        "fused": {
            "label": fused.label,
            "label_zh": LABELS_ZH[fused.label],
            "confidence": fused.confidence,
            "scores": as_dict(fused.scores),
            "backend": "fusion",
            "weights": {"speech": fused.speech_weight, "text": fused.text_weight},
            "rule": fused.rule,
        },
        "fallback_action": fused.fallback_action,
        "suggested_response": fused.suggested_response,
    }
    if frames and speech is not None and speech.frames is not None:
        probs = speech.frames.probs
        doc["frames"] = {
            "frame_rate": speech.frames.frame_rate,
            "start": round(speech.start_s, 3),
            "labels": list(LABELS),
            "probs": [[round(float(p), 4) for p in row] for row in probs],
        }
    return doc


def crisis_doc(c: CrisisHeard | None) -> list[dict[str, str]]:
    """The crisis phrases heard in an utterance (empty when none): reported, never acted on here."""
    if c is None:
        return []
    return [{"category": k, "phrase": p} for k, p in zip(c.categories, c.phrases, strict=True)]


def mood_doc(m: MoodUpdate | None) -> dict[str, Any] | None:
    if m is None:
        return None
    return {k: (round(v, 4) if isinstance(v, float) else v) for k, v in dataclasses.asdict(m.state).items()}


def language_note(tr: Transcript | None, min_probability: float, languages: list[str]) -> dict[str, str] | None:
    """A note (en, zh) when the language was detected with low confidence: the speech may be in a language
    the models were not set up for (Cantonese, Japanese...), so its transcript (or the words the guard
    dropped from it) should not be trusted. Audio the speech gate skipped gets none: it was never decoded."""
    decoded = tr is not None and (bool(tr.text) or tr.dropped_as_hallucination)  # not skipped as silence
    if tr is None or not decoded or tr.language_probability >= min_probability:
        return None
    p, setup = f"{tr.language_probability:.2f}", ", ".join(languages)
    return {
        "en": f"language uncertain: detected {tr.language} with probability {p}; this may be a language "
        f"the models are not set up for ({setup}), so the transcript may be wrong",
        "zh": f"语言不确定：识别为 {tr.language}，概率 {p}；可能是未设置的语言（已设置：{setup}），转写可能有误",
    }


def build_result(
    file: Path,
    duration: float,
    events: list[Event],
    frames: bool = False,
    min_language_probability: float = 0.0,
    languages: tuple[str, ...] | list[str] = ("zh", "en"),
) -> dict[str, Any]:
    """The analyze document: {"file", "duration", "segments": [{"start", "end", "text", "language",
    "quality", "asr", "emotion"}, ...]} plus "backends" and "errors". Segment fields are only ever added
    to, never renamed."""
    quality = {e.segment_id: e for e in events if isinstance(e, QualityReport)}
    transcripts = {e.segment_id: e for e in events if isinstance(e, Transcript)}
    fused = {e.segment_id: e for e in events if isinstance(e, FusedEmotion)}
    speech = {e.segment_id: e for e in events if isinstance(e, SpeechEmotion)}
    moods = {e.segment_id: e for e in events if isinstance(e, MoodUpdate)}
    crises = {e.segment_id: e for e in events if isinstance(e, CrisisHeard)}
    errors = [
        {"stage": e.stage, "segment": e.segment_id, "message": e.message} for e in events if isinstance(e, StageError)
    ]
    errors += [
        {"stage": "input", "segment": None, "message": e.error}
        for e in events
        if isinstance(e, SourceEnded) and e.error
    ]
    segments = []
    for seg in (e for e in events if isinstance(e, SpeechSegment)):
        q, tr = quality.get(seg.segment_id), transcripts.get(seg.segment_id)
        start = q.trimmed_start_s if q and q.ok else seg.start_s
        end = q.trimmed_end_s if q and q.ok else seg.end_s
        segments.append(
            {
                "id": seg.segment_id,
                "start": round(start, 3),
                "end": round(end, 3),
                "text": tr.text if tr else "",
                "language": tr.language if tr and tr.text else None,
                "quality": None
                if q is None
                else {
                    "ok": q.ok,
                    "issue": q.issue,
                    "message": q.message,
                    "message_zh": q.message_zh,
                    "rms_dbfs": q.rms_dbfs,
                    "peak_dbfs": q.peak_dbfs,
                    "clipped_ratio": q.clipped_ratio,
                },
                "asr": None
                if tr is None
                else {
                    "language_probability": tr.language_probability,
                    "no_speech_prob": tr.no_speech_prob,
                    "avg_logprob": tr.avg_logprob,
                    "dropped_as_hallucination": tr.dropped_as_hallucination,
                    "dropped_reason": tr.dropped_reason,
                    "language_note": language_note(tr, min_language_probability, list(languages)),
                },
                "emotion": emotion_doc(fused.get(seg.segment_id), speech.get(seg.segment_id), frames),
                "mood": mood_doc(moods.get(seg.segment_id)),
                "crisis": crisis_doc(crises.get(seg.segment_id)),
            }
        )
        if tr is not None and tr.words:  # asked for (asr.word_timestamps)
            segments[-1]["words"] = [dataclasses.asdict(w) for w in tr.words]
    backends = {
        e.stage: {"description": e.description, "embedded": e.embedded, "note": e.note}
        for e in events
        if isinstance(e, StageReady)
    }
    return {
        "file": str(file),
        "duration": round(duration, 3),
        "backends": backends,
        "segments": segments,
        "errors": errors,
    }


def write_embeddings(folder: Path, emotions: list[SpeechEmotion], frames: bool) -> dict[str, Any]:
    """seg<ID>.npy: the utterance embedding (D,); seg<ID>_frames.npy: frame features (T, D)."""
    rows = [
        EmbeddingRow(
            ev.segment_id,
            ev.estimate.embedding,
            ev.frames.features if frames and ev.frames is not None else None,
            ev.frames.frame_rate if ev.frames is not None else None,
            ev.estimate.backend,
        )
        for ev in emotions
    ]
    return {"dir": str(folder), "files": write_embeddings_files(folder, rows)}
