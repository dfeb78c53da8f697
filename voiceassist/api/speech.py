"""``POST /v1/audio/speech``, OpenAI-compatible text to speech with the assistant's voices: ``joe`` (the
embedded Piper English voice; Mandarin by the installed Piper voice or espeak-ng), ``espeak`` (the system
voices), OpenAI's voice names standing for the default. ``tone`` (our field) is a reply tone or an
emotion, whose reply tone is used. The voices live on one thread of their own (pyttsx3 needs that)."""

from __future__ import annotations

import asyncio
import io
from typing import Any, Literal

import numpy as np
from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

from voiceassist.api.engine import Engine
from voiceassist.api.errors import ApiError
from voiceassist.lang import lang as lang_of

router = APIRouter(tags=["audio"])
OPENAI_VOICES = ("alloy", "ash", "ballad", "coral", "echo", "fable", "nova", "onyx", "sage", "shimmer", "verse")
OUR_VOICES = ("joe", "espeak")
MAX_INPUT = 4096
FORMATS = {
    "wav": ("WAV", "PCM_16", "audio/wav"),
    "flac": ("FLAC", "PCM_16", "audio/flac"),
    "mp3": ("MP3", "MPEG_LAYER_III", "audio/mpeg"),
    "opus": ("OGG", "OPUS", "audio/ogg"),
}


class SpeechRequest(BaseModel):
    model: str = "voiceassist"
    input: str = Field(..., min_length=1, max_length=MAX_INPUT)
    voice: str | dict[str, Any] = "joe"
    response_format: Literal["mp3", "opus", "aac", "flac", "wav", "pcm"] = "mp3"
    speed: float = Field(1.0, ge=0.25, le=4.0, description="only 1.0: the tone sets the rate")
    instructions: str | None = Field(None, description="accepted; use tone")
    tone: str = Field(
        "neutral", description="calm, empathetic, reassuring, gentle, neutral, curious, cheerful, or an emotion"
    )
    language: Literal["auto", "en", "zh"] = "auto"


def resolve_tone(tone: str) -> str:
    from voiceassist.emotion.labels import LABELS
    from voiceassist.paths import resources_dir
    from voiceassist.reply.planner import ReplyPlanner
    from voiceassist.tts import TONES

    if tone in TONES:
        return tone
    if tone in LABELS:
        return ReplyPlanner(resources_dir() / "replies").tone_for(tone)
    raise ApiError(400, "unknown_tone", f"tone must be one of {', '.join(TONES)}, or an emotion label", "tone")


def synthesize(engine: Engine, text: str, language: str, tone: str, voice: str) -> tuple[np.ndarray, int, str]:
    """On the speech thread: (float32 samples, rate, description of the voice used)."""
    from voiceassist.voices import VoiceSet

    cfg = engine.cfg
    if engine.voices is None:
        voices = VoiceSet.from_config(cfg.tts, cfg.paths.models_dir)
        voices.load()
        engine.voices = voices
    vs = engine.voices
    if voice == "espeak":
        samples, rate = vs.fallback.render(text, language, tone)
        return samples, rate, vs.fallback.description
    samples, rate = vs.render(text, language, tone)
    return samples, rate, vs.voice_for(language)


def encode(samples: np.ndarray, rate: int, fmt: str) -> tuple[bytes, str]:
    import soundfile as sf
    import soxr

    if fmt == "pcm":  # OpenAI's pcm: 24 kHz, 16-bit signed little-endian, mono
        x = soxr.resample(samples, rate, 24000) if rate != 24000 else samples
        return (np.clip(np.rint(x * 32767), -32768, 32767).astype("<i2").tobytes(), "audio/pcm")
    if fmt not in FORMATS:
        raise ApiError(
            400, "unsupported_format", f"response_format {fmt} is not available: use mp3, opus, flac, wav or pcm"
        )
    container, subtype, media = FORMATS[fmt]
    if fmt == "opus" and rate not in (8000, 12000, 16000, 24000, 48000):
        samples, rate = soxr.resample(samples, rate, 24000), 24000
    buf = io.BytesIO()
    sf.write(buf, np.asarray(samples, dtype=np.float32), rate, format=container, subtype=subtype)
    return buf.getvalue(), media


@router.post("/v1/audio/speech", summary="Speak text in a tone (OpenAI-compatible)", response_class=Response)
async def speech(request: Request, body: SpeechRequest) -> Response:
    engine: Engine = request.app.state.engine
    voice = body.voice.get("id", "") if isinstance(body.voice, dict) else body.voice
    if voice in OPENAI_VOICES:
        voice = "joe"
    if voice not in OUR_VOICES:
        raise ApiError(
            400, "unknown_voice", f"voice must be one of {', '.join(OUR_VOICES)} (or an OpenAI voice name)", "voice"
        )
    if body.speed != 1.0:
        raise ApiError(
            400, "unsupported_value", "speed other than 1.0 is not available: the tone sets the rate", "speed"
        )
    if not body.input.strip():
        raise ApiError(400, "empty_input", "input has no text to speak", "input")
    if body.response_format == "aac":
        raise ApiError(
            400, "unsupported_format", "aac is not available: use mp3, opus, flac, wav or pcm", "response_format"
        )
    tone = resolve_tone(body.tone)
    lang = lang_of(body.language if body.language != "auto" else None, body.input)
    from voiceassist.tts import TtsError

    loop = asyncio.get_running_loop()
    try:
        samples, rate, used = await loop.run_in_executor(
            engine.tts_pool, synthesize, engine, body.input, lang, tone, voice
        )
    except TtsError as e:
        raise ApiError(503, "speech_unavailable", f"speech output failed: {e}") from None
    data, media = encode(samples, rate, body.response_format)
    headers = {"X-VoiceAssist-Tone": tone, "X-VoiceAssist-Voice": used.encode("ascii", "replace").decode()}
    return Response(data, media_type=media, headers=headers)
