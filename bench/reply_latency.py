"""End of the person's speech -> first sample of the spoken reply, in English and Mandarin: the fixed
hangover, the trailing-word rule and the semantic end of turn side by side in one run; partial-transcript
lag; utterances cut in two; final WER (English) and CER (Mandarin).

Run:  .venv/bin/python bench/reply_latency.py [--rounds 1] [--zh AISHELL_DEV/manifest.jsonl] [--barge-in]

A PulseAudio daemon with two null sinks is started (as in the tests): the utterances are played into the
sink the 'microphone' records, in real time; the assistant's replies go to the other sink. The whole app
pipeline runs with the embedded models (Whisper base on CPU, language detected among zh and en, the voice
head or prosody, the trained text-emotion head, strategy replies, the Piper voice for English and espeak-ng
for Mandarin). The configurations take turns, utterance by utterance, so they share the machine's noise:

- **fixed**: ``turn.end_of_turn=fixed``, no speculative pass, no partials, Whisper's full 30 s window;
- **rule** (before the end-of-turn model): the trailing-word rule (``adaptive``), 350 ms after a complete
  sentence on a falling pitch, the speculative pass at a 200 ms pause, partials, the 10 s window;
- **semantic** (the defaults now): the end-of-turn model decides (250 ms when sure the person finished,
  1000 ms when mid-thought, the usual 500 ms when unsure).

Utterances: 10 English sentences and 10 with a 0.4 s pause inside (SSML break, continuing intonation) that
must stay one utterance; the same for Mandarin (espeak-ng); with ``--zh``, 10 real read Mandarin sentences
of AISHELL-1 (the dev speaker, under 7 s). For every utterance: end of speech (last voiced frame
captured) -> SpeechSegment (the hangover) -> Transcript -> FusedEmotion -> Reply -> first sample; partial
lag (audio captured -> PartialTranscript). Targets: median end of speech -> first sample <= 0.5 s in each
language, no more cuts than fixed, final WER/CER unchanged. Then, with --barge-in, the barge-in stop time.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.voice_intelligibility import corpus_rate, normalise_en
from tests.conftest import espeak, silence, write_wav

SENTENCES = [
    "I have been feeling really tired this week.",
    "I am so stressed about my deadlines at work.",
    "Can you recommend a good movie for tonight?",
    "I cannot sleep at night and it worries me.",
    "We had a wonderful time at the beach today.",
    "My landlord kept the deposit and I am angry.",
    "I am nervous about the exam on Friday.",
    "What a surprise to see my old friend again.",
    "Please remind me to water the plants tomorrow.",
    "My sister called and we talked for an hour.",
]
PAUSED = [  # (SSML for espeak-ng, reference text)
    ('I went to the market <break time="400ms"/> to buy some apples.', "I went to the market to buy some apples."),
    ('My brother said <break time="400ms"/> that he would visit.', "My brother said that he would visit."),
    ('When I got home <break time="400ms"/> the lights were all off.', "When I got home the lights were all off."),
    ('I think that <break time="400ms"/> I need a longer holiday.', "I think that I need a longer holiday."),
    ('Yesterday my neighbour <break time="400ms"/> knocked on my door.', "Yesterday my neighbour knocked on my door."),
    ('I would like to <break time="400ms"/> call my daughter tonight.', "I would like to call my daughter tonight."),
    ('The doctor told me <break time="400ms"/> to rest for a week.', "The doctor told me to rest for a week."),
    ('After dinner we went <break time="400ms"/> for a long walk.', "After dinner we went for a long walk."),
    ('I keep forgetting <break time="400ms"/> where I put my keys.', "I keep forgetting where I put my keys."),
    ('My best friend is moving <break time="400ms"/> to another city.', "My best friend is moving to another city."),
]  # fmt: skip
SENTENCES_ZH = [
    "我这个星期一直觉得很累。", "工作上的事情让我压力很大。", "你能给我推荐一部电影吗？", "我晚上总是睡不着觉。",
    "今天我们在海边玩得很开心。", "房东扣了我的押金，我很生气。", "星期五的考试让我很紧张。",
    "没想到今天遇到了老同学。", "明天提醒我给花浇水。", "我和姐姐打了一个小时的电话。",
]  # fmt: skip
PAUSED_ZH = [  # a 0.4 s pause inside, after a word that cannot end the sentence
    "我昨天去超市<break time=\"400ms\"/>买了一些水果。", "我哥哥说他<break time=\"400ms\"/>下个月来看我。",
    "我回到家的时候<break time=\"400ms\"/>灯都关着。", "我觉得我需要<break time=\"400ms\"/>好好休息一下。",
    "我的邻居昨天<break time=\"400ms\"/>来敲我家的门。", "我想给我的<break time=\"400ms\"/>女儿打个电话。",
    "医生让我在家<break time=\"400ms\"/>休息一个星期。", "吃完晚饭我们<break time=\"400ms\"/>出去散了步。",
    "我老是忘记把<break time=\"400ms\"/>钥匙放在哪里。", "我最好的朋友要搬到<break time=\"400ms\"/>别的城市了。",
]  # fmt: skip
CONFIGS = {
    "fixed": [
        "turn.end_of_turn=fixed", "turn.speculative_pause_ms=0", "turn.partials=false", "asr.encoder_window_s=30",
    ],
    "rule": ["turn.end_of_turn=adaptive", "turn.complete_hangover_ms=350"],
    "semantic": [],
    # the semantic defaults, with Mandarin decoded in the short window too (as English is): 3x cheaper on a
    # CPU, 0.007 worse CER on the AISHELL-1 dev speaker (docs/benchmarks.md); not the default
    "zh-short": ['asr.short_window_languages=["en","zh"]'],
}  # fmt: skip
DEFAULT_CONFIGS = ("fixed", "rule", "semantic")


def pinyin(text: str) -> str:
    """espeak-ng's Mandarin dictionary lacks most characters (it reads them out as English tone numbers):
    speak tone-numbered pinyin through its pinyin voice, as the app's espeak fallback does (tts.to_pinyin);
    SSML tags are kept."""
    from voiceassist.tts import to_pinyin

    return "".join(p if p.startswith("<") else to_pinyin(p) for p in re.split(r"(<[^>]+>)", text) if p)


def plain(ssml: str) -> str:
    return re.sub(r"<[^>]+>", "", ssml).strip()


def start_pulse(tmp: Path) -> int:
    runtime = tmp / "pulse"
    runtime.mkdir()
    env = {**os.environ, "PULSE_RUNTIME_PATH": str(runtime), "XDG_RUNTIME_DIR": str(runtime), "HOME": str(tmp)}
    subprocess.run(
        [
            "pulseaudio",
            "-D",
            "--exit-idle-time=-1",
            "-n",
            "--use-pid-file=yes",
            "--disable-shm=yes",
            "--load=module-native-protocol-unix",
            "--load=module-null-sink sink_name=vsink",
            "--load=module-null-sink sink_name=vspeaker",
            "--load=module-always-sink",
        ],
        env=env,
        check=True,
        capture_output=True,
        timeout=20,
    )
    os.environ.update(
        PULSE_RUNTIME_PATH=str(runtime), XDG_RUNTIME_DIR=str(runtime), PULSE_SERVER=f"unix:{runtime}/native"
    )
    subprocess.run(["pactl", "set-default-source", "vsink.monitor"], check=True, timeout=10)
    subprocess.run(["pactl", "set-default-sink", "vspeaker"], check=True, timeout=10)
    return int((runtime / "pid").read_text().strip())


class Run:
    """One configuration's Session on the shared virtual microphone, and what it heard."""

    def __init__(self, name: str, overrides: list[str]) -> None:
        from voiceassist.audio.sources import MicSource
        from voiceassist.bus import Collector
        from voiceassist.config import load_config
        from voiceassist.session import Session

        base = ["audio.input_device=pulse", "tts.output_device=pulse", "tts.barge_in=true"]
        self.name, self.cfg = name, load_config(None, base + overrides)
        self.col = Collector()
        self.session = Session(
            self.cfg, MicSource("pulse", self.cfg.audio.block_ms, self.cfg.audio.queue_seconds, 6.0), speak=True
        )
        self.session.bus.subscribe(self.col)
        self.turns: list[tuple[str, int, int, str]] = []  # (reference, first segment id, last one, language)

    def say(self, wav: Path, reference: str, lang: str) -> None:
        from voiceassist.events import PlaybackEnded, SpeechSegment

        first = max((e.segment_id for e in self.col.of(SpeechSegment)), default=0) + 1
        n = len(self.col.of(PlaybackEnded))
        subprocess.run(["paplay", "--device=vsink", str(wav)], check=True, timeout=30)
        deadline = time.monotonic() + 30
        while len(self.col.of(PlaybackEnded)) <= n and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.6)
        last = max((e.segment_id for e in self.col.of(SpeechSegment)), default=0)
        self.turns.append((reference, first, last, lang))


def rows_of(run: Run, lang: str) -> tuple[list[dict[str, float]], list[float], int, float, int]:
    """One language's turns: timed rows, partial lags, turns cut in two, WER (en) or CER (zh), turns."""
    from bench.mandarin_dev import clean
    from voiceassist.events import FusedEmotion, PartialTranscript, PlaybackStarted, Reply, SpeechSegment, Transcript

    c = run.col
    turns = [t for t in run.turns if t[3] == lang]
    segs = {e.segment_id: e for e in c.of(SpeechSegment)}
    trs = {e.segment_id: e for e in c.of(Transcript)}
    fused = {e.segment_id: e for e in c.of(FusedEmotion)}
    replies = {e.segment_id: e for e in c.of(Reply)}
    starts = {e.segment_id: e for e in c.of(PlaybackStarted)}
    rows = []
    for _ref, first, last, _ in turns:
        if first != last:
            continue  # cut in two: counted below, not timed
        s, tr, f, r, st = segs.get(first), trs.get(first), fused.get(first), replies.get(first), starts.get(first)
        if not (s and tr and f and r and st):
            continue
        end = s.speech_end_at
        rows.append({
            "utt_s": s.end_s - s.start_s, "hangover": s.t - end, "asr": tr.t - s.t, "emotion": f.t - tr.t,
            "reply": r.t - f.t, "tts+output": st.first_sample_at - r.t, "total": st.first_sample_at - end,
            "transcript": tr.t - end, "early": float(tr.early),
        })  # fmt: skip
    ids = {i for _, first, last, _ in turns for i in range(first, last + 1)}
    lags = [p.t - p.captured_at for p in c.of(PartialTranscript) if p.segment_id in ids]
    cuts = sum(last > first for _, first, last, _ in turns)
    norm = normalise_en if lang == "en" else clean
    refs = [norm(ref) for ref, _, _, _ in turns]
    hyps = [norm(" ".join(trs[i].text for i in range(first, last + 1) if i in trs)) for _, first, last, _ in turns]
    return rows, lags, cuts, corpus_rate(refs, hyps, lang), len(turns)


def words_of(run: Run) -> list[str]:
    from voiceassist.events import Transcript

    trs = {e.segment_id: e.text for e in run.col.of(Transcript)}
    return [" | ".join(trs.get(i, "?") for i in range(first, last + 1)) for _, first, last, _ in run.turns]


KEYS = ["utt_s", "hangover", "asr", "emotion", "reply", "tts+output", "total", "transcript", "early"]


def report(name: str, rows: list[dict[str, float]]) -> dict[str, float]:
    print(f"\n== {name}: end of speech -> first reply sample ({len(rows)} utterances, seconds)")
    print(" ".join(f"{k:>10s}" for k in KEYS))
    for r in rows:
        print(" ".join(f"{r[k]:10.3f}" for k in KEYS))
    med = {k: statistics.median(r[k] for r in rows) for k in KEYS}
    print(" ".join(f"{med[k]:10.3f}" for k in KEYS), " <- median")
    return med


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=1, help="times through the sentence list")
    ap.add_argument("--barge-in", action="store_true")
    ap.add_argument("--trace", action="store_true", help="log each speculative pass: its wait and its length")
    ap.add_argument("--zh", type=Path, help="AISHELL-1 dev manifest.jsonl: 10 real Mandarin sentences join")
    ap.add_argument("--only", choices=("en", "zh"), help="one language's utterances only")
    ap.add_argument(
        "--configs", default=",".join(DEFAULT_CONFIGS), help=f"which, comma-separated, of {', '.join(CONFIGS)}"
    )
    args = ap.parse_args()
    names = [n.strip() for n in args.configs.split(",") if n.strip()]
    if not {"fixed", "semantic"} <= set(names) or not set(names) <= set(CONFIGS):
        sys.exit(f"--configs: fixed and semantic, and any of {', '.join(CONFIGS)}")
    if shutil.which("pulseaudio") is None:
        sys.exit("needs pulseaudio (scripts/test installs it)")
    import logging

    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(threadName)s %(message)s")
    if args.trace:
        logging.getLogger("voiceassist.pipeline.transcribe").setLevel(logging.DEBUG)
    from voiceassist.events import BargeIn, PlaybackStarted, StageReady
    from voiceassist.session import SetInput

    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        pid = start_pulse(tmp)
        try:
            items = [(espeak(s), s, "en") for s in SENTENCES]
            items += [(espeak(x, ssml=True), ref, "en") for x, ref in PAUSED]
            zh = [] if args.only == "en" else SENTENCES_ZH
            items = [] if args.only == "zh" else items
            items += [(espeak(pinyin(s), voice="cmn-latn-pinyin"), s, "zh") for s in zh]
            items += [(espeak(pinyin(x), voice="cmn-latn-pinyin", ssml=True), plain(x), "zh") for x in PAUSED_ZH if zh]
            items += real_mandarin(args.zh) if args.zh else []
            wavs = [
                (write_wav(tmp / f"u{i}.wav", np.concatenate([silence(0.3), a, silence(0.2)])), ref, lang)
                for i, (a, ref, lang) in enumerate(items)
            ]
            # the sessions listen to the one microphone; those whose turn it is not hear silence
            runs = {name: Run(name, CONFIGS[name]) for name in names}
            for run in runs.values():
                run.session.start()
                print(run.name, "models:", "; ".join(f"{e.stage}: {e.description}" for e in run.col.of(StageReady)))
            for _ in range(args.rounds):
                for wav, ref, lang in wavs:
                    for run in runs.values():
                        for o in runs.values():
                            o.session.send(SetInput(o is run))
                        run.say(wav, ref, lang)
            bi: list[float] = []
            if args.barge_in:
                run = runs["semantic"]
                for o in runs.values():
                    o.session.send(SetInput(False))
                run.session.send(SetInput(True))
                for i in range(3):
                    q = espeak("I feel so down today and I cannot sleep at night.")
                    long_q = write_wav(tmp / f"q{i}.wav", np.concatenate([silence(0.3), q, silence(0.2)]))
                    talk = write_wav(tmp / f"t{i}.wav", espeak("Wait, stop, please listen to me for a moment."))
                    n = len(run.col.of(PlaybackStarted))
                    subprocess.run(["paplay", "--device=vsink", str(long_q)], check=True, timeout=30)
                    deadline = time.monotonic() + 30
                    while len(run.col.of(PlaybackStarted)) <= n and time.monotonic() < deadline:
                        time.sleep(0.02)
                    time.sleep(2.0)
                    subprocess.run(["paplay", "--device=vsink", str(talk)], check=True, timeout=30)
                    time.sleep(3.0)
                bi = [e.stopped_after_s for e in run.col.of(BargeIn)]
            for run in runs.values():
                run.session.stop(10)
        finally:
            subprocess.run(["kill", str(pid)], check=False)

    for lang in [x for x in ("en", "zh") if args.only in (None, x)]:
        summary = {}
        for name, run in runs.items():
            rows, lags, cuts, err, n = rows_of(run, lang)
            summary[name] = (report(f"{name}, {lang}", rows), lags, cuts, err, n)
        print(f"\n== {lang}: side by side (medians, seconds; ratio: semantic / fixed)")
        print(f"{'':28s} " + " ".join(f"{n:>10s}" for n in names) + f" {'ratio':>8s}")
        for k in ("hangover", "asr", "transcript", "total"):
            vals = [summary[n][0][k] for n in names]
            ratio = summary["semantic"][0][k] / summary["fixed"][0][k]
            print(f"{'end of speech -> ' + k:28s} " + " ".join(f"{v:10.3f}" for v in vals) + f" {ratio:8.2f}")
        lag = [statistics.median(summary[n][1]) if summary[n][1] else float("nan") for n in names]
        print(f"{'partial lag (s)':28s} " + " ".join(f"{v:10.3f}" for v in lag))
        print(f"{'utterances cut in two':28s} " + " ".join(f"{summary[n][2]:10d}" for n in names)
              + f"   (of {summary[names[0]][4]} turns, 10 with a 0.4 s pause)")  # fmt: skip
        print(
            f"{'final ' + ('WER' if lang == 'en' else 'CER'):28s} " + " ".join(f"{summary[n][3]:10.3f}" for n in names)
        )
        print(f"{'finals ready at the pause':28s} " + " ".join(f"{summary[n][0]['early']:10.2f}" for n in names))
        print(f"target: semantic total median <= 0.5 s: {summary['semantic'][0]['total']:.3f} s")
    print("\n== turns transcribed differently (" + " | ".join(names) + ")")
    words = {n: words_of(r) for n, r in runs.items()}
    for i, (ref, *_) in enumerate(runs["fixed"].turns):
        said = [words[n][i] for n in names]
        if len(set(said)) > 1:
            print(f"  {ref}\n" + "".join(f"    {n}: {w}\n" for n, w in zip(names, said, strict=True)), end="")
    if bi:
        print(
            f"barge-in: decision -> output silenced: {', '.join(f'{x * 1000:.0f}' for x in bi)} ms (target <= 150 ms)"
        )


def real_mandarin(manifest: Path) -> list[tuple[np.ndarray, str, str]]:
    """10 AISHELL-1 dev sentences under 7 s, spread over the set, as int16 audio."""
    import soundfile as sf

    rows = [json.loads(x) for x in manifest.read_text(encoding="utf-8").splitlines() if x.strip()]
    out = []
    for r in rows[:: max(1, len(rows) // 40)]:
        audio, sr = sf.read(str(manifest.parent / r["path"]), dtype="int16")
        if sr == 16000 and len(audio) < 7 * sr and len(out) < 10:
            out.append((audio, r["text"], "zh"))
    return out


if __name__ == "__main__":
    main()
