"""The reply tones: one list, used by the reply data (resources/replies/tones.toml names a tone per
emotion), the speech output (voiceassist/tts.py maps each to rate, volume and pitch) and the generative
backend (a guidance line per tone). tests/test_reply.py checks that all three cover exactly these."""

from __future__ import annotations

TONE_NAMES: tuple[str, ...] = ("calm", "empathetic", "reassuring", "gentle", "neutral", "curious", "cheerful")
