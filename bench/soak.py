"""A day-long session: hours of conversation fed faster than real time through the whole Session, into the
window, with the store on; resident memory, threads, open files and the database size every simulated hour,
and the longest GUI stall in a real-time minute at the start and at the end, side by side; with each sample,
the items queued in the stage workers and the store's writer, and the longest an event waited for the window
(Qt's queue) since the last one: where memory could pile up when the pipeline is fed faster than it drains;
and Python's full garbage collections (they hold the GIL: the window waits), between samples and in each minute.

Run (offscreen, no display needed):
    QT_QPA_PLATFORM=offscreen .venv/bin/python bench/soak.py --hours 8 --speed 24 --alerts on

What runs: the window (MainWindow, offscreen) listening to a live source (``realtime``: partial
transcripts, the early turn end, level meter, live curves) that loops a 45 s conversation of espeak-ng
speech (English and Mandarin, one sentence with a thinking pause, one crisis phrase) at ``--speed`` times
real time; the VAD, the voice-emotion and text-emotion stages, fusion, mood, the replies (text; no sound
card here, so nothing is spoken), the session store (encrypted, no audio kept) and, with ``--alerts on``,
the caregiver alerts and their outbox. The recogniser is a script (the words of the clip where the
utterance's audio lies in it): 8 hours of Whisper on these 2 cores would take longer than the 8 hours. The
stall minutes run at real time (1x): the speed-up would otherwise multiply the curves the window draws.

Targets (issue 32): memory and threads flat (growth under 5% after the first hour), database under 50 MB
per hour of speech, no GUI stall over 50 ms.
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.stalls import StallMeter

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from tests.conftest import espeak, silence
from voiceassist.asr.base import AsrResult
from voiceassist.audio.base import AudioSource, SourceInfo
from voiceassist.audio.chunk import SAMPLE_RATE, AudioChunk
from voiceassist.tts import to_pinyin

SENTENCES = [
    ("Good morning, I slept really well last night.", "en", "en-us"),
    ("我今天心情很好，想出去走走。", "zh", "cmn"),
    ("My landlord kept the deposit and I am furious about it.", "en", "en-us"),
    ("I miss my sister so much since she moved away.", "en", "en-us"),
    ("这个周末我们一起去看电影吧。", "zh", "cmn"),
    ("Sometimes I feel like I want to kill myself.", "en", "en-us"),
    ("Wow, I did not expect that at all!", "en", "en-us"),
    ("我有点担心明天的考试。", "zh", "cmn"),
]
PAUSED = ("I was thinking that maybe", "we could go for a walk tomorrow.")


def conversation() -> tuple[np.ndarray, list[tuple[int, int, str, str]]]:
    """About 45 s of speech and pauses; and (first sample, end sample, text, language) of each sentence in it."""
    parts, script, at = [silence(0.6)], [], int(0.6 * SAMPLE_RATE)
    for text, lang, voice in SENTENCES:
        audio = espeak(to_pinyin(text), voice="cmn-latn-pinyin") if voice == "cmn" else espeak(text, voice=voice)
        parts += [audio, silence(1.4)]
        script.append((at, at + len(audio), text, lang))
        at += len(audio) + int(1.4 * SAMPLE_RATE)
    a, b = espeak(PAUSED[0]), espeak(PAUSED[1])
    # a pause to think inside a sentence: 0.45 s, 0.8 s of silence with espeak-ng's own at the ends (longer
    # than the usual hangover: one turn only when the words so far say the person is mid-thought)
    parts += [a, silence(0.45), b, silence(1.6)]
    script.append((at, at + len(a) + int(0.45 * SAMPLE_RATE) + len(b), " ".join(PAUSED), "en"))
    return np.concatenate(parts).astype(np.int16), script


class ScriptAsr:
    """The words of the clip where the utterance's audio lies in it (found by its first non-zero samples; the
    clip's pauses are exact zeros): a whole sentence, or the part of it that was heard (a partial, or a
    sentence the turn-taking cut at an inner pause). A probe for everything after the recogniser."""

    name = "script"
    description = "scripted recogniser (soak benchmark)"
    embedded = False

    def __init__(self, clip: np.ndarray, script: list[tuple[int, int, str, str]]) -> None:
        self.clip = clip.tobytes()
        self.script = []  # each sentence from its first to its last non-zero sample
        for a, b, text, language in script:
            nz = np.flatnonzero(clip[a:b])
            self.script.append((a + int(nz[0]), a + int(nz[-1]) + 1, text, language))

    def load(self) -> None:
        pass

    def warmup(self) -> None:
        pass

    def _find(self, pcm: np.ndarray) -> int:
        """The clip's sample index where ``pcm`` starts (-1: not in the clip)."""
        key, at = pcm.tobytes(), -1
        while True:
            at = self.clip.find(key, at + 1)
            if at < 0 or at % 2 == 0:
                return at // 2 if at >= 0 else -1

    def transcribe(self, audio: np.ndarray, language: str | None = None, words: bool = False) -> AsrResult:
        pcm = np.round(np.asarray(audio, np.float32) * 32768).clip(-32768, 32767).astype(np.int16)
        voiced = np.flatnonzero(pcm)
        begin = self._find(pcm[voiced[0] : voiced[0] + 64]) if len(voiced) else -1
        if begin < 0:
            return AsrResult("", "en", 1.0, 1.0, -1.0, False)
        end = begin + int(voiced[-1] - voiced[0]) + 1
        said, lang = [], ""
        for a, b, text, language_ in self.script:
            lo, hi = max(a, begin), min(b, end)
            if hi <= lo:
                continue
            units = text.split(" ") if language_ == "en" else list(text)
            i = round(len(units) * (lo - a) / (b - a))
            j = len(units) if hi >= b else round(len(units) * (hi - a) / (b - a))
            said.append((" " if language_ == "en" else "").join(units[i : max(j, i + 1)]))
            lang = lang or language_
        return AsrResult(" ".join(said), lang or "en", 1.0, 0.0, -0.1, False)


class LoopSource(AudioSource):
    """A live source (``realtime``) that loops a clip for ``hours``, at ``speed`` times real time (changeable
    while it runs)."""

    realtime = True

    def __init__(self, clip: np.ndarray, hours: float, speed: float, chunk_ms: int = 30) -> None:
        self.clip = clip
        self.total = int(hours * 3600 * SAMPLE_RATE)
        self.speed = speed
        self.chunk = SAMPLE_RATE * chunk_ms // 1000
        self.emitted = 0
        self.info = SourceInfo("soak loop", SAMPLE_RATE, 1, hours * 3600)

    def open(self) -> SourceInfo:
        return self.info

    def chunks(self, stop: threading.Event) -> Iterator[AudioChunk]:
        anchor_wall, anchor_audio, speed = time.monotonic(), 0.0, self.speed
        pos = 0
        while self.emitted < self.total and not stop.is_set():
            if self.speed != speed:  # re-anchor the pace
                anchor_wall, anchor_audio, speed = time.monotonic(), self.emitted / SAMPLE_RATE, self.speed
            part = self.clip[pos : pos + self.chunk]
            if len(part) < self.chunk:
                part = np.concatenate([part, self.clip[: self.chunk - len(part)]])
            pos = (pos + self.chunk) % len(self.clip)
            start = self.emitted / SAMPLE_RATE
            self.emitted += self.chunk
            delay = anchor_wall + (self.emitted / SAMPLE_RATE - anchor_audio) / speed - time.monotonic()
            if delay > 0 and stop.wait(delay):
                return
            yield AudioChunk(part, start, time.monotonic())

    @property
    def hours(self) -> float:
        return self.emitted / SAMPLE_RATE / 3600


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e6


def backlog() -> int:
    """Items waiting in every stage worker's queue, the store writer's and the recorder's held events (a
    queue that keeps growing would be memory that grows with the speed-up)."""
    import gc

    from voiceassist.storage.recorder import StoreRecorder
    from voiceassist.storage.writer import WriterThread
    from voiceassist.worker import Worker

    n = 0
    for obj in gc.get_objects():
        if isinstance(obj, (Worker, WriterThread)):
            n += obj._queue.qsize()
        elif isinstance(obj, StoreRecorder):
            n += len(obj._held)
    return n


def db_mb(path: Path) -> float:
    return sum(p.stat().st_size for p in path.parent.glob(path.name + "*")) / 1e6


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--hours", type=float, default=8.0)
    ap.add_argument("--speed", type=float, default=24.0, help="times real time between the stall minutes")
    ap.add_argument("--alerts", choices=("on", "off"), default="on")
    ap.add_argument("--stall-s", type=float, default=60.0, help="seconds of real time at the start and the end")
    ap.add_argument("--every", type=float, default=1.0, help="simulated hours between samples")
    args = ap.parse_args()

    import logging

    logging.basicConfig(level=logging.WARNING)
    from PySide6.QtWidgets import QApplication

    from voiceassist import events as E
    from voiceassist.config import load_config
    from voiceassist.pipeline import Models
    from voiceassist.storage import SessionStore
    from voiceassist.ui.main_window import MainWindow

    tmp = Path(tempfile.mkdtemp(prefix="voiceassist-soak-"))
    os.environ["XDG_DATA_HOME"] = str(tmp / "data")  # the alert outbox and the data key: not the user's
    os.environ["XDG_CONFIG_HOME"] = str(tmp / "config")
    clip, script = conversation()
    cfg = load_config(None, ["tts.enabled=false"])
    cfg.alerts.enabled = args.alerts == "on"  # the caregiver's setting (PIN-locked on the command line)
    app = QApplication.instance() or QApplication([])
    store_path = tmp / "sessions.sqlite3"
    store = SessionStore(store_path)
    source = LoopSource(clip, args.hours, speed=1.0)
    models = Models.load(cfg)  # the real voice and text models, loaded once (the window reuses them)
    said = tuple(e for e in models.ready if getattr(e, "stage", "") != "asr")
    models = Models(ScriptAsr(clip, script), models.speech_emotion, models.text_emotion, said)
    win = MainWindow(cfg, tmp / "config.toml", store, lambda: source, models=models)
    win.live.hands_free.setChecked(True)
    win.show()

    counts = {"utterances": 0, "replies": 0, "alerts": 0, "partials": 0, "stopped": 0}

    lag = [0.0]  # the longest an event waited in Qt's queue for the window since the last sample
    full_gc: list[float] = []  # Python's full collections (ms) since the last sample: they hold the GIL
    gc_began = [0.0]

    def on_gc(phase: str, info: dict) -> None:
        if info["generation"] != 2:
            return
        if phase == "start":
            gc_began[0] = time.perf_counter()
        else:
            full_gc.append((time.perf_counter() - gc_began[0]) * 1000)

    gc.callbacks.append(on_gc)

    def count(item) -> None:
        ev = item[1]
        lag[0] = max(lag[0], time.monotonic() - ev.t)
        if isinstance(ev, E.Transcript):
            counts["utterances"] += 1
        elif isinstance(ev, E.Reply):
            counts["replies"] += 1
        elif isinstance(ev, E.AlertRaised):
            counts["alerts"] += 1
        elif isinstance(ev, E.PartialTranscript):
            counts["partials"] += 1
        elif isinstance(ev, E.PipelineStopped):
            counts["stopped"] += 1

    win.bridge.event.connect(count)
    meter = StallMeter()
    gaps = meter.gaps

    def pump(until, limit_s: float) -> None:
        end = time.monotonic() + limit_s
        while time.monotonic() < end and not until():
            app.processEvents()
            time.sleep(0.001)

    minute_gc: list[list[float]] = []  # the full collections inside each real-time minute

    def stall_minute() -> list[float]:
        source.speed = 1.0
        pump(lambda: False, 2.0)  # the backlog of the fast part drains first
        meter.restart()
        full_gc.clear()
        pump(lambda: False, args.stall_s)
        minute_gc.append(list(full_gc))
        return list(gaps[1:])

    def sample() -> dict[str, float]:
        return {
            "hour": source.hours,
            "rss": rss_mb(),
            "threads": len(os.listdir("/proc/self/task")),
            "fds": len(os.listdir("/proc/self/fd")),
            "db": db_mb(store_path),
            "utt": counts["utterances"],
            "chat": win.live.chat.count(),
            "backlog": backlog(),
            "lag_ms": took_lag() * 1000,
            **took_gc(),
        }

    def took_gc() -> dict[str, float]:
        n, longest = len(full_gc), max(full_gc, default=0.0)
        full_gc.clear()
        return {"gc_n": n, "gc_ms": longest}

    def took_lag() -> float:
        was, lag[0] = lag[0], 0.0
        return was

    win.start_listening()
    pump(lambda: "asr" in win.ready and source.emitted > 0, 300.0)
    t0 = time.monotonic()
    start_stalls = stall_minute()
    rows = [sample()]
    source.speed = args.speed
    next_hour = args.every
    # the last real-time minute (and the 2 s before it) must end before the audio does: a session ending
    # inside it would be measured as a stall
    last = args.hours - (args.stall_s + 10.0) / 3600
    while source.hours < last - 1e-6:
        target = min(next_hour, last)
        pump(lambda target=target: source.hours >= target, 3600.0 / args.speed * 3)
        rows.append(sample())
        print(
            f"  {rows[-1]['hour']:5.2f} h  rss {rows[-1]['rss']:7.1f} MB  threads {rows[-1]['threads']:3.0f}  "
            f"fds {rows[-1]['fds']:3.0f}  db {rows[-1]['db']:6.2f} MB  utterances {rows[-1]['utt']:.0f}  "
            f"queued {rows[-1]['backlog']:.0f}  event lag max {rows[-1]['lag_ms']:.0f} ms  "
            f"full GCs {rows[-1]['gc_n']:.0f} (longest {rows[-1]['gc_ms']:.1f} ms)  "
            f"({time.monotonic() - t0:.0f} s wall)",
            flush=True,
        )
        next_hour += args.every
    end_stalls = stall_minute()
    rows.append(sample())
    win.stop_listening(30.0)
    pump(lambda: counts["stopped"] > 0, 60.0)
    wall = time.monotonic() - t0

    hours = rows[-1]["hour"]
    print(
        f"\n== soak: {hours:.2f} h of conversation in {wall / 60:.1f} min wall ({hours * 3600 / wall:.1f}x real "
        f"time), alerts {args.alerts}; {counts['utterances']} utterances, {counts['partials']} partials, "
        f"{counts['replies']} replies, {counts['alerts']} alerts"
    )
    first = next((r for r in rows if r["hour"] >= 1.0), rows[-1])
    print(f"{'':22s} {'start':>9s} {'hour 1':>9s} {'end':>9s} {'end/hour 1':>10s}")
    for key, name in (
        ("rss", "resident memory MB"),
        ("threads", "threads"),
        ("fds", "open files"),
        ("backlog", "items queued"),
    ):
        ratio = rows[-1][key] / first[key] if first[key] else float("nan")
        print(f"{name:22s} {rows[0][key]:9.1f} {first[key]:9.1f} {rows[-1][key]:9.1f} {ratio:10.3f}")
    db_per_h = (rows[-1]["db"] - rows[0]["db"]) / max(hours, 1e-9)
    later = (rows[-1]["db"] - first["db"]) / max(hours - first["hour"], 1e-9)
    print(
        f"database: {rows[-1]['db']:.2f} MB after {hours:.2f} h = {db_per_h:.2f} MB per hour (no audio kept; "
        f"{later:.2f} MB per hour after hour 1, the write-ahead log being full size by then)"
    )
    parts = {
        "utterances.speech (JSON)": "SELECT SUM(LENGTH(speech)) FROM utterances",
        "utterances.text_emotion (JSON)": "SELECT SUM(LENGTH(text_emotion)) FROM utterances",
        "utterances.fused (JSON)": "SELECT SUM(LENGTH(fused)) FROM utterances",
        "utterances.embedding": "SELECT SUM(LENGTH(embedding)) FROM utterances",
        "utterances.text + reply": "SELECT SUM(LENGTH(text) + LENGTH(COALESCE(reply, ''))) FROM utterances",
        "frames.probs": "SELECT SUM(LENGTH(probs)) FROM frames",
        "moods.data (JSON)": "SELECT SUM(LENGTH(data)) FROM moods",
    }
    n = max(1, store.db.query("SELECT COUNT(*) FROM utterances")[0][0])
    print(
        "bytes per utterance: " + ", ".join(f"{k} {(store.db.query(q)[0][0] or 0) / n:.0f}" for k, q in parts.items())
    )
    print(f"chat list: {rows[-1]['chat']:.0f} items shown at the end")
    said = store.db.query("SELECT text, COUNT(*) FROM utterances GROUP BY text ORDER BY 2 DESC LIMIT 14")
    print("transcripts (the script's words for each utterance), most frequent first:")
    for text, k in said:
        print(f"  {k:6d}  {text}")
    for name, g in (("start", start_stalls), ("end", end_stalls)):
        print(
            f"GUI stalls, real-time minute at the {name:5s}: median {statistics.median(g):5.1f} ms, "
            f"p99 {np.percentile(g, 99):5.1f} ms, max {max(g):5.1f} ms ({len(g)} ticks)"
        )
    print(f"longest stall end/start: {max(end_stalls) / max(start_stalls):.2f}")
    for name, ms in zip(("start", "end"), minute_gc, strict=False):
        longest = f", longest {max(ms):.1f} ms" if ms else ""
        print(f"full collections in the minute at the {name}: {len(ms)}{longest}")
    app.quit()


if __name__ == "__main__":
    main()
