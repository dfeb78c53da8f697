"""Whisper's encoder window: the full 30 s (as trained) against a shorter window for short utterances.

Run:  .venv/bin/python bench/asr_window.py [--windows 30,15,10,5,10zh]

faster-whisper pads every utterance to a 30 s window of features; the encoder's cost grows with its input,
so a 3 s utterance pays for 30 s. ``asr.encoder_window_s`` cuts the padding to that many seconds (the
utterance plus 1 s when it is longer) for the languages in ``asr.short_window_languages`` (English; the
others are only detected in it). "10zh" is the 10 s window with Mandarin decoded in it too. For each
window, on the same audio in the same run:

- time per utterance of the whole ``transcribe`` (speech gate, language detection, decode, guard);
- WER of English in two voices (the Piper "joe" neural voice and espeak-ng), CER of Mandarin (espeak-ng's
  pinyin voice: barely intelligible, so its CER is high in every window; what counts is whether it moves;
  decoded with the language set to Mandarin and beam 5, as tests/test_asr.py does, since detection often
  does not even hear it as Mandarin), and how often the detected language is right (zh/en detection).

Two sentence sets: "dev" (the sentences of bench/asr_latency.py, what the default was chosen on) and
"test" (bench/data/voice_sentences.toml, written for the voice benchmark, only reported).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import soxr

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.asr_latency import SENTENCES as DEV_EN
from bench.voice_intelligibility import SENTENCES, corpus_rate, normalise_en, normalise_zh, tomllib
from tests.conftest import espeak

DEV_ZH = ["今天天气很好，我们去公园散步吧。", "我有点累，想早点休息。", "明天早上八点提醒我开会。", "谢谢你陪我聊天。"]


def piper_voice():  # type: ignore[no-untyped-def]
    from voiceassist.voices import PiperSynthesizer

    v = PiperSynthesizer()
    v.load()
    return v


def f32(x: np.ndarray) -> np.ndarray:
    return (x.astype(np.float32) / 32768.0) if x.dtype == np.int16 else x.astype(np.float32)


def clips(sets: dict[str, dict[str, list[str]]]) -> list[tuple[str, str, str, str, np.ndarray]]:
    """(set, voice, language, sentence, 16 kHz float32 audio)"""
    joe = piper_voice()
    out = []
    for name, by_lang in sets.items():
        for s in by_lang["en"]:
            out.append((name, "espeak-en", "en", s, f32(espeak(s, rate=150))))
            audio = joe.render(s)
            out.append((name, "piper-joe", "en", s, soxr.resample(audio, joe.sample_rate, 16000).astype(np.float32)))
        for s in by_lang["zh"]:
            out.append((name, "espeak-zh", "zh", s, f32(espeak(s, voice="cmn-latn-pinyin", rate=90))))
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--windows", default="30,15,10,5,10zh")
    args = ap.parse_args()
    import opencc

    from voiceassist.asr.whisper import FasterWhisperBackend
    from voiceassist.config import AsrConfig

    t2s = opencc.OpenCC("t2s")
    test = {k: v["sentences"] for k, v in tomllib.loads(SENTENCES.read_text(encoding="utf-8")).items()}
    sets = {"dev": {"en": DEV_EN, "zh": DEV_ZH}, "test": {"en": test["en"], "zh": test["zh"]}}
    data = clips(sets)
    windows = args.windows.split(",")
    backend = FasterWhisperBackend(AsrConfig(language="auto", allow_download=False))
    backend.load()
    backend.warmup()
    results: dict[str, list[tuple[str, str, str, str, str, float, str]]] = {w: [] for w in windows}
    # rounds alternate the windows utterance by utterance, so the machine's noise is shared
    for name, voice, lang, sentence, audio in data:
        for w in windows:
            backend.cfg.encoder_window_s = float(w.removesuffix("zh"))
            backend.cfg.short_window_languages = ["en", "zh"] if w.endswith("zh") else ["en"]
            t0 = time.perf_counter()
            backend.cfg.language = "auto"
            r = backend.transcribe(audio)
            detected = r.language
            if lang == "zh":  # espeak's Mandarin is often not even heard as Mandarin: decode it as Mandarin
                backend.cfg.language, backend.cfg.beam_size = "zh", 5
                r = backend.transcribe(audio)
                backend.cfg.beam_size = 1
            results[w].append((name, voice, lang, sentence, r.text, time.perf_counter() - t0, detected))
    print(f"{len(data)} utterances; Whisper {backend.description}")
    groups = sorted({(n, v, lang) for n, v, lang, _, _ in data})
    head = f"{'set':5s} {'voice':10s} " + " ".join(f"{f'win {w}s':>16s}" for w in windows)
    print("\n== error rate (EN: WER, ZH: CER) / language right")
    print(head)
    for n, v, lang in groups:
        cells = []
        for w in windows:
            rows = [r for r in results[w] if (r[0], r[1], r[2]) == (n, v, lang)]
            norm = normalise_en if lang == "en" else (lambda t: normalise_zh(t, t2s))
            rate = corpus_rate([norm(r[3]) for r in rows], [norm(r[4]) for r in rows], lang)
            right = sum(r[6] == lang for r in rows) / len(rows)
            cells.append(f"{rate:7.3f} / {right:5.2f}")
        print(f"{n:5s} {v:10s} " + " ".join(f"{c:>16s}" for c in cells))
    print("\n== transcribe time per utterance, median ms (ratio to the 30 s window)")
    base = statistics.median(r[5] for r in results[windows[0]])
    print(
        " ".join(
            f"win {w}s: {statistics.median(r[5] for r in results[w]) * 1000:6.0f} ms "
            f"({statistics.median(r[5] for r in results[w]) / base:4.2f})"
            for w in windows
        )
    )
    changed = {w: sum(a[4] != b[4] for a, b in zip(results[windows[0]], results[w], strict=True)) for w in windows[1:]}
    print(
        "outputs not identical to the 30 s window's:",
        ", ".join(f"win {w}s: {c}/{len(data)}" for w, c in changed.items()),
    )


if __name__ == "__main__":
    main()
