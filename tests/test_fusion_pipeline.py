"""Fusion end to end (issue 14): sentences spoken by the embedded Piper voice, in a style that goes with the
speaker's emotion (synthetic acted prosody), through ``analyze`` with the embedded defaults (Whisper base,
the prosody arousal estimate, the trained text-emotion head).

- The rule's guarantee: with an arousal-only voice the words decide, and at the default strength
  (``emotion.arousal_shift`` = 0.1; anything up to 0.25; arousal clipped to +-2) the voice can scale two
  labels' odds by at most exp(0.25 * 2 * 1.3) = 1.9, so whenever the words' top label leads the runner-up
  2:1 the fused label is the words' label.
- A clearly emotional sentence, spoken in a matching style, comes out as its emotion.
"""

from __future__ import annotations

import copy
import difflib
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soxr

from tests.conftest import SR, write_wav
from voiceassist.analysis import analyze
from voiceassist.audio.sources import FileSource
from voiceassist.config import load_config
from voiceassist.tts import TONES, Voice
from voiceassist.voices import PiperSynthesizer

# (sentence, the speaker's emotion, clearly emotional: its fused label must be that emotion)
SENTENCES: list[tuple[str, str, bool]] = [
    ("I am so happy today, I finally got the job I always wanted!", "happy", True),
    ("I am absolutely furious, they cancelled my flight again without telling me!", "angry", True),
    ("I feel so sad and lonely since my best friend moved away.", "sad", True),
    ("I'm really scared, someone is trying to open my front door right now.", "fearful", False),
    ("Please set an alarm for seven o'clock tomorrow morning.", "neutral", False),
    ("Wow, I can't believe it, my old teacher just called me out of the blue!", "surprised", False),
    # the words lead here, but not by much (about 2-4:1): said flatly, they test the 2:1 guarantee hardest
    ("My dog keeps barking at night.", "sad", False),
    ("I got the results today.", "sad", False),
]
# The speaker's style (rate in words per minute, volume; Piper has no pitch control).
STYLES = {
    "happy": Voice(195, 1.0, 66),
    "angry": Voice(200, 1.0, 60),
    "sad": Voice(135, 0.55, 36),
    "fearful": Voice(205, 0.95, 64),
    "neutral": Voice(170, 0.85, 50),
    "surprised": Voice(200, 1.0, 70),
}


def _norm(text: str) -> str:
    return " ".join(re.findall(r"[a-z0-9]+", text.lower()))


def _lead_violations(segments: list[dict[str, Any]]) -> tuple[int, list[str]]:
    """(segments where the words' top label leads 2:1, those whose fused label is not the words' label)."""
    led, bad = 0, []
    for seg in segments:
        e = seg["emotion"]
        if not e or not e["text"] or not e["speech"]:
            continue
        top, second = sorted(e["text"]["scores"].values(), reverse=True)[:2]
        if top >= 2 * second:
            led += 1
            if e["fused"]["label"] != e["text"]["label"]:
                bad.append(f"{seg['text']!r}: words {e['text']['label']}, fused {e['fused']['label']}")
    return led, bad


@pytest.fixture(scope="module")
def spoken(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The sentences spoken in turn, 1 s of silence around each, analysed in one Session."""
    with pytest.MonkeyPatch.context() as mp:  # the styles as tones of the voice, for this fixture only
        for name, voice in STYLES.items():
            mp.setitem(TONES, f"acted-{name}", voice)
        piper = PiperSynthesizer()
        piper.load()
        parts = [np.zeros(SR, np.float32)]
        for text, emotion, _ in SENTENCES:
            audio = piper.render(text, f"acted-{emotion}")
            parts += [soxr.resample(audio, piper.sample_rate, SR).astype(np.float32), np.zeros(SR, np.float32)]
    samples = np.clip(np.rint(np.concatenate(parts) * 32767), -32768, 32767).astype(np.int16)
    path = write_wav(tmp_path_factory.mktemp("fusion") / "spoken.wav", samples)
    cfg = load_config(None, ["reply.enabled=false"])
    assert cfg.emotion.arousal_shift <= 0.25  # the guarantee below holds for the default strength (0.1) and up to 0.25
    source = FileSource(Path(path), realtime=False)
    source.open()
    doc = analyze(cfg, source, str(path))
    segments = doc["segments"]
    # one segment per sentence, in order, with its transcript
    assert len(segments) == len(SENTENCES), [s["text"] for s in segments]
    for seg, (text, _, _) in zip(segments, SENTENCES, strict=True):
        sim = difflib.SequenceMatcher(None, _norm(seg["text"]), _norm(text)).ratio()
        assert sim >= 0.7, (seg["text"], text)
    return doc


@pytest.mark.slow
def test_the_embedded_defaults_are_what_is_measured(spoken: dict[str, Any]) -> None:
    backends = spoken["backends"]
    assert backends["speech-emotion"]["description"] == "prosody arousal estimate (embedded default)"
    assert "trained emotion head" in backends["text-emotion"]["description"]
    assert "whisper base" in backends["asr"]["description"].lower()
    for seg in spoken["segments"]:
        assert seg["emotion"]["fused"]["rule"] == "words lead, voice arousal shifts"


@pytest.mark.slow
def test_fused_label_is_the_words_label_when_the_words_lead_two_to_one(spoken: dict[str, Any]) -> None:
    led, bad = _lead_violations(spoken["segments"])
    assert led >= 4, f"only {led} sentences with a 2:1 lead: the check would say little"
    assert not bad, bad
    # the voice does take part: it moves the words' scores
    moved = [
        max(
            abs(s["emotion"]["fused"]["scores"][k] - s["emotion"]["text"]["scores"][k])
            for k in s["emotion"]["text"]["scores"]
        )
        for s in spoken["segments"]
    ]
    assert max(moved) > 0.005, moved
    # and the check catches a fused label that left the words' lead
    tampered = copy.deepcopy(spoken["segments"])
    for seg in tampered:
        e = seg["emotion"]
        top, second = sorted(e["text"]["scores"].values(), reverse=True)[:2]
        if top >= 2 * second:
            e["fused"]["label"] = "neutral" if e["text"]["label"] != "neutral" else "sad"
            break
    assert len(_lead_violations(tampered)[1]) == 1


@pytest.mark.slow
def test_clearly_emotional_sentences_in_a_matching_style_come_out_as_their_emotion(spoken: dict[str, Any]) -> None:
    got = {
        text: seg["emotion"]["fused"]["label"] for seg, (text, _, _) in zip(spoken["segments"], SENTENCES, strict=True)
    }
    wrong = {text: (emotion, got[text]) for text, emotion, clear in SENTENCES if clear and got[text] != emotion}
    assert not wrong, wrong
