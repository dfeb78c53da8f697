"""The microphone path for real: a PulseAudio null sink as a virtual microphone, paced in real time."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import espeak, silence, wait_until, write_wav
from voiceassist.audio.sources import AudioInputError, DeviceLostError, MicSource, list_input_devices
from voiceassist.bus import Collector
from voiceassist.config import Config
from voiceassist.events import SourceEnded, SpeechSegment, Transcript
from voiceassist.pipeline import Models, Pipeline

pytestmark = pytest.mark.slow


def test_lists_the_virtual_device(virtual_mic):
    names = [d["name"] for d in list_input_devices()]
    assert "pulse" in names


def test_unknown_device_is_a_clear_error(virtual_mic):
    with pytest.raises(AudioInputError, match="No audio input device named like 'no-such-mic'"):
        MicSource("no-such-mic").open()
    with pytest.raises(AudioInputError, match="index 99"):
        MicSource(99).open()


def test_captures_played_audio_in_real_time(virtual_mic, tmp_path: Path):
    t = np.arange(16000 * 2) / 16000
    path = write_wav(tmp_path / "tone.wav", (8000 * np.sin(2 * np.pi * 440 * t)).astype(np.int16))
    src = MicSource("pulse", block_ms=30)
    src.open()
    stop = threading.Event()
    got: list[np.ndarray] = []
    player = None
    heard_tone = False
    quiet_after = 0  # samples captured since the last loud one
    deadline = time.monotonic() + 20  # a safety net only: capture ends on what is heard
    for chunk in src.chunks(stop):
        got.append(chunk.samples)
        if player is None:  # the device is live: play into it
            player = virtual_mic.play(path)
        loud_now = np.flatnonzero(np.abs(chunk.samples) > 2000)
        heard_tone = heard_tone or len(loud_now) > 0
        quiet_after = len(chunk.samples) - 1 - loud_now[-1] if len(loud_now) else quiet_after + len(chunk.samples)
        # stop once the player has finished and the tone has been followed by 0.5 s of quiet in the capture
        if (player.poll() is not None and heard_tone and quiet_after >= 8000) or time.monotonic() > deadline:
            stop.set()
    assert player.wait(timeout=10) == 0
    assert heard_tone and quiet_after >= 8000, "the tone and the quiet after it were not captured within 20 s"
    audio = np.concatenate(got)
    spec = np.abs(np.fft.rfft(audio.astype(np.float64)))
    assert spec.argmax() * 16000 / len(audio) == pytest.approx(440, abs=3)
    loud = np.flatnonzero(np.abs(audio) > 2000)
    assert (loud[-1] - loud[0]) / 16000 == pytest.approx(2.0, abs=0.25)  # paced: 2 s of tone took ~2 s
    assert src.overflows == 0


def test_live_pipeline_transcribes_microphone_speech(virtual_mic, whisper_backend, tmp_path: Path):
    path = write_wav(
        tmp_path / "say.wav",
        np.concatenate([silence(0.3), espeak("Please set an alarm for seven o'clock."), silence(1.2)]),
    )
    collector = Collector()
    p = Pipeline(Config(), MicSource("pulse"), models=Models(asr=whisper_backend))
    p.bus.subscribe(collector)
    p.start()
    virtual_mic.say(path)
    got_transcript = wait_until(lambda: collector.of(Transcript), 20, 0.1)
    p.stop()
    assert got_transcript, "no transcript within 20 s of the end of playback"
    texts = [t.text.lower() for t in collector.of(Transcript)]
    assert any("alarm" in t for t in texts), texts


def test_unplugged_microphone_is_reported_and_speech_kept(virtual_mic, tmp_path: Path):
    """Kill the sound server mid-utterance: the pipeline reports the lost device and still delivers
    the speech captured before it vanished."""
    path = write_wav(tmp_path / "long.wav", espeak("This sentence keeps going for a while, " * 4))
    collector = Collector()
    cfg = Config()
    cfg.audio.no_data_timeout_s = 1.0

    class Probe:
        name, description, embedded = "probe", "probe", False

        def __init__(self):
            self.calls: list[int] = []

        def load(self):
            pass

        def transcribe(self, audio, language=None, words=False):
            from voiceassist.asr import AsrResult

            self.calls.append(len(audio))
            return AsrResult("probe", "en", 1.0, 0.0, 0.0, False)

    p = Pipeline(cfg, MicSource("pulse", no_data_timeout_s=1.0), models=Models(asr=Probe()))
    p.bus.subscribe(collector)
    p.start()
    player = virtual_mic.play(path)
    # kill the server mid-utterance: once the segmenter is inside an utterance with 1.2 s of it voiced
    assert wait_until(lambda: p.segmenter.in_speech and p.segmenter.current_voiced_s >= 1.2, 15, 0.02), (
        f"no utterance in progress with 1.2 s voiced (voiced {p.segmenter.current_voiced_s:.2f} s)"
    )
    assert not collector.of(SpeechSegment), "the utterance closed before the device was lost"
    virtual_mic.kill()
    player.wait(timeout=10)
    source_ended = wait_until(lambda: collector.of(SourceEnded), 15, 0.1)
    p.stop()
    assert source_ended, "no SourceEnded within 15 s of the server being killed"
    ended = collector.of(SourceEnded)
    assert len(ended) == 1 and ended[0].error
    assert "The microphone 'pulse' stopped delivering audio" in ended[0].error, ended[0].error
    assert "was it unplugged?" in ended[0].error, ended[0].error
    segs = collector.of(SpeechSegment)
    assert len(segs) == 1 and segs[0].reason == "end_of_stream", [(s.segment_id, s.reason) for s in segs]
    assert segs[0].audio.duration_s > 1.0  # what was heard before the device vanished is kept
    assert len(collector.of(Transcript)) == 1


def test_device_lost_error_is_an_input_error():
    assert issubclass(DeviceLostError, AudioInputError)
