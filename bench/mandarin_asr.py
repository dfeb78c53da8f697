"""Mandarin recognition side by side: model, initial prompt, hotwords, beam, encoder window; CER and RTF.

    python bench/mandarin_asr.py run [--threads 2] [--json out.json]
    python bench/mandarin_asr.py build-syllables --deb gcin-voice_0~20170223-3_all.deb

Two sets (tests/data/zh_real/manifest.json says where each file comes from and its licence):
- ``real``: recorded Mandarin speech found in the package registries. REPORTED, never used to choose.
  (Empty in this checkout: the one clip found was removed for its licence, tests/data/zh_real/README.md.)
- ``syllables`` (dev): phrases put together from single recorded syllables (gcin-voice, CC-BY-3.0). The
  prompt text and the decoding defaults are chosen on it, then reported on ``real``. Homophones are
  indistinguishable in it (the syllables carry no context), so it is scored on toneless pinyin too.

Each variant goes through the project's own backend (voiceassist.asr.whisper: speech gate, language
detection restricted to asr.languages, guard, OpenCC), one model load per model, cpu_threads as given.
RTF = decode time / audio time, summed over the set, after one warm-up decode.
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data" / "zh_real"
PROMPTS = {"none": "", "p1": "以下是普通话的句子。", "p2": "以下是普通话的句子，使用简体中文。"}
DISTRACTORS = ["陈静", "刘洋", "赵磊"]  # names that are in no utterance: does a wrong list hurt?

# dev phrases: (text, hotwords a person saying it would have in their profile)
DEV_PHRASES = [
    ("你好世界", []),
    ("我今天很难过", []),
    ("我想和你聊聊", []),
    ("一二三四五六七八九十", []),
    ("心情不太好", []),
    ("我很开心", []),
    ("谢谢你", []),
    ("明天见", []),
    ("张伟是我的朋友", ["张伟"]),
    ("王芳明天来看我", ["王芳"]),
    ("我不想去上班", []),
    ("李娜给我打电话", ["李娜"]),
]


def load_manifest() -> list[dict]:
    return json.loads((DATA / "manifest.json").read_text(encoding="utf-8"))["files"]


def read_wav(path: Path) -> np.ndarray:
    import soundfile as sf

    audio, sr = sf.read(str(path), dtype="float32", always_2d=False)
    if audio.ndim > 1:
        audio = audio.mean(axis=1)
    if sr != 16000:
        raise SystemExit(f"{path}: {sr} Hz, expected 16000")
    return audio


def _clean(text: str) -> str:
    from voiceassist.textnorm import normalize

    t = normalize(text, "zh")
    return "".join(ch for ch in t if ch.isalnum())


def cer(ref: str, hyp: str) -> tuple[int, int]:
    """(character edits, reference characters) after the same normalisation of both sides."""
    r, h = _clean(ref), _clean(hyp)
    prev = list(range(len(h) + 1))
    for i, rc in enumerate(r, 1):
        cur = [i]
        for j, hc in enumerate(h, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (rc != hc)))
        prev = cur
    return prev[-1], len(r)


def pinyin_errors(ref: str, hyp: str) -> tuple[int, int]:
    """(syllable edits, reference syllables) on toneless pinyin: the score the syllable set can carry."""
    from pypinyin import lazy_pinyin

    r, h = lazy_pinyin(_clean(ref)), lazy_pinyin(_clean(hyp))
    prev = list(range(len(h) + 1))
    for i, rs in enumerate(r, 1):
        cur = [i]
        for j, hs in enumerate(h, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (rs != hs)))
        prev = cur
    return prev[-1], len(r)


# -- the syllable set --------------------------------------------------------------------------------
def _zhuyin_syllables(text: str) -> list[str]:
    """gcin-voice folder names (zhuyin + tone digit; tone 1 bare) with third-tone sandhi applied."""
    from pypinyin import Style, pinyin

    marks = {"ˊ": "2", "ˇ": "3", "ˋ": "4"}
    out = []
    for (zy,) in pinyin(text, style=Style.BOPOMOFO):
        tone = next((marks[c] for c in zy if c in marks), "1" if "˙" in zy else "")  # gcin: 1 = neutral
        base = "".join(c for c in zy if c not in marks and c != "˙")
        out.append([base, tone])
    names = [b + t for b, t in out]
    for i, (a, b) in enumerate(itertools.pairwise(out)):  # 你好: ni3 hao3 -> ni2 hao3
        if a[1] == "3" and b[1] == "3":
            names[i] = a[0] + "2|" + a[0] + "3"  # the sandhi tone where recorded, else the citation one
    return names


def build_syllables(deb: Path) -> None:
    import soundfile as sf
    from scipy.signal import resample_poly

    out_dir = DATA / "syllables"
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(["dpkg-deb", "-x", str(deb), tmp], check=True)
        ogg = Path(tmp) / "usr/share/gcin-voice/ogg"
        gap = np.zeros(int(0.04 * 16000), dtype=np.float32)
        edge = np.zeros(int(0.3 * 16000), dtype=np.float32)
        for i, (text, _) in enumerate(DEV_PHRASES):
            parts = [edge]
            for syl in _zhuyin_syllables(text):
                # 5.ogg: CC-BY-3.0 (3.ogg is another voice under GPL-3/LGPL-3)
                options = [*syl.split("|"), syl.split("|")[-1].rstrip("1234")]  # last: tone 1 for a neutral tone
                f = next((ogg / c / "5.ogg" for c in options if (ogg / c / "5.ogg").is_file()), ogg / "-")
                if not f.is_file():
                    raise SystemExit(f"{text}: no recording of {syl}")
                a, sr = sf.read(str(f), dtype="float32", always_2d=False)
                a = a.mean(axis=1) if a.ndim > 1 else a
                parts += [resample_poly(a, 160, sr // 100).astype(np.float32), gap]
            audio = np.concatenate([*parts, edge])
            audio = 0.7 * audio / max(1e-6, float(np.abs(audio).max()))
            sf.write(str(out_dir / f"syl_{i:02d}.wav"), audio, 16000, subtype="PCM_16")
            print(f"syl_{i:02d}.wav {len(audio) / 16000:.2f} s {text}")


# -- the run -------------------------------------------------------------------------------------------
@dataclasses.dataclass
class Variant:
    name: str
    model: str = "base"
    beam: int = 1
    prompt: str = "none"
    hotwords: str = "none"  # none | person | distractor
    short_zh: bool = False


def _clips(set_name: str) -> list[dict]:
    return [f for f in load_manifest() if f["set"] == set_name]


def run_variant(backend, v: Variant, clips: list[dict], repeats: int = 1) -> dict:  # type: ignore[no-untyped-def]
    cfg = backend.cfg
    cfg.beam_size = v.beam
    cfg.initial_prompt_zh = PROMPTS[v.prompt]
    cfg.short_window_languages = ["en", "zh"] if v.short_zh else ["en"]
    edits = chars = pedits = psyl = 0
    audio_s = decode_s = 0.0
    rows = []
    for clip in clips:
        audio = read_wav(DATA / clip["file"])
        names = clip.get("hotwords", [])
        cfg.hotwords = {"none": [], "person": names, "distractor": DISTRACTORS}[v.hotwords]
        dt = math.inf
        for _ in range(repeats):  # the machine is shared: the fastest of a few runs is the cost
            t0 = time.perf_counter()
            res = backend.transcribe(audio)
            dt = min(dt, time.perf_counter() - t0)
        e, n = cer(clip["text"], res.text)
        pe, pn = pinyin_errors(clip["text"], res.text)
        edits, chars, pedits, psyl = edits + e, chars + n, pedits + pe, psyl + pn
        audio_s, decode_s = audio_s + len(audio) / 16000, decode_s + dt
        rows.append(
            {
                "file": clip["file"],
                "ref": clip["text"],
                "hyp": res.text,
                "lang": res.language,
                "p": round(res.language_probability, 3),
                "cer": round(e / max(n, 1), 3),
            }
        )
    return {
        "variant": dataclasses.asdict(v),
        "cer": edits / max(chars, 1),
        "pinyin_er": pedits / max(psyl, 1),
        "rtf": decode_s / max(audio_s, 1e-9),
        "audio_s": audio_s,
        "rows": rows,
    }


def make_backend(model: str, threads: int):  # type: ignore[no-untyped-def]
    from voiceassist.asr.whisper import FasterWhisperBackend
    from voiceassist.config import AsrConfig

    cfg = AsrConfig(model=model, cpu_threads=threads, allow_download=False)
    b = FasterWhisperBackend(cfg)
    b.load()
    b.warmup()
    return b


VARIANTS = [
    Variant("baseline (defaults)"),
    Variant("zh in the short window", short_zh=True),
    Variant("prompt p1", prompt="p1"),
    Variant("prompt p2", prompt="p2"),
    Variant("hotwords (person)", hotwords="person"),
    Variant("hotwords (distractors)", hotwords="distractor"),
    Variant("beam 5", beam=5),
    Variant("p1 + hotwords", prompt="p1", hotwords="person"),
    Variant("p1 + hotwords + beam 5", prompt="p1", hotwords="person", beam=5),
    Variant("p1 + hotwords, zh short window", prompt="p1", hotwords="person", short_zh=True),
    Variant("p1 + hotwords + beam 5, zh short", prompt="p1", hotwords="person", beam=5, short_zh=True),
    Variant("p1 + beam 5", prompt="p1", beam=5),  # 12: the defaults proposed, without the person's names
    Variant("p1 + beam 5, zh short", prompt="p1", beam=5, short_zh=True),
    Variant("prompt p1, zh short", prompt="p1", short_zh=True),
]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    b = sub.add_parser("build-syllables")
    b.add_argument("--deb", type=Path, required=True)
    r = sub.add_parser("run")
    r.add_argument("--threads", type=int, default=2)
    r.add_argument("--models", default="base,small")
    r.add_argument("--sets", default="syllables,real")
    r.add_argument("--repeats", type=int, default=3)
    r.add_argument("--variants", default="", help="comma-separated indexes into VARIANTS (default: all)")
    r.add_argument("--json", type=Path)
    args = ap.parse_args()
    if args.cmd == "build-syllables":
        build_syllables(args.deb)
        return
    from voiceassist.asr.models import ModelNotFoundError

    results = []
    print(f"cpu_count={os.cpu_count()} threads={args.threads} load={os.getloadavg()}", flush=True)
    for model in args.models.split(","):
        try:
            backend = make_backend(model, args.threads)
        except (ModelNotFoundError, RuntimeError) as e:
            print(f"{model}: not measured: {str(e).splitlines()[0][:200]}", flush=True)
            results.append({"model": model, "error": str(e).splitlines()[0][:300]})
            continue
        print(f"{model}: {backend.description}", flush=True)
        for set_name in args.sets.split(","):
            clips = _clips(set_name)
            if not clips:  # the "real" clip was removed (licence): see tests/data/zh_real/README.md
                print(f"{set_name}: no files in this checkout, not measured", flush=True)
                continue
            chosen = [VARIANTS[int(i)] for i in args.variants.split(",")] if args.variants else VARIANTS
            for v in chosen:
                v = dataclasses.replace(v, model=model)
                res = run_variant(backend, v, clips, args.repeats)
                res["set"] = set_name
                results.append(res)
                print(
                    f"{model:5s} {set_name:9s} {v.name:28s} CER {res['cer']:.3f} pinyin {res['pinyin_er']:.3f} "
                    f"RTF {res['rtf']:.3f}",
                    flush=True,
                )
                if set_name == "real":
                    for row in res["rows"]:
                        print(f"      {row['hyp']!r} ({row['lang']} {row['p']})", flush=True)
    if args.json:
        args.json.write_text(json.dumps(results, ensure_ascii=False, indent=1), encoding="utf-8")


if __name__ == "__main__":
    sys.exit(main())
