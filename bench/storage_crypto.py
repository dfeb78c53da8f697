"""What encryption at rest costs, and what the caregiver PIN's hash costs an attacker.

1. Write and read 1,000 utterances (text, emotions, a 12-d embedding, 1.5 s of kept audio each) into the
   session store, encrypted (SQLCipher, the raw data key) and plain (SQLite), in the same run, alternating,
   best of ``--rounds``; prints each and the ratio.
2. The PIN hash (Argon2id, voiceassist/alerts/pin.py): seconds per guess on one core, and guesses per second
   with every core busy (one process per core); the time to try all 10^6 six-digit PINs on this machine.

    .venv/bin/python bench/storage_crypto.py [--n 1000] [--rounds 3] [--guesses 4]
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np


def _store(path: Path, encrypted: bool):
    from voiceassist.storage.db import Database
    from voiceassist.storage.schema import MIGRATIONS
    from voiceassist.storage.sessions import SessionStore

    s = SessionStore.__new__(SessionStore)
    s.path, s.db = path, Database(path, MIGRATIONS, key=bytes(range(32)), encrypted=encrypted)
    s._retention_days, s._purged_at = 0.0, 0.0
    return s


def one(n: int, encrypted: bool, folder: Path) -> tuple[float, float]:
    path = folder / f"{'enc' if encrypted else 'plain'}-{time.monotonic_ns()}.sqlite3"
    store = _store(path, encrypted)
    audio = (np.random.default_rng(0).normal(0, 3000, 24000)).astype(np.int16)
    emb = np.ones(12, np.float32).tobytes()
    fused = json.dumps({"label": "sad", "confidence": 0.6, "scores": {"sad": 0.6}})
    t0 = time.perf_counter()
    sid = store.start_session("bench")
    for i in range(1, n + 1):
        store.add_utterance(sid, i, i, i + 1.5, audio)
        store.update_utterance(
            sid,
            i,
            text=f"I could not sleep again last night, number {i}",
            language="en",
            fused=fused,
            fused_label="sad",
            confidence=0.6,
            valence=-0.4,
            arousal=0.2,
            embedding=emb,
            embedding_dim=12,
            reply="That sounds exhausting.",
            reply_tone="empathetic",
        )
    write_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    rows = store.utterances(sid)
    read_s = time.perf_counter() - t0
    assert len(rows) == n
    store.close()
    for f in folder.glob(path.name + "*"):
        f.unlink()
    return write_s, read_s


def _guess(pin_hash: str) -> float:
    from voiceassist.alerts.pin import check_pin

    t0 = time.perf_counter()
    check_pin("000000", pin_hash)
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--guesses", type=int, default=4, help="guesses per core for the PIN search rate")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        best = {True: (1e9, 1e9), False: (1e9, 1e9)}
        for _ in range(args.rounds):
            for enc in (False, True):
                w, r = one(args.n, enc, Path(d))
                best[enc] = (min(best[enc][0], w), min(best[enc][1], r))
    (pw, pr), (ew, er) = best[False], best[True]
    print(f"{args.n} utterances, best of {args.rounds}:")
    print(
        f"  write: plain {pw:.2f} s, encrypted {ew:.2f} s ({ew / pw:.2f}x); per utterance {ew / args.n * 1000:.2f} ms"
    )
    print(f"  read:  plain {pr * 1000:.0f} ms, encrypted {er * 1000:.0f} ms ({er / pr:.2f}x)")

    from voiceassist.alerts.pin import hash_pin

    t0 = time.perf_counter()
    h = hash_pin("246813")
    print(f"PIN hash ({h.split('$')[3]}): set-pin {time.perf_counter() - t0:.2f} s")
    single = min(_guess(h) for _ in range(3))
    cores = os.cpu_count() or 1
    t0 = time.perf_counter()
    with ProcessPoolExecutor(cores) as ex:
        list(ex.map(_guess, [h] * (cores * args.guesses)))
    rate = cores * args.guesses / (time.perf_counter() - t0)
    days = 1e6 / rate / 86400
    print(f"  one guess on one core: {single:.2f} s; all {cores} cores: {rate:.2f} guesses/s")
    print(f"  every 6-digit PIN (10^6) on this machine: {days:.1f} days (half that on average)")


if __name__ == "__main__":
    main()
