"""A person's profile in the session store: load it (a corrupt one is said and the base model used), refit
it from their corrections, reset it (one click: the corrections are kept, the profile starts again from
the next ones)."""

from __future__ import annotations

import logging
import time
from typing import Any

from voiceassist.personal.fit import Sample, baseline, fit_profile
from voiceassist.personal.profile import Profile, ProfileError
from voiceassist.storage import feedback as fb

log = logging.getLogger(__name__)


def load(store: Any, person: str) -> tuple[Profile | None, str | None]:
    """The stored profile, or None; with a message when it could not be read (then the base model is used)."""
    try:
        data = fb.load_profile(store, person)
        return (None if data is None else Profile.from_json(data)), None
    except (ProfileError, ValueError) as e:
        msg = f"the calibration profile of {person!r} cannot be read ({e}); the base model is used"
        log.warning(msg)
        return None, msg


def _reset_at(store: Any, person: str) -> float:
    try:
        data = fb.load_profile(store, person)
    except ValueError:
        return 0.0
    return float(data.get("reset_at", 0.0)) if isinstance(data, dict) else 0.0


def refit(store: Any, person: str, now: float | None = None) -> Profile:
    """Fit the person's profile from their corrections (those since the last reset) and store it."""
    reset_at = _reset_at(store, person)
    rows = [r for r in fb.training_rows(store, person) if r["wall_time"] > reset_at]
    utts = fb.person_utterances(store, person)
    base = baseline([u["embedding"] for u in utts], [u["scores"] for u in utts if u["scores"] is not None])
    samples = [Sample(r["scores"], r["label"], r["embedding"], r["text_scores"]) for r in rows]
    profile = fit_profile(person, samples, base, now=now)
    data = profile.to_json()
    if reset_at:
        data["reset_at"] = reset_at
    kept = voice_baseline(store, person)
    if kept is not None:
        data[VOICE_BASELINE] = kept
    fb.save_profile(store, person, data)
    return profile


VOICE_BASELINE = "voice_baseline"
"""The profile's key for the voice head's running normalisation of this person's voice
(voiceassist/emotion/voice_head.py): kept across sessions, reset with the profile."""


def voice_baseline(store: Any, person: str) -> dict[str, Any] | None:
    """The person's stored voice baseline, or None (none yet, or a profile that cannot be read)."""
    try:
        data = fb.load_profile(store, person)
    except ValueError:
        return None
    kept = data.get(VOICE_BASELINE) if isinstance(data, dict) else None
    return kept if isinstance(kept, dict) else None


def save_voice_baseline(store: Any, person: str, state: dict[str, Any]) -> None:
    """Keep the voice baseline with the person's profile (the rest of the profile as it is)."""
    try:
        data = fb.load_profile(store, person)
    except ValueError:  # a profile that cannot be read is left for load() to say so; the baseline waits
        return
    data = dict(data) if isinstance(data, dict) else Profile(person).to_json()
    data[VOICE_BASELINE] = state
    fb.save_profile(store, person, data)


def reset(store: Any, person: str, now: float | None = None) -> Profile:
    """Back to the base model; corrections made before now no longer count (they stay stored), and the voice
    baseline starts again from the corpus's statistics."""
    when = time.time() if now is None else now
    profile = Profile(person, fitted_at=when)
    fb.save_profile(store, person, {**profile.to_json(), "reset_at": when})
    return profile
