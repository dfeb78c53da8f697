"""The lazy registry of speech recognisers: each is created by name, its module imported only then."""

from __future__ import annotations

import dataclasses
import importlib
import importlib.util

from voiceassist.asr.base import AsrBackend
from voiceassist.config import AsrConfig

# name -> "module:Class"; the module is imported only when the backend is created.
BACKENDS = {
    "faster-whisper": "voiceassist.asr.whisper:FasterWhisperBackend",
    "funasr": "voiceassist.asr.funasr_asr:FunAsrBackend",  # SenseVoice-Small, Paraformer-zh (Mandarin-first)
}
EXTRAS = {"faster-whisper": "asr", "funasr": "emotion"}
"""The extra that brings each backend's packages (funasr's: FunASR, torch, kaldi-native-fbank)."""


class UnknownBackendError(ValueError):
    pass


def create_backend(cfg: AsrConfig, models_dir: str = "") -> AsrBackend:
    """The configured backend, not loaded. With ``asr.model = "auto"`` and a Mandarin-first recogniser
    installed (SenseVoice-Small, Paraformer-zh), Mandarin goes to it and the rest to Whisper (asr/routed.py)."""
    if cfg.backend == "faster-whisper" and cfg.model == "auto":
        routed = _routed(cfg, models_dir)
        if routed is not None:
            return routed
    return _create(cfg, models_dir)


def _routed(cfg: AsrConfig, models_dir: str) -> AsrBackend | None:
    from voiceassist.paths import models_dir as resolve

    try:
        from voiceassist.asr.funasr_asr import FunAsrBackend, FunAsrModelError, find_model
    except ImportError:
        return None
    try:
        find_model("auto", resolve(models_dir))
    except FunAsrModelError:
        return None
    if importlib.util.find_spec("funasr") is None:
        return None
    from voiceassist.asr.routed import RoutedAsr
    from voiceassist.asr.whisper import FasterWhisperBackend

    mandarin = FunAsrBackend(dataclasses.replace(cfg, backend="funasr", model="auto"), models_dir)
    return RoutedAsr(FasterWhisperBackend(cfg, models_dir), mandarin)


def _create(cfg: AsrConfig, models_dir: str) -> AsrBackend:
    target = BACKENDS.get(cfg.backend)
    if target is None:
        raise UnknownBackendError(f"unknown ASR backend {cfg.backend!r}; known: {', '.join(BACKENDS)}")
    module, cls = target.split(":")
    try:
        mod = importlib.import_module(module)
    except ImportError as e:
        extra = EXTRAS.get(cfg.backend, "asr")
        raise ImportError(
            f"the {cfg.backend} backend needs the '{extra}' extra: pip install 'voiceassist[{extra}]' ({e})"
        ) from e
    return getattr(mod, cls)(cfg, models_dir)  # type: ignore[no-any-return]
