"""The two emotion stages, each the handler of the worker that owns its model (shaped like ``AsrStage``):

- ``SpeechEmotionStage``: an utterance's voice -> SpeechEmotion (estimate, embedding, frame curves); while
  the person speaks, the utterance heard so far -> EmotionFrames for the new part (live curves). A backend
  with a model of its own (Emotion2Vec+, prosody) reads the audio: the utterance as the capture stage hands
  it over, live offers from the capture stage. A backend that reads the ASR pass's encoder frames (the
  embedded voice head, ``uses_asr_frames``) waits for them: the ASR stage hands over ``VoiceFrames`` after
  each final pass (None when the audio was not decoded) and ``LiveVoiceFrames`` after each partial pass.
- ``TextEmotionStage``: an utterance's words (the normalised transcript) -> TextEmotion.

Each hands its estimate (None when it failed) to the assessment through ``done(segment_id, estimate)``,
so the assessment never waits for a half that cannot come.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from voiceassist.config import Config
from voiceassist.emotion import EmotionEstimate, SpeechEmotionBackend, TextEmotionBackend
from voiceassist.emotion.fusion import with_recogniser_opinion
from voiceassist.events import Event, SpeechEmotion, SpeechSegment, StageError, TextEmotion, Transcript
from voiceassist.pipeline.live import LiveCurves, LiveRequest, LiveVoiceFrames

log = logging.getLogger(__name__)

Done = Callable[[int, EmotionEstimate | None], None]


@dataclass(frozen=True)
class VoiceFrames:
    """The final ASR pass's encoder output of an utterance: (T, D) at 50 frames/s, None when the audio was not
    decoded (silence or noise, or the pass failed)."""

    segment_id: int
    frames: npt.NDArray[np.float32] | None
    recogniser_emotion: dict[str, float] | None = None
    """A recogniser that tags emotion too (SenseVoice): its opinion, blended into the voice's estimate."""


@dataclass(frozen=True)
class Reload:
    """Load the voice model again (one just installed, ``speech_model`` when given), in the worker that owns
    it, between utterances: the app switches to it without a restart."""

    speech_model: str | None = None


SpeechItem = SpeechSegment | LiveRequest | VoiceFrames | LiveVoiceFrames | Reload


class SpeechEmotionStage:
    def __init__(
        self,
        cfg: Config,
        backend: Callable[[], SpeechEmotionBackend],
        done: Done,
        reload: Callable[[Reload], Iterable[Event]] | None = None,
    ) -> None:
        self._backend = backend
        self._done = done
        self._reload = reload
        self._live = LiveCurves(cfg.emotion)
        self._waiting: dict[int, SpeechSegment] = {}  # utterances whose encoder frames are still to come

    def handle(self, item: SpeechItem) -> Iterable[Event]:
        if isinstance(item, Reload):
            if self._reload is not None:
                yield from self._reload(item)
            return
        backend = self._backend()
        if isinstance(item, LiveRequest | LiveVoiceFrames):
            ev = self._live.update(item, backend)
            if ev is not None:
                yield ev
        elif isinstance(item, SpeechSegment):
            assert item.segment_id is not None
            if backend.uses_asr_frames:  # analysed when the ASR pass's frames come
                self._waiting[item.segment_id] = item
            else:
                yield from self._utterance(item, None)
        else:
            seg = self._waiting.pop(item.segment_id, None)
            if seg is not None:  # (a backend that read the audio itself went first: the frames are not needed)
                yield from self._utterance(seg, item.frames, item.recogniser_emotion)

    def failed(self, item: SpeechItem) -> None:
        """The worker's ``on_failed``: the assessment hears that this utterance's voice estimate will not come."""
        if isinstance(item, SpeechSegment | VoiceFrames) and item.segment_id is not None:
            self._waiting.pop(item.segment_id, None)
            self._done(item.segment_id, None)

    def _utterance(
        self, seg: SpeechSegment, encoder: npt.NDArray[np.float32] | None, opinion: dict[str, float] | None = None
    ) -> Iterable[Event]:
        assert seg.segment_id is not None
        t0 = time.monotonic()
        est: EmotionEstimate | None = None
        try:
            est, curves = self._backend().analyze(seg.audio.as_float32(), encoder)
            if opinion:
                est = with_recogniser_opinion(est, opinion)
            yield SpeechEmotion(
                segment_id=seg.segment_id,
                estimate=est,
                frames=curves,
                start_s=seg.start_s,
                end_s=seg.end_s,
                processing_s=time.monotonic() - t0,
            )
        except Exception as e:
            log.error("speech emotion failed on segment %s", seg.segment_id, exc_info=True)
            yield StageError(segment_id=seg.segment_id, stage="speech-emotion", message=f"{type(e).__name__}: {e}")
        self._live.finished(seg.segment_id)
        self._done(seg.segment_id, est)


class TextEmotionStage:
    def __init__(self, backend: Callable[[], TextEmotionBackend], done: Done) -> None:
        self._backend = backend
        self._done = done

    def handle(self, tr: Transcript) -> Iterable[Event]:
        assert tr.segment_id is not None
        est: EmotionEstimate | None = None
        try:
            est = self._backend().analyze(tr.text, tr.language)
            yield TextEmotion(segment_id=tr.segment_id, estimate=est, text=tr.text, language=tr.language)
        except Exception as e:
            log.error("text emotion failed on segment %s", tr.segment_id, exc_info=True)
            yield StageError(segment_id=tr.segment_id, stage="text-emotion", message=f"{type(e).__name__}: {e}")
        self._done(tr.segment_id, est)
