"""Audio sources behind one interface. Each converts to 16 kHz mono int16 once, at the boundary.

- ``FileSource``: WAV/FLAC/OGG through libsndfile (soundfile), MP3 and anything else through FFmpeg (PyAV,
  which faster-whisper brings; MP3 falls back to libsndfile without it); any rate (4-384 kHz) or channel
  count (up to 64); streamed in blocks so memory stays bounded for long files, and never more audio than
  the file's bytes can hold; replayed in real time or as fast as possible.
- ``MicSource``: a sounddevice InputStream whose callback only copies into a bounded queue; overflows are
  counted; a device that stops delivering is reported as unplugged.
"""

from __future__ import annotations

from voiceassist.audio.base import AudioInputError, AudioSource, DeviceLostError, Resampler, SourceInfo
from voiceassist.audio.files import FileSource
from voiceassist.audio.mic import MicSource, list_input_devices, resolve_input_device

__all__ = [
    "AudioInputError",
    "AudioSource",
    "DeviceLostError",
    "FileSource",
    "MicSource",
    "Resampler",
    "SourceInfo",
    "list_input_devices",
    "resolve_input_device",
]
