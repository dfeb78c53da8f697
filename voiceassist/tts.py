"""Speech output: pyttsx3 renders the reply to an audio buffer; sounddevice plays it, so playback can be
stopped at once (barge-in). pyttsx3 cannot be interrupted and its engine must stay on one thread: the
``Synthesizer`` lives in the TTS worker. On Linux the espeak driver is used (espeak-ng).

Tone -> voice: each tone sets the speaking rate (words per minute), the volume and, where the driver
supports it (espeak), the pitch (0-100). Calmer tones are slower, softer and lower.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import platform
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from voiceassist.lang import has_cjk
from voiceassist.lang import lang as lang_of

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Voice:
    rate: int
    volume: float
    pitch: int


TONES: dict[str, Voice] = {
    "calm": Voice(145, 0.75, 38),
    "empathetic": Voice(140, 0.8, 42),
    "reassuring": Voice(148, 0.85, 45),
    "gentle": Voice(155, 0.85, 48),
    "neutral": Voice(170, 0.9, 50),
    "curious": Voice(180, 0.95, 58),
    "cheerful": Voice(192, 1.0, 64),
}

# espeak-ng's "cmn" voice reads Chinese characters as tone-numbered syllables and then says the digits
# (with Debian's espeak-ng-data): it is fed pinyin through its "cmn-latn-pinyin" voice instead.
_ESPEAK_VOICES = {
    "en": ("gmw/en-us", "en-us", "english"),
    "zh": ("sit/cmn-latn-pinyin", "sit/cmn", "cmn", "zh", "mandarin"),
}


def to_pinyin(text: str) -> str:
    """Chinese characters -> tone-numbered pinyin (pypinyin), punctuation kept as pauses."""
    from pypinyin import Style, lazy_pinyin

    out = " ".join(lazy_pinyin(text, style=Style.TONE3, neutral_tone_with_five=True))
    for zh, en in (("，", ","), ("。", "."), ("？", "?"), ("！", "!"), ("、", ","), ("；", ";"), ("：", ":")):
        out = out.replace(f" {zh}", en).replace(zh, en)
    return out


class TtsError(RuntimeError):
    pass


def default_driver() -> str:
    return {"Windows": "sapi5", "Darwin": "nsss"}.get(platform.system(), "espeak")


class Synthesizer:
    """Owns a pyttsx3 engine; use it from one thread only."""

    def __init__(self, driver: str = "", voice_en: str = "", voice_zh: str = "", rate_scale: float = 1.0) -> None:
        self.driver = driver or default_driver()
        self.voice_ids = {"en": voice_en, "zh": voice_zh}
        self.rate_scale = rate_scale
        self._engine: Any = None
        self.description = f"pyttsx3 ({self.driver})"

    def load(self) -> None:
        try:
            import pyttsx3
        except ImportError as e:
            raise TtsError("text-to-speech needs pyttsx3: pip install pyttsx3") from e
        try:
            self._engine = pyttsx3.init(driverName=self.driver)
        except Exception as e:
            hint = " (apt-get install espeak-ng)" if self.driver == "espeak" else ""
            raise TtsError(f"cannot start the {self.driver} speech engine{hint}: {e}") from e
        voices = self._engine.getProperty("voices") or []
        for lang in ("en", "zh"):
            if not self.voice_ids[lang]:
                self.voice_ids[lang] = self._find_voice(voices, lang)
        self.description = f"pyttsx3 ({self.driver}; en: {self.voice_ids['en']}, zh: {self.voice_ids['zh']})"

    @staticmethod
    def _find_voice(voices: list[Any], lang: str) -> str:
        ids = {v.id: v for v in voices}
        for cand in _ESPEAK_VOICES[lang]:
            if cand in ids:
                return cand
        want = ("zh", "cmn", "chinese", "mandarin") if lang == "zh" else ("en",)
        for v in voices:
            langs = " ".join(str(x) for x in (getattr(v, "languages", None) or [])).lower()
            if any(w in langs or w in str(v.name).lower() for w in want):
                return str(v.id)
        return str(voices[0].id) if voices else ""

    def render(self, text: str, language: str = "en", tone: str = "neutral") -> tuple[npt.NDArray[np.float32], int]:
        """Speech for ``text`` as float32 mono samples and their rate."""
        if self._engine is None:
            self.load()
        voice = TONES.get(tone, TONES["neutral"])
        e = self._engine
        vid = self.voice_ids[lang_of(language, text)]
        if "latn-pinyin" in vid and has_cjk(text):
            try:
                text = to_pinyin(text)
            except ImportError:
                vid = "sit/cmn"
        if vid:
            e.setProperty("voice", vid)
        e.setProperty("rate", int(voice.rate * self.rate_scale))
        e.setProperty("volume", voice.volume)
        with contextlib.suppress(Exception):  # pitch: espeak driver only
            e.setProperty("pitch", voice.pitch)
        if self.driver == "espeak" and shutil.which("espeak-ng"):
            # On Linux the espeak-ng command itself: pyttsx3's espeak driver sometimes ends a save_to_file
            # before any audio, and sometimes renders with the previous rate (the tone is lost).
            return self._render_cli(text, vid, voice)
        # other drivers (SAPI5, NSSS): through pyttsx3; an empty result is tried again
        min_s = 0.02 * len(text.replace(" ", ""))
        for _ in range(3):
            data, sr = self._render_once(text)
            if len(data) / max(sr, 1) >= min_s:
                return np.ascontiguousarray(data.mean(axis=1)), int(sr)
        if self.driver == "espeak" and shutil.which("espeak-ng"):
            log.info("pyttsx3 gave no audio; rendering with the espeak-ng command instead")
            return self._render_cli(text, vid, voice)
        raise TtsError(f"the {self.driver} engine produced no audio")

    def _render_once(self, text: str) -> tuple[npt.NDArray[np.float32], int]:
        import soundfile as sf

        fd, tmp = tempfile.mkstemp(suffix=".wav", prefix="voiceassist-tts-")
        os.close(fd)
        try:
            with contextlib.redirect_stdout(io.StringIO()):  # pyttsx3 prints "Audio saved to ..."
                self._engine.save_to_file(text, tmp)
                self._engine.runAndWait()
            if os.path.getsize(tmp) == 0:
                return np.zeros((0, 1), np.float32), 22050
            data, sr = sf.read(tmp, dtype="float32", always_2d=True)
        finally:
            Path(tmp).unlink(missing_ok=True)
        return data, int(sr)

    def _render_cli(self, text: str, voice_id: str, voice: Voice) -> tuple[npt.NDArray[np.float32], int]:
        import soundfile as sf

        cmd = [
            "espeak-ng",
            "--stdout",
            "-s",
            str(int(voice.rate * self.rate_scale)),
            "-p",
            str(voice.pitch),
            "-a",
            str(int(voice.volume * 100)),
        ]
        if voice_id:
            cmd += ["-v", voice_id.split("/")[-1]]
        try:
            wav = subprocess.run([*cmd, text], capture_output=True, check=True, timeout=30).stdout
            data, sr = sf.read(io.BytesIO(wav), dtype="float32", always_2d=True)
        except Exception as e:
            raise TtsError(f"espeak-ng could not render speech: {e}") from e
        return np.ascontiguousarray(data.mean(axis=1)), int(sr)


def _prefetch(chunks: Iterator[npt.NDArray[np.float32]], stop: threading.Event) -> Iterator[npt.NDArray[np.float32]]:
    """Pull ``chunks`` (synthesis) on a helper thread, a few ahead of playback."""
    import queue

    q: queue.Queue[Any] = queue.Queue(maxsize=4)
    end = object()

    def produce() -> None:
        try:
            for c in chunks:
                if stop.is_set():
                    break
                q.put(c)
        except Exception as e:  # a sentence that cannot be rendered ends the reply there
            log.warning("speech synthesis failed mid-reply: %s", e)
        finally:
            q.put(end)

    threading.Thread(target=produce, name="voiceassist-tts-render", daemon=True).start()
    while True:
        item = q.get()
        if item is end:
            return
        yield item


class Player:
    """Plays one buffer at a time through sounddevice, writing it in short chunks from the calling thread,
    so ``stop`` (from any thread) silences it within one chunk; the stream is then aborted, dropping
    what the sound server still buffers. Every PortAudio call happens on the playing thread: aborting
    from another thread made a later close() hang in PortAudio's ALSA code while a microphone stream
    was open."""

    LATENCY_S = 0.1
    CHUNK_S = 0.05

    def __init__(self, device: str | int | None = None) -> None:
        self.device = device
        self._stop = threading.Event()
        self._done = threading.Event()
        self._done.set()
        self.first_sample_at: float | None = None
        self.stopped_at: float | None = None
        self.stop_requested_at: float | None = None
        self.interrupted = False
        self.played_s = 0.0
        self.total_s = 0.0  # audio of the reply handed to the player so far (all of it once play returns)

    def unavailable(self) -> str | None:
        """Why nothing can be played (no output device), or None."""
        try:
            import sounddevice as sd

            sd.check_output_settings(device=self.device, channels=1, dtype="float32")
        except Exception as e:
            return f"no sound output device ({e}); replies are shown but not spoken"
        return None

    @property
    def playing(self) -> bool:
        return not self._done.is_set()

    def play(
        self,
        samples: npt.NDArray[np.float32] | Iterator[npt.NDArray[np.float32]],
        rate: int,
        on_start: Callable[[float], None] | None = None,
    ) -> None:
        """Play to the end or until ``stop``; blocks. ``samples``: one buffer, or an iterator of buffers
        (sentence by sentence) that a helper thread pulls (synthesises) while the first ones play.
        ``on_start(first_sample_at)`` is called once the first chunk is queued. Raises TtsError when
        there is no output device."""
        import sounddevice as sd

        self._stop.clear()
        self._done.clear()
        self.first_sample_at = self.stopped_at = self.stop_requested_at = None
        self.interrupted = False
        self.played_s = 0.0
        self.total_s = 0.0
        parts = _prefetch(iter([samples]) if isinstance(samples, np.ndarray) else samples, self._stop)
        try:
            stream = sd.OutputStream(
                samplerate=rate, channels=1, dtype="float32", device=self.device, latency=self.LATENCY_S
            )
            stream.start()
        except Exception as e:
            self._done.set()
            raise TtsError(f"no sound output device ({e}); replies are shown but not spoken") from e
        step = max(1, int(rate * self.CHUNK_S))
        written = 0
        try:
            for part in parts:
                data = np.ascontiguousarray(part, dtype=np.float32)
                self.total_s += len(data) / rate
                for pos in range(0, len(data), step):
                    if self._stop.is_set():
                        break
                    stream.write(data[pos : pos + step])
                    if written == 0:
                        self.first_sample_at = time.monotonic() + float(stream.latency)
                        if on_start is not None:
                            on_start(self.first_sample_at)
                    written += min(step, len(data) - pos)
                    self.played_s = written / rate
                if self._stop.is_set():
                    break
            if self._stop.is_set():
                stream.abort()  # drop what is buffered: silence now
            else:
                stream.stop()  # play out what is buffered
        except Exception as e:
            log.warning("playback failed: %s", e)
        finally:
            with contextlib.suppress(Exception):
                stream.close()
            self.stopped_at = time.monotonic()
            self._done.set()

    def stop(self) -> bool:
        """Stop now (barge-in, 'stop speaking'); any thread. Returns True if something was playing."""
        if not self.playing:
            return False
        self.interrupted = True
        self.stop_requested_at = time.monotonic()
        self._stop.set()
        return True

    def wait(self, timeout: float | None = None) -> bool:
        return self._done.wait(timeout)
