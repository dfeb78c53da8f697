"""End of the person's speech -> first sample of the spoken reply, stage by stage; and barge-in stop time.

Run:  .venv/bin/python bench/reply_latency.py [--utterances 6]

A PulseAudio daemon with two null sinks is started (as in the tests): espeak-ng utterances of about 3 s
are played into the sink the 'microphone' records, in real time; the assistant's replies go to the
other sink. The whole app pipeline runs with the embedded models (Whisper base on CPU, prosody and
lexicon emotion, strategy replies, pyttsx3/espeak-ng). For every utterance:

    end of speech (last voiced frame captured)
      -> SpeechSegment  (VAD hangover: vad.hangover_ms of silence must pass)
      -> Transcript     (Whisper)
      -> FusedEmotion   (text emotion + fusion; the speech emotion runs in parallel)
      -> Reply          (strategy choice)
      -> first sample   (TTS render + output stream start + output latency)

Baseline in the same run: end of speech -> Transcript (what the ASR bench measures). Target: median
end-of-speech -> first reply sample <= 1.5 s for ~3 s utterances.
Then barge-in: the person speaks over a long reply; time from the barge-in decision to silenced output.
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
]


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


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--utterances", type=int, default=6)
    args = ap.parse_args()
    if shutil.which("pulseaudio") is None:
        sys.exit("needs pulseaudio (scripts/test installs it)")
    import logging

    logging.basicConfig(level=logging.WARNING)
    from voiceassist.audio.sources import MicSource
    from voiceassist.bus import Collector
    from voiceassist.config import load_config
    from voiceassist.events import (
        BargeIn,
        FusedEmotion,
        PlaybackEnded,
        PlaybackStarted,
        Reply,
        SpeechSegment,
        StageReady,
        Transcript,
    )
    from voiceassist.session import Session

    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        pid = start_pulse(tmp)
        try:
            cfg = load_config(
                None,
                [
                    "audio.input_device=pulse",
                    "tts.output_device=pulse",
                    "asr.language=en",
                    "tts.barge_in=true",
                    "tts.barge_in_ms=300",
                ],
            )
            col = Collector()
            p = Session(cfg, MicSource("pulse", cfg.audio.block_ms, cfg.audio.queue_seconds, 6.0), speak=True)
            p.bus.subscribe(col)
            p.start()
            print("models:", "; ".join(f"{e.stage}: {e.description}" for e in col.of(StageReady)))
            for i in range(args.utterances):
                audio = espeak(SENTENCES[i % len(SENTENCES)])
                wav = write_wav(tmp / f"u{i}.wav", np.concatenate([silence(0.3), audio, silence(0.2)]))
                n = len(col.of(PlaybackEnded))
                subprocess.run(["paplay", "--device=vsink", str(wav)], check=True, timeout=30)
                deadline = time.monotonic() + 30
                while len(col.of(PlaybackEnded)) <= n and time.monotonic() < deadline:
                    time.sleep(0.05)
                time.sleep(0.5)
            # barge-in: a long reply, then the person talks over it after 2 s of playback
            bi = []
            for i in range(3):
                long_q = write_wav(
                    tmp / f"q{i}.wav",
                    np.concatenate(
                        [silence(0.3), espeak("I feel so down today and I cannot sleep at night."), silence(0.2)]
                    ),
                )
                talk = write_wav(tmp / f"t{i}.wav", espeak("Wait, stop, please listen to me for a moment."))
                n = len(col.of(PlaybackStarted))
                subprocess.run(["paplay", "--device=vsink", str(long_q)], check=True, timeout=30)
                deadline = time.monotonic() + 30
                while len(col.of(PlaybackStarted)) <= n and time.monotonic() < deadline:
                    time.sleep(0.02)
                time.sleep(2.0)
                subprocess.run(["paplay", "--device=vsink", str(talk)], check=True, timeout=30)
                time.sleep(3.0)
            bi = [e.stopped_after_s for e in col.of(BargeIn)]
            p.stop()
        finally:
            subprocess.run(["kill", str(pid)], check=False)

    segs = {e.segment_id: e for e in col.of(SpeechSegment)}
    trs = {e.segment_id: e for e in col.of(Transcript)}
    fused = {e.segment_id: e for e in col.of(FusedEmotion)}
    replies = {e.segment_id: e for e in col.of(Reply)}
    starts = {e.segment_id: e for e in col.of(PlaybackStarted)}
    rows = []
    for sid, st in starts.items():
        s, tr, f, r = segs.get(sid), trs.get(sid), fused.get(sid), replies.get(sid)
        if not (s and tr and f and r) or sid > args.utterances:
            continue
        end = s.speech_end_at
        rows.append(
            {
                "utt_s": s.end_s - s.start_s,
                "hangover": s.t - end,
                "asr": tr.t - s.t,
                "emotion": f.t - tr.t,
                "reply": r.t - f.t,
                "tts+output": st.first_sample_at - r.t,
                "render": st.render_s,
                "total": st.first_sample_at - end,
                "transcript": tr.t - end,
            }
        )
    print(f"\n== end of speech -> first reply sample ({len(rows)} utterances, medians, seconds)")
    keys = ["utt_s", "hangover", "asr", "emotion", "reply", "render", "tts+output", "total", "transcript"]
    print(" ".join(f"{k:>10s}" for k in keys))
    for r in rows:
        print(" ".join(f"{r[k]:10.3f}" for k in keys))
    med = {k: statistics.median(r[k] for r in rows) for k in keys}
    print(" ".join(f"{med[k]:10.3f}" for k in keys), " <- median")
    print(
        f"\ntotal median {med['total']:.3f} s vs target 1.5 s; baseline end->transcript {med['transcript']:.3f} s; "
        f"ratio total/transcript {med['total'] / med['transcript']:.2f}"
    )
    if bi:
        print(
            f"barge-in: decision -> output silenced: {', '.join(f'{x * 1000:.0f}' for x in bi)} ms (target <= 150 ms)"
        )


if __name__ == "__main__":
    main()
