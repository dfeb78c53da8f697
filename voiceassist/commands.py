"""The commands a front end sends a Session (``Session.send``): messages, never a worker's attributes. The
Session turns each into what the owning part does."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Mute:
    """Replies are shown, not spoken (and what is being spoken stops)."""

    on: bool


@dataclass(frozen=True)
class StopSpeaking:
    """Stop the reply being spoken now."""


@dataclass(frozen=True)
class SetInput:
    """Push-to-talk: while disabled, the microphone's audio is replaced by silence (timing kept)."""

    enabled: bool


@dataclass(frozen=True)
class CorrectEmotion:
    """The person says what the emotion of an utterance really was ("not sure": label None), or rates its
    reply (``kind="reply"``, label "fits" / "does_not_fit"); ``undo`` steps back their last answer. Stored
    before ``send`` returns (storage/feedback.py); FeedbackError for a missing utterance or a bad label."""

    segment_id: int
    label: str | None
    note: str = ""
    kind: str = "emotion"
    undo: bool = False


@dataclass(frozen=True)
class ReloadVoiceModel:
    """A voice model was installed while listening (the window's download): switch to it now."""

    speech_model: str | None = None


Command = Mute | StopSpeaking | SetInput | CorrectEmotion | ReloadVoiceModel
