"""Mandarin recognition on real read speech: the decoding defaults chosen on a dev set, side by side, with
their cost; then the chosen configuration reported once on a held-back set.

    .venv/bin/python bench/mandarin_dev.py choose --dev AISHELL_DEV/manifest.jsonl [--limit N] [--threads 2]
    .venv/bin/python bench/mandarin_dev.py report [--dev ...] --test AISHELL_TEST/manifest.jsonl [--set k=v ...]

Data (not in the repository: docs/benchmarks.md says where it comes from): AISHELL-1 utterances
(Apache-2.0), a manifest.jsonl of {"path", "text"} per folder. **Dev** (speaker S0150) chooses; **test**
(speaker S0252) is reserved for evaluation: ``report`` scores it once, with the configuration chosen on dev
and given by ``--set``. Nothing is ever chosen on test.

Each variant goes through the project's own backend (voiceassist.asr.whisper: speech gate, language
detection restricted to asr.languages unless the language is given, guard, OpenCC, the initial prompt and
hotwords) on the embedded Whisper base. CER: character edit distance over reference characters after the
same normalisation of both sides (textnorm: full width, traditional -> simplified, Arabic numbers ->
Chinese numerals; punctuation and spaces removed), summed over the set. RTF: decode time / audio time.

Variants (each against the current defaults, ``asr.*``):
- language: auto (detected among zh, en) / given zh;
- beam: 5 (the default, chosen here) / 1 (``beam_size_zh``; greedy was the default before);
- window: Mandarin decoded in Whisper's full 30 s window / in the short one (``short_window_languages``);
- initial prompt: the simplified-Chinese prompt / none;
- hotwords: none / three names that are in no utterance (a wrong list must not hurt);
- temperature fallback: off / on;
- ``condition_on_previous_text`` is not varied: each utterance is one window, so there is no previous text.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from voiceassist.config import AsrConfig

DISTRACTORS = ["陈静", "刘洋", "赵磊"]
VARIANTS: dict[str, dict[str, object]] = {
    "defaults": {},
    "language zh given": {"language": "zh"},
    "greedy (beam 1)": {"beam_size_zh": 1},
    "short window": {"short_window_languages": ["en", "zh"]},
    "no prompt": {"initial_prompt_zh": ""},
    "wrong hotwords": {"hotwords": DISTRACTORS},
    "temperature fallback": {"temperature_fallback": True},
}


def read(manifest: Path, limit: int = 0) -> list[tuple[np.ndarray, str]]:
    import soundfile as sf

    rows = [json.loads(x) for x in manifest.read_text(encoding="utf-8").splitlines() if x.strip()]
    if limit:
        step = max(1, len(rows) // limit)
        rows = rows[::step][:limit]  # spread over the set, in its order
    out = []
    for r in rows:
        audio, sr = sf.read(str(manifest.parent / r["path"]), dtype="float32")
        if sr != 16000:
            raise SystemExit(f"{r['path']}: {sr} Hz, expected 16000")
        out.append((audio, r["text"]))
    return out


def clean(text: str) -> str:
    from voiceassist.textnorm import normalize

    return "".join(ch for ch in normalize(text, "zh") if ch.isalnum()).lower()


def edits(ref: str, hyp: str) -> int:
    from rapidfuzz.distance import Levenshtein

    return int(Levenshtein.distance(ref, hyp))


def score(cfg: AsrConfig, clips: list[tuple[np.ndarray, str]]) -> dict[str, float]:
    from voiceassist.asr.whisper import FasterWhisperBackend

    b = FasterWhisperBackend(cfg)
    b.load()
    b.warmup()
    errs = chars = 0
    decode = audio_s = 0.0
    for audio, ref in clips:
        t = time.perf_counter()
        r = b.transcribe(audio)
        decode += time.perf_counter() - t
        audio_s += len(audio) / 16000
        rc = clean(ref)
        errs += edits(rc, clean(r.text))
        chars += len(rc)
    return {"cer": errs / max(chars, 1), "rtf": decode / audio_s, "clips": len(clips)}


def configure(base: AsrConfig, sets: list[str]) -> AsrConfig:
    from voiceassist.config import parse_override

    cfg = base
    for item in sets:
        keys, value = parse_override(item)
        if len(keys) != 2 or keys[0] != "asr":
            raise SystemExit(f"--set {item!r}: asr.KEY=VALUE")
        cfg = dataclasses.replace(cfg, **{keys[1]: value})
    return cfg


def main() -> None:
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("choose")
    c.add_argument("--dev", type=Path, required=True)
    c.add_argument("--limit", type=int, default=0)
    c.add_argument("--threads", type=int, default=2)
    c.add_argument("--variants", default="", help="comma-separated names (default: all)")
    r = sub.add_parser("report")
    r.add_argument("--dev", type=Path, help="also the dev set (its figure from `choose` may do)")
    r.add_argument("--test", type=Path, required=True)
    r.add_argument("--set", action="append", default=[], metavar="asr.KEY=VALUE")
    r.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    base = AsrConfig(cpu_threads=args.threads, device="cpu")
    if args.cmd == "choose":
        clips = read(args.dev, args.limit)
        names = [n for n in args.variants.split(",") if n] or list(VARIANTS)
        print(f"== dev: {len(clips)} clips, {sum(len(a) for a, _ in clips) / 16000 / 60:.1f} min")
        print(f"{'variant':24s} {'CER':>7s} {'RTF':>6s}")
        for name in names:
            s = score(dataclasses.replace(base, **VARIANTS[name]), clips)  # type: ignore[arg-type]
            print(f"{name:24s} {s['cer']:7.4f} {s['rtf']:6.3f}", flush=True)
        return
    cfg = configure(base, args.set)
    sets = ((("dev", args.dev),) if args.dev else ()) + (("test (reserved: reported once)", args.test),)
    for name, path in sets:
        s = score(cfg, read(path))
        print(f"{name:32s} clips {int(s['clips']):4d}  CER {s['cer']:.4f}  RTF {s['rtf']:.3f}", flush=True)


if __name__ == "__main__":
    main()
