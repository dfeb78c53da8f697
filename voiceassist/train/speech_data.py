"""Speech-emotion training data: the manifest, checked, and the voice head's features of each clip.

A manifest is a CSV (header ``path,emotion,speaker[,language][,corpus]``) or JSONL (the same keys) with one
recording per row; paths are relative to the manifest's folder. Emotions are the app's labels or their
usual corpus names (anger, ANG, happiness, boredom...: ``SYNONYMS``; ``--map bored=sad`` changes one).
Every problem is collected and reported together, each naming its rows: an unknown label, a missing or
unreadable file, a row without a speaker, and a manifest with one speaker only (no speaker could be held
out, so no figure would say anything about a new voice).

Features are what the head reads at run time (voiceassist/emotion/voice_head.py): the Whisper encoder
frames of the recording as the app's own decode computes them (``FasterWhisperBackend.encode_speech``, the
short window English is decoded in and Whisper's full window, Mandarin's), pooled, and the prosody
features. They are cached per file content, window and variant, so a second run costs seconds.
"""

from __future__ import annotations

import csv
import hashlib
import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from voiceassist.emotion.labels import LABELS
from voiceassist.train import TrainError

log = logging.getLogger(__name__)

SYNONYMS: dict[str, str] = {
    **{label: label for label in LABELS},
    "anger": "angry", "ang": "angry", "mad": "angry",
    "disgust": "disgusted", "dis": "disgusted",
    "fear": "fearful", "fea": "fearful", "anxiety": "fearful", "afraid": "fearful",
    "happiness": "happy", "hap": "happy", "joy": "happy", "amused": "happy", "excited": "happy",
    "neu": "neutral", "calm": "neutral", "boredom": "drop", "bored": "drop",
    "sadness": "sad", "sa": "sad",
    "surprise": "surprised", "sur": "surprised", "ps": "surprised",
}  # fmt: skip
"""Corpus label -> the app's label, or ``drop`` (the row is left out). ``calm`` is neutral; boredom is
dropped: none of the app's feelings, and a trained head calls it neutral or sad anyway (taking it as
neutral made calm speech of other corpora come out less neutral). ``--map`` changes any of them."""


@dataclass(frozen=True)
class Clip:
    path: Path
    emotion: str
    speaker: str
    language: str
    corpus: str
    row: int  # the manifest's line (for messages)


def read_manifest(
    path: Path, mapping: dict[str, str] | None = None, check_files: bool = True, training: bool = True
) -> list[Clip]:
    """The manifest's clips; TrainError naming every bad row (and the fix) otherwise. ``training``: two
    speakers at least (a set to evaluate on may hold one)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as e:
        raise TrainError(f"cannot read the manifest {path}: {e.strerror or e}") from e
    rows = _rows(path, text)
    names = {**SYNONYMS, **(mapping or {})}
    clips: list[Clip] = []
    unknown: list[str] = []
    missing: list[str] = []
    no_speaker: list[str] = []
    for line, r in rows:
        raw = str(r.get("emotion", "")).strip()
        label = names.get(raw.lower())
        if label == "drop":
            continue
        if label is None:
            unknown.append(f"{path}:{line}: {raw!r}")
            continue
        rel = str(r.get("path", "")).strip()
        p = Path(rel) if Path(rel).is_absolute() else path.parent / rel
        if not rel or (check_files and not p.is_file()):
            missing.append(f"{path}:{line}: {rel or '(no path)'}")
            continue
        speaker = str(r.get("speaker", "")).strip()
        if not speaker:
            no_speaker.append(f"{path}:{line}")
            continue
        clips.append(Clip(p, label, speaker, str(r.get("language", "") or "").strip(), str(r.get("corpus", "")), line))
    problems = []
    if unknown:
        problems.append(
            f"{len(unknown)} rows with an emotion outside the labels ({', '.join(LABELS)}) and their usual names; "
            "map one with --map NAME=LABEL:\n  " + "\n  ".join(unknown[:20])
        )
    if missing:
        problems.append(f"{len(missing)} rows whose file is missing:\n  " + "\n  ".join(missing[:20]))
    if no_speaker:
        problems.append(f"{len(no_speaker)} rows without a speaker:\n  " + "\n  ".join(no_speaker[:20]))
    if problems:
        raise TrainError("\n".join(problems))
    if not clips:
        raise TrainError(f"{path}: no clips")
    speakers = sorted({c.speaker for c in clips})
    if training and len(speakers) < 2:
        raise TrainError(
            f"{path}: every row (lines {clips[0].row}-{clips[-1].row}) is speaker {speakers[0]!r}: a model must be "
            "judged on voices it was not trained on, so at least two speakers are needed"
        )
    return clips


def _rows(path: Path, text: str) -> list[tuple[int, dict[str, Any]]]:
    if path.suffix.lower() in (".jsonl", ".json"):
        out = []
        for i, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as e:
                raise TrainError(f"{path}:{i}: not JSON ({e.msg})") from e
            if not isinstance(obj, dict):
                raise TrainError(f"{path}:{i}: not a JSON object")
            out.append((i, obj))
        return out
    reader = csv.DictReader(text.splitlines())
    need = {"path", "emotion", "speaker"}
    if reader.fieldnames is None or not need <= {f.strip() for f in reader.fieldnames}:
        raise TrainError(f"{path}: the header must name path, emotion and speaker (and may name language, corpus)")
    return [(i, {k.strip(): v for k, v in r.items() if k}) for i, r in enumerate(reader, 2)]


def load_audio(path: Path) -> npt.NDArray[np.float32]:
    """A recording as 16 kHz mono float32 (the app's one currency)."""
    import soundfile as sf
    import soxr

    try:
        x, rate = sf.read(str(path), dtype="float32", always_2d=True)
    except (RuntimeError, OSError) as e:
        raise TrainError(f"{path}: cannot be read as audio ({e})") from e
    mono = x.mean(axis=1)
    if rate != 16000:
        mono = soxr.resample(mono, rate, 16000)
    return np.asarray(mono, dtype=np.float32)


VARIANTS = ("orig", "speed0.9", "speed1.1", "noise", "gain", "level", "reverb")
"""The recording, and six copies as other voices, rooms and microphones would give it (``--augment``)."""
FULL_WINDOW_VARIANTS = ("orig", "speed0.9", "speed1.1")
"""In Whisper's full 30 s window (Mandarin's) the copies that matter most: another voice's pitch and tempo.
Encoding in that window costs about a second a clip on a laptop core, seven times the short window's."""


def augment(audio: npt.NDArray[np.float32], variant: str, seed: int) -> npt.NDArray[np.float32]:
    """A variant of a recording for training (deterministic per clip and variant):

    - ``speed0.9`` / ``speed1.1``: tempo and pitch together, as a lower or higher voice would;
    - ``noise``: white or pink noise 20-30 dB below the active speech;
    - ``gain``: a quieter microphone, -6 to -18 dB;
    - ``level``: the active speech set to -50 to -22 dBFS, the range of real recordings;
    - ``reverb``: a synthetic room (exponential decay, RT60 0.2-0.6 s), same loudness and length;
    - ``orig``: the recording itself."""
    a = np.asarray(audio, np.float32)
    if variant == "orig":
        return a
    rng = np.random.default_rng([seed, VARIANTS.index(variant)])
    if variant.startswith("speed"):
        import soxr

        factor = float(variant[5:])
        return np.asarray(soxr.resample(a, int(16000 * factor), 16000), np.float32)
    if variant == "noise":
        snr = rng.uniform(20, 30)
        n = _pink(len(a), rng) if rng.random() < 0.5 else rng.standard_normal(len(a))
        n = n * np.sqrt(_active_power(a) / 10 ** (snr / 10))
        return np.asarray(np.clip(a + n, -1, 1), np.float32)
    if variant == "gain":
        return np.asarray(a * 10 ** (-rng.uniform(6, 18) / 20), np.float32)
    if variant == "level":
        target = rng.uniform(-50, -22)
        g = 10 ** ((target - 10 * np.log10(_active_power(a) + 1e-12)) / 20)
        return np.asarray(np.clip(a * g, -1, 1), np.float32)
    if variant == "reverb":
        rt60 = rng.uniform(0.2, 0.6)
        t = np.arange(int(rt60 * 16000)) / 16000
        rir = rng.standard_normal(len(t)) * np.exp(-6.9 * t / rt60)
        rir *= rng.uniform(0.3, 0.8) / (np.sqrt(np.sum(rir**2)) + 1e-12)
        rir[0] = 1.0
        y = np.convolve(a, rir)[: len(a)]
        y *= np.sqrt(np.mean(a.astype(np.float64) ** 2) / (np.mean(y**2) + 1e-12))
        return np.asarray(np.clip(y, -1, 1), np.float32)
    raise ValueError(f"unknown variant {variant!r}")


def _pink(n: int, rng: np.random.Generator) -> npt.NDArray[np.float64]:
    x = np.fft.rfft(rng.standard_normal(n))
    f = np.arange(len(x), dtype=np.float64)
    f[0] = 1.0
    y = np.fft.irfft(x / np.sqrt(f), n)
    return np.asarray(y / (np.std(y) + 1e-12))


def _active_power(a: npt.NDArray[np.float32]) -> float:
    """Mean power of the 20 ms frames within 30 dB of the loudest (the speech, not the pauses)."""
    frames = a[: len(a) // 320 * 320].reshape(-1, 320) if len(a) >= 320 else a[None]
    p = np.mean(frames.astype(np.float64) ** 2, axis=1)
    db = 10 * np.log10(p + 1e-12)
    return float(p[db > db.max() - 30].mean())


class Featurizer:
    """The voice head's features of clips, through the app's own recogniser, cached in ``cache``."""

    def __init__(self, asr: Any, cache: Path | None) -> None:
        self.asr = asr  # a loaded FasterWhisperBackend
        self.cache = cache
        self.whisper = asr.resolved.name if getattr(asr, "resolved", None) is not None else "whisper"

    def features(self, clip: Clip, window: str, variant: str = "orig") -> npt.NDArray[np.float64]:
        """Every candidate input of one clip, (2D + 11,): the encoder frames' mean and standard deviation over
        the speech, and the 11 raw prosody features (a head picks what it reads: voice_head.select)."""
        from voiceassist.emotion.voice_head import pool, prosody_vector

        key = self._key(clip.path, window, variant)
        if self.cache is not None and (self.cache / f"{key}.npy").is_file():
            return np.asarray(np.load(self.cache / f"{key}.npy"), dtype=np.float64)
        seed = int(hashlib.sha256(str(clip.path).encode()).hexdigest()[:8], 16)
        audio = augment(load_audio(clip.path), variant, seed)
        if len(audio) < 1600:
            raise TrainError(f"{clip.path}: shorter than 0.1 s")
        x = np.concatenate([pool(self.asr.encode_speech(audio, window), ("mean", "std")), prosody_vector(audio)])
        if self.cache is not None:
            self.cache.mkdir(parents=True, exist_ok=True)
            np.save(self.cache / f"{key}.npy", x)
        return x

    def _key(self, path: Path, window: str, variant: str) -> str:
        h = hashlib.sha256(Path(path).read_bytes())
        h.update(f"{self.whisper}|{self.asr.cfg.encoder_window_s}|{window}|{variant}".encode())
        return h.hexdigest()[:32]

    def matrix(
        self, clips: Iterable[Clip], variants: dict[str, tuple[str, ...]]
    ) -> tuple[npt.NDArray[np.float64], list[tuple[int, str, str]]]:
        """Rows for every clip x window x that window's variants, and (clip index, window, variant) per row."""
        rows, index = [], []
        clips = list(clips)
        for i, c in enumerate(clips):
            for w, ws in variants.items():
                for v in ws:
                    rows.append(self.features(c, w, v))
                    index.append((i, w, v))
            if (i + 1) % 100 == 0:
                log.info("features: %d of %d clips", i + 1, len(clips))
        return np.vstack(rows), index


def app_window(language: str) -> str:
    """The window the app decodes a clip of this language in: Mandarin in Whisper's full one."""
    from voiceassist.lang import is_zh

    return "full" if is_zh(language) else "short"
