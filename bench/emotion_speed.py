"""Speech-emotion speed (real-time factor) and live frame-curve lag, on this machine.

Run:  .venv/bin/python bench/emotion_speed.py [--rounds 3] [--device cpu|cuda]

1. RTF: processing time per second of audio for
   - Emotion2Vec+ of the real base size (random weights built with FunASR's own class: embed 768,
     8 blocks, 12 heads, 512-channel conv stack, ~93 M parameters: the compute of emotion2vec_plus_base),
     through our backend (utterance result + frame curves + embedding in one pass);
   - baseline in the same run: FunASR's own ``generate(granularity="utterance")`` on the same audio and
     model (what a plain FunASR caller pays), so the ratio is our overhead;
   - the embedded prosody backend.
   Rounds alternate the three to share the machine's noise. Target: base size RTF <= 0.2 on CPU.
2. Live lag: an espeak recording replayed in real time through the whole pipeline (embedded Whisper,
   the emotion workers); for every live EmotionFrames event, the time from the capture of the newest
   audio it covers to its publication. Reported for prosody and for the base-size model; the update
   interval (250 ms) is printed beside it. Target: median lag <= 300 ms.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.conftest import espeak, silence, write_wav
from voiceassist.audio.sources import FileSource
from voiceassist.bus import Collector
from voiceassist.config import load_config
from voiceassist.emotion.e2v_random import build_random_checkpoint
from voiceassist.emotion.emotion2vec import Emotion2VecBackend
from voiceassist.emotion.prosody import ProsodyBackend
from voiceassist.events import EmotionFrames, StageReady
from voiceassist.session import Session

TEXTS = {
    3: "I have been feeling really tired this week.",
    6: "I am worried about my exam on Friday, and I cannot sleep well at night because of it.",
    12: (
        "Yesterday I went to the market with my sister, we bought vegetables and fruit, then we walked "
        "home through the park and talked about our plans for the summer holidays and the weeks after."
    ),
}


def rtf_bench(folder: Path, rounds: int, device: str) -> dict:
    cfg = SimpleNamespace(device=device, frame_smoothing_ms=200)
    e2v = Emotion2VecBackend(cfg, folder)
    t0 = time.perf_counter()
    e2v.load()
    load_s = time.perf_counter() - t0
    e2v.warmup()
    pros = ProsodyBackend()
    audio = {}
    for _, text in TEXTS.items():
        a = espeak(text).astype(np.float32) / 32768
        audio[round(len(a) / 16000, 1)] = a
    rows = {}
    for dur, a in audio.items():
        ours, theirs, prosody = [], [], []
        for _ in range(rounds):
            t = time.perf_counter()
            e2v.analyze(a)
            ours.append(time.perf_counter() - t)
            t = time.perf_counter()
            e2v.funasr_model.generate(a, granularity="utterance", extract_embedding=True, disable_pbar=True)
            theirs.append(time.perf_counter() - t)
            t = time.perf_counter()
            pros.analyze(a)
            prosody.append(time.perf_counter() - t)
        rows[dur] = {
            "ours_rtf": min(ours) / dur,
            "funasr_rtf": min(theirs) / dur,
            "prosody_rtf": min(prosody) / dur,
            "ours_median_s": statistics.median(ours),
        }
    return {"load_s": load_s, "device": e2v.device, "rows": rows}


def lag_bench(models_dir: str | None, backend: str, extra: tuple[str, ...] = ()) -> dict:
    speech = [espeak(TEXTS[6]), espeak(TEXTS[3])]
    parts = [silence(0.5), speech[0], silence(1.0), speech[1], silence(1.0)]
    with tempfile.TemporaryDirectory() as tmp:
        path = write_wav(Path(tmp) / "live.wav", np.concatenate(parts))
        overrides = [f"emotion.speech_backend={backend}", "asr.language=en", *extra]
        if models_dir:
            overrides.append(f"paths.models_dir={json.dumps(models_dir)}")
        cfg = load_config(None, overrides)
        c = Collector()
        p = Session(cfg, FileSource(path, realtime=True, chunk_ms=cfg.audio.block_ms))
        p.bus.subscribe(c)
        p.start()
        p.wait(timeout=300)
    lags = [e.t - e.audio_captured_at for e in c.of(EmotionFrames)]
    ready = {e.stage: e.description for e in c.of(StageReady)}
    return {
        "backend": ready.get("speech-emotion"),
        "updates": len(lags),
        "median_ms": 1000 * statistics.median(lags) if lags else float("nan"),
        "p95_ms": 1000 * float(np.percentile(lags, 95)) if lags else float("nan"),
        "max_ms": 1000 * max(lags) if lags else float("nan"),
        "interval_ms": cfg.emotion.live_interval_ms,
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--skip-lag", action="store_true")
    ap.add_argument("--skip-rtf", action="store_true")
    ap.add_argument("--set", dest="extra", action="append", default=[], help="config override for the lag runs")
    args = ap.parse_args()
    import logging

    logging.basicConfig(level=logging.WARNING)  # FunASR configures INFO on the root logger otherwise
    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        folder = build_random_checkpoint(Path(tmp) / "emotion2vec_plus_base", size="base")
        size_mb = (folder / "model.pt").stat().st_size / 1e6
        print(f"random base-size checkpoint: {size_mb:.0f} MB, built in {time.perf_counter() - t:.1f} s")
        r = (
            {"rows": {}, "device": args.device, "load_s": 0.0}
            if args.skip_rtf
            else rtf_bench(folder, args.rounds, args.device)
        )
        print(f"\n== RTF (best of {args.rounds}; device {r['device']}; model load {r['load_s']:.1f} s)")
        print(f"{'audio s':>8} {'ours':>8} {'funasr':>8} {'ours/funasr':>12} {'prosody':>9} {'target':>7}")
        for dur, row in r["rows"].items():
            print(
                f"{dur:8.1f} {row['ours_rtf']:8.3f} {row['funasr_rtf']:8.3f} "
                f"{row['ours_rtf'] / row['funasr_rtf']:12.2f} {row['prosody_rtf']:9.4f} {0.2:7.2f}"
            )
        if not args.skip_lag:
            print("\n== live frame-curve lag (audio captured -> curve point published), real-time replay")
            print(f"{'backend':48s} {'updates':>7} {'median ms':>9} {'p95 ms':>7} {'max ms':>7} {'interval':>8}")
            for models_dir, backend in ((None, "prosody"), (tmp, "emotion2vec")):
                lag = lag_bench(models_dir, backend, tuple(args.extra))
                print(
                    f"{lag['backend']:48s} {lag['updates']:7d} {lag['median_ms']:9.0f} {lag['p95_ms']:7.0f} "
                    f"{lag['max_ms']:7.0f} {lag['interval_ms']:8d}"
                )


if __name__ == "__main__":
    main()
