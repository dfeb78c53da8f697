"""Record what the embedded Whisper model actually decodes for the guard's test cases, under each
CTranslate2 instruction set this CPU has, into tests/data/asr_decodes.json.

CTranslate2 decodes the same audio differently on GENERIC, AVX2 and AVX-512 kernels; the ASR guard is
tested on this table of real decoder outputs (tests/test_asr_guard.py) so that it is known to hold on
every machine, not only on the one CI happens to run on. Run it again after changing the model or the
cases:  .venv/bin/python scripts/record_asr_decodes.py
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "tests" / "data" / "asr_decodes.json"
ISAS = ("GENERIC", "AVX2", "AVX512")

# name -> (how to make it, language setting, beam size, what the guard must do with it)
CASES: dict[str, tuple[str, str, int, str]] = {
    "silence_3s": ("silence:3", "auto", 1, "drop"),
    "silence_10s": ("silence:10", "auto", 1, "drop"),
    "white_noise_3s": ("white:3:0.05", "auto", 1, "drop"),
    "white_noise_10s": ("white:10:0.05", "auto", 1, "drop"),
    "quiet_noise_3s": ("white:3:0.003", "auto", 1, "drop"),
    "hum_50hz_10s": ("hum:10:50", "auto", 1, "drop"),
    "hum_60hz_3s": ("hum:3:60", "auto", 1, "drop"),
    "pink_noise_3s": ("pink:3", "auto", 1, "drop"),
    "zh_loop_beam1": ("zh:今天天气很好，我们去公园散步吧。:110", "zh", 1, "no_loop"),
    "zh_loop_beam5": ("zh:今天天气很好，我们去公园散步吧。:110", "zh", 5, "no_loop"),
    # espeak-ng's pinyin voice fed the characters themselves (what tests/test_asr.py did): loops on some ISAs
    "zh_loop_raw_beam1": ("zhraw:今天天气很好，我们去公园散步吧。:110", "zh", 1, "no_loop"),
    "zh_loop_raw_beam5": ("zhraw:今天天气很好，我们去公园散步吧。:110", "zh", 5, "no_loop"),
    "zh_loop_raw_auto": ("zhraw:今天天气很好，我们去公园散步吧。:110", "auto", 1, "no_loop"),
    "zh_raw_sentence": ("zhraw:我最近压力很大，晚上总是失眠。:90", "zh", 5, "keep"),
    "en_sentence": ("en:Could you please remind me to call my sister tomorrow morning.", "auto", 1, "keep"),
    "en_tired": ("en:I have been feeling really tired this week.", "auto", 1, "keep"),
    "zh_sentence": ("zh:我最近压力很大，晚上总是失眠。:90", "zh", 5, "keep"),
    "zh_happy": ("zh:我今天很开心。:90", "zh", 5, "keep"),
    "en_yes": ("en:Yes.", "auto", 1, "keep"),
    "en_no": ("en:No.", "auto", 1, "keep"),
    "en_okay": ("en:Okay.", "auto", 1, "keep"),
    "en_thank_you": ("en:Thank you.", "auto", 1, "keep"),
    "en_yes_en": ("en:Yes.", "en", 1, "keep"),
    "zh_haode": ("zh:好的。:100", "zh", 5, "keep"),
    "zh_dui": ("zh:对，没错。:100", "zh", 5, "keep"),
    "zh_xiexie": ("zh:谢谢你。:100", "zh", 5, "keep"),
}


def make_audio(spec: str):  # type: ignore[no-untyped-def]
    import numpy as np

    from tests.conftest import SR, espeak
    from voiceassist.tts import to_pinyin

    kind, _, rest = spec.partition(":")
    rng = np.random.default_rng(7)
    pad = np.zeros(int(0.3 * SR), np.int16)
    if kind == "silence":
        return np.zeros(int(float(rest) * SR), np.float32)
    if kind == "white":
        secs, level = rest.split(":")
        return rng.normal(0, float(level), int(float(secs) * SR)).astype(np.float32)
    if kind == "hum":
        secs, hz = rest.split(":")
        t = np.arange(int(float(secs) * SR)) / SR
        return (0.1 * np.sin(2 * np.pi * float(hz) * t)).astype(np.float32)
    if kind == "pink":
        return (np.cumsum(rng.normal(0, 0.01, int(float(rest) * SR))) / 50).astype(np.float32)
    if kind == "en":
        pcm = espeak(rest)
    elif kind == "zhraw":
        text, rate = rest.rsplit(":", 1)
        pcm = espeak(text, voice="cmn-latn-pinyin", rate=int(rate))
    else:
        text, rate = rest.rsplit(":", 1)
        pcm = espeak(to_pinyin(text), voice="cmn-latn-pinyin", rate=int(rate))
    return (np.concatenate([pad, pcm, pad]).astype(np.float32) / 32768.0).astype(np.float32)


def record_here() -> list[dict[str, object]]:
    """In this process (CT2_FORCE_CPU_ISA already set): the gate's view and the raw decoder pieces."""
    from voiceassist.asr import guard
    from voiceassist.asr.whisper import FasterWhisperBackend
    from voiceassist.config import AsrConfig

    base = FasterWhisperBackend(AsrConfig(allow_download=False))
    base.load()
    rows = []
    for name, (spec, language, beam, expect) in CASES.items():
        cfg = AsrConfig(allow_download=False, language=language, beam_size=beam)  # type: ignore[arg-type]
        audio = make_audio(spec)
        g = guard.gate(audio, cfg)
        b = FasterWhisperBackend(cfg)
        b.model, b.resolved = base.model, base.resolved
        lang = b.detect_language(audio)[0] if language == "auto" else language
        segments, _ = b._decode(audio, lang)
        rows.append(
            {
                "isa": os.environ.get("CT2_FORCE_CPU_ISA", "default"),
                "case": name,
                "expect": expect,
                "language_setting": language,
                "beam_size": beam,
                "language": lang,
                "gate": {
                    "rms_dbfs": round(g.rms_dbfs, 2),
                    "speech_s": g.speech_s,
                    "decode": g.decode,
                    "reason": g.reason,
                },
                "pieces": [
                    {
                        "text": s.text,
                        "no_speech_prob": round(s.no_speech_prob, 4),
                        "avg_logprob": round(s.avg_logprob, 4),
                        "compression_ratio": round(s.compression_ratio, 3),
                    }
                    for s in segments
                ],
            }
        )
    return rows


def cpu_isas() -> list[str]:
    flags = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    return [
        i
        for i in ISAS
        if i == "GENERIC"
        or (i == "AVX2" and " avx2" in flags)
        or (i == "AVX512" and " avx512f" in flags and " avx512bw" in flags)
    ]


def main() -> int:
    if os.environ.get("_RECORD_CHILD"):
        json.dump(record_here(), sys.stdout, ensure_ascii=False)
        return 0
    # Seen on a Xeon with AVX-512, VNNI and AMX (issue 11), which this machine may not have: kept as rows.
    rows: list[object] = [
        {
            "isa": "reported-AMX",
            "case": "zh_loop_reported",
            "expect": "drop",
            "language": "zh",
            "gate": {"rms_dbfs": -19.0, "speech_s": 7.7, "decode": True, "reason": None},
            "pieces": [
                {
                    "text": "天天天 起 郑 傻 傻 傻 傻 傻 傻",
                    "no_speech_prob": 0.02,
                    "avg_logprob": -0.9,
                    "compression_ratio": 1.2,
                }
            ],
        },
        {
            "isa": "reported-AMX",
            "case": "silence_reported",
            "expect": "drop",
            "language": "en",
            "gate": None,  # what the gate would say is not known for that run: the judge alone must drop it
            "pieces": [{"text": "you", "no_speech_prob": 0.750, "avg_logprob": -0.962, "compression_ratio": 0.273}],
        },
    ]
    for isa in cpu_isas():
        env = {**os.environ, "CT2_FORCE_CPU_ISA": isa, "_RECORD_CHILD": "1", "PYTHONPATH": str(ROOT)}
        out = subprocess.run([sys.executable, __file__], env=env, check=True, capture_output=True, text=True)
        rows.extend(json.loads(out.stdout))
        print(f"{isa}: {len(CASES)} cases recorded", file=sys.stderr)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(rows, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {OUT} ({len(rows)} rows)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
