"""Pipeline cost over bare faster-whisper, and end-of-speech -> transcript latency.

Run:  .venv/bin/python bench/asr_latency.py [--rounds 3]

1. Overhead: the whole pipeline in fast mode (decode, resample, VAD, quality checks, queues, events, ASR)
   on a file of N utterances, against calling faster-whisper directly on the same segment audio with the
   same model and options. Rounds alternate pipeline / bare to share the machine's noise.
   Two baselines: language detection left to faster-whisper (what a direct caller gets: it encodes twice),
   and the language given (one encoder pass: the floor).
2. Latency: the same file replayed in real time through the pipeline; for each utterance, the time from
   the capture of its last voiced frame to its Transcript event. Target: median <= hangover + 1.0 s.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.conftest import SR, espeak, silence, write_wav
from voiceassist.asr import create_backend
from voiceassist.audio.sources import FileSource
from voiceassist.bus import Collector
from voiceassist.config import Config
from voiceassist.events import SpeechSegment, Transcript
from voiceassist.pipeline import Models
from voiceassist.session import Session

SENTENCES = [
    "Could you remind me to call my sister tomorrow.",
    "I have been feeling really tired this week.",
    "What is the weather like this weekend.",
    "Please play some quiet music for me.",
    "I am worried about my exam on Friday.",
    "Thank you, that was really helpful.",
    "Can you tell me a short story tonight.",
    "My train was late again this morning.",
]


def make_file(path: Path) -> tuple[Path, list[float]]:
    parts, lengths = [silence(1.0)], []
    for s in SENTENCES:
        speech = espeak(s, rate=150)
        lengths.append(len(speech) / SR)
        parts += [speech, silence(1.5)]
    return write_wav(path, np.concatenate(parts)), lengths


def run_pipeline(cfg: Config, path: Path, backend, realtime: bool) -> tuple[float, Collector]:
    c = Collector()
    p = Session(cfg, FileSource(path, realtime=realtime), models=Models(asr=backend))
    p.bus.subscribe(c)
    t0 = time.perf_counter()
    p.start()
    p.wait()
    return time.perf_counter() - t0, c


def bare(model, segments: list[np.ndarray], language: str | None) -> float:
    t0 = time.perf_counter()
    for audio in segments:
        segs, _ = model.transcribe(
            audio,
            language=language,
            beam_size=1,
            temperature=0.0,
            condition_on_previous_text=False,
            vad_filter=False,
            without_timestamps=True,
        )
        list(segs)
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--out", type=Path, default=Path("bench/out/asr_latency.json"))
    args = ap.parse_args()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    path, lengths = make_file(args.out.parent / "utterances.wav")
    cfg = Config()
    backend = create_backend(cfg.asr)
    backend.load()
    backend.warmup()
    from faster_whisper import WhisperModel

    plain = WhisperModel(
        str(backend.resolved.path),
        device=backend.device,
        compute_type=backend.compute_type,
        cpu_threads=backend.cpu_threads,
    )
    _, c = run_pipeline(cfg, path, backend, realtime=False)
    segments = [s.audio.as_float32() for s in c.of(SpeechSegment)]
    plain.transcribe(segments[0], language="en")  # warm up the plain model too
    pipe_t, auto_t, fixed_t = [], [], []
    for _ in range(args.rounds):
        pipe_t.append(run_pipeline(cfg, path, backend, realtime=False)[0])
        auto_t.append(bare(plain, segments, None))
        fixed_t.append(bare(plain, segments, "en"))
    pm, am, fm = statistics.median(pipe_t), statistics.median(auto_t), statistics.median(fixed_t)

    _, live = run_pipeline(cfg, path, backend, realtime=True)
    ends = {s.segment_id: s.speech_end_at for s in live.of(SpeechSegment)}
    lat = [t.t - ends[t.segment_id] for t in live.of(Transcript)]
    proc = [t.processing_s for t in live.of(Transcript)]
    target = cfg.vad.hangover_ms / 1000 + 1.0
    result = {
        "utterances": len(segments),
        "utterance_s_median": round(statistics.median(lengths), 2),
        "asr": backend.description,
        "rounds": args.rounds,
        "pipeline_s": round(pm, 3),
        "bare_auto_language_s": round(am, 3),
        "bare_fixed_language_s": round(fm, 3),
        "pipeline_over_bare_auto": round(pm / am, 3),
        "pipeline_over_bare_fixed": round(pm / fm, 3),
        "latency_median_s": round(statistics.median(lat), 3),
        "latency_max_s": round(max(lat), 3),
        "asr_processing_median_s": round(statistics.median(proc), 3),
        "latency_target_s": target,
    }
    print(f"{len(segments)} utterances (median {result['utterance_s_median']} s), {backend.description}")
    print(f"{'':34}{'median s':>10}{'ratio':>8}")
    print(f"{'bare faster-whisper, lang given':34}{fm:10.3f}{1.0:8.2f}")
    print(f"{'bare faster-whisper, lang auto':34}{am:10.3f}{am / fm:8.2f}")
    print(f"{'voiceassist pipeline, lang auto':34}{pm:10.3f}{pm / fm:8.2f}")
    print(f"pipeline / bare (auto): {pm / am:.3f}   pipeline / bare (given): {pm / fm:.3f}  (target <= 1.10)")
    print(
        f"end of speech -> transcript: median {statistics.median(lat):.3f} s, max {max(lat):.3f} s "
        f"(target <= {target:.2f} s = hangover {cfg.vad.hangover_ms} ms + 1.0 s); "
        f"ASR alone median {statistics.median(proc):.3f} s"
    )
    args.out.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
