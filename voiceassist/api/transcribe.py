"""``POST /v1/audio/transcriptions``, OpenAI-compatible: the same fields and response formats, so their
clients work unchanged; ``include[]=emotion`` adds each segment's emotion to verbose_json, and
``stream=true`` answers with Server-Sent Events (``transcript.text.delta``, ``emotion.segment`` with
``include[]=emotion``, then ``transcript.text.done``). Underneath, the analyze document of the upload."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import JSONResponse, PlainTextResponse, Response, StreamingResponse
from starlette.concurrency import run_in_threadpool

from voiceassist.api import formats
from voiceassist.api.emotion import analyze_upload
from voiceassist.api.engine import Engine, Language, check_language
from voiceassist.api.errors import ApiError, error_body
from voiceassist.api.uploads import open_recording, safe_name, save_upload
from voiceassist.eventjson import dumps
from voiceassist.events import Event, FusedEmotion, SpeechEmotion, Transcript

router = APIRouter(tags=["audio"])
Format = Literal["json", "text", "srt", "vtt", "verbose_json"]


@router.post("/v1/audio/transcriptions", summary="Transcribe a recording (OpenAI-compatible), with emotion on request")
async def transcriptions(
    request: Request,
    file: Annotated[UploadFile, File(description="the recording")],
    model: Annotated[
        str, Form(description="accepted for compatibility; the server's loaded Whisper runs")
    ] = "whisper-1",
    language: Annotated[str | None, Form(description="ISO-639-1 code (en, zh...); default: detected")] = None,
    prompt: Annotated[str | None, Form(description="accepted; not used by this server")] = None,
    response_format: Annotated[Format, Form()] = "json",
    temperature: Annotated[float, Form(ge=0.0, le=1.0, description="accepted; decoding is greedy")] = 0.0,
    timestamp_granularities: Annotated[list[str], Form(alias="timestamp_granularities[]")] = [],  # noqa: B006
    include: Annotated[list[str], Form(alias="include[]", description="emotion: each segment's emotion")] = [],  # noqa: B006
    stream: Annotated[bool, Form(description="Server-Sent Events as the words arrive")] = False,
) -> Response:
    engine: Engine = request.app.state.engine
    lang = check_language(language)
    bad_gran = [g for g in timestamp_granularities if g not in ("segment", "word")]
    if bad_gran:
        raise ApiError(
            400, "unsupported_value", f"timestamp_granularities: segment or word, not {bad_gran[0]!r}",
            "timestamp_granularities",
        )  # fmt: skip
    granularities = tuple(timestamp_granularities) or ("segment",)
    if "word" in granularities and response_format != "verbose_json":
        raise ApiError(
            400, "unsupported_value", "word timestamps come with response_format=verbose_json",
            "timestamp_granularities",
        )  # fmt: skip
    unknown = [i for i in include if i not in ("emotion", "logprobs")]
    if unknown:
        raise ApiError(400, "unsupported_value", f"include: unknown {unknown[0]!r} (emotion is known)", "include")
    with_emotion = "emotion" in include
    folder: Path | None = engine.scratch()
    assert folder is not None
    try:
        name = safe_name(file.filename)
        path = await save_upload(file, folder)
        if stream:
            await run_in_threadpool(open_recording, path, name, engine)  # a bad file is a 400, not a broken stream
            response = StreamingResponse(
                _events(engine, path, name, lang, with_emotion, folder), media_type="text/event-stream"
            )
            folder = None  # the stream removes it when it ends
            return response
        words = "word" in granularities
        doc = await engine.run(
            lambda: analyze_upload(engine, path, name, emotion=with_emotion, language=lang, words=words)
        )
    finally:
        if folder is not None:
            engine.release(folder)
    return render(doc, response_format, with_emotion, granularities)


def render(
    doc: dict[str, Any], response_format: str, with_emotion: bool, granularities: tuple[str, ...] = ("segment",)
) -> Response:
    if response_format == "text":
        return PlainTextResponse(formats.full_text(doc) + "\n")
    if response_format == "srt":
        return PlainTextResponse(formats.srt(doc), media_type="application/x-subrip")
    if response_format == "vtt":
        return PlainTextResponse(formats.vtt(doc), media_type="text/vtt")
    if response_format == "verbose_json":
        return JSONResponse(_plain(formats.verbose_json(doc, with_emotion, granularities)))
    return JSONResponse(
        {"text": formats.full_text(doc), "usage": {"type": "duration", "seconds": round(doc["duration"])}}
    )


def _plain(obj: Any) -> Any:
    import json

    return json.loads(dumps(obj))


def _sse(obj: dict[str, Any]) -> bytes:
    return f"data: {dumps(obj)}\n\n".encode()


async def _events(
    engine: Engine, path: Path, name: str, lang: Language | None, with_emotion: bool, folder: Path
) -> AsyncIterator[bytes]:
    """The transcription as it happens. Ending early (the client left) stops reading the recording."""
    from voiceassist.analysis import emotion_doc

    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[Event | None] = asyncio.Queue()
    cancel = threading.Event()
    texts: dict[int, str] = {}
    speech: dict[int, SpeechEmotion] = {}

    def on_event(ev: Event) -> None:  # on the pipeline's threads: hand over only
        if isinstance(ev, Transcript | FusedEmotion | SpeechEmotion):
            loop.call_soon_threadsafe(queue.put_nowait, ev)

    def work() -> dict[str, Any]:
        return analyze_upload(engine, path, name, emotion=with_emotion, language=lang, on_event=on_event, cancel=cancel)

    task = asyncio.ensure_future(engine.run(work))
    task.add_done_callback(lambda _: loop.call_soon_threadsafe(queue.put_nowait, None))
    parts: list[str] = []
    try:
        while True:
            ev = await queue.get()
            if ev is None:
                break
            if isinstance(ev, Transcript) and ev.text:
                texts[ev.segment_id] = ev.text
                delta = ev.text if not parts or ev.language == "zh" else " " + ev.text
                parts.append(delta)
                yield _sse({"type": "transcript.text.delta", "delta": delta, "segment_id": ev.segment_id})
            elif isinstance(ev, SpeechEmotion):
                speech[ev.segment_id] = ev
            elif isinstance(ev, FusedEmotion) and with_emotion:
                segment = {
                    "id": ev.segment_id,
                    "start": round(ev.start_s, 3),
                    "end": round(ev.end_s, 3),
                    "text": texts.get(ev.segment_id, ""),
                    "emotion": emotion_doc(ev, speech.get(ev.segment_id), False),
                }
                yield _sse({"type": "emotion.segment", "segment": segment})
        try:
            doc = task.result()
        except ApiError as e:
            yield _sse(error_body(e.status_code, e.code, e.message))
            return
        except Exception as e:  # the stream has begun: the error is its last event
            yield _sse(error_body(500, "internal_error", f"the transcription failed ({type(e).__name__})"))
            return
        usage = {"type": "duration", "seconds": round(doc["duration"])}
        yield _sse({"type": "transcript.text.done", "text": formats.full_text(doc), "usage": usage})
    finally:
        cancel.set()  # the reading stops; the folder goes once the analysis has let go of it
        if task.done():
            engine.release(folder)
        else:
            task.add_done_callback(lambda _: engine.release(folder))
