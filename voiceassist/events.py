"""Typed pipeline events.

Every event is a frozen dataclass with ``t`` (``time.monotonic()`` when it was made) and the
``segment_id`` it belongs to (``None`` for session-level events), so a timeline can line them up.
Stream times (``start_s``/``end_s``) are seconds from the start of the audio stream.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import numpy.typing as npt

from voiceassist.audio.chunk import AudioChunk
from voiceassist.emotion.estimate import EmotionEstimate, FrameCurves
from voiceassist.mood import MoodState


def _now() -> float:
    return time.monotonic()


@dataclass(frozen=True, kw_only=True)
class Event:
    segment_id: int | None = None
    t: float = field(default_factory=_now)


@dataclass(frozen=True, kw_only=True)
class SourceStarted(Event):
    source: str
    sample_rate_in: int
    channels_in: int


@dataclass(frozen=True, kw_only=True)
class SourceEnded(Event):
    """The source has no more audio: end of file, stop requested, or a failure (then ``error`` is set)."""

    source: str
    duration_s: float
    overflows: int = 0
    error: str | None = None


@dataclass(frozen=True, kw_only=True)
class InputOverflow(Event):
    """The microphone delivered faster than we consumed; ``count`` blocks dropped so far."""

    count: int


@dataclass(frozen=True, kw_only=True)
class AudioLevel(Event):
    """Input level about ten times a second, for the level meter."""

    rms_dbfs: float
    in_speech: bool


@dataclass(frozen=True, kw_only=True)
class SpeechStarted(Event):
    segment_id: int  # always set: these events belong to one utterance
    start_s: float


@dataclass(frozen=True, kw_only=True)
class SpeechDiscarded(Event):
    """A started utterance was not kept: too short (a click, a cough), or heard while the assistant was
    speaking (``reason="assistant_speaking"``: no echo cancellation, so it may be the assistant itself)."""

    segment_id: int  # always set: these events belong to one utterance
    start_s: float
    voiced_s: float
    reason: str = "too_short"


EndReason = Literal["silence", "max_length", "end_of_stream"]


@dataclass(frozen=True, kw_only=True)
class SpeechSegment(Event):
    """A finished utterance. ``audio`` includes the pre-roll; ``speech_end_at`` is the monotonic time the
    last voiced frame was captured (for end-of-speech latency)."""

    segment_id: int  # always set: these events belong to one utterance
    start_s: float
    end_s: float
    audio: AudioChunk
    reason: EndReason
    speech_end_at: float


@dataclass(frozen=True, kw_only=True)
class QualityReport(Event):
    """Input quality of a segment. When ``ok`` is False the segment is not transcribed and ``message``
    tells the person what to do, in English and Chinese."""

    segment_id: int  # always set: these events belong to one utterance
    ok: bool
    issue: str | None
    message: str | None
    message_zh: str | None
    rms_dbfs: float
    peak_dbfs: float
    clipped_ratio: float
    trimmed_start_s: float
    trimmed_end_s: float


@dataclass(frozen=True)
class Word:
    """One word of a transcript and when it was said (stream seconds), with the recogniser's confidence."""

    word: str
    start: float
    end: float
    probability: float


@dataclass(frozen=True, kw_only=True)
class Transcript(Event):
    segment_id: int  # always set: these events belong to one utterance
    text: str
    language: str
    language_probability: float
    start_s: float
    end_s: float
    backend: str
    no_speech_prob: float
    avg_logprob: float
    dropped_as_hallucination: bool = False
    dropped_reason: str | None = None
    """Why the ASR guard dropped or cut text: too_quiet, no_speech (before decoding), loop, loop_cut, phantom..."""
    processing_s: float = 0.0
    early: bool = False
    """Decoded at the first pause, before the turn ended (the same audio): the words were ready at its end."""
    words: tuple[Word, ...] = ()
    """Word-level times, when asked for (``asr.word_timestamps``: the API's ``timestamp_granularities[]=word``)."""


@dataclass(frozen=True, kw_only=True)
class PartialTranscript(Event):
    """The words heard so far in an utterance that is still open: a preview, replaced by the next partial
    and finally by the ``Transcript``. ``audio_end_s`` is how far into the stream the decoded audio went;
    ``captured_at`` the monotonic time that audio was captured (for partial lag)."""

    segment_id: int  # always set: these events belong to one utterance
    text: str
    language: str
    start_s: float
    audio_end_s: float
    captured_at: float
    processing_s: float = 0.0


@dataclass(frozen=True, kw_only=True)
class StageReady(Event):
    """A stage loaded its model. ``embedded`` is True when it runs on the embedded default model."""

    stage: str
    description: str
    embedded: bool
    load_s: float
    note: str | None = None
    """Why a fallback is in use and how to get the real model (shown on screen)."""


@dataclass(frozen=True, kw_only=True)
class StageError(Event):
    """A stage failed on one item; the pipeline goes on."""

    stage: str
    message: str


@dataclass(frozen=True, kw_only=True)
class PipelineStopped(Event):
    reason: str


@dataclass(frozen=True, kw_only=True)
class EmotionFrames(Event):
    """Live frame-level emotion curves for the utterance in progress: ``probs`` (n, 9) for the frames
    starting at stream time ``start_s``. ``audio_captured_at`` is the monotonic capture time of the newest
    audio they cover (``t - audio_captured_at`` is the curve's lag)."""

    segment_id: int  # always set: these events belong to one utterance
    start_s: float
    frame_rate: float
    probs: npt.NDArray[np.float32]
    audio_captured_at: float
    backend: str


@dataclass(frozen=True, kw_only=True)
class SpeechEmotion(Event):
    """Emotion in the voice for a whole utterance, with its embedding and full frame curves."""

    segment_id: int  # always set: these events belong to one utterance
    estimate: EmotionEstimate
    frames: FrameCurves | None
    start_s: float
    end_s: float
    processing_s: float = 0.0


@dataclass(frozen=True, kw_only=True)
class TextEmotion(Event):
    """Emotion in the words of an utterance's transcript."""

    segment_id: int  # always set: these events belong to one utterance
    estimate: EmotionEstimate
    text: str
    language: str


@dataclass(frozen=True, kw_only=True)
class FusedEmotion(Event):
    """Speech and text emotion fused; keeps both inputs. ``fallback_action`` is set when the result is
    unknown/other or unsure: ask to repeat / ask to clarify, with ``suggested_response`` to say."""

    segment_id: int  # always set: these events belong to one utterance
    scores: npt.NDArray[np.float64]
    label: str
    confidence: float
    speech: EmotionEstimate | None
    text: EmotionEstimate | None
    speech_weight: float
    text_weight: float
    rule: str
    fallback_action: str | None
    suggested_response: str | None
    language: str
    start_s: float
    end_s: float


@dataclass(frozen=True, kw_only=True)
class MoodUpdate(Event):
    """The mood after an utterance: its valence/arousal, and volatility over the rolling window
    (``voiceassist.mood.MoodState``; docs/mood.md has the formulas)."""

    segment_id: int  # always set: these events belong to one utterance
    state: MoodState
    embedding_backend: str | None


@dataclass(frozen=True, kw_only=True)
class StoreStatus(Event):
    """Saving stopped (``saving`` False: the store cannot be written, a full disk; listening goes on and what
    is heard waits in memory) or resumed (True). ``message`` is for the person, as it is."""

    saving: bool
    message: str
    reason: str = ""
    """Why it is not saving, in a few words ("the disk is full"); empty when saving."""


@dataclass(frozen=True, kw_only=True)
class CrisisHeard(Event):
    """A crisis phrase (self-harm, suicide, violence: resources/crisis_phrases.toml) was heard in an
    utterance. Reported whatever the purpose: a conversation also answers it with the fixed crisis reply and,
    when the caregiver turned alerts on, raises an urgent alert (AlertRaised); an analysis only reports it."""

    segment_id: int  # always set: these events belong to one utterance
    categories: tuple[str, ...]
    phrases: tuple[str, ...]


@dataclass(frozen=True, kw_only=True)
class AlertRaised(Event):
    """A caregiver alert was stored (and, unless ``suppressed`` by a cooldown, queued for ``channels``).
    The in-app banner shows it."""

    alert_id: int
    kind: str
    severity: str
    rule: str
    segment_ids: tuple[int, ...]
    suppressed: bool
    channels: tuple[str, ...]


@dataclass(frozen=True, kw_only=True)
class Reply(Event):
    """What the assistant answers, and how: ``tone`` drives the voice; ``source`` is crisis, fallback,
    intent, strategy or generative."""

    text: str
    language: str
    tone: str
    strategy: str
    intent: str | None
    source: str
    note: str | None = None
    """Why a generated reply was not used, if one was tried."""
    speech_end_at: float = 0.0
    """Monotonic time the person's speech ended (for latency)."""


@dataclass(frozen=True, kw_only=True)
class PlaybackStarted(Event):
    first_sample_at: float
    """Monotonic time the first sample of the reply reached the output."""
    duration_s: float
    """Audio ready when playback started: the first sentence when a neural voice streams sentence by sentence."""
    render_s: float
    """Time to first audio: rendering what was ready when playback started."""


@dataclass(frozen=True, kw_only=True)
class PlaybackEnded(Event):
    played_s: float
    total_s: float = 0.0
    """The reply's audio rendered in all (more than played_s when interrupted)."""
    interrupted: bool = False
    error: str | None = None
    """Set when nothing could be played (no output device): the reply is still shown."""


@dataclass(frozen=True, kw_only=True)
class BargeIn(Event):
    """The person spoke over the assistant for tts.barge_in_ms: playback was stopped."""

    stopped_after_s: float
    """How long stopping took, from the decision to the silenced output."""
