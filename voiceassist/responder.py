"""Answering: the reply worker (owns the optional language model) and the TTS worker (owns the pyttsx3
engine and the player). The pipeline hands each fused utterance over; the capture thread asks
``assistant_speaking`` for turn-taking and calls ``barge_in``.

    fused + mood --ReplyRequest--> [reply worker] ReplyPlanner (+ generative) --> Reply
                                           --> [tts worker] render (pyttsx3) --> Player (sounddevice)
                                                --> PlaybackStarted ... PlaybackEnded
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
from collections import deque
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from voiceassist.bus import EventBus
from voiceassist.config import Config
from voiceassist.events import BargeIn, Event, PlaybackEnded, PlaybackStarted, Reply, StageReady
from voiceassist.paths import resources_dir
from voiceassist.reply.planner import ReplyPlanner
from voiceassist.reply.request import ReplyRequest
from voiceassist.voices import split_sentences
from voiceassist.worker import Worker

if TYPE_CHECKING:
    from voiceassist.reply.generative import GenerativeReplier
    from voiceassist.tts import Player, Synthesizer
    from voiceassist.voices import VoiceSet

log = logging.getLogger(__name__)


class Responder:
    def __init__(
        self,
        cfg: Config,
        bus: EventBus,
        speak: bool,
        player: Player | None = None,
        synthesizer: Synthesizer | VoiceSet | None = None,
    ) -> None:
        self.cfg = cfg
        self.bus = bus
        self.speak = speak
        self._player = player
        self._synth = synthesizer
        self.planner = ReplyPlanner(
            resources_dir() / "replies",
            seed=None if cfg.reply.seed < 0 else cfg.reply.seed,
            low_mood_valence=cfg.reply.low_mood_valence,
            low_mood_turns=cfg.reply.low_mood_turns,
        )
        self._gen: GenerativeReplier | None = None
        self._history: deque[tuple[str, str]] = deque(maxlen=3)
        self.reply_worker: Worker[ReplyRequest] = Worker("reply", bus, self._reply, setup=self._load_reply)
        self.tts_worker: Worker[Reply] = Worker("tts", bus, self._say, setup=self._load_tts)
        self.output_error: str | None = None
        self.muted = False
        """Mute voice: replies are shown, not spoken."""
        self._speaking = threading.Event()

    # -- its workers: started, drained and stopped by whoever runs the conversation -----------------
    @property
    def workers(self) -> list[Worker[Any]]:
        return [self.reply_worker, self.tts_worker] if self.speak else [self.reply_worker]

    def start(self) -> None:
        """Start the reply worker (and the speech worker when replies are spoken); each loads in its thread."""
        for w in self.workers:
            w.start()

    def wait_ready(self, timeout: float | None = None) -> bool:
        """Until every worker has loaded what it owns (the voice, the language model)."""
        return all(w.ready.wait(timeout) for w in self.workers)

    def submit(self, req: ReplyRequest) -> None:
        """Answer ``req`` (queued; the reply is published, then spoken)."""
        self.reply_worker.submit(req)

    def drain(self, timeout: float | None = None) -> bool:
        """Finish the replies asked for (and speak them), in order, within ``timeout``."""
        deadline = None if timeout is None else time.monotonic() + timeout
        done = True
        for w in self.workers:
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            done = w.drain(left) and done
        return done

    def stop(self, timeout: float = 1.0) -> bool:
        """Stop now (what is queued is dropped); idempotent."""
        done = True
        for w in reversed(self.workers):
            done = w.stop(timeout) and done
        return done

    # -- turn-taking (called from the capture thread) -----------------------------------------------
    @property
    def assistant_speaking(self) -> bool:
        return self._speaking.is_set()

    def barge_in(self, segment_id: int | None) -> None:
        player = self._player
        if player is None or not self._speaking.is_set():
            return
        t0 = time.monotonic()
        if player.stop():
            player.wait(1.0)
            stopped = player.stopped_at or time.monotonic()
            self.bus.publish(BargeIn(segment_id=segment_id, stopped_after_s=stopped - t0))

    def stop_speaking(self) -> bool:
        return bool(self._player is not None and self._player.stop())

    # -- reply worker ------------------------------------------------------------------------------
    def _load_reply(self) -> Iterable[Event]:
        yield self.load_replier()

    def load_replier(self) -> StageReady:
        """Load what writes replies (the optional language model); says which one runs."""
        t0 = time.monotonic()
        note = None
        desc = "strategy replies (resources/replies)"
        if self.cfg.reply.backend == "generative":
            from voiceassist.paths import models_dir
            from voiceassist.reply.generative import GenerativeReplier

            folder = Path(self.cfg.reply.model).expanduser()
            if not folder.is_dir():
                folder = models_dir(self.cfg.paths.models_dir) / self.cfg.reply.model
            try:
                if not self.cfg.reply.model or not (folder / "config.json").is_file():
                    raise FileNotFoundError(f"no language model in {folder} (config.json, weights, tokenizer)")
                gen = GenerativeReplier(folder, self.cfg.reply.max_new_tokens, self.cfg.reply.timeout_s)
                gen.load()
                self._gen = gen
                desc = gen.description + ", strategy replies as fallback"
            except Exception as e:
                note = f"generative replies unavailable ({e}); using the strategy replies"
                log.warning(note)
        return StageReady(
            stage="reply", description=desc, embedded=self._gen is None, load_s=time.monotonic() - t0, note=note
        )

    def _reply(self, req: ReplyRequest) -> Iterable[Event]:
        reply = self.answer(req)
        yield reply
        if self.speak:
            self.tts_worker.submit(reply)

    def answer(self, req: ReplyRequest, history: list[tuple[str, str]] | None = None) -> Reply:
        """The reply to one utterance (planner, then the generative backend when loaded). ``history``: the
        conversation's earlier (said, answered) pairs, when the caller keeps them (the API's chat); by
        default this responder's own last three."""
        for item in self.answer_stream(req, history):
            if isinstance(item, Reply):
                return item
        raise AssertionError("answer_stream ends with the Reply")  # pragma: no cover

    def answer_stream(self, req: ReplyRequest, history: list[tuple[str, str]] | None = None) -> Iterator[str | Reply]:
        """The reply as it is produced: text pieces (a generated reply a sentence at a time, as the model
        writes it; a planned one by sentence), then the whole Reply. Crisis replies are never generated."""
        plan = self.planner.plan(req)  # crisis: detected once, by the assessment stage
        source, note, pieces = plan.source, None, []
        if self._gen is not None and plan.source in ("strategy", "intent") and req.text:
            pairs = list(self._history) if history is None else history[-3:]
            for piece in self._gen.stream(req.text, req.label, plan.tone, plan.language, pairs):
                pieces.append(piece)
                yield piece
            if pieces:
                source = "generative"
            else:
                note = f"generated reply not used: {self._gen.last_error}"
        if not pieces:
            sep = "" if plan.language == "zh" else " "
            for i, sentence in enumerate(split_sentences(plan.text)):
                piece = sentence if i == 0 else sep + sentence
                pieces.append(piece)
                yield piece
        text = "".join(pieces).strip() if source == "generative" else plan.text
        if req.text and history is None:
            self._history.append((req.text, text))
        yield Reply(
            segment_id=req.segment_id,
            text=text,
            language=plan.language,
            tone=plan.tone,
            strategy=plan.strategy,
            intent=plan.intent,
            source=source,
            note=note,
            speech_end_at=req.speech_end_at,
        )

    # -- tts worker --------------------------------------------------------------------------------
    def _load_tts(self) -> Iterable[Event]:
        from voiceassist.tts import Player
        from voiceassist.voices import VoiceSet

        t0 = time.monotonic()
        if self._synth is None:
            self._synth = VoiceSet.from_config(self.cfg.tts, self.cfg.paths.models_dir)
        self._synth.load()
        if self._player is None:
            dev = self.cfg.tts.output_device
            self._player = Player(int(dev) if dev.isdigit() else (dev or None))
        unavailable = getattr(self._player, "unavailable", lambda: None)()
        self.output_error = unavailable
        notes = [*getattr(self._synth, "notes", []), *([unavailable] if unavailable else [])]
        yield StageReady(
            stage="tts",
            description=self._synth.description,
            embedded=True,
            load_s=time.monotonic() - t0,
            note="; ".join(notes) or None,
        )

    def _say(self, reply: Reply) -> Iterable[Event]:
        from voiceassist.tts import TtsError

        if self.output_error is not None:  # no output device: the reply is shown, and that is all
            yield PlaybackEnded(segment_id=reply.segment_id, played_s=0.0, error=self.output_error)
            return
        if self.muted:
            yield PlaybackEnded(segment_id=reply.segment_id, played_s=0.0, error="voice muted")
            return
        t0 = time.monotonic()
        assert self._synth is not None
        try:
            if hasattr(self._synth, "stream"):
                rate, chunks = self._synth.stream(reply.text, reply.language, reply.tone)
            else:  # a synthesizer that renders whole texts only
                samples, rate = self._synth.render(reply.text, reply.language, reply.tone)
                chunks = iter([samples])
            first = next(chunks)  # time to first audio: the first sentence
        except (TtsError, StopIteration) as e:
            yield PlaybackEnded(segment_id=reply.segment_id, played_s=0.0, error=f"nothing spoken: {e or 'no audio'}")
            return
        render_s = time.monotonic() - t0
        player = self._player
        assert player is not None
        started: list[float] = []

        def on_start(first_sample_at: float) -> None:  # publish from the worker thread, as it happens
            started.append(first_sample_at)
            self.bus.publish(
                PlaybackStarted(
                    segment_id=reply.segment_id,
                    first_sample_at=first_sample_at,
                    duration_s=len(first) / rate,
                    render_s=render_s,
                )
            )

        self._speaking.set()
        try:
            player.play(itertools.chain([first], chunks), rate, on_start)
        except TtsError as e:
            log.warning("%s", e)
            yield PlaybackEnded(segment_id=reply.segment_id, played_s=0.0, error=str(e))
            return
        finally:
            self._speaking.clear()
        yield PlaybackEnded(
            segment_id=reply.segment_id,
            played_s=player.played_s,
            total_s=player.total_s,
            interrupted=player.interrupted,
        )
