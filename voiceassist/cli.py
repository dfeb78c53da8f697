"""Command line: ``voiceassist analyze FILE``, ``voiceassist listen``, ``voiceassist devices``."""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any

from voiceassist import __version__
from voiceassist.audio.sources import AudioInputError, FileSource, MicSource, list_input_devices
from voiceassist.bus import Collector, EventBus
from voiceassist.config import Config, ConfigError, default_config_path, load_config
from voiceassist.config_file import edit_config, write_atomic
from voiceassist.emotion import EmotionEstimate
from voiceassist.emotion.labels import LABELS, LABELS_ZH, as_dict
from voiceassist.events import (
    AlertRaised,
    BargeIn,
    EmotionFrames,
    Event,
    FusedEmotion,
    InputOverflow,
    MoodUpdate,
    PlaybackEnded,
    QualityReport,
    Reply,
    SourceEnded,
    SpeechDiscarded,
    SpeechEmotion,
    SpeechSegment,
    SpeechStarted,
    StageError,
    StageReady,
    Transcript,
)
from voiceassist.logs import setup_logging
from voiceassist.session import Session

log = logging.getLogger(__name__)

EXIT_OK, EXIT_INPUT, EXIT_CONFIG, EXIT_FAILED = 0, 2, 3, 4


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", type=Path, default=None, help="config TOML (default: the user config file)")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override a setting, e.g. --set vad.aggressiveness=3 (repeatable)")
    p.add_argument("--language", choices=["auto", "zh", "en"], help="spoken language (default: auto)")
    p.add_argument("--model", help="Whisper model name or folder (default: base)")
    p.add_argument("--device", choices=["auto", "cpu", "cuda"], help="where the models run")
    p.add_argument("-v", "--verbose", action="count", default=0)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="voiceassist", description="Emotion-aware voice assistant")
    parser.add_argument("--version", action="version", version=f"voiceassist {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    a = sub.add_parser("analyze", help="segment and transcribe a recording into one JSON document")
    a.add_argument("file", type=Path)
    a.add_argument("-o", "--output", type=Path, help="write the JSON here (default: print it)")
    a.add_argument("--realtime", action="store_true", help="replay at real-time speed, as if live")
    a.add_argument("--granularity", choices=["utterance", "frame"], default="utterance",
                   help="frame: add each segment's frame-level emotion curves (50 frames/s)")
    a.add_argument("--embeddings", type=Path, metavar="DIR",
                   help="write emotion embeddings as .npy: seg<ID>.npy (D,), and with --granularity frame "
                        "seg<ID>_frames.npy (T, D)")
    a.add_argument("--no-emotion", action="store_true", help="segment and transcribe only")
    _common(a)

    li = sub.add_parser("listen", help="live: microphone to events, printed as they happen")
    li.add_argument("--input", help="input device name or index (see 'voiceassist devices')")
    li.add_argument("--file", type=Path, help="replay this recording in real time instead of the microphone")
    li.add_argument("--seconds", type=float, default=0, help="stop after this many seconds (0: until Ctrl-C)")
    li.add_argument("--json", action="store_true", help="one JSON object per line instead of text")
    _common(li)

    al = sub.add_parser("alerts", help="caregiver alerts: test, status, set-pin, on, off")
    al_sub = al.add_subparsers(dest="alerts_command", required=True)
    for name, text in (("test", "send a test alert through the configured channels"),
                       ("status", "recent alerts and deliveries still pending"),
                       ("set-pin", "set or change the caregiver PIN"),
                       ("on", "turn alerts on (asks for the PIN)"), ("off", "turn alerts off (asks for the PIN)")):
        p = al_sub.add_parser(name, help=text)
        p.add_argument("--config", type=Path, default=None, help="config TOML (default: the user config file)")
        p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
        p.add_argument("--pin", help="the caregiver PIN (default: asked for, not echoed)")
        p.add_argument("--outbox", type=Path, help=argparse.SUPPRESS)
        p.add_argument("-v", "--verbose", action="count", default=0)

    ap_ = sub.add_parser("app", help="the desktop window (live view, mood timeline, settings)")
    ap_.add_argument("--file", type=Path, help="replay this recording in real time instead of the microphone")
    ap_.add_argument("--no-start", action="store_true", help="open the window without starting to listen")
    ap_.add_argument("--tab", choices=["live", "timeline", "settings"], default="live")
    ap_.add_argument("--screenshot", type=Path, help=argparse.SUPPRESS)
    ap_.add_argument("--quit-after", type=float, default=0.0, help=argparse.SUPPRESS)
    _common(ap_)

    mo = sub.add_parser("models", help="list, pull, verify or remove models")
    mo_sub = mo.add_subparsers(dest="models_command", required=True)
    for name, text in (("list", "what is supported and what is installed"), ("pull", "download and install a model"),
                       ("verify", "check installed models against their hub metadata"),
                       ("remove", "delete an installed model"), ("gpu", "what GPU was detected, and for what")):
        p = mo_sub.add_parser(name, help=text)
        if name in ("pull", "remove"):
            p.add_argument("name")
        if name == "verify":
            p.add_argument("name", nargs="?")
        if name == "pull":
            p.add_argument("--hub", choices=["hf", "ms"], default="hf", help="Hugging Face (default) or ModelScope")
            p.add_argument("--endpoint", help="hub address (default: huggingface.co, or $HF_ENDPOINT)")
        p.add_argument("--models-dir", type=Path, help="default: models/ in a checkout, else the user data dir")
        p.add_argument("--catalogue", type=Path, help=argparse.SUPPRESS)

    sy = sub.add_parser("say", help="speak TEXT in a tone, into a WAV file (or through the speakers)")
    sy.add_argument("text")
    sy.add_argument("--tone", default="neutral",
                    help="calm, empathetic, reassuring, gentle, neutral, curious, cheerful; or an emotion "
                         "(sad, angry, happy, fearful, surprised) for its reply tone")
    sy.add_argument("--language", choices=["auto", "en", "zh"], default="auto")
    sy.add_argument("-o", "--output", type=Path, help="write a WAV here (default: play it)")
    sy.add_argument("--config", type=Path, default=None)
    sy.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    sy.add_argument("-v", "--verbose", action="count", default=0)

    sub.add_parser("devices", help="list audio input devices")
    sub.add_parser("config-path", help="print where the config file is read from")
    return parser


def _config(args: argparse.Namespace) -> Config:
    overrides = list(args.overrides)
    for flag, key in (("language", "asr.language"), ("model", "asr.model"), ("device", "asr.device"),
                      ("device", "emotion.device")):
        value = getattr(args, flag, None)
        if value:
            overrides.append(f"{key}={json.dumps(value)}")
    if getattr(args, "input", None):
        overrides.append(f"audio.input_device={json.dumps(args.input)}")
    if getattr(args, "no_emotion", False):
        overrides.append("emotion.enabled=false")
    return load_config(args.config or default_config_path(), overrides)


def _emotion_doc(fused: FusedEmotion | None, speech: SpeechEmotion | None, frames: bool) -> dict[str, Any] | None:
    if fused is None:
        return None
    doc: dict[str, Any] = {
        "speech": fused.speech.to_json() if fused.speech else None,
        "text": fused.text.to_json() if fused.text else None,
        "fused": {"label": fused.label, "label_zh": LABELS_ZH[fused.label], "confidence": fused.confidence,
                  "scores": as_dict(fused.scores), "backend": "fusion",
                  "weights": {"speech": fused.speech_weight, "text": fused.text_weight}, "rule": fused.rule},
        "fallback_action": fused.fallback_action,
        "suggested_response": fused.suggested_response,
    }
    if frames and speech is not None and speech.frames is not None:
        probs = speech.frames.probs
        doc["frames"] = {"frame_rate": speech.frames.frame_rate, "start": round(speech.start_s, 3),
                         "labels": list(LABELS), "probs": [[round(float(p), 4) for p in row] for row in probs]}
    return doc


def _mood_doc(m: MoodUpdate | None) -> dict[str, Any] | None:
    if m is None:
        return None
    return {k: (round(v, 4) if isinstance(v, float) else v) for k, v in dataclasses.asdict(m.state).items()}


def build_result(file: Path, duration: float, events: list[Event], frames: bool = False) -> dict[str, Any]:
    """The analyze document: {"file", "duration", "segments": [{"start", "end", "text", "language",
    "quality", "asr", "emotion"}, ...]} plus "backends" and "errors". Segment fields are only ever added
    to, never renamed."""
    quality = {e.segment_id: e for e in events if isinstance(e, QualityReport)}
    transcripts = {e.segment_id: e for e in events if isinstance(e, Transcript)}
    fused = {e.segment_id: e for e in events if isinstance(e, FusedEmotion)}
    speech = {e.segment_id: e for e in events if isinstance(e, SpeechEmotion)}
    moods = {e.segment_id: e for e in events if isinstance(e, MoodUpdate)}
    errors = [{"stage": e.stage, "segment": e.segment_id, "message": e.message}
              for e in events if isinstance(e, StageError)]
    errors += [{"stage": "input", "segment": None, "message": e.error}
               for e in events if isinstance(e, SourceEnded) and e.error]
    segments = []
    for seg in (e for e in events if isinstance(e, SpeechSegment)):
        q, tr = quality.get(seg.segment_id), transcripts.get(seg.segment_id)
        start = q.trimmed_start_s if q and q.ok else seg.start_s
        end = q.trimmed_end_s if q and q.ok else seg.end_s
        segments.append({
            "id": seg.segment_id,
            "start": round(start, 3),
            "end": round(end, 3),
            "text": tr.text if tr else "",
            "language": tr.language if tr and tr.text else None,
            "quality": None if q is None else {
                "ok": q.ok, "issue": q.issue, "message": q.message, "message_zh": q.message_zh,
                "rms_dbfs": q.rms_dbfs, "peak_dbfs": q.peak_dbfs, "clipped_ratio": q.clipped_ratio,
            },
            "asr": None if tr is None else {
                "language_probability": tr.language_probability, "no_speech_prob": tr.no_speech_prob,
                "avg_logprob": tr.avg_logprob, "dropped_as_hallucination": tr.dropped_as_hallucination,
                "dropped_reason": tr.dropped_reason,
            },
            "emotion": _emotion_doc(fused.get(seg.segment_id), speech.get(seg.segment_id), frames),
            "mood": _mood_doc(moods.get(seg.segment_id)),
        })
    backends = {e.stage: {"description": e.description, "embedded": e.embedded, "note": e.note}
                for e in events if isinstance(e, StageReady)}
    return {"file": str(file), "duration": round(duration, 3), "backends": backends,
            "segments": segments, "errors": errors}


def cmd_analyze(args: argparse.Namespace, cfg: Config) -> int:
    source = FileSource(args.file, realtime=args.realtime, chunk_ms=cfg.audio.file_chunk_ms)
    try:
        info = source.open()
    except AudioInputError as e:
        print(f"voiceassist: {e}", file=sys.stderr)
        return EXIT_INPUT
    if info.duration_s == 0:
        print(f"voiceassist: {args.file}: the file contains no audio samples", file=sys.stderr)
        return EXIT_INPUT
    collector = Collector()
    session = Session(cfg, source)
    session.subscribe(collector)
    session.start()
    try:
        session.wait()
    except KeyboardInterrupt:
        session.stop()
        return 130
    ended = collector.of(SourceEnded)
    duration = ended[-1].duration_s if ended else 0.0
    doc = build_result(args.file, duration, collector.events, frames=args.granularity == "frame")
    if args.embeddings:
        try:
            doc["embeddings"] = write_embeddings(args.embeddings, collector.of(SpeechEmotion),
                                                 frames=args.granularity == "frame")
        except OSError as e:
            doc["errors"].append({"stage": "embeddings", "segment": None, "message": f"cannot write: {e}"})
    text = json.dumps(doc, ensure_ascii=False, indent=2)
    if args.output:
        try:
            write_atomic(args.output, text + "\n")
        except OSError as e:
            print(f"voiceassist: cannot write {args.output}: {e}", file=sys.stderr)
            print(text)  # the result is not lost
            return EXIT_FAILED
    else:
        print(text)
    for err in doc["errors"]:
        print(f"voiceassist: warning: {err['stage']}: {err['message']}", file=sys.stderr)
    return EXIT_OK


def write_embeddings(folder: Path, emotions: list[SpeechEmotion], frames: bool) -> dict[str, Any]:
    """seg<ID>.npy: the utterance embedding (D,); seg<ID>_frames.npy: frame features (T, D)."""
    import numpy as np

    folder.mkdir(parents=True, exist_ok=True)
    written: dict[str, Any] = {"dir": str(folder), "files": []}
    for ev in emotions:
        if ev.estimate.embedding is not None:
            path = folder / f"seg{ev.segment_id:04d}.npy"
            np.save(path, ev.estimate.embedding)
            written["files"].append({"segment": ev.segment_id, "kind": "utterance", "file": path.name,
                                     "shape": list(ev.estimate.embedding.shape), "backend": ev.estimate.backend})
        if frames and ev.frames is not None and ev.frames.features is not None:
            path = folder / f"seg{ev.segment_id:04d}_frames.npy"
            np.save(path, ev.frames.features)
            written["files"].append({"segment": ev.segment_id, "kind": "frames", "file": path.name,
                                     "shape": list(ev.frames.features.shape), "frame_rate": ev.frames.frame_rate})
    return written


def _describe(ev: Event) -> str | None:
    if isinstance(ev, StageReady):
        line = f"ready: {ev.stage}: {ev.description}, loaded in {ev.load_s:.1f} s"
        return line + (f"\n       ({ev.note})" if ev.note else "")
    if isinstance(ev, MoodUpdate):
        m = ev.state
        rel = f", {m.volatility_relative:.1f}x usual" if m.volatility_relative is not None else ""
        return (f"          mood: valence {m.valence:+.2f}, arousal {m.arousal:+.2f}; volatility over {m.n}: "
                f"RMSSD {m.rmssd_valence:.2f}, PAC {m.pac_valence:.2f}, cos {m.volatility_cos:.2f}{rel}")
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
    if isinstance(ev, Transcript):
        text = ev.text or "(no words recognised)"
        return f"[{ev.start_s:7.2f}-{ev.end_s:7.2f}] ({ev.language}) {text}"
    if isinstance(ev, InputOverflow):
        return f"warning: audio input overflow ({ev.count} blocks dropped so far)"
    if isinstance(ev, StageError):
        return f"error: {ev.stage}: {ev.message}"
    if isinstance(ev, SourceEnded):
        return f"input ended after {ev.duration_s:.1f} s" + (f": {ev.error}" if ev.error else "")
    return None


def _jsonable(v: Any) -> Any:
    import numpy as np

    if isinstance(v, EmotionEstimate):
        return v.to_json()
    if dataclasses.is_dataclass(v) and not isinstance(v, type):
        return dataclasses.asdict(v)
    if isinstance(v, np.ndarray):
        return np.round(v.astype(np.float64), 4).tolist()
    if isinstance(v, np.generic):
        return v.item()
    if hasattr(v, "probs") and hasattr(v, "frame_rate"):  # FrameCurves: too long for a log line
        return {"frames": int(v.probs.shape[0]), "frame_rate": v.frame_rate}
    return v


def _as_json(ev: Event) -> str:
    d = {k: _jsonable(v) for k, v in vars(ev).items() if k != "audio"}
    if isinstance(ev, FusedEmotion):
        d["scores"] = as_dict(ev.scores)
    if isinstance(ev, EmotionFrames):
        d["labels"] = list(LABELS)
    return json.dumps({"event": type(ev).__name__, **d}, ensure_ascii=False)


def cmd_listen(args: argparse.Namespace, cfg: Config) -> int:
    if args.file:
        source: FileSource | MicSource = FileSource(args.file, realtime=True, chunk_ms=cfg.audio.block_ms)
    else:
        source = MicSource(cfg.audio.input_device or None, cfg.audio.block_ms, cfg.audio.queue_seconds,
                           cfg.audio.no_data_timeout_s)
    bus = EventBus()
    done = threading.Event()

    def show(ev: Event) -> None:
        line = _as_json(ev) if args.json else _describe(ev)
        if line:
            print(line, flush=True)
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
    session = Session(cfg, source, bus=bus, store=store,
                      source_name=f"file {args.file}" if args.file else "microphone",
                      on_store_error=lambda m: print(f"voiceassist: {m}", file=sys.stderr))
    try:
        print("loading models...", file=sys.stderr, flush=True)
        session.start()
    except AudioInputError as e:
        print(f"voiceassist: {e}", file=sys.stderr)
        if store is not None:
            store.close()
        return EXIT_INPUT
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
    return EXIT_OK


def _ask_pin(args: argparse.Namespace, prompt: str = "Caregiver PIN: ") -> str:
    if args.pin:
        return str(args.pin)
    import getpass

    return getpass.getpass(prompt)


def _edit_alerts_config(path: Path, **values: Any) -> None:
    """Change keys of [alerts] in the user's config file, keeping its comments and layout."""
    edit_config(path, {"alerts": values}, mode=0o600)


def cmd_alerts(args: argparse.Namespace) -> int:
    from voiceassist.alerts.service import AlertService, check_pin, hash_pin

    path = args.config or default_config_path()
    try:
        cfg = load_config(path, args.overrides)
    except ConfigError as e:
        print(f"voiceassist: configuration error: {e}", file=sys.stderr)
        return EXIT_CONFIG
    a = cfg.alerts
    if args.alerts_command == "set-pin":
        if a.pin_hash and not check_pin(_ask_pin(args, "Current PIN: "), a.pin_hash):
            print("voiceassist: wrong PIN", file=sys.stderr)
            return EXIT_CONFIG
        new = args.pin if args.pin and not a.pin_hash else _ask_pin(argparse.Namespace(pin=None), "New PIN: ")
        if len(new) < 4 or not new.isdigit():
            print("voiceassist: the PIN must be at least 4 digits", file=sys.stderr)
            return EXIT_CONFIG
        _edit_alerts_config(path, pin_hash=hash_pin(new))
        print(f"PIN set (stored as a salted hash in {path})")
        return EXIT_OK
    if args.alerts_command in ("on", "off"):
        if not a.pin_hash:
            print("voiceassist: set a caregiver PIN first: voiceassist alerts set-pin", file=sys.stderr)
            return EXIT_CONFIG
        if not check_pin(_ask_pin(args), a.pin_hash):
            print("voiceassist: wrong PIN", file=sys.stderr)
            return EXIT_CONFIG
        _edit_alerts_config(path, enabled=args.alerts_command == "on")
        print(f"caregiver alerts are {args.alerts_command.upper()} (channels: {', '.join(a.channels)}); "
              "the person sees this in the app")
        return EXIT_OK
    service = AlertService(a, outbox_path=args.outbox)
    try:
        if args.alerts_command == "status":
            print(f"alerts are {'ON' if a.enabled else 'OFF'}; channels: {', '.join(a.channels)}")
            for al in service.outbox.alerts(20):
                ds = service.outbox.deliveries(al.id)
                state = ", ".join(f"{d.channel}: {d.status}" + (f" ({d.last_error})" if d.last_error else "")
                                  for d in ds) or ("stored only (cooldown)" if al.suppressed else "banner only")
                print(f"#{al.id} {time.strftime('%Y-%m-%d %H:%M', time.localtime(al.created_at))} "
                      f"[{al.severity}] {al.kind}: {al.rule} -> {state}")
            return EXIT_OK
        # test: one alert through every configured channel, a few quick retries, then report
        alert_id = service.send_test()
        if not service.channels:
            print("only the in-app banner is configured; nothing to send (add desktop, email or webhook to "
                  "alerts.channels)")
            return EXIT_OK
        for _ in range(3):
            service.deliver_due(now=time.time() + 3600)  # do not wait out the backoff here
            if all(d.status != "pending" for d in service.outbox.deliveries(alert_id)):
                break
        ok = True
        for d in service.outbox.deliveries(alert_id):
            good = d.status == "sent"
            ok = ok and good
            print(f"{d.channel:8s} {'sent' if good else 'FAILED'}" + ("" if good else f": {d.last_error}"))
        if not ok:
            print("undelivered test alerts stay queued and are retried while VoiceAssist runs", file=sys.stderr)
        return EXIT_OK if ok else EXIT_FAILED
    finally:
        service.stop()


def cmd_models(args: argparse.Namespace) -> int:
    from voiceassist import models_manager as mm
    from voiceassist.paths import models_dir

    folder = args.models_dir or models_dir()
    cat = mm.catalogue(args.catalogue)
    cmd = args.models_command
    if cmd == "gpu":
        print(mm.gpu_report())
        return EXIT_OK
    if cmd == "list":
        print(f"models folder: {folder}")
        for e in cat.values():
            here = mm.installed(e, folder)
            size = f"{mm.folder_size(folder / e.folder) / 1e6:.0f} MB on disk" if here else f"~{e.size_mb:.0f} MB"
            src = e.hf or e.ms
            print(f"{'*' if here else ' '} {e.name:24s} {e.kind:15s} {size:>16s}  {src}")
        print("* installed. The embedded Whisper base and tiny.en need no download.")
        return EXIT_OK
    if args.name and args.name not in cat and cmd != "verify":
        print(f"voiceassist: unknown model {args.name!r}; see 'voiceassist models list'", file=sys.stderr)
        return EXIT_CONFIG
    if cmd == "pull":
        try:
            path = mm.pull(args.name, folder, args.hub, args.endpoint, cat)
        except mm.ModelManagerError as e:
            print(f"voiceassist: {e}", file=sys.stderr)
            return EXIT_FAILED
        print(f"installed {args.name} in {path} (sizes and hashes checked)")
        return EXIT_OK
    if cmd == "remove":
        removed = mm.remove(cat[args.name], folder)
        print(f"removed {folder / cat[args.name].folder}" if removed else f"{args.name} is not installed")
        return EXIT_OK
    names = [args.name] if args.name else [n for n, e in cat.items() if mm.installed(e, folder)]
    bad = 0
    for n in names:
        if n not in cat:
            print(f"voiceassist: unknown model {n!r}", file=sys.stderr)
            return EXIT_CONFIG
        problems = mm.verify(cat[n], folder)
        bad += bool(problems)
        print(f"{n}: " + ("ok" if not problems else "; ".join(problems)))
    if not names:
        print("no models installed in " + str(folder))
    return EXIT_FAILED if bad else EXIT_OK


def cmd_say(args: argparse.Namespace) -> int:
    import soundfile as sf

    from voiceassist.tts import TONES, Player, Synthesizer, TtsError

    try:
        cfg = load_config(args.config or default_config_path(), args.overrides)
    except ConfigError as e:
        print(f"voiceassist: configuration error: {e}", file=sys.stderr)
        return EXIT_CONFIG
    by_emotion = {"angry": "calm", "disgusted": "calm", "sad": "empathetic", "fearful": "reassuring",
                  "happy": "cheerful", "surprised": "curious", "neutral": "neutral"}
    tone = by_emotion.get(args.tone, args.tone)
    if tone not in TONES:
        print(f"voiceassist: unknown tone {args.tone!r}; use one of {', '.join(TONES)} or an emotion",
              file=sys.stderr)
        return EXIT_CONFIG
    lang = args.language
    if lang == "auto":
        lang = "zh" if any("\u4e00" <= c <= "\u9fff" for c in args.text) else "en"
    synth = Synthesizer(cfg.tts.driver, cfg.tts.voice_en, cfg.tts.voice_zh, cfg.tts.rate_scale)
    try:
        samples, rate = synth.render(args.text, lang, tone)
    except TtsError as e:
        print(f"voiceassist: {e}", file=sys.stderr)
        return EXIT_FAILED
    if args.output:
        try:
            args.output.parent.mkdir(parents=True, exist_ok=True)
            sf.write(str(args.output), samples, rate, subtype="PCM_16")
        except (OSError, RuntimeError) as e:
            print(f"voiceassist: cannot write {args.output}: {e}", file=sys.stderr)
            return EXIT_FAILED
        print(f"{args.output}: {len(samples) / rate:.2f} s, {rate} Hz, tone {tone}, {synth.description}")
        return EXIT_OK
    player = Player(cfg.tts.output_device or None)
    try:
        player.play(samples, rate)
    except TtsError as e:
        print(f"voiceassist: {e}; use -o FILE.wav to write the speech to a file", file=sys.stderr)
        return EXIT_INPUT
    return EXIT_OK


def cmd_devices() -> int:
    try:
        devices = list_input_devices()
    except AudioInputError as e:
        print(f"voiceassist: {e}", file=sys.stderr)
        return EXIT_INPUT
    if not devices:
        print("No audio input devices found.")
        return EXIT_OK
    for d in devices:
        mark = "*" if d["default"] else " "
        print(f"{mark} {d['index']:3d}  {d['name']}  ({d['hostapi']}, {d['channels']} ch, "
              f"{int(float(str(d['default_samplerate'])))} Hz)")
    return EXIT_OK


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "config-path":
        print(default_config_path())
        return EXIT_OK
    setup_logging(getattr(args, "verbose", 0))
    if args.command == "devices":
        return cmd_devices()
    if args.command == "alerts":
        return cmd_alerts(args)
    if args.command == "say":
        return cmd_say(args)
    if args.command == "models":
        return cmd_models(args)
    try:
        cfg = _config(args)
    except ConfigError as e:
        print(f"voiceassist: configuration error: {e}", file=sys.stderr)
        return EXIT_CONFIG
    if args.command == "app":
        try:
            from voiceassist.ui.app import run_app
        except ImportError as e:
            print(f"voiceassist: the window needs the ui extra (pip install 'voiceassist[ui]'): {e}",
                  file=sys.stderr)
            return EXIT_FAILED
        return run_app(cfg, args.config or default_config_path(), args.file, args.screenshot, args.quit_after,
                       args.tab, start=not args.no_start)
    try:
        return cmd_analyze(args, cfg) if args.command == "analyze" else cmd_listen(args, cfg)
    except Exception as e:  # a last line of defence: a message, the details in the log, no traceback
        log.error("%s failed", args.command, exc_info=True)
        print(f"voiceassist: {args.command} failed: {e}", file=sys.stderr)
        return EXIT_FAILED


if __name__ == "__main__":
    sys.exit(main())
