"""Voice intelligibility by round trip, and time to first audio of a reply.

Run:  .venv/bin/python bench/voice_intelligibility.py [--rounds 3] [--models-dir models]

1. Round trip: every voice speaks the 40 sentences per language of ``bench/data/voice_sentences.toml``
   (neutral tone); the assistant's own ASR (the embedded Whisper base, language given) transcribes them
   back after resampling to 16 kHz (soxr). English: WER after normalising (lower case, punctuation
   removed, contractions expanded, digits spelled out, on both sides); Mandarin: CER over the characters
   only (punctuation and spaces removed, both sides converted to simplified with OpenCC t2s).
   Voices side by side: English Piper joe (embedded, neural) vs espeak-ng gmw/en-us; Mandarin espeak-ng
   (through pinyin) vs an installed Piper Mandarin voice, if any. Targets: neural English WER <= 0.05,
   neural Mandarin CER <= 0.10; espeak-ng is the baseline (what was spoken before).
2. Time to first audio: 20 three-sentence replies (sentences 2k, 2k+1, 2k+2 of the English list).
   Piper: ``PiperSynthesizer.stream`` and the time until ``next()`` returns the first sentence (playback
   starts then; target <= 150 ms on this CPU); espeak-ng: the whole-reply render (what playback waited
   for before). Interleaved per reply, order alternating, over ``--rounds`` rounds; per reply the median
   over rounds, then median and p90 over the replies.

Writes bench/out/voice_intelligibility.json (every sentence with its transcript and error rate).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from voiceassist.tts import Synthesizer

SENTENCES = Path(__file__).resolve().parent / "data" / "voice_sentences.toml"
EN_WER_TARGET = 0.05
ZH_CER_TARGET = 0.10
FIRST_AUDIO_TARGET_MS = 150.0
NO_ZH_NEURAL = "no Mandarin neural voice installed: not measured"

_CONTRACTIONS = {
    "i'm": "i am",
    "i'll": "i will",
    "i've": "i have",
    "i'd": "i would",
    "you're": "you are",
    "you'll": "you will",
    "you've": "you have",
    "you'd": "you would",
    "we're": "we are",
    "we'll": "we will",
    "it's": "it is",
    "that's": "that is",
    "what's": "what is",
    "there's": "there is",
    "let's": "let us",
    "don't": "do not",
    "doesn't": "does not",
    "didn't": "did not",
    "can't": "cannot",
    "won't": "will not",
    "isn't": "is not",
    "aren't": "are not",
    "wasn't": "was not",
}
_SPELLING = {"ok": "okay", "goodnight": "good night", "can not": "cannot"}
_ONES = [
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
]
_TENS = ("", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety")


def number_words(n: int) -> str:
    if n < 20:
        return _ONES[n]
    if n < 100:
        return _TENS[n // 10] + ("" if n % 10 == 0 else " " + _ONES[n % 10])
    if n < 1000:
        rest = n % 100
        return _ONES[n // 100] + " hundred" + ("" if rest == 0 else " " + number_words(rest))
    return " ".join(_ONES[int(d)] for d in str(n))  # long numbers: digit by digit


def normalise_en(text: str) -> str:
    """Lower case, curly quotes straightened, contractions expanded, digits spelled out, punctuation gone."""
    t = text.lower().replace("\u2019", "'").replace("\u2018", "'")
    t = re.sub(r"(\d+)(st|nd|rd|th)\b", r"\1", t)
    t = re.sub(r"\d+", lambda m: f" {number_words(int(m.group()))} ", t)
    t = re.sub(r"[a-z]+'[a-z]+", lambda m: _CONTRACTIONS.get(m.group(), m.group()), t)
    t = re.sub(r"[^\w\s]", " ", t.replace("'", ""))
    t = " ".join(t.split())
    for a, b in _SPELLING.items():
        t = re.sub(rf"\b{a}\b", b, t)
    return t


def normalise_zh(text: str, t2s: Any) -> str:
    """Characters only: simplified (OpenCC t2s), punctuation and spaces removed."""
    return re.sub(r"[\W_]", "", t2s.convert(text))


def error_rate(ref: str, hyp: str, lang: str) -> float:
    import jiwer

    if lang == "en":
        return float(jiwer.wer(ref, hyp)) if hyp else 1.0
    return float(jiwer.cer(ref, hyp)) if hyp else 1.0


def corpus_rate(refs: list[str], hyps: list[str], lang: str) -> float:
    """Errors over the whole set / reference units (words or characters), as jiwer counts them."""
    import jiwer

    if lang == "en":
        out = jiwer.process_words(refs, [h or "" for h in hyps])
    else:
        out = jiwer.process_characters(refs, [h or "" for h in hyps])
    errors = out.substitutions + out.deletions + out.insertions
    units = out.substitutions + out.deletions + out.hits
    return errors / units


def round_trip(name: str, lang: str, sentences: list[str], speak, backend, t2s: Any) -> dict[str, Any]:
    import soxr

    rows, refs, hyps = [], [], []
    for s in sentences:
        audio, rate = speak(s)
        r = backend.transcribe(soxr.resample(np.asarray(audio, np.float32), rate, 16000).astype(np.float32))
        ref = normalise_en(s) if lang == "en" else normalise_zh(s, t2s)
        hyp = normalise_en(r.text) if lang == "en" else normalise_zh(r.text, t2s)
        refs.append(ref)
        hyps.append(hyp)
        rows.append(
            {
                "sentence": s,
                "transcript": r.text,
                "reference_norm": ref,
                "transcript_norm": hyp,
                "error_rate": round(error_rate(ref, hyp, lang), 4),
                "audio_s": round(len(audio) / rate, 3),
                "dropped_reason": r.dropped_reason,
            }
        )
    rate_all = corpus_rate(refs, hyps, lang)
    return {
        "voice": name,
        "language": lang,
        "metric": "WER" if lang == "en" else "CER",
        "value": round(rate_all, 4),
        "sentences_with_errors": sum(1 for r in rows if r["error_rate"] > 0),
        "audio_s_median": round(statistics.median(r["audio_s"] for r in rows), 3),
        "sentences": rows,
    }


def _cpu_s() -> float:
    """CPU seconds of this process (all threads) and of its finished children (the espeak-ng command)."""
    import resource

    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + kids.ru_utime + kids.ru_stime


def first_audio(piper, espeak: Synthesizer, replies: list[str], rounds: int) -> dict[str, Any]:
    """Per reply: Piper's first sentence (next() on stream), Piper's whole reply, espeak-ng's whole reply;
    wall-clock ms and CPU ms (less sensitive to other work on the machine than wall clock)."""
    keys = ("piper_first_sentence", "piper_whole_reply", "espeak_whole_reply")
    wall: dict[str, list[list[float]]] = {k: [[] for _ in replies] for k in keys}
    cpu: dict[str, list[list[float]]] = {k: [[] for _ in replies] for k in keys}
    first_audio_s = [0.0 for _ in replies]

    def time_piper(i: int) -> None:
        t0, c0 = time.perf_counter(), _cpu_s()
        chunks = piper.stream(replies[i])
        chunk = next(chunks)
        t1, c1 = time.perf_counter(), _cpu_s()
        list(chunks)
        t2, c2 = time.perf_counter(), _cpu_s()
        wall["piper_first_sentence"][i].append((t1 - t0) * 1000)
        wall["piper_whole_reply"][i].append((t2 - t0) * 1000)
        cpu["piper_first_sentence"][i].append((c1 - c0) * 1000)
        cpu["piper_whole_reply"][i].append((c2 - c0) * 1000)
        first_audio_s[i] = len(chunk) / piper.sample_rate

    def time_espeak(i: int) -> None:
        t0, c0 = time.perf_counter(), _cpu_s()
        espeak.render(replies[i], "en")
        wall["espeak_whole_reply"][i].append((time.perf_counter() - t0) * 1000)
        cpu["espeak_whole_reply"][i].append((_cpu_s() - c0) * 1000)

    for rnd in range(rounds):
        for i in range(len(replies)):
            order = (time_piper, time_espeak) if (i + rnd) % 2 == 0 else (time_espeak, time_piper)
            for f in order:
                f(i)

    def summary(k: str) -> dict[str, float]:
        meds = [statistics.median(x) for x in wall[k]]
        cpu_meds = [statistics.median(x) for x in cpu[k]]
        return {
            "median_ms": round(float(np.median(meds)), 1),
            "p90_ms": round(float(np.percentile(meds, 90)), 1),
            "max_ms": round(max(meds), 1),
            "cpu_median_ms": round(float(np.median(cpu_meds)), 1),
        }

    out: dict[str, Any] = {"replies": len(replies), "rounds": rounds}
    out.update({k: summary(k) for k in keys})
    out["first_sentence_audio_s_median"] = round(statistics.median(first_audio_s), 2)
    out["per_reply_wall_ms"] = [
        {"reply": r, **{k: round(statistics.median(wall[k][i]), 1) for k in keys}} for i, r in enumerate(replies)
    ]
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=3, help="rounds of the first-audio timing")
    ap.add_argument("--models-dir", type=Path, default=None, help="where Piper voices are looked for")
    ap.add_argument("--out", type=Path, default=Path("bench/out/voice_intelligibility.json"))
    args = ap.parse_args()
    args.out.parent.mkdir(parents=True, exist_ok=True)

    import opencc

    from voiceassist.asr import create_backend
    from voiceassist.config import AsrConfig
    from voiceassist.paths import models_dir
    from voiceassist.voices import PiperSynthesizer, find_piper_voice

    data = tomllib.loads(SENTENCES.read_text(encoding="utf-8"))
    sents = {lang: data[lang]["sentences"] for lang in ("en", "zh")}
    for s in sents["en"]:
        assert 6 <= len(s.split()) <= 20, s
    for s in sents["zh"]:
        assert 8 <= len(re.sub(r"[\W_]", "", s)) <= 30, s
    t2s = opencc.OpenCC("t2s")
    mdir = args.models_dir or models_dir()

    joe = PiperSynthesizer()
    joe.load()
    espeak = Synthesizer(driver="espeak", voice_en="gmw/en-us")
    espeak.load()
    zh_onnx = find_piper_voice(mdir, "zh")
    zh_piper = None
    if zh_onnx is not None:
        zh_piper = PiperSynthesizer(zh_onnx)
        zh_piper.load()
    asr = {}
    for lang in ("en", "zh"):
        asr[lang] = create_backend(AsrConfig(allow_download=False, language=lang))
        asr[lang].load()
        asr[lang].warmup()
    print(f"ASR: {asr['en'].description}, language given; {len(sents['en'])} + {len(sents['zh'])} sentences")
    print(f"voices: {joe.description}; {espeak.description}; Mandarin Piper: {zh_onnx or 'none in ' + str(mdir)}")

    t0 = time.perf_counter()
    en_esp = "espeak-ng " + espeak.voice_ids["en"]
    zh_esp = "espeak-ng " + espeak.voice_ids["zh"] + " (pinyin)"
    results = [
        round_trip(joe.description, "en", sents["en"], lambda s: (joe.render(s), joe.sample_rate), asr["en"], t2s),
        round_trip(en_esp, "en", sents["en"], lambda s: espeak.render(s, "en"), asr["en"], t2s),
        round_trip(zh_esp, "zh", sents["zh"], lambda s: espeak.render(s, "zh"), asr["zh"], t2s),
    ]
    if zh_piper is not None:
        zh = zh_piper
        results.append(
            round_trip(zh.description, "zh", sents["zh"], lambda s: (zh.render(s), zh.sample_rate), asr["zh"], t2s)
        )
    round_trip_s = time.perf_counter() - t0

    replies = [" ".join(sents["en"][(2 * k + j) % len(sents["en"])] for j in range(3)) for k in range(20)]
    joe.render("Warming up the voice.")
    espeak.render("Warming up the voice.", "en")
    load_before = os.getloadavg()[0]
    fa = first_audio(joe, espeak, replies, args.rounds)
    fa["load_average_1min"] = [round(load_before, 2), round(os.getloadavg()[0], 2)]
    fa["cpu_count"] = os.cpu_count()

    print(f"\n== round trip: voice -> Whisper base (language given) -> text (took {round_trip_s:.0f} s)")
    print(f"{'lang':<5}{'voice':<46}{'metric':>7}{'value':>8}{'errs':>7}{'audio s':>9}  target")
    for r in results:
        neural = "Piper" in r["voice"]
        target = (EN_WER_TARGET if r["language"] == "en" else ZH_CER_TARGET) if neural else None
        r["target"] = target
        r["met"] = None if target is None else r["value"] <= target
        tgt = "baseline" if target is None else f"<= {target:.2f}: {'met' if r['met'] else 'NOT met'}"
        errs = f"{r['sentences_with_errors']}/{len(r['sentences'])}"
        print(
            f"{r['language']:<5}{r['voice']:<46}{r['metric']:>7}{r['value']:8.3f}{errs:>7}"
            f"{r['audio_s_median']:9.2f}  {tgt}"
        )
    if zh_piper is None:
        print(f"{'zh':<5}{'Piper (neural)':<46}{'CER':>7}{'-':>8}{'':>7}{'':>9}  {NO_ZH_NEURAL}")

    print(
        f"\n== time to first audio: {fa['replies']} three-sentence replies x {fa['rounds']} rounds, interleaved; "
        f"per reply the median of the rounds (ms)"
    )
    print(f"{'':52}{'median':>8}{'p90':>8}{'max':>8}{'cpu med':>9}  target")
    rows = [
        ("Piper joe: first sentence ready (stream, next())", fa["piper_first_sentence"], FIRST_AUDIO_TARGET_MS),
        ("Piper joe: whole reply", fa["piper_whole_reply"], None),
        ("espeak-ng: whole reply (what playback waited for)", fa["espeak_whole_reply"], None),
    ]
    for label, s, target in rows:
        tgt = "" if target is None else f"<= {target:.0f}: {'met' if s['median_ms'] <= target else 'NOT met'}"
        print(f"{label:<52}{s['median_ms']:8.1f}{s['p90_ms']:8.1f}{s['max_ms']:8.1f}{s['cpu_median_ms']:9.1f}  {tgt}")
    print(
        f"first sentence's audio: median {fa['first_sentence_audio_s_median']:.2f} s; load average (1 min) "
        f"{fa['load_average_1min'][0]} -> {fa['load_average_1min'][1]} on {fa['cpu_count']} cores"
    )
    fa["first_sentence_target_ms"] = FIRST_AUDIO_TARGET_MS
    fa["first_sentence_met"] = fa["piper_first_sentence"]["median_ms"] <= FIRST_AUDIO_TARGET_MS

    print("\n== worst sentences per voice (error rate, reference | transcript)")
    for r in results:
        print(f"-- {r['voice']}")
        worst = sorted(r["sentences"], key=lambda x: -x["error_rate"])[:3]
        for w in worst:
            if w["error_rate"] > 0:
                note = f" [guard: {w['dropped_reason']}]" if w["dropped_reason"] else ""
                print(f"   {w['error_rate']:.2f}  {w['sentence']} | {w['transcript']}{note}")
        if not any(w["error_rate"] > 0 for w in worst):
            print("   (no errors)")

    out = {
        "asr": asr["en"].description,
        "models_dir": str(mdir),
        "round_trip": results,
        "mandarin_neural": str(zh_onnx) if zh_onnx else NO_ZH_NEURAL,
        "first_audio": fa,
    }
    args.out.write_text(json.dumps(out, indent=2, ensure_ascii=False), encoding="utf-8")
    print(f"\nwrote {args.out}")


if __name__ == "__main__":
    main()
