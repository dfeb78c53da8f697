"""An uploaded recording: copied into the request's private folder (removed when the request ends, also
when the client went away), then opened with the CLI's ``FileSource``, whose refusals (empty, not audio,
damaged, implausible headers) become 400s. Float files with NaN or infinite samples are refused too: the
CLI reads them as silence; a service says the file is damaged."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
from fastapi import UploadFile

from voiceassist.api.engine import Engine, too_long
from voiceassist.api.errors import ApiError
from voiceassist.audio.sources import AudioInputError, FileSource

_SAFE = re.compile(r"[^A-Za-z0-9._-]+")
COPY_BLOCK = 1 << 20


def safe_name(name: str | None) -> str:
    """The client's file name without any folder part, or a stand-in (it is only a label)."""
    base = Path((name or "").replace("\\", "/")).name
    return _SAFE.sub("_", base)[:100] or "upload"


async def save_upload(upload: UploadFile, folder: Path) -> Path:
    """Copy the upload into ``folder`` (the body limit was enforced while it arrived)."""
    path = folder / ("audio-" + safe_name(upload.filename))
    with open(path, "wb") as out:
        while True:
            block = await upload.read(COPY_BLOCK)
            if not block:
                break
            out.write(block)
    await upload.close()
    return path


def open_recording(path: Path, name: str, engine: Engine) -> FileSource:
    """The upload as a FileSource, opened and checked; ApiError 400 with the reason otherwise."""
    source = FileSource(path, realtime=False, chunk_ms=engine.cfg.audio.file_chunk_ms)
    try:
        info = source.open()
    except AudioInputError as e:
        raise ApiError(400, "invalid_audio", str(e).replace(str(path), name), param="file") from None
    if info.duration_s == 0:
        raise ApiError(400, "invalid_audio", f"{name}: the file contains no audio samples", param="file")
    if info.duration_s is not None and info.duration_s > engine.cfg.api.max_audio_s + 0.01:
        raise too_long(engine.cfg.api.max_audio_s)
    bad = nonfinite_samples(path)
    if bad:
        raise ApiError(
            400,
            "invalid_audio",
            f"{name}: {bad} samples are not numbers (NaN or infinite): the file is damaged",
            "file",
        )
    return source


def nonfinite_samples(path: Path) -> int:
    """How many samples of a float (32/64-bit) file are NaN or infinite; 0 for every other format."""
    import soundfile as sf

    try:
        info = sf.info(str(path))
        if info.subtype not in ("FLOAT", "DOUBLE"):
            return 0
        bad = 0
        with sf.SoundFile(str(path)) as f:
            for block in f.blocks(blocksize=1 << 16, dtype="float32", always_2d=True):
                bad += int(block.size - np.count_nonzero(np.isfinite(block)))
        return bad
    except (sf.LibsndfileError, RuntimeError, ValueError, TypeError):
        return 0  # FileSource already said what it could of this file
