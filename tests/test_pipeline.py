"""The pipeline's event flow. Most tests use a tiny recording backend (no model) to check which events each
stage emits and in what order; one runs the real embedded Whisper model."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.conftest import SR, espeak, silence, wait_until, write_wav
from voiceassist.asr import AsrResult
from voiceassist.audio.sources import FileSource
from voiceassist.bus import Collector
from voiceassist.config import Config
from voiceassist.events import (
    FusedEmotion,
    PipelineStopped,
    QualityReport,
    SourceEnded,
    SourceStarted,
    SpeechSegment,
    SpeechStarted,
    StageError,
    StageReady,
    Transcript,
)
from voiceassist.pipeline import Models, Pipeline


class RecordingAsr:
    """Reports the length of what it was given; fails on request. Not a transcript: a probe."""

    name = "probe"
    description = "probe backend"
    embedded = False

    def __init__(self, fail_on: set[int] | None = None) -> None:
        self.calls: list[int] = []
        self.fail_on = fail_on or set()

    def load(self) -> None:
        pass

    def transcribe(self, audio: np.ndarray, language=None, words=False) -> AsrResult:
        self.calls.append(len(audio))
        if len(self.calls) in self.fail_on:
            raise RuntimeError("decoder exploded")
        return AsrResult(f"{len(audio)} samples", "en", 1.0, 0.0, -0.1, False)


def run_pipeline(path: Path, asr=None, cfg: Config | None = None) -> Collector:
    collector = Collector()
    p = Pipeline(cfg or Config(), FileSource(path), models=Models(asr=asr))
    p.bus.subscribe(collector)
    p.start()
    assert p.wait(timeout=120)
    p.stop()  # idempotent after wait
    return collector


def test_event_sequence_for_two_utterances(two_utterances):
    path, _ = two_utterances
    asr = RecordingAsr()
    c = run_pipeline(path, asr)
    kinds = [type(e).__name__ for e in c.events]
    started = kinds.index("SourceStarted")
    assert set(kinds[:started]) == {"StageReady"}  # every model is ready before capture starts
    # a bare Pipeline has no responder (the Session builds it): the three model stages
    assert {e.stage for e in c.of(StageReady)} == {"asr", "speech-emotion", "text-emotion"}
    assert kinds[-1] == "PipelineStopped"
    assert len(c.of(PipelineStopped)) == 1
    segs = c.of(SpeechSegment)
    assert [s.segment_id for s in segs] == [1, 2]
    for seg in segs:
        idx = {type(e).__name__: i for i, e in enumerate(c.events) if e.segment_id == seg.segment_id}
        assert idx["SpeechStarted"] < idx["SpeechSegment"] < idx["QualityReport"] < idx["Transcript"]
    assert asr.calls == [len(s.audio.samples) for s in segs]  # ASR got exactly the segment audio
    ended = c.of(SourceEnded)
    assert len(ended) == 1 and ended[0].error is None
    import soundfile as sf

    assert ended[0].duration_s == pytest.approx(sf.info(str(path)).duration, abs=1e-3)


def test_quiet_utterance_is_reported_not_transcribed(tmp_path: Path):
    loud = espeak("This one is loud enough.")
    quiet = (espeak("This one is whispered.").astype(np.float32) * 10 ** (-40 / 20)).astype(np.int16)
    path = write_wav(tmp_path / "mixed.wav", np.concatenate([silence(0.5), loud, silence(1.0), quiet, silence(1.0)]))
    asr = RecordingAsr()
    c = run_pipeline(path, asr, Config())
    reports = c.of(QualityReport)
    assert [r.ok for r in reports] == [True, False]
    assert reports[1].issue == "too_quiet" and "closer" in reports[1].message
    assert len(asr.calls) == 1
    assert [t.segment_id for t in c.of(Transcript)] == [reports[0].segment_id]


def test_a_failing_stage_emits_an_error_and_the_pipeline_goes_on(two_utterances):
    path, _ = two_utterances
    c = run_pipeline(path, RecordingAsr(fail_on={1}))
    errors = c.of(StageError)
    assert len(errors) == 1 and errors[0].stage == "asr" and "decoder exploded" in errors[0].message
    assert errors[0].segment_id == 1
    assert [t.segment_id for t in c.of(Transcript)] == [2]


def test_an_asr_model_that_cannot_load_stops_the_start_before_any_audio(two_utterances):
    from voiceassist.pipeline import StageSetupError

    path, _ = two_utterances
    cfg = Config()
    cfg.asr.model = "/nonexistent/whisper"
    collector = Collector()
    p = Pipeline(cfg, FileSource(path))
    p.bus.subscribe(collector)
    with pytest.raises(StageSetupError, match="not a Whisper model folder"):
        p.start()
    errors = collector.of(StageError)
    assert errors and errors[0].stage == "asr"
    assert not collector.of(SpeechSegment) and not collector.of(SourceStarted)  # no audio was read


def test_damaged_file_keeps_segments_before_the_damage(tmp_path: Path):
    full = write_wav(
        tmp_path / "full.wav",
        np.concatenate(
            [
                silence(0.5),
                espeak("The first sentence is complete."),
                silence(1.0),
                espeak("The second is cut off."),
                silence(1.0),
            ]
        ),
    )
    data = full.read_bytes()
    cut = tmp_path / "cut.wav"
    cut.write_bytes(data[: int(len(data) * 0.8)])
    c = run_pipeline(cut, RecordingAsr())
    assert len(c.of(SpeechSegment)) >= 1
    assert len(c.of(Transcript)) == len(c.of(SpeechSegment))


def test_stop_mid_utterance_still_processes_it(tmp_path: Path):
    path = write_wav(tmp_path / "long.wav", np.concatenate([silence(0.5), espeak("one two three four five six " * 3)]))
    collector = Collector()
    asr = RecordingAsr()
    p = Pipeline(Config(), FileSource(path, realtime=True), models=Models(asr=asr))
    p.bus.subscribe(collector)
    p.start()
    assert wait_until(lambda: collector.of(SpeechStarted), 10), "no SpeechStarted within 10 s"
    seg_id = collector.of(SpeechStarted)[0].segment_id
    # stop once the segmenter is inside that utterance with 0.5 s of voiced audio heard (not after a sleep)
    assert wait_until(lambda: p.segmenter.current_id == seg_id and p.segmenter.current_voiced_s >= 0.5, 10), (
        f"utterance {seg_id} not in progress with 0.5 s voiced (voiced {p.segmenter.current_voiced_s:.2f} s)"
    )
    p.stop()
    p.stop()  # idempotent
    segs = collector.of(SpeechSegment)
    assert len(segs) == 1 and segs[0].reason == "end_of_stream", [(s.segment_id, s.reason) for s in segs]
    assert segs[0].segment_id == seg_id and segs[0].end_s - segs[0].start_s >= 0.5
    assert len(asr.calls) == 1
    assert len(collector.of(PipelineStopped)) == 1
    # the flushed utterance also gets its emotion, from both sides, before the pipeline reports stopped
    fused = collector.of(FusedEmotion)
    assert len(fused) == 1 and fused[0].speech is not None and fused[0].text is not None
    assert collector.events.index(fused[0]) < collector.events.index(collector.of(PipelineStopped)[0])


@pytest.mark.slow
def test_real_model_transcribes_both_utterances(two_utterances, whisper_backend):
    path, _truth = two_utterances
    c = run_pipeline(path, whisper_backend)
    texts = [t.text.lower() for t in c.of(Transcript)]
    assert len(texts) == 2
    assert "morning" in texts[0] and "tired" in texts[1]
    ready = c.of(StageReady)
    assert ready[0].embedded
    assert c.of(SourceStarted)[0].sample_rate_in == SR
