"""GUI responsiveness while the pipeline runs, and memory over a long simulated session.

Run (offscreen, no display needed):  QT_QPA_PLATFORM=offscreen .venv/bin/python bench/gui_responsiveness.py

1. Event-loop stalls: a 5 ms QTimer in the GUI thread records the gaps between its ticks. Measured with
   the window idle (baseline) and while the whole pipeline (embedded models) replays a 40 s espeak-ng
   recording in real time into the window. Target: longest stall <= 50 ms.
2. Memory: 30 minutes of a session are fed to the window as events at full speed (frame curves at 50 Hz,
   levels at 10 Hz, one utterance every 6 s with transcript, emotions, mood and reply). Resident memory
   (RSS) is sampled; what may grow is the conversation list (the stored data); the curves live in a ring
   buffer. Target: no growth beyond the conversation text.
"""

from __future__ import annotations

import os
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.stalls import StallMeter

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from tests.conftest import espeak, silence, write_wav


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e6


def main() -> None:
    import logging

    logging.basicConfig(level=logging.WARNING)
    from PySide6.QtWidgets import QApplication

    from voiceassist import events as E
    from voiceassist.config import load_config
    from voiceassist.emotion import EmotionEstimate
    from voiceassist.emotion.labels import vector
    from voiceassist.mood import MoodTracker
    from voiceassist.storage import SessionStore
    from voiceassist.ui.app import make_source_factory
    from voiceassist.ui.main_window import MainWindow

    app = QApplication.instance() or QApplication([])
    tmp = Path(tempfile.mkdtemp())
    sentences = [
        "I feel so lonely since my friend moved away.",
        "But today we had a wonderful time together!",
        "I cannot sleep at night and it worries me.",
        "Can you recommend a good movie for tonight?",
        "My landlord kept the deposit and I am angry.",
        "What a surprise to see my old friend again.",
    ]
    parts = [silence(0.5)]
    for s in sentences * 2:
        parts += [espeak(s), silence(1.2)]
    wav = write_wav(tmp / "talk.wav", np.concatenate(parts))
    cfg = load_config(None, ["tts.enabled=false"])
    store = SessionStore(tmp / "s.db")
    win = MainWindow(cfg, tmp / "config.toml", store, make_source_factory(cfg, wav))
    win.show()

    meter = StallMeter()
    gaps, tick_times = meter.gaps, meter.times
    ready_at: list[float] = []  # when the models were ready (SourceStarted): loading them is another phase

    def mark(item) -> None:
        if isinstance(item[1], E.SourceStarted):
            ready_at.append(meter.now_s())

    win.bridge.event.connect(mark)

    def run_for(seconds: float, until=None) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end and not (until and until()):
            app.processEvents()
            time.sleep(0.001)

    run_for(10.0)
    idle = gaps[1:]
    meter.restart()
    win.start_listening()
    run_for(120.0, until=lambda: not win.listening and len(gaps) > 100)
    ready = ready_at[0] if ready_at else 0.0
    loading = [g for g, t in zip(gaps, tick_times, strict=True) if t <= ready][1:]
    busy = [g for g, t in zip(gaps, tick_times, strict=True) if t > ready]
    turns = sum(1 for i in range(win.live.chat.count()) if win.live.chat.item(i).text().startswith("You"))
    print(
        f"== event-loop gaps (5 ms timer): idle {len(idle)} ticks, with the pipeline {len(busy)} ticks, "
        f"{turns} utterances"
    )
    print(f"{'':14s} {'median ms':>9s} {'p99 ms':>7s} {'max ms':>7s}")
    for name, g in (("idle", idle), ("models loading", loading), ("conversation", busy)):
        print(f"{name:14s} {statistics.median(g):9.1f} {np.percentile(g, 99):7.1f} {max(g):7.1f}")
    print(
        f"longest stall during the conversation: {max(busy):.1f} ms (target <= 50 ms); "
        f"ratio to idle max {max(busy) / max(idle):.1f}; while models load: {max(loading):.1f} ms"
    )

    # -- memory: 30 simulated minutes ------------------------------------------------------------------
    win.live.chat.clear()
    rng = np.random.default_rng(0)
    gen = win._generation
    est = EmotionEstimate(scores=vector({"sad": 0.6, "neutral": 0.4}), backend="sim")
    mood = MoodTracker().update(np.ones(12), est.scores)
    samples = []
    text_bytes = 0
    t_stream = 0.0
    seg = 1000
    start_rss = None
    for minute in range(30):
        for _ in range(10):  # one utterance every 6 s
            seg += 1
            for k in range(24):  # 250 ms live updates over 6 s, 50 frames/s
                probs = rng.dirichlet(np.ones(9), size=12).astype(np.float32)
                win.on_event(
                    (
                        gen,
                        E.EmotionFrames(
                            segment_id=seg,
                            start_s=t_stream + k * 0.25,
                            frame_rate=50.0,
                            probs=probs,
                            audio_captured_at=0.0,
                            backend="sim",
                        ),
                    )
                )
                win.on_event((gen, E.AudioLevel(rms_dbfs=-30.0, in_speech=True)))
            text = f"utterance {seg}: " + " ".join(rng.choice(["I", "feel", "today", "tired", "good"], 8))
            text_bytes += len(text.encode()) * 2
            win.on_event(
                (
                    gen,
                    E.Transcript(
                        segment_id=seg,
                        text=text,
                        language="en",
                        language_probability=1.0,
                        start_s=t_stream,
                        end_s=t_stream + 5,
                        backend="sim",
                        no_speech_prob=0.0,
                        avg_logprob=-0.1,
                    ),
                )
            )
            win.on_event(
                (
                    gen,
                    E.FusedEmotion(
                        segment_id=seg,
                        scores=est.scores,
                        label="sad",
                        confidence=0.6,
                        speech=est,
                        text=est,
                        speech_weight=0.5,
                        text_weight=0.5,
                        rule="weighted",
                        fallback_action=None,
                        suggested_response=None,
                        language="en",
                        start_s=t_stream,
                        end_s=t_stream + 5,
                    ),
                )
            )
            win.on_event((gen, E.MoodUpdate(segment_id=seg, state=mood, embedding_backend="sim")))
            win.on_event(
                (
                    gen,
                    E.Reply(
                        segment_id=seg,
                        text="I'm sorry you're feeling this way. Tell me more.",
                        language="en",
                        tone="empathetic",
                        strategy="sad",
                        intent=None,
                        source="strategy",
                    ),
                )
            )
            text_bytes += 60 * 2
            t_stream += 6.0
            win.live.redraw()
            app.processEvents()
        if minute == 1:
            start_rss = rss_mb()
        samples.append(rss_mb())
    end_rss = samples[-1]
    print(f"\n== memory over 30 simulated minutes (300 utterances, {win.live.frame_count} curve frames kept)")
    print("RSS MB per 5 min: " + ", ".join(f"{x:.1f}" for x in samples[::5]) + f", {end_rss:.1f}")
    growth = end_rss - (start_rss or samples[0])
    print(
        f"growth after minute 2: {growth:.1f} MB; conversation text held: {text_bytes / 1e6:.2f} MB; "
        f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3:.0f} MB"
    )
    win.close()
    store.close()


if __name__ == "__main__":
    main()
