"""The two emotion stages, each the handler of the worker that owns its model (shaped like ``AsrStage``):

- ``SpeechEmotionStage``: an utterance's voice -> SpeechEmotion (estimate, embedding, frame curves); while
  the person speaks, offers of the utterance heard so far -> EmotionFrames for the new part (live curves);
- ``TextEmotionStage``: an utterance's words (the normalised transcript) -> TextEmotion.

Each hands its estimate (None when it failed) to the assessment through ``done(segment_id, estimate)``,
so the assessment never waits for a half that cannot come.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable

from voiceassist.config import Config
from voiceassist.emotion import EmotionEstimate, SpeechEmotionBackend, TextEmotionBackend
from voiceassist.events import Event, SpeechEmotion, SpeechSegment, StageError, TextEmotion, Transcript
from voiceassist.pipeline.live import LiveCurves, LiveRequest

log = logging.getLogger(__name__)

Done = Callable[[int, EmotionEstimate | None], None]


class SpeechEmotionStage:
    def __init__(self, cfg: Config, backend: Callable[[], SpeechEmotionBackend], done: Done) -> None:
        self._backend = backend
        self._done = done
        self._live = LiveCurves(cfg.emotion)

    def handle(self, item: SpeechSegment | LiveRequest) -> Iterable[Event]:
        if isinstance(item, LiveRequest):
            ev = self._live.update(item, self._backend())
            if ev is not None:
                yield ev
            return
        yield from self._utterance(item)

    def _utterance(self, seg: SpeechSegment) -> Iterable[Event]:
        assert seg.segment_id is not None
        t0 = time.monotonic()
        est: EmotionEstimate | None = None
        try:
            est, curves = self._backend().analyze(seg.audio.as_float32())
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
