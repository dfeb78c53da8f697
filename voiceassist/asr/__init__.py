"""Speech recognition: the result type and backend interface (asr/base.py) and the lazy registry that creates
backends by name (asr/registry.py): faster-whisper, and FunASR's Mandarin-first recognisers."""

from voiceassist.asr.base import AsrBackend, AsrResult, preview_pass
from voiceassist.asr.registry import BACKENDS, EXTRAS, UnknownBackendError, create_backend

__all__ = ["BACKENDS", "EXTRAS", "AsrBackend", "AsrResult", "UnknownBackendError", "create_backend", "preview_pass"]
