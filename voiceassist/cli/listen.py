"""``voiceassist listen``: microphone (or a replayed file) to events, printed as they happen: a text line
each, or with ``--json`` one JSON object per line (voiceassist/eventjson.py). Lines from different threads
never interleave."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path
from typing import TextIO

from voiceassist.audio.sources import AudioInputError, FileSource, MicSource
from voiceassist.bus import EventBus
from voiceassist.config import Config
from voiceassist.emotion.labels import LABELS_ZH
from voiceassist.eventjson import dumps_event
from voiceassist.events import (
    AlertRaised,
    BargeIn,
    Event,
    FusedEmotion,
    InputOverflow,
    MoodUpdate,
    PartialTranscript,
    PlaybackEnded,
    QualityReport,
    Reply,
    SourceEnded,
    SpeechDiscarded,
    SpeechStarted,
    StageError,
    StageReady,
    StoreStatus,
    Transcript,
)
from voiceassist.options import EXIT_CONFIG, EXIT_INPUT, EXIT_OK
from voiceassist.pipeline import StageSetupError
from voiceassist.session import Session


class LinePrinter:
    """Writes whole lines under a lock: events arrive on several threads at once."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self._stream = stream
        self._lock = threading.Lock()

    def __call__(self, line: str) -> None:
        stream = self._stream or sys.stdout
        with self._lock:
            stream.write(line + "\n")
            stream.flush()


def _describe(ev: Event) -> str | None:
    if isinstance(ev, StageReady):
        line = f"ready: {ev.stage}: {ev.description}, loaded in {ev.load_s:.1f} s"
        return line + (f"\n       ({ev.note})" if ev.note else "")
    if isinstance(ev, MoodUpdate):
        m = ev.state
        rel = f", {m.volatility_relative:.1f}x usual" if m.volatility_relative is not None else ""
        return (
            f"          mood: valence {m.valence:+.2f}, arousal {m.arousal:+.2f}; volatility over {m.n}: "
            f"RMSSD {m.rmssd_valence:.2f}, PAC {m.pac_valence:.2f}, cos {m.volatility_cos:.2f}{rel}"
        )
    if isinstance(ev, AlertRaised):
        state = "stored (cooldown), not sent" if ev.suppressed else f"sent to: {', '.join(('banner', *ev.channels))}"
        return f"!! ALERT [{ev.severity}] {ev.kind}: {ev.rule} ({state})"
    if isinstance(ev, FusedEmotion):
        parts = [f"          #{ev.segment_id}: {ev.label} / {LABELS_ZH[ev.label]} ({ev.confidence:.2f})"]
        if ev.speech:
            parts.append(f"voice {ev.speech.label} {ev.speech.confidence:.2f}")
        if ev.text:
            kw = f" [{', '.join(ev.text.keywords[:3])}]" if ev.text.keywords else ""
            parts.append(f"words {ev.text.label} {ev.text.confidence:.2f}{kw}")
        line = ", ".join(parts)
        if ev.fallback_action:
            line += f"\n          -> {ev.fallback_action}: {ev.suggested_response}"
        return line
    if isinstance(ev, SpeechStarted):
        return f"[{ev.start_s:7.2f}] speech started (#{ev.segment_id})"
    if isinstance(ev, SpeechDiscarded):
        why = "heard while the assistant spoke" if ev.reason == "assistant_speaking" else "too short"
        return f"[{ev.start_s:7.2f}] {why}, ignored (#{ev.segment_id})"
    if isinstance(ev, Reply):
        return f"  assistant ({ev.tone}, {ev.source}): {ev.text}"
    if isinstance(ev, PlaybackEnded) and ev.interrupted:
        return f"  (stopped speaking after {ev.played_s:.1f} s)"
    if isinstance(ev, BargeIn):
        return f"  (you spoke: stopped speaking in {ev.stopped_after_s * 1000:.0f} ms)"
    if isinstance(ev, QualityReport) and not ev.ok:
        return f"          #{ev.segment_id}: {ev.message} / {ev.message_zh}"
    if isinstance(ev, PartialTranscript):
        return f"[{ev.start_s:7.2f}-{ev.audio_end_s:7.2f}] ... {ev.text}"
    if isinstance(ev, Transcript):
        text = ev.text or "(no words recognised)"
        return f"[{ev.start_s:7.2f}-{ev.end_s:7.2f}] ({ev.language}) {text}"
    if isinstance(ev, InputOverflow):
        return f"warning: audio input overflow ({ev.count} blocks dropped so far)"
    if isinstance(ev, StageError):
        return f"error: {ev.stage}: {ev.message}"
    if isinstance(ev, StoreStatus):
        return ("" if ev.saving else "warning: ") + ev.message
    if isinstance(ev, SourceEnded):
        return f"input ended after {ev.duration_s:.1f} s" + (f": {ev.error}" if ev.error else "")
    return None


def cmd_listen(args: argparse.Namespace, cfg: Config) -> int:
    if args.file:
        source: FileSource | MicSource = FileSource(args.file, realtime=True, chunk_ms=cfg.audio.block_ms)
    else:
        source = MicSource(
            cfg.audio.input_device or None, cfg.audio.block_ms, cfg.audio.queue_seconds, cfg.audio.no_data_timeout_s
        )
    bus = EventBus()
    done = threading.Event()
    out = LinePrinter()

    def show(ev: Event) -> None:
        line = dumps_event(ev) if args.json else _describe(ev)
        if line:
            out(line)
        if isinstance(ev, SourceEnded):
            done.set()

    bus.subscribe(show)
    store = None
    if cfg.store.enabled:
        from voiceassist.storage import SessionStore, default_store_path

        try:
            store = SessionStore(Path(cfg.store.path) if cfg.store.path else default_store_path())
            store.apply_retention(cfg.store.retention_days)
        except Exception as e:  # the session still runs, it is just not kept
            print(f"voiceassist: sessions will not be saved: {e}", file=sys.stderr)
            store = None
    session = Session(
        cfg,
        source,
        bus=bus,
        store=store,
        source_name=f"file {args.file}" if args.file else "microphone",
    )
    try:
        print("loading models...", file=sys.stderr, flush=True)
        session.start()
    except (AudioInputError, StageSetupError) as e:
        bad_config = isinstance(e, StageSetupError)
        print(f"voiceassist: {'configuration error: ' if bad_config else ''}{e}", file=sys.stderr)
        if store is not None:
            store.close()
        return EXIT_CONFIG if bad_config else EXIT_INPUT
    print("listening (Ctrl-C to stop)", file=sys.stderr, flush=True)
    previous = signal.signal(signal.SIGTERM, lambda *_: done.set())
    try:
        done.wait(args.seconds if args.seconds > 0 else None)
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
        session.stop()
        if store is not None:
            store.close()
    for w in source.warnings:  # e.g. a truncated file: known once it has been read
        print(f"voiceassist: warning: {w}", file=sys.stderr)
    return EXIT_OK
