"""What a reply is fitted to: one utterance's words, language and emotion, and the mood so far.

``ReplyRequest.from_fusion`` is the one place a request is assembled from a fused emotion and the two
estimates behind it: the pipeline's assessment stage uses it for every utterance, the API's chat for a
message (the words' estimate fused alone) or a clip analysed before. The planner reads the request as a
whole (``ReplyPlanner.plan(request)``); ``signals()`` is what it needs of the emotion.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import numpy.typing as npt

from voiceassist.emotion.estimate import EmotionEstimate
from voiceassist.emotion.labels import as_dict
from voiceassist.lang import lang
from voiceassist.reply.reading import Signals


class FusedLike(Protocol):
    """A fused emotion: fusion.Fused and the FusedEmotion event both are."""

    @property
    def label(self) -> str: ...

    @property
    def confidence(self) -> float: ...

    @property
    def scores(self) -> npt.NDArray[np.float64]: ...

    @property
    def fallback_action(self) -> str | None: ...

    @property
    def suggested_response(self) -> str | None: ...


@dataclass(frozen=True)
class ReplyRequest:
    text: str
    language: str
    label: str
    segment_id: int = 0
    fallback_action: str | None = None
    suggested_response: str | None = None
    mood_valence: float | None = None
    mood_turns: int = 0
    speech_end_at: float = 0.0
    """Monotonic time the person stopped speaking (for the reply's latency); 0 when not spoken."""
    crisis: bool = False
    """A crisis phrase was heard: the fixed, careful reply (never a generated one)."""
    # What the reply planner uses to fit the reply to what was said (each optional: None/empty = not known).
    confidence: float | None = None
    """The fused confidence."""
    scores: Mapping[str, float] | None = None
    """The fused scores by label: "surprised" with happy close behind."""
    keywords: tuple[str, ...] = ()
    """The text backend's emotion words."""
    speech_label: str | None = None
    speech_confidence: float | None = None
    """The voice's own reading."""
    text_label: str | None = None
    text_confidence: float | None = None
    """The words' own reading (None when they carried no emotional evidence)."""

    @classmethod
    def from_fusion(
        cls,
        text: str,
        language: str,
        fused: FusedLike,
        speech: EmotionEstimate | None = None,
        words: EmotionEstimate | None = None,
        *,
        segment_id: int = 0,
        mood_valence: float | None = None,
        mood_turns: int = 0,
        speech_end_at: float = 0.0,
        crisis: bool = False,
        question: str | None = None,
    ) -> ReplyRequest:
        """The request for an utterance whose emotion is ``fused`` (from ``speech`` and ``words``, either
        may be None). ``question``: the assistant asks the person how they felt instead (personal/ask)."""
        heard = words is not None and words.evidence > 0
        return cls(
            text=text,
            language=lang(language, text),
            label=fused.label,
            segment_id=segment_id,
            fallback_action="ask_to_clarify" if question else fused.fallback_action,
            suggested_response=question or fused.suggested_response,
            mood_valence=mood_valence,
            mood_turns=mood_turns,
            speech_end_at=speech_end_at,
            crisis=crisis,
            confidence=round(float(fused.confidence), 4),
            scores=as_dict(fused.scores),
            keywords=tuple(words.keywords) if words is not None else (),
            speech_label=speech.label if speech is not None else None,
            speech_confidence=speech.confidence if speech is not None else None,
            text_label=words.label if words is not None and heard else None,
            text_confidence=words.confidence if words is not None and heard else None,
        )

    def signals(self) -> Signals:
        return Signals(
            self.label,
            self.confidence,
            self.scores,
            self.speech_label,
            self.speech_confidence,
            self.text_label,
            self.text_confidence,
            self.fallback_action,
        )
