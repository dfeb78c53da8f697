"""Fusion end to end (issue 14): sentences spoken by the embedded Piper voice, in a style that goes with the
speaker's emotion (synthetic acted prosody), through ``analyze`` (Whisper base, the trained text-emotion
head), with the prosody arousal estimate as the voice, and with the embedded default voice (the voice head).

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
def spoken_wav(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sentences spoken in turn, 1 s of silence around each."""
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
    return write_wav(tmp_path_factory.mktemp("fusion") / "spoken.wav", samples)


def _analyze(path: Path, *overrides: str) -> dict[str, Any]:
    """The recording analysed in one Session."""
    cfg = load_config(None, ["reply.enabled=false", *overrides])
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


@pytest.fixture(scope="module")
def spoken(spoken_wav: Path) -> dict[str, Any]:
    """Analysed with the prosody arousal estimate as the voice (the embedded default before the voice head)."""
    assert load_config(None, []).emotion.arousal_shift <= 0.25  # the guarantee below holds up to 0.25
    return _analyze(spoken_wav, "emotion.speech_backend=prosody")


@pytest.fixture(scope="module")
def spoken_default(spoken_wav: Path) -> dict[str, Any]:
    """Analysed with the embedded defaults: the voice head on Whisper's frames."""
    return _analyze(spoken_wav)


def _correct(segments: list[dict[str, Any]], side: str) -> int:
    pairs = zip(segments, SENTENCES, strict=True)
    return sum(seg["emotion"][side]["label"] == emotion for seg, (_, emotion, _) in pairs)


@pytest.mark.slow
def test_with_the_voice_head_the_fused_label_is_at_least_as_right_as_the_words(spoken_default: dict[str, Any]) -> None:
    """The voice head votes (it is not arousal only); on sentences whose words carry the emotion, the fused
    label must not be worse than the words alone, and the clearly emotional ones stay their emotion."""
    assert spoken_default["backends"]["speech-emotion"]["description"].startswith("voice-emotion head")
    segments = spoken_default["segments"]
    assert _correct(segments, "fused") >= _correct(segments, "text"), [
        (s["text"], s["emotion"]["text"]["label"], s["emotion"]["speech"]["label"], s["emotion"]["fused"]["label"])
        for s in segments
    ]
    got = {text: seg["emotion"]["fused"]["label"] for seg, (text, _, _) in zip(segments, SENTENCES, strict=True)}
    wrong = {text: (emotion, got[text]) for text, emotion, clear in SENTENCES if clear and got[text] != emotion}
    assert not wrong, wrong


@pytest.mark.slow
def test_the_prosody_voice_is_what_is_measured(spoken: dict[str, Any]) -> None:
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
