"""What "shown means stored" costs: the store's writer holds each event a person sees (transcript, emotion,
mood, reply, crisis, alert) until its row is committed (voiceassist/storage/writer.py). Before that change
those events were queued for the writer like any other. Both, side by side in one run, on the same models
and the same recording, alternating session by session:

- the time each shown event holds the thread that published it (that is the whole added latency);
- end of the utterance (SpeechSegment) -> Reply, per utterance: the path a person waits on.

Run:  .venv/bin/python bench/shown_stored.py [--rounds 3]

The recording is espeak-ng speech (6 sentences, both languages) read at full speed through a Session with
the embedded models and an encrypted store in a temporary folder (the real SQLCipher writes, WAL).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.conftest import espeak, silence, write_wav
from voiceassist.tts import to_pinyin

SENTENCES = [
    ("I have been feeling really tired this week.", "en-us"),
    ("My landlord kept the deposit and I am angry.", "en-us"),
    ("我晚上总是睡不着觉。", "cmn"),
    ("We had a wonderful time at the beach today.", "en-us"),
    ("今天我们在海边玩得很开心。", "cmn"),
    ("I am nervous about the exam on Friday.", "en-us"),
]


def one_session(models, path: Path, store_dir: Path, wait_for_shown: bool) -> tuple[list[float], list[float]]:
    from voiceassist import events as E
    from voiceassist.audio.sources import FileSource
    from voiceassist.bus import Collector
    from voiceassist.config import Config
    from voiceassist.session import Session
    from voiceassist.storage import SessionStore
    from voiceassist.storage import writer as writer_mod

    held: list[float] = []
    shown, call = writer_mod.SHOWN, writer_mod.WriterThread.__call__

    def timed(self, item):  # type: ignore[no-untyped-def]
        t0 = time.perf_counter()
        call(self, item)
        if isinstance(item, shown):
            held.append(time.perf_counter() - t0)

    writer_mod.SHOWN = shown if wait_for_shown else ()
    writer_mod.WriterThread.__call__ = timed  # type: ignore[method-assign]
    try:
        store = SessionStore(store_dir / "sessions.db")
        s = Session(Config(), FileSource(path, realtime=False), store=store, models=models.for_session())
        c = Collector()
        s.subscribe(c)
        s.start()
        assert s.wait(300)
        s.stop(10)
        store.close()
    finally:
        writer_mod.SHOWN, writer_mod.WriterThread.__call__ = shown, call  # type: ignore[method-assign]
    segs = {e.segment_id: e.t for e in c.of(E.SpeechSegment)}
    waits = [r.t - segs[r.segment_id] for r in c.of(E.Reply) if r.segment_id in segs]
    return held, waits


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    from voiceassist.config import Config
    from voiceassist.pipeline import Models

    models = Models.load(Config())
    modes = (("before (queued)", False), ("after (committed first)", True))
    results: dict[str, tuple[list[float], list[float]]] = {name: ([], []) for name, _ in modes}
    with tempfile.TemporaryDirectory() as tmp:
        parts = [silence(0.5)]
        for text, voice in SENTENCES:
            said = espeak(to_pinyin(text), voice="cmn-latn-pinyin") if voice == "cmn" else espeak(text, voice=voice)
            parts += [said, silence(1.2)]
        path = write_wav(Path(tmp) / "talk.wav", np.concatenate(parts))
        for r in range(args.rounds):
            for name, wait in modes:
                d = Path(tmp) / f"{r}-{wait}"
                d.mkdir()
                held, waits = one_session(models, path, d, wait)
                results[name][0].extend(held)
                results[name][1].extend(waits)

    def ms(xs: list[float], q: float) -> float:
        return 1000 * float(np.quantile(xs, q)) if xs else float("nan")

    print(f"\n{args.rounds} rounds of {len(SENTENCES)} utterances, each mode; milliseconds")
    print(f"{'':26s} {'held median':>12s} {'held p95':>9s} {'held max':>9s} {'seg->reply median':>18s}")
    for name, (held, waits) in results.items():
        print(
            f"{name:26s} {ms(held, 0.5):12.2f} {ms(held, 0.95):9.2f} {ms(held, 1.0):9.2f} "
            f"{1000 * statistics.median(waits):18.1f}   ({len(held)} shown events, {len(waits)} replies)"
        )
    b, a = (statistics.median(results[n][1]) for n in results)
    print(f"ratio after / before, end of utterance -> reply: {a / b:.3f}")


if __name__ == "__main__":
    main()
