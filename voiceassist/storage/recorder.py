"""``StoreRecorder``: a bus subscriber that writes a session's events to the session store as they arrive
(the Session runs it on its own writer thread). A full disk is said once; the session goes on in memory."""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Callable
from typing import Any

import numpy as np

from voiceassist.storage.sessions import SessionStore

log = logging.getLogger(__name__)


def _json(v: Any) -> str:
    return json.dumps(v, ensure_ascii=False)


class StoreRecorder:
    """A bus subscriber that writes a session's events to the store as they arrive."""

    def __init__(
        self,
        store: SessionStore,
        source: str,
        keep_audio: bool = False,
        on_error: Callable[[str], None] | None = None,
        keep_transcripts: bool = True,
    ) -> None:
        """``keep_transcripts`` False: the words and the replies are not stored (times, emotions, mood are)."""
        self.store = store
        self.keep_audio = keep_audio
        self.keep_transcripts = keep_transcripts
        self.session_id = store.start_session(source)
        self._backends: dict[str, str] = {}
        self._on_error = on_error
        self.failed: str | None = None

    def __call__(self, ev: Any) -> None:
        try:
            self._record(ev)
        except sqlite3.Error as e:  # a full disk: say so once; the session goes on in memory
            if self.failed is None:
                self.failed = f"cannot write the session store {self.store.path}: {e}"
                log.error(self.failed)
                if self._on_error is not None:
                    self._on_error(self.failed)

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
