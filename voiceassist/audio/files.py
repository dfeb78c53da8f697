"""``FileSource``: WAV/FLAC/OGG/MP3 through libsndfile (soundfile), anything else through FFmpeg (PyAV,
which faster-whisper brings); any rate or channel count within sane bounds; streamed in blocks so memory
stays bounded for long files; replayed in real time or as fast as possible. Damaged, truncated and
implausible files get a plain message (and what could be read is kept)."""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Generator, Iterator
from pathlib import Path

import numpy as np

from voiceassist.audio.base import AudioInputError, AudioSource, ChunkMaker, Resampler, SourceInfo
from voiceassist.audio.chunk import SAMPLE_RATE, AudioChunk

log = logging.getLogger(__name__)


MIN_FILE_RATE = 4_000
MAX_FILE_RATE = 384_000
"""Sample rates outside these bounds (Hz) are refused: no audio file uses them, a damaged header does."""
MAX_FILE_CHANNELS = 64
MAX_FRAMES_PER_BYTE = 8192
"""Most frames one byte of a compressed file (FLAC, Vorbis, Opus, MP3, AAC...) is taken to hold; a file
that decodes to more is cut there. (FLAC's densest real-world silence is ~5,000 frames a byte.)"""
_PCM_BYTES = {
    "PCM_S8": 1,
    "PCM_U8": 1,
    "PCM_16": 2,
    "PCM_24": 3,
    "PCM_32": 4,
    "FLOAT": 4,
    "DOUBLE": 8,
    "ULAW": 1,
    "ALAW": 1,
}
_ADPCM_FRAMES_PER_BYTE = 8  # IMA/MS/VOX/NMS ADPCM, G.72x, GSM 6.10, DWVW: at least 1 bit a sample
_UNCOMPRESSED_CONTAINERS = {"WAV", "WAVEX", "W64", "RF64", "AIFF", "AU", "CAF", "RAW", "NIST", "IRCAM"}
_HEAD_BYTES = 1 << 16


def _wav_claimed_frames(head: bytes) -> int | None:
    """Frames the data chunk of a PCM RIFF/WAVE header claims; None when not a PCM WAV or no length is given."""
    if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
        return None
    pos, align, tag = 12, 0, 0
    while pos + 8 <= len(head):
        cid, size = head[pos : pos + 4], int.from_bytes(head[pos + 4 : pos + 8], "little")
        if cid == b"fmt " and pos + 22 <= len(head):
            tag = int.from_bytes(head[pos + 8 : pos + 10], "little")
            align = int.from_bytes(head[pos + 20 : pos + 22], "little")
        elif cid == b"data":
            # 1 PCM, 3 float, 6 A-law, 7 mu-law, 0xFFFE extensible; 0 and 0xFFFFFFFF: length not known (streamed)
            if tag not in (1, 3, 6, 7, 0xFFFE) or align <= 0 or size in (0, 0xFFFFFFFF):
                return None
            return size // align
        pos += 8 + size + (size & 1)
    return None


def _looks_like_mpeg_audio(head: bytes) -> bool:
    """An ID3 tag or an MPEG audio frame sync at the start (MP3, MP2, ADTS AAC)."""
    return head[:3] == b"ID3" or (len(head) >= 2 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0)


def _av_available() -> bool:
    import importlib.util

    return importlib.util.find_spec("av") is not None


def _ffmpeg_reason(e: BaseException) -> str:
    """An FFmpeg/PyAV failure in words (the raw error goes to the debug log)."""
    if isinstance(e, PermissionError):
        return "permission denied"
    return "not an audio file, or damaged beyond decoding"


class FileSource(AudioSource):
    """A recording read from a file, as 16 kHz mono chunks.

    After ``open()`` and while / after ``chunks()`` runs, these tell the front end what happened:

    - ``warnings: list[str]``: problems that did not stop the reading, each a sentence that names the file,
      e.g. ``"talk.wav: read 4.0 of 8.1 s: the file is truncated"``, or a header that claims more audio than
      the file's bytes can hold (the reading is then cut to what they allow). Show them to the user.
      Truncation is only known once ``chunks()`` has ended.
    - ``frames_read``: frames decoded so far, at the file's own rate (``info.sample_rate``);
      ``duration_read_s``: the same in seconds.
    - ``claimed_duration_s``: what the file's header says it holds (None when it does not say).

    ``open()`` refuses (AudioInputError) a missing, empty, unreadable or non-regular file, a file that is not
    audio, and headers with a sample rate outside 4-384 kHz or more than 64 channels.
    """

    def __init__(self, path: str | Path, realtime: bool = False, chunk_ms: int = 100) -> None:
        self.path = Path(path)
        self.realtime = realtime
        self.chunk_ms = chunk_ms
        self._backend: str | None = None
        self.warnings: list[str] = []
        self.frames_read = 0
        self.claimed_duration_s: float | None = None
        self._max_frames: int | None = None  # the most frames the file's bytes can hold (set by open)
        self._size = 0
        self._truncation_tolerance = 0.01  # fraction of the claimed length that may be missing unremarked

    def describe(self) -> str:
        return f"file {self.path}"

    @property
    def duration_read_s(self) -> float:
        rate = getattr(getattr(self, "info", None), "sample_rate", 0)
        return self.frames_read / rate if rate else 0.0

    def open(self) -> SourceInfo:
        p = self.path
        self.warnings = []
        self.frames_read = 0
        self.claimed_duration_s = None
        self._max_frames = None
        self._truncation_tolerance = 0.01
        try:
            if not p.exists():
                raise AudioInputError(f"{p}: no such file")
            if p.is_dir():
                raise AudioInputError(f"{p}: is a folder, not an audio file")
            if not p.is_file():
                raise AudioInputError(f"{p}: not a regular file (a device or a pipe?); save the audio to a file")
            size = p.stat().st_size
            if size == 0:
                raise AudioInputError(f"{p}: the file is empty")
            if not os.access(p, os.R_OK):
                raise PermissionError(p)
            with open(p, "rb") as fh:  # libsndfile and FFmpeg would report a permission problem obscurely
                head = fh.read(_HEAD_BYTES)
        except PermissionError as e:
            raise AudioInputError(f"cannot read {p}: permission denied") from e
        except OSError as e:
            log.debug("cannot read %s", p, exc_info=True)
            raise AudioInputError(f"cannot read {p}: {e.strerror or e}") from e
        self._size = size
        import soundfile as sf

        # MP3 goes to FFmpeg when PyAV is there: libsndfile's libmpg123 prints errors straight to the console.
        mpeg_to_av = _av_available() and _looks_like_mpeg_audio(head)
        try:
            si = None if mpeg_to_av else sf.info(str(p))
        except (sf.LibsndfileError, RuntimeError, ValueError, TypeError, OverflowError) as sf_err:
            log.debug("libsndfile cannot read %s: %s", p, sf_err)
            self.info = self._open_with_av(sf_err)
            return self.info
        if si is None or (si.format == "MP3" and _av_available()):
            self.info = self._open_with_av(None)
        else:
            self._backend = "soundfile"
            self._check_format(si.samplerate, si.channels)
            if si.format == "MP3":
                self._truncation_tolerance = 0.05  # libmpg123 estimates the length of a VBR file
            subtype = str(si.subtype or "")
            if si.format not in _UNCOMPRESSED_CONTAINERS:  # FLAC, OGG, MP3... (their subtype may say PCM_16)
                self._max_frames = size * MAX_FRAMES_PER_BYTE
            elif subtype in _PCM_BYTES:
                self._max_frames = size // (_PCM_BYTES[subtype] * si.channels)
            else:
                self._max_frames = size * _ADPCM_FRAMES_PER_BYTE
            # libsndfile already counts only the frames a truncated WAV holds; its header says how many it had.
            self.claimed_duration_s = max(int(si.frames), _wav_claimed_frames(head) or 0) / si.samplerate
            frames = self._cap_claim(int(si.frames), si.samplerate)
            self.info = SourceInfo(str(p), si.samplerate, si.channels, frames / si.samplerate)
        return self.info

    def _check_format(self, rate: int | None, channels: int | None) -> None:
        p = self.path
        if not rate or not channels or rate <= 0 or channels <= 0:
            raise AudioInputError(f"{p}: the file has no audio stream")
        if not MIN_FILE_RATE <= rate <= MAX_FILE_RATE:
            raise AudioInputError(
                f"{p}: sample rate {rate} Hz is outside what audio files use (4-384 kHz); "
                "the header is probably damaged"
            )
        if channels > MAX_FILE_CHANNELS:
            raise AudioInputError(
                f"{p}: {channels} channels is more than audio files have (at most "
                f"{MAX_FILE_CHANNELS}); the header is probably damaged"
            )

    def _cap_claim(self, frames: int, rate: int) -> int:
        """The header's frame count, cut (with a warning) to what the file's bytes can hold."""
        if self._max_frames is not None and frames > self._max_frames:
            self.warnings.append(
                f"{self.path}: the header claims {frames / rate:.1f} s, more than the file's {self._size} bytes "
                f"can hold; reading at most {self._max_frames / rate:.1f} s"
            )
            return self._max_frames
        return frames

    def _open_with_av(self, sf_err: Exception | None) -> SourceInfo:
        try:
            import av
        except ImportError as e:
            raise AudioInputError(
                f"{self.path}: not a format libsndfile reads ({sf_err}); install the 'asr' extra "
                "(pip install 'voiceassist[asr]') for FFmpeg decoding"
            ) from e
        try:
            with av.open(str(self.path)) as container:
                if not container.streams.audio:
                    raise AudioInputError(f"{self.path}: the file has no audio stream")
                st = container.streams.audio[0]
                cc = st.codec_context
                rate = getattr(cc, "sample_rate", 0) or 0
                channels = getattr(cc, "channels", 0) or len(getattr(getattr(cc, "layout", None), "channels", ()))
                if st.duration and st.time_base:
                    dur: float | None = float(st.duration * st.time_base)
                elif container.duration:
                    dur = container.duration / 1_000_000  # AV_TIME_BASE
                else:
                    dur = None
        except AudioInputError:
            raise
        except Exception as e:  # PyAV raises many error types for junk input (FFmpegError, AttributeError...)
            log.debug("FFmpeg cannot read %s", self.path, exc_info=True)
            if isinstance(e, PermissionError):
                raise AudioInputError(f"cannot read {self.path}: permission denied") from e
            raise AudioInputError(f"{self.path}: {_ffmpeg_reason(e)}") from e
        self._check_format(rate, channels)
        self._backend = "av"
        self._max_frames = self._size * MAX_FRAMES_PER_BYTE
        self._truncation_tolerance = 0.05  # container durations are estimates
        if dur is not None and not (dur >= 0 and dur * rate < 2**62):
            dur = None  # a nonsense duration (negative, NaN, astronomic): not a claim worth repeating
        if dur is not None:
            self.claimed_duration_s = dur
            dur = self._cap_claim(int(dur * rate), rate) / rate
        return SourceInfo(str(self.path), rate, channels, dur)

    def chunks(self, stop: threading.Event) -> Iterator[AudioChunk]:
        if self._backend is None:
            self.open()
        maker = ChunkMaker(SAMPLE_RATE * self.chunk_ms // 1000)
        started = time.monotonic()
        self.frames_read = 0
        blocks: Generator[np.ndarray, None, None] = (
            self._blocks_soundfile() if self._backend == "soundfile" else self._blocks_av()
        )
        error: AudioInputError | None = None
        try:
            for samples in blocks:
                for chunk in maker.feed(samples):
                    if stop.is_set():
                        return
                    if self.realtime:
                        delay = started + chunk.end_s - time.monotonic()
                        if delay > 0 and stop.wait(delay):
                            return
                    yield AudioChunk(chunk.samples, chunk.start_s, time.monotonic())
        except AudioInputError as e:
            error = e  # damaged file: keep everything decoded before the damage
        finally:
            blocks.close()
        self._note_truncation()
        yield from maker.feed(np.zeros(0, dtype=np.int16), final=True)
        if error is not None:
            raise error

    def _note_truncation(self) -> None:
        claimed, rate = self.claimed_duration_s, self.info.sample_rate
        if claimed is None or not rate:
            return
        missing = claimed - self.duration_read_s
        if missing > max(self._truncation_tolerance * claimed, 0.05):
            self.warnings.append(
                f"{self.path}: read {self.duration_read_s:.1f} of {claimed:.1f} s: the file is truncated"
            )

    def _cap_reached(self, n: int) -> int:
        """How many of ``n`` new frames may still be read (the byte bound); warns once when it bites."""
        if self._max_frames is None or self.frames_read + n <= self._max_frames:
            return n
        allowed = max(0, self._max_frames - self.frames_read)
        self.warnings.append(
            f"{self.path}: decodes to more audio than its {self._size} bytes can hold; "
            f"stopped after {(self.frames_read + allowed) / self.info.sample_rate:.1f} s"
        )
        return allowed

    def _blocks_soundfile(self) -> Generator[np.ndarray, None, None]:
        import soundfile as sf

        resample = Resampler(self.info.sample_rate)
        # Reads of at most ~4 MB (float32), whatever the rate, channel count and chunk length.
        block = max(1024, min(self.info.sample_rate * self.chunk_ms // 1000, (1 << 20) // self.info.channels))
        try:
            with sf.SoundFile(str(self.path)) as f:
                while True:
                    data = f.read(block, dtype="float32", always_2d=True)
                    if len(data) == 0:
                        break
                    allowed = self._cap_reached(len(data))
                    self.frames_read += allowed
                    yield resample(data[:allowed])
                    if allowed < len(data):
                        break
        except (sf.LibsndfileError, RuntimeError, ValueError, TypeError, OverflowError) as e:
            log.debug("libsndfile stopped reading %s: %s", self.path, e)
            yield resample(np.zeros((0, 1), dtype=np.float32), last=True)
            raise AudioInputError(
                f"{self.path}: the file is damaged; read up to the damage ({self.duration_read_s:.1f} s)"
            ) from e
        yield resample(np.zeros((0, 1), dtype=np.float32), last=True)

    def _blocks_av(self) -> Generator[np.ndarray, None, None]:
        import av

        resampler = av.AudioResampler(format="s16", layout="mono", rate=SAMPLE_RATE)
        try:
            with av.open(str(self.path)) as container:
                for frame in container.decode(audio=0):
                    allowed = self._cap_reached(frame.samples)
                    self.frames_read += allowed
                    if allowed < frame.samples:
                        break
                    for out in resampler.resample(frame):
                        yield out.to_ndarray().reshape(-1).astype(np.int16, copy=False)
                for out in resampler.resample(None):
                    yield out.to_ndarray().reshape(-1).astype(np.int16, copy=False)
        except Exception as e:  # FFmpegError, and AttributeError/ValueError from PyAV on odd streams
            log.debug("FFmpeg stopped decoding %s", self.path, exc_info=True)
            if isinstance(e, PermissionError):
                raise AudioInputError(f"cannot read {self.path}: permission denied") from e
            raise AudioInputError(
                f"{self.path}: the file is damaged; read up to the damage ({self.duration_read_s:.1f} s)"
            ) from e
