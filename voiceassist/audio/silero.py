"""Optional second opinion on a segment: silero-vad (the ONNX model faster-whisper ships) rejects noise
that webrtcvad let through."""

from __future__ import annotations

import numpy as np

from voiceassist.audio.chunk import SAMPLE_RATE


def silero_speech_seconds(audio: np.ndarray, threshold: float = 0.5, min_speech_ms: int = 250) -> float:
    """Seconds of speech silero-vad finds in 16 kHz float32 audio."""
    try:
        from faster_whisper.vad import VadOptions, get_speech_timestamps
    except ImportError as e:
        raise ImportError("silero confirmation needs the 'asr' extra: pip install 'voiceassist[asr]'") from e
    spans = get_speech_timestamps(audio, VadOptions(threshold=threshold, min_speech_duration_ms=min_speech_ms))
    return float(sum(s["end"] - s["start"] for s in spans)) / SAMPLE_RATE
