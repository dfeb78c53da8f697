"""Personal calibration on synthetic people (issue 18): accuracy before/after against the number of
corrections, per person, and the expected calibration error before/after stage 1.

Run:  .venv/bin/python bench/calibration.py [--split dev|test] [--per-class 22] [--repeats 5] [--test 50]

Each synthetic person is an espeak-ng voice with its own variant, pitch and rate, and a speaking style per
emotion (faster, louder and higher for angry/happy/fearful, slower and softer for sad). Three of them have
a systematic way of expressing one emotion that the base model reads as another (their *bias*): a habit of
words said with that emotion (``Person.habit``); the fourth has none and must not get worse. Each person says
``--per-class`` labelled English sentences per class (rows of data/seed test; the people's habits and
stage 2's form were settled on dev rows, ``--split dev``; the text head was trained on train), in random
order. The base model is the embedded default: the prosody arousal estimate
(its speaker baseline learnt as the person speaks) on the audio and the trained text head on the sentence
(the words are given, not transcribed: this measures the emotion, not the ASR), fused by
``voiceassist.emotion.fusion.fuse`` with the default config.

Protocol, per person and repeat: the utterances are shuffled; the last ``--test`` are held out; the first
N (5, 10, 20, 40) are the person's corrections (they label what they said). ``fit_profile`` fits and gates
the stages on those N alone (leave-one-out), with the stage-0 baseline from the non-held-out utterances;
accuracy is measured on the held-out ones, base vs calibrated. ECE: stage 1 fitted on the 40 corrections
(forced on, and as gated), on the held-out scores. The calibration constants (voiceassist/personal/fit.py)
were set before the first run and not changed; stage 2 was changed once, after a run on dev, from class
prototypes blended with the base (which could not overturn a confident misreading) to the shrunk linear
probe; test was then run for the report. Acted TTS styles are far more consistent per emotion than a real
person's voice, so the voice features separate the classes more easily here than they would in life.
"""

from __future__ import annotations

import argparse
import io
import json
import random
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf
import soxr

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from voiceassist.config import Config  # noqa: E402
from voiceassist.emotion import create_text_backend  # noqa: E402
from voiceassist.emotion.fusion import fuse  # noqa: E402
from voiceassist.emotion.prosody import ProsodyBackend  # noqa: E402
from voiceassist.personal.fit import (  # noqa: E402
    Sample,
    baseline,
    expected_calibration_error,
    fit_profile,
    fit_stage1,
)
from voiceassist.personal.profile import apply_stage1  # noqa: E402

CLASSES = ("neutral", "sad", "happy", "angry", "fearful")
NS = (5, 10, 20, 40)
SR = 16000
# emotion -> (rate offset in words per minute, amplitude scale, pitch offset): the acted style
STYLE = {
    "neutral": (0, 1.0, 0),
    "sad": (-35, 0.6, -12),
    "happy": (25, 1.15, 14),
    "angry": (30, 1.3, 8),
    "fearful": (35, 1.0, 18),
}


@dataclass(frozen=True)
class Person:
    name: str
    voice: str  # espeak-ng voice+variant
    pitch: int  # 0-99
    rate: int  # words per minute
    bias: str  # said in words
    habit: dict[str, str]  # true emotion -> words this person puts before what they say with it


PEOPLE = (
    Person("ada (no bias)", "en-us+f3", 60, 170, "none", {}),
    Person(
        "ben: neutral read as sad",
        "en-gb+m3",
        35,
        150,
        "neutral -> sad",
        {"neutral": "Honestly I feel sad and tired all the time."},
    ),
    Person(
        "cai: angry read as happy",
        "en-us+m1",
        50,
        185,
        "angry -> happy",
        {"angry": "Oh great, I'm so happy, just wonderful."},
    ),
    Person(
        "dee: happy read as neutral",
        "en-gb-scotland+whisperf",
        55,
        165,
        "happy -> neutral",
        {"happy": "It's fine, nothing special, I suppose."},
    ),
)


def speak(p: Person, text: str, emotion: str) -> np.ndarray:
    dr, amp, dp = STYLE[emotion]
    cmd = ["espeak-ng", "-v", p.voice, "-p", str(int(np.clip(p.pitch + dp, 0, 99))), "-s", str(p.rate + dr)]
    cmd += ["-a", str(int(100 * amp)), "--stdout", text]
    wav = subprocess.run(cmd, capture_output=True, check=True).stdout
    audio, rate = sf.read(io.BytesIO(wav), dtype="float32")
    return np.asarray(soxr.resample(audio, rate, SR), np.float32)


def load_rows(splits: tuple[str, ...]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {c: [] for c in CLASSES}
    for split in splits:
        for line in (ROOT / f"data/seed/{split}.jsonl").read_text(encoding="utf-8").splitlines():
            r = json.loads(line)
            if r["lang"] == "en" and r["emotion"] in out:
                out[r["emotion"]].append(r["text"])
    return out


def utterances(p: Person, rows: dict[str, list[str]], per_class: int, text_backend: Any, seed: int) -> list[Sample]:
    rng = random.Random(seed)
    items = [(c, t) for c in CLASSES for t in rng.sample(rows[c], per_class)]
    rng.shuffle(items)  # the order the person says them in (the prosody baseline is learnt as they speak)
    cfg = Config().emotion
    prosody = ProsodyBackend(cfg)
    out = []
    for label, text in items:
        said = f"{p.habit[label]} {text}" if label in p.habit else text
        speech, _ = prosody.analyze(speak(p, said, label))
        words = text_backend.analyze(said, "en")
        f = fuse(speech, words, cfg, "en")
        out.append(Sample(f.scores, label, speech.embedding, words.scores))
    return out


def acc(probs: list[np.ndarray], samples: list[Sample]) -> float:
    return float(np.mean([int(np.argmax(q)) == s.y for q, s in zip(probs, samples, strict=True)]))


def run_person(samples: list[Sample], repeats: int, n_test: int, seed: int) -> dict[str, Any]:
    rng = random.Random(seed)
    res: dict[str, Any] = {"by_n": {}, "ece": {}}
    per_n: dict[int, list[tuple[float, float, bool, bool]]] = {n: [] for n in NS}
    eces: list[tuple[float, float, float]] = []
    for _ in range(repeats):
        order = samples[:]
        rng.shuffle(order)
        test, pool = order[-n_test:], order[:-n_test]
        base0 = baseline([s.embedding for s in pool], [s.scores for s in pool])
        base_acc = acc([s.scores for s in test], test)
        for n in NS:
            prof = fit_profile("p", pool[:n], base0)
            after = acc([prof.apply(s.scores, s.embedding, s.text_scores) for s in test], test)
            per_n[n].append((base_acc, after, prof.stage1.on, prof.stage2.on))
        st = fit_stage1(pool[:40])
        gated = fit_profile("p", pool[:40], base0).stage1
        ys = [s.y for s in test]
        before = np.stack([s.scores for s in test])
        forced = np.stack([apply_stage1(s.scores, st) for s in test])
        g = np.stack([apply_stage1(s.scores, gated) if gated.on else s.scores for s in test])
        eces.append(tuple(expected_calibration_error(x, ys) for x in (before, forced, g)))  # type: ignore[misc]
    for n, rows in per_n.items():
        a = np.array(rows, dtype=float)
        res["by_n"][n] = {
            "base": round(float(a[:, 0].mean()), 3),
            "calibrated": round(float(a[:, 1].mean()), 3),
            "worst_delta": round(float((a[:, 1] - a[:, 0]).min()), 3),
            "stage1_on": round(float(a[:, 2].mean()), 2),
            "stage2_on": round(float(a[:, 3].mean()), 2),
        }
    e = np.array(eces)
    res["ece"] = {"base": round(float(e[:, 0].mean()), 3), "stage1": round(float(e[:, 1].mean()), 3)}
    res["ece"]["stage1_gated"] = round(float(e[:, 2].mean()), 3)
    return res


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--per-class", type=int, default=22)
    ap.add_argument(
        "--split", choices=["dev", "test"], default="test", help="dev: to design the people on; test: to report"
    )
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--test", type=int, default=50)
    ap.add_argument("--seed", type=int, default=18)
    ap.add_argument("-o", "--output", type=Path, default=ROOT / "bench/out/calibration.json")
    args = ap.parse_args()
    rows = load_rows(("dev",) if args.split == "dev" else ("test",))
    text_backend, note = create_text_backend(Config().emotion, ROOT / "models")
    text_backend.load()
    report: dict[str, Any] = {
        "split": args.split,
        "text_backend": getattr(text_backend, "description", "?"),
        "note": note,
        "people": {},
    }
    t0 = time.monotonic()
    for i, p in enumerate(PEOPLE):
        samples = utterances(p, rows, args.per_class, text_backend, args.seed + i)
        r = run_person(samples, args.repeats, args.test, args.seed + 100 + i)
        for true in p.habit:
            mine = [x for x in samples if x.label == true]
            r["biased_class_base_accuracy"] = round(acc([x.scores for x in mine], mine), 3)
        r.update(voice=p.voice, pitch=p.pitch, rate=p.rate, bias=p.bias, utterances=len(samples))
        report["people"][p.name] = r
        print(
            f"{p.name}: "
            + "  ".join(f"N={n} {v['base']:.2f}->{v['calibrated']:.2f}" for n, v in r["by_n"].items())
            + f"  ECE {r['ece']['base']:.3f}->{r['ece']['stage1']:.3f}",
            flush=True,
        )
    report["seconds"] = round(time.monotonic() - t0, 1)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=1, ensure_ascii=False))
    print(f"written {args.output} in {report['seconds']} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
