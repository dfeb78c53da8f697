"""Input quality of an utterance: trim leading/trailing silence, then check level and clipping (and, with
``vad.silero_confirm``, whether silero hears a voice at all: ``check_segment``).

Following the Emotion2Vec+ integration notes, a segment that is too quiet or clipped is not analysed;
the person gets a message saying what to do instead of a wrong transcript or emotion.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from voiceassist.audio.chunk import SAMPLE_RATE, Int16Array
from voiceassist.config import QualityConfig, VadConfig
from voiceassist.events import QualityReport, SpeechSegment, StageError

FRAME = SAMPLE_RATE // 100  # 10 ms
FULL_SCALE = 32768.0
CLIP_LEVEL = 32700

MESSAGES: dict[str, tuple[str, str]] = {
    "too_quiet": ("Volume too low, please speak closer to the microphone", "音量过低，建议靠近麦克风重录"),
    "clipped": (
        "The sound is distorted (too loud): move back a little or lower the input gain",
        "声音过大失真，建议离麦克风远一点或调低输入音量",
    ),
    "silent": ("No sound was heard in this segment", "没有检测到声音"),
    "noise": ("Only noise was heard: nothing was transcribed", "只检测到噪音，未识别到语音"),  # silero verdict
}


@dataclass(frozen=True)
class Quality:
    ok: bool
    issue: str | None  # None or a key of MESSAGES
    rms_dbfs: float  # over the trimmed (active) part
    peak_dbfs: float
    clipped_ratio: float
    trim_start: int  # sample offsets of the active part within the segment
    trim_end: int

    @property
    def message(self) -> str | None:
        return MESSAGES[self.issue][0] if self.issue else None

    @property
    def message_zh(self) -> str | None:
        return MESSAGES[self.issue][1] if self.issue else None


def dbfs(x: float) -> float:
    return float(20.0 * np.log10(max(x, 1e-10) / FULL_SCALE))


def frame_levels_db(samples: Int16Array) -> np.ndarray:
    """RMS level of each 10 ms frame in dBFS."""
    n = len(samples) // FRAME
    if n == 0:
        return np.zeros(0)
    frames = samples[: n * FRAME].astype(np.float64).reshape(n, FRAME)
    rms = np.sqrt(np.mean(frames**2, axis=1))
    return np.asarray(20.0 * np.log10(np.maximum(rms, 1e-10) / FULL_SCALE))


def trim_bounds(samples: Int16Array, threshold_db: float) -> tuple[int, int]:
    """Sample range [start, end) without the leading/trailing frames ``threshold_db`` below the loudest."""
    levels = frame_levels_db(samples)
    if len(levels) == 0:
        return 0, len(samples)
    floor = max(float(levels.max()) - threshold_db, -80.0)
    active = np.flatnonzero(levels >= floor)
    if len(active) == 0:
        return 0, 0
    return int(active[0]) * FRAME, min(len(samples), (int(active[-1]) + 1) * FRAME)


def assess(samples: Int16Array, cfg: QualityConfig) -> Quality:
    start, end = trim_bounds(samples, cfg.trim_threshold_db)
    active = samples[start:end].astype(np.float64)
    if len(active) == 0 or not np.any(active):
        return Quality(False, "silent", -200.0, -200.0, 0.0, 0, 0)
    rms = dbfs(float(np.sqrt(np.mean(active**2))))
    peak = dbfs(float(np.max(np.abs(active))))
    clipped = float(np.mean(np.abs(active) >= CLIP_LEVEL))
    issue = None
    if rms < cfg.rms_floor_dbfs:
        issue = "too_quiet"
    elif cfg.reject_clipped and clipped > cfg.clip_ratio:
        issue = "clipped"
    return Quality(issue is None, issue, rms, peak, clipped, start, end)


def check_segment(seg: SpeechSegment, cfg: QualityConfig, vad: VadConfig) -> tuple[QualityReport, StageError | None]:
    """The QualityReport of an utterance (level and clipping, then silero's verdict when ``vad.silero_confirm``),
    and a StageError when silero could not run (the utterance then goes on, unjudged by it)."""
    q = assess(seg.audio.samples, cfg)
    issue, error = q.issue, None
    if issue is None and vad.silero_confirm:
        try:
            from voiceassist.audio.silero import silero_speech_seconds

            speech_s = silero_speech_seconds(seg.audio.as_float32(), vad.silero_threshold, vad.min_speech_ms)
            if speech_s * 1000 < vad.min_speech_ms:
                issue = "noise"
        except Exception as e:
            error = StageError(segment_id=seg.segment_id, stage="silero", message=str(e))
    msg = MESSAGES.get(issue) if issue else None
    report = QualityReport(
        segment_id=seg.segment_id,
        ok=issue is None,
        issue=issue,
        message=msg[0] if msg else None,
        message_zh=msg[1] if msg else None,
        rms_dbfs=round(q.rms_dbfs, 2),
        peak_dbfs=round(q.peak_dbfs, 2),
        clipped_ratio=round(q.clipped_ratio, 5),
        trimmed_start_s=seg.start_s + q.trim_start / SAMPLE_RATE,
        trimmed_end_s=seg.start_s + q.trim_end / SAMPLE_RATE,
    )
    return report, error
