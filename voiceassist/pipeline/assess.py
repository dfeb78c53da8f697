"""The assessment stage: fusion -> mood -> alerts -> reply request, for each utterance, in segment order,
on one thread.

Three workers deliver the halves of an utterance (the ASR worker its transcript, the speech-emotion worker
the voice estimate, the text-emotion worker the words estimate), in any order and on their own threads.
They only hand ``Part`` messages to this stage's queue; everything that reads or changes the utterance
record, the mood tracker or the alert policies runs here, one utterance at a time, oldest first. So
MoodUpdates, alerts and replies come out in the order the person spoke, and nothing here needs a lock.

The capture thread opens each utterance's record (``Part(kind="opened")``) when it submits the segment, so
the stage knows the order before any half arrives. A half that cannot come (its worker failed on it, or
failed to load) arrives as a part with ``value=None``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from voiceassist.alerts.policy import CrisisDetector
from voiceassist.config import Config
from voiceassist.emotion import EmotionEstimate
from voiceassist.emotion.fusion import fuse, recalibrated
from voiceassist.events import AlertRaised, CrisisHeard, Event, FusedEmotion, MoodUpdate, Transcript
from voiceassist.lang import lang
from voiceassist.mood import MoodTracker
from voiceassist.personal.ask import AskPolicy
from voiceassist.personal.profile import Profile
from voiceassist.reply.request import ReplyRequest

if TYPE_CHECKING:
    from voiceassist.alerts.service import AlertService

__all__ = ["AssessmentStage", "Opened", "Part", "PartKind", "ReplyRequest", "Utterance"]

log = logging.getLogger(__name__)

PartKind = Literal["opened", "transcript", "speech", "text"]


@dataclass(frozen=True)
class Part:
    segment_id: int
    kind: PartKind
    value: Any = None  # opened: Opened; transcript: Transcript | None; speech/text: EmotionEstimate | None


@dataclass(frozen=True)
class Opened:
    start_s: float
    end_s: float
    speech_end_at: float  # monotonic time the person stopped speaking (for reply latency)


_MISSING = object()


@dataclass
class Utterance:
    """What the assessment knows about one utterance. Owned by the assessment thread; each fact is set once."""

    segment_id: int
    opened: Opened
    transcript: Any = _MISSING  # Transcript | None once known
    speech: Any = _MISSING  # EmotionEstimate | None once known
    text: Any = _MISSING  # EmotionEstimate | None once known
    needs_text: bool | None = None  # decided when the transcript arrives: only non-empty text is analysed

    def complete(self) -> bool:
        if self.transcript is _MISSING or self.speech is _MISSING:
            return False
        return not self.needs_text or self.text is not _MISSING

    def language(self, configured: str) -> str:
        """The utterance's language, one rule for everything downstream (fusion messages, replies)."""
        tr = self.transcript if isinstance(self.transcript, Transcript) else None
        return lang(tr.language, tr.text) if tr is not None else lang(configured)


@dataclass
class AssessmentStage:
    """Owns the mood tracker and the alert service's policy calls. ``handle`` is the worker's item handler."""

    cfg: Config
    alerts: AlertService | None = None  # None when alerts are off (or in an analysis)
    reply: Callable[[ReplyRequest], None] | None = None  # hands a request to the reply worker
    on_answer: Callable[[int, str], None] | None = None
    """Told (segment asked about, emotion) when the person answers the assistant's question."""
    calibration: Profile | None = None
    """The person's profile (voiceassist/personal/, ``apply(scores, embedding, text_scores)``), or None: the
    base model. Set before the pipeline starts; applied here, once, after fusion."""
    mood: MoodTracker = field(init=False)
    _open: dict[int, Utterance] = field(default_factory=dict, init=False)
    _recent: list[dict[str, Any]] = field(default_factory=list, init=False)

    def __post_init__(self) -> None:
        self.mood = MoodTracker(self.cfg.mood.window, self.cfg.mood.baseline_min, self.cfg.mood.pac_threshold)
        self.crisis = CrisisDetector.from_config(self.cfg.alerts.crisis_phrases)  # once, for reply and alerts
        self._keep = max(self.cfg.mood.window, self.cfg.alerts.debounce_n) + 2
        r = self.cfg.reply
        self.ask = AskPolicy(r.ask_feedback, r.ask_max_per_session, r.ask_below_confidence)
        self.base_scores: dict[int, Any] = {}
        """The base model's fused scores of the latest utterances (stored with a correction of them)."""

    @property
    def pending(self) -> int:
        return len(self._open)

    def handle(self, part: Part) -> Iterable[Event]:
        if part.kind == "opened":
            self._open[part.segment_id] = Utterance(part.segment_id, part.value)
        else:
            u = self._open.get(part.segment_id)
            if u is None:
                log.warning("assessment: %s for unknown segment %s dropped", part.kind, part.segment_id)
                return
            if getattr(u, part.kind) is not _MISSING:
                log.warning("assessment: second %s for segment %s ignored", part.kind, part.segment_id)
                return
            setattr(u, part.kind, part.value)
            if part.kind == "transcript":
                u.needs_text = isinstance(part.value, Transcript) and bool(part.value.text.strip())
        # oldest first: a complete utterance waits for the ones before it
        while self._open:
            head = self._open[min(self._open)]
            if not head.complete():
                break
            del self._open[head.segment_id]
            yield from self._assess(head)

    def _calibrate(
        self, seg: int, f: Any, speech: EmotionEstimate | None, text: EmotionEstimate | None, lang: str
    ) -> Any:
        self.base_scores[seg] = f.scores
        if len(self.base_scores) > 512:
            del self.base_scores[min(self.base_scores)]
        if self.calibration is None or f.rule == "no input":
            return f
        try:
            emb = speech.embedding if speech is not None else None
            scores = self.calibration.apply(f.scores, emb, text.scores if text is not None else None)
        except Exception:  # a profile that does not fit this model: the base result, said once
            log.warning("personal calibration failed; the base model is used from now on", exc_info=True)
            self.calibration = None
            return f
        return recalibrated(f, scores, self.cfg.emotion, lang)

    def _assess(self, u: Utterance) -> Iterable[Event]:
        lang = u.language(self.cfg.asr.language)
        speech = u.speech if isinstance(u.speech, EmotionEstimate) else None
        text = u.text if isinstance(u.text, EmotionEstimate) else None
        tr = u.transcript if isinstance(u.transcript, Transcript) else None
        words = tr.text if tr is not None else ""
        start, end = u.opened.start_s, u.opened.end_s
        crisis = self.crisis.detect(words) if words else []
        f = self._calibrate(u.segment_id, fuse(speech, text, self.cfg.emotion, lang), speech, text, lang)
        yield FusedEmotion(
            segment_id=u.segment_id,
            scores=f.scores,
            label=f.label,
            confidence=round(f.confidence, 4),
            speech=speech,
            text=text,
            speech_weight=f.speech_weight,
            text_weight=f.text_weight,
            rule=f.rule,
            fallback_action=f.fallback_action,
            suggested_response=f.suggested_response,
            language=lang,
            start_s=start,
            end_s=end,
        )
        state = self.mood.update(speech.embedding if speech is not None else None, f.scores)
        self._recent = [
            *self._recent,
            {
                "segment_id": u.segment_id,
                "start_s": round(start, 3),
                "end_s": round(end, 3),
                "text": words,
                "fused": f.label,
                "confidence": round(f.confidence, 4),
                "valence": round(state.valence, 4),
                "arousal": round(state.arousal, 4),
            },
        ][-self._keep :]
        yield MoodUpdate(segment_id=u.segment_id, state=state, embedding_backend=speech.backend if speech else None)
        if crisis:
            yield CrisisHeard(
                segment_id=u.segment_id,
                categories=tuple(m.category for m in crisis),
                phrases=tuple(m.phrase for m in crisis),
            )
        answered = self.ask.answer(words, lang) if words else None
        if answered is not None and self.on_answer is not None:
            self.on_answer(*answered)
        question = None
        if self.reply is not None:
            a = self.cfg.alerts
            near = self.alerts is not None and float(state.metric(a.metric) or 0.0) >= 0.8 * a.enter
            question = self.ask.question(u.segment_id, f.scores, bool(crisis), near, lang)
        if self.reply is not None:
            self.reply(
                ReplyRequest.from_fusion(
                    words,
                    lang,
                    f,
                    speech,
                    text,
                    segment_id=u.segment_id,
                    mood_valence=state.mean_valence,
                    mood_turns=state.n,
                    speech_end_at=u.opened.speech_end_at,
                    crisis=bool(crisis),
                    question=question,
                )
            )
        if self.alerts is None:
            return
        evidence = {
            "utterances": list(self._recent),
            "mood": {
                k: getattr(state, k)
                for k in (
                    "volatility_l2",
                    "volatility_cos",
                    "volatility_relative",
                    "rmssd_valence",
                    "pac_valence",
                    "rmssd_arousal",
                    "pac_arousal",
                    "mean_valence",
                    "mean_arousal",
                )
            },
        }
        for alert_id, d in self.alerts.evaluate(
            time.monotonic(), u.segment_id, words, state.metric(self.cfg.alerts.metric), evidence, crisis=crisis
        ):
            yield AlertRaised(
                segment_id=u.segment_id,
                alert_id=alert_id,
                kind=d.kind,
                severity=d.severity.value,
                rule=d.rule,
                segment_ids=d.segment_ids,
                suppressed=d.suppressed,
                channels=() if d.suppressed else tuple(self.alerts.channels),
            )
