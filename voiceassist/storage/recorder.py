"""``StoreRecorder``: a bus subscriber that writes a session's events to the session store as they arrive
(the Session runs it on its own writer thread).

A store that cannot be written (a full disk, an I/O error) is said once (``on_status(False, message)``);
listening goes on, and what would have been written waits in memory, in order (at most ``MAX_HELD``
events), and is tried again every ``RETRY_S`` seconds. When a try succeeds everything held is written and
saving again is said (``on_status(True, message)``). Each write is one transaction, so a failed one leaves
nothing half written, and rows written before the disk filled are untouched.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import time
from collections import deque
from collections.abc import Callable
from typing import Any

import numpy as np

from voiceassist.storage.db import failure_reason as reason
from voiceassist.storage.sessions import SessionStore

log = logging.getLogger(__name__)

RETRY_S = 5.0
MAX_HELD = 20_000
"""Events held in memory while the store cannot be written (about 3000 utterances; the audio is held only
when ``keep_audio`` is on)."""


def _json(v: Any) -> str:
    return json.dumps(v, ensure_ascii=False)


class StoreRecorder:
    """A bus subscriber that writes a session's events to the store as they arrive."""

    def __init__(
        self,
        store: SessionStore,
        source: str,
        keep_audio: bool = False,
        on_status: Callable[[bool, str], None] | None = None,
        keep_transcripts: bool = True,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """``keep_transcripts`` False: the words and the replies are not stored (times, emotions, mood are).
        ``on_status(saving, message)``: called when saving stops and when it resumes. Raises
        ``sqlite3.Error`` when the session cannot even be started in the store."""
        self.store = store
        self.keep_audio = keep_audio
        self.keep_transcripts = keep_transcripts
        self.session_id = store.start_session(source)
        self._backends: dict[str, str] = {}
        self._on_status = on_status
        self._clock = clock
        self._held: deque[Any] = deque()
        self._next_try = 0.0
        self.failed: str | None = None
        """Why the store cannot be written now (None: saving)."""
        self.dropped = 0
        """Events lost because more than ``MAX_HELD`` waited."""

    def __call__(self, ev: Any) -> None:
        if self.failed is None:
            try:
                self._record(ev)
            except sqlite3.Error as e:
                self._fail(e, ev)
            return
        self._hold(ev)
        last = type(ev).__name__ == "PipelineStopped"
        if (self._clock() >= self._next_try or last) and not self.retry() and last:
            msg = f"Not saved: {self.failed}; the last {self.held + self.dropped} items of this conversation are lost."
            log.error(msg)
            if self._on_status is not None:
                self._on_status(False, msg)

    def retry(self) -> bool:
        """Write what is held, in order; True when all of it is written (saving again)."""
        while self._held:
            try:
                self._record(self._held[0])
            except sqlite3.Error:
                self._next_try = self._clock() + RETRY_S
                return False
            self._held.popleft()
        if self.failed is not None:
            lost = f"; {self.dropped} items from the time it was full could not be kept" if self.dropped else ""
            msg = f"Saving again: the conversation is stored in {self.store.path.name}{lost}."
            log.warning(msg)
            self.failed, self.dropped = None, 0
            if self._on_status is not None:
                self._on_status(True, msg)
        return True

    @property
    def held(self) -> int:
        return len(self._held)

    def _fail(self, e: sqlite3.Error, ev: Any) -> None:
        self.failed = reason(e)
        self._next_try = self._clock() + RETRY_S
        self._hold(ev)
        msg = (
            f"Not saving: {self.failed} ({self.store.path}). Listening goes on; this conversation is kept in "
            "memory and saved as soon as there is space again."
        )
        log.error("%s (%s)", msg, e)
        if self._on_status is not None:
            self._on_status(False, msg)

    def _hold(self, ev: Any) -> None:
        if type(ev).__name__ not in _RECORDED:
            return
        if len(self._held) >= MAX_HELD:
            self.dropped += 1
            return
        self._held.append(ev)

    def _record(self, ev: Any) -> None:
        from voiceassist import events as E

        sid, seg = self.session_id, ev.segment_id
        if isinstance(ev, E.StageReady):
            self._backends[ev.stage] = ev.description
            self.store.set_backends(sid, self._backends)
        elif isinstance(ev, E.SpeechSegment):
            self.store.add_utterance(sid, seg, ev.start_s, ev.end_s, ev.audio.samples if self.keep_audio else None)
        elif isinstance(ev, E.Transcript):
            self.store.update_utterance(sid, seg, text=ev.text if self.keep_transcripts else "", language=ev.language)
        elif isinstance(ev, E.SpeechEmotion):
            emb = ev.estimate.embedding
            self.store.update_utterance(
                sid,
                seg,
                speech=_json(ev.estimate.to_json()),
                embedding=None if emb is None else emb.astype(np.float32).tobytes(),
                embedding_dim=None if emb is None else int(emb.shape[0]),
            )
            if ev.frames is not None:
                self.store.add_frames(sid, seg, ev.start_s, ev.frames.frame_rate, ev.frames.probs)
        elif isinstance(ev, E.TextEmotion):
            est = ev.estimate.to_json()
            if not self.keep_transcripts:  # the emotion words are words of the conversation
                est = {k: v for k, v in est.items() if k != "keywords"}
            else:  # numbers both ways: the transcript keeps what the recogniser wrote, this what was read
                est["words_read"] = ev.text
            self.store.update_utterance(sid, seg, text_emotion=_json(est))
        elif isinstance(ev, E.FusedEmotion):
            from voiceassist.emotion.labels import as_dict, valence_arousal

            v, a = valence_arousal(ev.scores)
            fused = {
                "label": ev.label,
                "confidence": ev.confidence,
                "scores": as_dict(ev.scores),
                "rule": ev.rule,
                "weights": {"speech": ev.speech_weight, "text": ev.text_weight},
            }
            self.store.update_utterance(
                sid,
                seg,
                fused=_json(fused),
                fused_label=ev.label,
                confidence=ev.confidence,
                valence=v,
                arousal=a,
                fallback_action=ev.fallback_action,
            )
        elif isinstance(ev, E.MoodUpdate):
            import dataclasses

            self.store.add_mood(sid, seg, dataclasses.asdict(ev.state))
        elif isinstance(ev, E.AlertRaised):
            self.store.add_alert(sid, ev.alert_id, seg, ev.kind, ev.severity, ev.rule, ev.suppressed)
        elif isinstance(ev, E.Reply):
            self.store.update_utterance(sid, seg, reply=ev.text if self.keep_transcripts else None, reply_tone=ev.tone)
        elif isinstance(ev, E.PipelineStopped):
            self.store.end_session(sid)


_RECORDED = {
    "StageReady",
    "SpeechSegment",
    "Transcript",
    "SpeechEmotion",
    "TextEmotion",
    "FusedEmotion",
    "MoodUpdate",
    "AlertRaised",
    "Reply",
    "PipelineStopped",
}
"""The events ``_record`` writes (the others are not held while the disk is full)."""
