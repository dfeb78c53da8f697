"""``POST /v1/audio/emotion``: the document ``voiceassist analyze`` writes (voiceassist/analysis.py: one
schema, one code path), for an uploaded recording. Embeddings, on request, as base64 float32 in the
document or as ``.npy`` files in a zip beside ``result.json``. The response's ``X-Clip-Id`` names the
clip for ``/v1/chat/completions``."""

from __future__ import annotations

import base64
import io
import threading
import zipfile
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import JSONResponse, Response

from voiceassist.api.engine import Engine, Language, check_language
from voiceassist.api.errors import ApiError
from voiceassist.api.uploads import open_recording, safe_name, save_upload
from voiceassist.audio.sources import AudioInputError
from voiceassist.eventjson import dumps
from voiceassist.events import Event, FusedEmotion

router = APIRouter(tags=["audio"])


def analyze_upload(
    engine: Engine,
    path: Path,
    name: str,
    *,
    frames: bool = False,
    embeddings: Path | None = None,
    emotion: bool = True,
    language: Language | None = None,
    words: bool = False,
    on_event: Any = None,
    cancel: threading.Event | None = None,
) -> dict[str, Any]:
    """Open (400 for a bad file) and analyse an upload; runs on an analysis worker thread."""
    source = open_recording(path, name, engine)
    try:
        return engine.analyze(
            source,
            name,
            frames=frames,
            embeddings=embeddings,
            emotion=emotion,
            language=language,
            words=words,
            on_event=on_event,
            cancel=cancel,
        )
    except AudioInputError as e:  # damaged from its first frame: nothing could be read
        raise ApiError(400, "invalid_audio", str(e).replace(str(path), name), param="file") from None


def embeddings_base64(doc: dict[str, Any], folder: Path) -> None:
    """doc["embeddings"]: each file's array inline, base64 of little-endian float32 (its "shape" given)."""
    files = doc.get("embeddings", {}).get("files", [])
    for entry in files:
        arr = np.load(folder / entry["file"], allow_pickle=False).astype("<f4")
        entry["dtype"] = "float32"
        entry["data"] = base64.b64encode(arr.tobytes()).decode("ascii")
    doc["embeddings"] = {"format": "base64", "files": files}


@router.post(
    "/v1/audio/emotion",
    summary="Segments, transcript and emotion of a recording (the voiceassist analyze document)",
    responses={200: {"content": {"application/zip": {}}, "description": "JSON, or a zip with embeddings_format=npy"}},
)
async def audio_emotion(
    request: Request,
    file: Annotated[UploadFile, File(description="a recording: WAV, FLAC, OGG, MP3, or anything FFmpeg reads")],
    granularity: Annotated[
        Literal["utterance", "frame"], Form(description="frame: add 50 frames/s curves")
    ] = "utterance",
    embeddings: Annotated[bool, Form(description="add the emotion embeddings")] = False,
    embeddings_format: Annotated[
        Literal["base64", "npy"], Form(description="base64 float32 in the JSON, or .npy files in a zip")
    ] = "base64",
    language: Annotated[str | None, Form(description="spoken language (default: the server's asr.language)")] = None,
) -> Response:
    engine: Engine = request.app.state.engine
    lang = check_language(language)
    folder = engine.scratch()
    try:
        name = safe_name(file.filename)
        path = await save_upload(file, folder)
        emb_dir = folder / "embeddings" if embeddings else None
        fused: list[FusedEmotion] = []

        def keep(ev: Event) -> None:  # on the pipeline's thread: only kept
            if isinstance(ev, FusedEmotion):
                fused.append(ev)

        doc = await engine.run(
            lambda: analyze_upload(
                engine, path, name, frames=granularity == "frame", embeddings=emb_dir, language=lang, on_event=keep
            )
        )
        clip_id = engine.remember_clip(fused[-1] if fused else None)
        headers = {"X-Clip-Id": clip_id}
        if emb_dir is None:
            return JSONResponse(_plain(doc), headers=headers)
        if embeddings_format == "base64":
            embeddings_base64(doc, emb_dir)
            return JSONResponse(_plain(doc), headers=headers)
        files = doc.get("embeddings", {}).get("files", [])
        doc["embeddings"] = {"format": "npy", "files": files}
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
            z.writestr("result.json", dumps(doc, indent=2) + "\n")
            for entry in files:
                z.write(emb_dir / entry["file"], entry["file"])
        headers["Content-Disposition"] = f'attachment; filename="{Path(name).stem}-emotion.zip"'
        return Response(buf.getvalue(), media_type="application/zip", headers=headers)
    finally:
        engine.release(folder)


def _plain(doc: dict[str, Any]) -> Any:
    """The document as strict JSON types (the CLI's encoder: non-finite numbers become null)."""
    import json

    return json.loads(dumps(doc))
