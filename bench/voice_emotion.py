"""The voice side, side by side: the embedded voice head (voiceassist/emotion/voice_head.py) against the prosody
arousal estimate it replaces, on real acted speech; what the fused label gets; and what the head costs.

Run:  .venv/bin/python bench/voice_emotion.py --train EMODB.csv [--eval OTHER.csv ...] [--calm CALM.jsonl|.csv]
          [--model FOLDER] [--cache DIR]

Manifests are ``voiceassist train speech-emotion``'s (path,emotion,speaker[,language][,corpus]). The
recordings are not in the repository (docs/benchmarks.md says where each came from and under which licence).

1. **Leave-one-speaker-out on --train**: each speaker's clips scored by a head trained, with the shipped
   head's recipe (model.json: pooling, prosody features, C; both windows; the augmented copies when its
   training used them), on the other speakers only, normalised with their statistics (a new user's first
   utterance); and by the prosody estimate (a fresh one per clip: no speaker baseline either). Accuracy,
   macro-F1 over the head's classes, calm-versus-agitated (the sign of ``labels.AROUSAL``).
2. **Cross-corpus, each --eval**: the shipped head (--model) and the prosody estimate, each clip alone; then
   the whole app, ``analyze`` of each clip with the embedded defaults (Whisper base, the head, the trained
   text head, fusion): the fused label against the words alone and the voice alone (acted speech with
   neutral words: the voice has to carry it).
3. **Calm speech, --calm** (read speech, e.g. AISHELL-1 dev): the share called neutral, and calm.
4. **Cost**: per utterance on top of the recogniser (pooling, prosody features, head), per live update
   (curves over the frames of an utterance so far), the recogniser's encoder for reference; the head's
   memory. Medians over repeats, on this machine, in one run.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from voiceassist.config import EmotionConfig
from voiceassist.emotion.labels import AROUSAL, INDEX, LABELS
from voiceassist.emotion.prosody import ProsodyBackend
from voiceassist.emotion.voice_head import VoiceHeadBackend, shipped_model_dir
from voiceassist.train.speech_data import Clip, Featurizer, app_window, load_audio, read_manifest
from voiceassist.train.speech_emotion import SpeechTrainOptions, _to9, loso, prepare


def scores_line(name: str, gold: list[str], pred: list[str], classes: tuple[str, ...]) -> dict[str, Any]:
    acc = float(np.mean([g == p for g, p in zip(gold, pred, strict=True)])) if gold else float("nan")
    f1s = []
    for c in classes:
        tp = sum(g == c and p == c for g, p in zip(gold, pred, strict=True))
        fp = sum(g != c and p == c for g, p in zip(gold, pred, strict=True))
        fn = sum(g == c and p != c for g, p in zip(gold, pred, strict=True))
        f1s.append(2 * tp / (2 * tp + fp + fn) if tp else 0.0)
    pairs = zip(gold, pred, strict=True)  # a clip that gave no utterance ("none") is neither calm nor agitated
    ca = float(np.mean([p in INDEX and (AROUSAL[INDEX[g]] > 0) == (AROUSAL[INDEX[p]] > 0) for g, p in pairs]))
    row = {"set": name, "n": len(gold), "accuracy": acc, "macro_f1": float(np.mean(f1s)), "calm_vs_agitated": ca}
    print(f"  {name:34s} n={len(gold):4d}  acc {acc:.3f}  macro-F1 {row['macro_f1']:.3f}  calm/agitated {ca:.3f}")
    return row


def prosody_labels(clips: list[Clip]) -> list[str]:
    out = []
    for c in clips:
        est, _ = ProsodyBackend(EmotionConfig()).analyze(load_audio(c.path))
        out.append(est.label)
    return out


def head_labels(head: VoiceHeadBackend, feats: Featurizer, clips: list[Clip]) -> list[str]:
    """The shipped head on each clip alone (a fresh baseline: a first utterance), in the app's window."""
    out = []
    for c in clips:
        audio = load_audio(c.path)
        frames = feats.asr.encode_speech(audio, app_window(c.language))
        out.append(head.fresh().analyze(audio, frames)[0].label)
    return out


def fused_through_the_app(clips: list[Clip]) -> dict[str, list[str]]:
    """``analyze`` of each clip with the embedded defaults: the fused, voice and words labels of its last
    utterance (a clip that gives no utterance counts as "none")."""
    from voiceassist.analysis import analyze
    from voiceassist.audio.sources import FileSource
    from voiceassist.config import load_config
    from voiceassist.pipeline import Models

    cfg = load_config(None, ["reply.enabled=false", "store.enabled=false", "tts.enabled=false"])
    models = Models.load(cfg)
    out: dict[str, list[str]] = {"fused": [], "voice": [], "words": []}
    for c in clips:
        src = FileSource(c.path)
        src.open()
        doc = analyze(cfg, src, c.path.name, models=models)
        emo = [s["emotion"] for s in doc["segments"] if s.get("emotion")]
        last = emo[-1] if emo else None
        out["fused"].append(last["fused"]["label"] if last else "none")
        out["voice"].append((last.get("speech") or {}).get("label", "none") if last else "none")
        out["words"].append((last.get("text") or {}).get("label", "none") if last else "none")
    return out


def cached_app_run(clips: list[Clip], manifest: Path, cache: Path | None, model: Path) -> dict[str, list[str]]:
    """``fused_through_the_app``, kept in ``cache`` (for this manifest and this head) when there is one."""
    import hashlib

    key = hashlib.sha256(manifest.read_bytes() + (model / "head.npz").read_bytes()).hexdigest()[:16]
    where = cache / f"app-{manifest.parent.name}-{key}.json" if cache is not None else None
    if where is not None and where.is_file():
        return dict(json.loads(where.read_text()))
    out = fused_through_the_app(clips)
    if where is not None:
        where.write_text(json.dumps(out))
    return out


def calm_share(labels: list[str]) -> tuple[float, float]:
    neutral = float(np.mean([x == "neutral" for x in labels]))
    calm = float(np.mean([AROUSAL[INDEX[x]] <= 0 for x in labels if x in INDEX]))
    return neutral, calm


def calm_clips(path: Path) -> list[Clip]:
    if path.suffix == ".jsonl":
        rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        return [Clip(path.parent / r["path"], "neutral", "calm", "zh", "calm", i) for i, r in enumerate(rows, 1)]
    return read_manifest(path, training=False)


def cost(head: VoiceHeadBackend, feats: Featurizer, clips: list[Clip]) -> None:
    from voiceassist.emotion.voice_head import pool, prosody_vector

    assert head.head is not None
    print("\n== cost (ms, median of 20; 2 cores, this machine)")
    rng = np.random.default_rng(0)
    for seconds in (2, 4, 8):
        audio = np.concatenate([load_audio(c.path) for c in clips[:6]])[: seconds * 16000]
        if len(audio) < seconds * 16000:
            audio = np.pad(audio, (0, seconds * 16000 - len(audio)))
        t = time.perf_counter()
        frames = feats.asr.encode_speech(audio, "short")
        enc = (time.perf_counter() - t) * 1000
        b = head.fresh()
        parts: dict[str, list[float]] = {"pool": [], "prosody": [], "head (whole analyze)": [], "live update": []}
        for _ in range(20):
            t = time.perf_counter()
            pool(frames, head.head.pooling)
            parts["pool"].append((time.perf_counter() - t) * 1000)
            t = time.perf_counter()
            prosody_vector(audio, head.head.prosody)
            parts["prosody"].append((time.perf_counter() - t) * 1000)
            t = time.perf_counter()
            b.analyze(audio, frames)
            parts["head (whole analyze)"].append((time.perf_counter() - t) * 1000)
            t = time.perf_counter()
            b.frames(audio[:0], frames + rng.normal(0, 1e-3, frames.shape).astype(np.float32))
            parts["live update"].append((time.perf_counter() - t) * 1000)
        line = ", ".join(f"{k} {statistics.median(v):.2f}" for k, v in parts.items())
        print(f"  {seconds} s utterance: {line}; the encoder itself {enc:.0f}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--train", type=Path, required=True)
    ap.add_argument("--eval", type=Path, action="append", default=[])
    ap.add_argument("--calm", type=Path)
    ap.add_argument("--model", type=Path, default=shipped_model_dir())
    ap.add_argument("--cache", type=Path)
    ap.add_argument("--no-app", action="store_true", help="skip the runs of the whole app (slow)")
    args = ap.parse_args()

    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    head = VoiceHeadBackend(EmotionConfig(), args.model)
    head.load()
    assert head.head is not None
    rss_head = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss0) / 1024
    meta = head.head.meta
    from voiceassist.train.speech_emotion import _whisper

    feats = Featurizer(_whisper(head.head.whisper), args.cache)
    opts = SpeechTrainOptions(
        c=float(meta["trained"]["C"]),
        augment=bool(meta["trained"].get("augment")),
        pooling=tuple(meta["pooling"]),
        prosody=tuple(meta["prosody"]),
    )
    clips = read_manifest(args.train)
    p = prepare(clips, feats, opts)
    gold = [c.emotion for c in p.clips]
    speakers = len({c.speaker for c in clips})
    print(f"== leave-one-speaker-out on {args.train.name} ({len(gold)} clips, {speakers} speakers)")
    held = _to9(loso(p, opts.c or 0.1, False), p.classes)
    scores_line("voice head", gold, [LABELS[int(i)] for i in held.argmax(axis=1)], p.classes)
    scores_line("prosody estimate (before)", gold, prosody_labels(p.clips), p.classes)
    for path in args.eval:
        ev = read_manifest(path, training=False)
        g = [c.emotion for c in ev]
        classes = tuple(sorted(set(g)))
        print(f"\n== cross-corpus: {path.name} ({len(ev)} clips), each clip alone")
        got = {"voice head": head_labels(head, feats, ev), "prosody estimate (before)": prosody_labels(ev)}
        if not args.no_app:
            app = cached_app_run(ev, path, args.cache, args.model)
            got.update({f"the app, {k} (analyze)": app[k] for k in ("fused", "voice", "words")})
        for name, pred in got.items():
            scores_line(name, g, pred, classes)
        shared = [i for i, x in enumerate(g) if x in head.head.classes]
        if len(shared) < len(g):  # the emotions the head knows (the target is on six)
            print(f"  -- the {len(shared)} clips of the head's {len(head.head.classes)} emotions:")
            for name, pred in got.items():
                sub = tuple(sorted(set(g) & set(head.head.classes)))
                scores_line(name, [g[i] for i in shared], [pred[i] for i in shared], sub)
    if args.calm:
        cc = calm_clips(args.calm)
        print(f"\n== calm read speech: {args.calm.parent.name} ({len(cc)} clips): share neutral, share calm")
        for name, labels in (("voice head", head_labels(head, feats, cc)), ("prosody estimate", prosody_labels(cc))):
            n, c = calm_share(labels)
            print(f"  {name:34s} neutral {n:.2f}  calm {c:.2f}")
    cost(head, feats, clips)
    print(f"  the head's memory: {rss_head:.1f} MB (peak RSS growth when it is loaded)")


if __name__ == "__main__":
    main()
