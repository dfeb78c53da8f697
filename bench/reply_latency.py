"""End of the person's speech -> first sample of the spoken reply: today's fixed-hangover pipeline against
the early end of turn, side by side in one run; partial-transcript lag; utterances cut in two; final WER.

Run:  .venv/bin/python bench/reply_latency.py [--rounds 2] [--barge-in]

A PulseAudio daemon with two null sinks is started (as in the tests): espeak-ng utterances are played into
the sink the 'microphone' records, in real time; the assistant's replies go to the other sink. The whole
app pipeline runs with the embedded models (Whisper base on CPU, prosody and the trained text-emotion
head, strategy replies, the Piper voice). Two configurations take turns, utterance by utterance, so they
share the machine's noise:

- **fixed** (today before this change): ``turn.end_of_turn=fixed``, no speculative pass, no partials,
  Whisper's full 30 s encoder window;
- **early** (the defaults now): adaptive end of turn, the speculative pass at a 200 ms pause, partials,
  a 10 s encoder window.

For every utterance: end of speech (last voiced frame captured) -> SpeechSegment (the hangover) ->
Transcript -> FusedEmotion -> Reply -> first sample; partial lag (audio captured -> PartialTranscript).
Sentences: 10 plain ones, and 4 with a 0.4 s pause inside (SSML break, continuing intonation) that must
stay one utterance. Targets: median end of speech -> first sample <= 1.0 s (stretch 0.8 s), partial lag
median <= 1.5 s, no more cuts than fixed, final WER unchanged. Then, with --barge-in, the barge-in stop time.
"""

from __future__ import annotations

import argparse
import os
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
]  # fmt: skip
CONFIGS = {
    "fixed": [
        "turn.end_of_turn=fixed", "turn.speculative_pause_ms=0", "turn.partials=false", "asr.encoder_window_s=30",
    ],
    "early": [],
}  # fmt: skip


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

        base = ["audio.input_device=pulse", "tts.output_device=pulse", "asr.language=en", "tts.barge_in=true"]
        self.name, self.cfg = name, load_config(None, base + overrides)
        self.col = Collector()
        self.session = Session(
            self.cfg, MicSource("pulse", self.cfg.audio.block_ms, self.cfg.audio.queue_seconds, 6.0), speak=True
        )
        self.session.bus.subscribe(self.col)
        self.turns: list[tuple[str, int, int]] = []  # (reference, first segment id, last segment id)

    def say(self, wav: Path, reference: str) -> None:
        from voiceassist.events import PlaybackEnded, SpeechSegment

        first = max((e.segment_id for e in self.col.of(SpeechSegment)), default=0) + 1
        n = len(self.col.of(PlaybackEnded))
        subprocess.run(["paplay", "--device=vsink", str(wav)], check=True, timeout=30)
        deadline = time.monotonic() + 30
        while len(self.col.of(PlaybackEnded)) <= n and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.6)
        last = max((e.segment_id for e in self.col.of(SpeechSegment)), default=0)
        self.turns.append((reference, first, last))


def rows_of(run: Run) -> tuple[list[dict[str, float]], list[float], int, float]:
    from voiceassist.events import FusedEmotion, PartialTranscript, PlaybackStarted, Reply, SpeechSegment, Transcript

    c = run.col
    segs = {e.segment_id: e for e in c.of(SpeechSegment)}
    trs = {e.segment_id: e for e in c.of(Transcript)}
    fused = {e.segment_id: e for e in c.of(FusedEmotion)}
    replies = {e.segment_id: e for e in c.of(Reply)}
    starts = {e.segment_id: e for e in c.of(PlaybackStarted)}
    rows = []
    for _ref, first, last in run.turns:
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
    lags = [p.t - p.captured_at for p in c.of(PartialTranscript)]
    cuts = sum(last > first for _, first, last in run.turns)
    refs = [normalise_en(ref) for ref, _, _ in run.turns]
    hyps = [
        normalise_en(" ".join(trs[i].text for i in range(first, last + 1) if i in trs)) for _, first, last in run.turns
    ]
    return rows, lags, cuts, corpus_rate(refs, hyps, "en")


def words_of(run: Run) -> list[str]:
    from voiceassist.events import Transcript

    trs = {e.segment_id: e.text for e in run.col.of(Transcript)}
    return [" | ".join(trs.get(i, "?") for i in range(first, last + 1)) for _, first, last in run.turns]


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
    args = ap.parse_args()
    if shutil.which("pulseaudio") is None:
        sys.exit("needs pulseaudio (scripts/test installs it)")
    import logging

    logging.basicConfig(level=logging.WARNING)
    from voiceassist.events import BargeIn, PlaybackStarted, StageReady
    from voiceassist.session import SetInput

    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        pid = start_pulse(tmp)
        try:
            items = [(espeak(s), s) for s in SENTENCES] + [(espeak(x, ssml=True), ref) for x, ref in PAUSED]
            wavs = [
                (write_wav(tmp / f"u{i}.wav", np.concatenate([silence(0.3), a, silence(0.2)])), ref)
                for i, (a, ref) in enumerate(items)
            ]
            # both sessions listen to the one microphone; the one whose turn it is not hears silence
            runs = {name: Run(name, ov) for name, ov in CONFIGS.items()}
            for run in runs.values():
                run.session.start()
                print(run.name, "models:", "; ".join(f"{e.stage}: {e.description}" for e in run.col.of(StageReady)))
            for _ in range(args.rounds):
                for wav, ref in wavs:
                    for run in runs.values():
                        for o in runs.values():
                            o.session.send(SetInput(o is run))
                        run.say(wav, ref)
            bi: list[float] = []
            if args.barge_in:
                run = runs["early"]
                runs["fixed"].session.send(SetInput(False))
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

    summary = {}
    for name, run in runs.items():
        rows, lags, cuts, wer = rows_of(run)
        med = report(name, rows)
        summary[name] = (med, lags, cuts, wer, len(run.turns))
    print("\n== side by side (medians)")
    print(f"{'':28s} {'fixed':>10s} {'early':>10s} {'ratio':>8s}")
    f, e = summary["fixed"], summary["early"]
    for k in ("hangover", "asr", "transcript", "total"):
        print(f"{'end of speech -> ' + k:28s} {f[0][k]:10.3f} {e[0][k]:10.3f} {e[0][k] / f[0][k]:8.2f}")
    lag = statistics.median(e[1]) if e[1] else float("nan")
    print(f"{'partial lag (s)':28s} {'-':>10s} {lag:10.3f}   ({len(e[1])} partials)")
    print(f"{'utterances cut in two':28s} {f[2]:10d} {e[2]:10d}   (of {f[4]} turns, {len(PAUSED)} with a 0.4 s pause)")
    print(f"{'final WER':28s} {f[3]:10.3f} {e[3]:10.3f}")
    print(f"{'finals ready at the pause':28s} {'-':>10s} {e[0]['early']:10.2f}")
    print(f"\ntarget: early total median <= 1.0 s (stretch 0.8): {e[0]['total']:.3f} s")
    print("\n== turns transcribed differently (fixed | early)")
    for (ref, *_), a, b in zip(runs["fixed"].turns, words_of(runs["fixed"]), words_of(runs["early"]), strict=True):
        if a != b:
            print(f"  {ref}\n    fixed: {a}\n    early: {b}")
    if bi:
        print(
            f"barge-in: decision -> output silenced: {', '.join(f'{x * 1000:.0f}' for x in bi)} ms (target <= 150 ms)"
        )


if __name__ == "__main__":
    main()
