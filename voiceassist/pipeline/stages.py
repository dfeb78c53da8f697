"""The UI-independent pipeline.

Threads (each owned here, each with a stop path and a bounded join):

    source (file or microphone) --chunks--> [capture thread] segmenter + quality checks
                                                 |  SpeechSegment (bounded queue, backpressure)
                                                 v
                                           [asr worker] owns Whisper --> Transcript ----------------.
                                                 |                                          v
         (live, while speaking: latest audio only)  [text-emotion worker] --> TextEmotion --.
                                                 v                                           |
                                   [emotion worker] owns the speech-emotion model            |
                                     EmotionFrames (live), SpeechEmotion --> fusion join <---'
                                                                               --> FusedEmotion

The fusion join runs in whichever worker delivers the second half of a segment, right after it, so
FusedEmotion always follows the SpeechEmotion and TextEmotion it is made from.
Everything a stage produces is a typed event on the bus; the CLI and the window are just subscribers.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np

from voiceassist.asr import AsrBackend, create_backend
from voiceassist.audio.chunk import AudioChunk
from voiceassist.audio.quality import MESSAGES, assess
from voiceassist.audio.sources import AudioInputError, AudioSource
from voiceassist.audio.vad import Segmenter
from voiceassist.bus import EventBus
from voiceassist.config import Config
from voiceassist.emotion import EmotionEstimate, SpeechEmotionBackend, TextEmotionBackend
from voiceassist.emotion.fusion import Fused, fuse
from voiceassist.events import (
    AlertRaised,
    AudioLevel,
    EmotionFrames,
    Event,
    FusedEmotion,
    InputOverflow,
    MoodUpdate,
    PipelineStopped,
    QualityReport,
    SourceEnded,
    SourceStarted,
    SpeechDiscarded,
    SpeechEmotion,
    SpeechSegment,
    SpeechStarted,
    StageError,
    StageReady,
    TextEmotion,
    Transcript,
)
from voiceassist.worker import Worker

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LiveRequest:
    """The utterance heard so far, for a live frame-curve update."""

    segment_id: int
    audio: np.ndarray  # int16
    start_s: float
    captured_at: float


class _FusionJoin:
    """Waits for both halves of a segment (speech emotion, text emotion) and fuses them once."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._parts: dict[int, dict[str, object]] = {}

    def add(self, segment_id: int, key: str, value: object, need: tuple[str, ...]) -> dict[str, object] | None:
        """Record one part; return all parts once every needed one is in (missing ones are None)."""
        with self._lock:
            parts = self._parts.setdefault(segment_id, {})
            parts[key] = value
            if all(k in parts for k in need):
                return self._parts.pop(segment_id)
        return None


class Pipeline:
    def __init__(self, cfg: Config, source: AudioSource, bus: EventBus | None = None,
                 asr: AsrBackend | None = None, speech_emotion: SpeechEmotionBackend | None = None,
                 text_emotion: TextEmotionBackend | None = None, live_frames: bool | None = None,
                 alerts: Any = None, speak: bool | None = None, responder: Any = None) -> None:
        self.cfg = cfg
        self.source = source
        self.bus = bus or EventBus()
        self._asr = asr
        self._ser = speech_emotion
        self._ter = text_emotion
        self._stop = threading.Event()
        self._capture: threading.Thread | None = None
        self._asr_worker: Worker[SpeechSegment] = Worker("asr", self.bus, self._transcribe, setup=self._load_asr)
        self.emotion_enabled = cfg.emotion.enabled
        self._emotion_worker: Worker[SpeechSegment | LiveRequest] = Worker(
            "speech-emotion", self.bus, self._speech_emotion, setup=self._load_speech_emotion)
        self._text_worker: Worker[Transcript] = Worker("text-emotion", self.bus, self._text_emotion,
                                                       setup=self._load_text_emotion)
        if live_frames is None:
            live_frames = cfg.emotion.live_frames and bool(getattr(source, "realtime", True))
        self.live_frames = live_frames and self.emotion_enabled
        self._join = _FusionJoin()
        from voiceassist.mood import MoodTracker

        self.mood = MoodTracker(cfg.mood.window, cfg.mood.baseline_min, cfg.mood.pac_threshold)
        self._mood_lock = threading.Lock()
        self._texts: dict[int, Transcript] = {}
        self._recent: deque[dict[str, Any]] = deque(maxlen=max(cfg.mood.window, cfg.alerts.debounce_n) + 2)
        self.alerts = alerts  # an AlertService; created at start when alerts are on
        if speak is None:
            speak = cfg.tts.enabled and bool(getattr(source, "realtime", True))
        if responder is None and cfg.reply.enabled and self.emotion_enabled:
            from voiceassist.responder import Responder

            responder = Responder(cfg, self.bus, speak=speak)
        self.responder = responder
        self._speech_end: dict[int, float] = {}
        self._ignored: set[int] = set()  # utterances heard while the assistant was speaking
        self._barged: set[int] = set()
        self._input_enabled = threading.Event()
        self._input_enabled.set()
        self._languages: dict[int, str] = {}
        self._live_done: dict[int, int] = {}  # segment id -> frames already sent live
        self._live_offered: tuple[int, float] = (-1, 0.0)  # (segment id, seconds heard at the last offer)
        self.segmenter = Segmenter(cfg.vad)
        self._stopped = False
        self._stop_lock = threading.Lock()

    # -- lifecycle ---------------------------------------------------------------------------------
    def start(self, wait_ready: bool = True) -> None:
        """Open the source (errors raise AudioInputError here, before any thread starts), start the
        workers (models load and warm up in their own threads), then start capturing."""
        info = self.source.open()
        if self.alerts is None and self.cfg.alerts.enabled and self.emotion_enabled:
            from voiceassist.alerts.service import AlertService

            self.alerts = AlertService(self.cfg.alerts)
        if self.alerts is not None:
            self.alerts.start()
            self.bus.publish(StageReady(stage="alerts", description="caregiver alerts ON: "
                                        + ", ".join(["banner", *self.alerts.channels]), embedded=False, load_s=0.0))
        workers = self._workers()
        for w in workers:
            w.start()
        if wait_ready:
            for w in workers:
                w.ready.wait()
        self.bus.publish(SourceStarted(source=info.name, sample_rate_in=info.sample_rate, channels_in=info.channels))
        self._capture = threading.Thread(target=self._capture_loop, name="voiceassist-capture", daemon=True)
        self._capture.start()

    def wait(self, timeout: float | None = None) -> bool:
        """Wait until the source has ended and every segment is processed (file sources)."""
        if self._capture is None:
            return True
        deadline = None if timeout is None else time.monotonic() + timeout
        self._capture.join(timeout)
        if self._capture.is_alive():
            return False
        done = True
        for w in self._workers():  # asr first: it feeds the text worker
            remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
            done = w.drain(remaining) and done
        self._stop_alerts()
        self._finish("end of input")
        return done

    def stop(self, timeout: float = 5.0) -> None:
        """Stop capturing (an utterance in progress is closed and still processed), let the workers finish
        what they hold within ``timeout``, then stop them. Idempotent; reverse start order."""
        self._stop.set()
        if self.responder is not None:
            self.responder.stop_speaking()
        if self._capture is not None:
            self._capture.join(timeout)
        for w in self._workers():
            w.drain(timeout)
        for w in reversed(self._workers()):
            w.stop(1.0)
        self._stop_alerts()
        self._finish("stopped")

    def _stop_alerts(self) -> None:
        if self.alerts is not None:
            self.alerts.stop()

    def _workers(self) -> list[Worker]:  # type: ignore[type-arg]
        if not self.emotion_enabled:
            return [self._asr_worker]
        extra = self.responder.workers if self.responder is not None else []
        return [self._asr_worker, self._emotion_worker, self._text_worker, *extra]

    def _finish(self, reason: str) -> None:
        with self._stop_lock:
            if self._stopped:
                return
            self._stopped = True
        self.bus.publish(PipelineStopped(reason=reason))

    # -- capture thread ----------------------------------------------------------------------------
    def _capture_loop(self) -> None:
        error: str | None = None
        last_overflows = 0
        duration = 0.0
        level_every = 0.1 if getattr(self.source, "realtime", True) else float("inf")
        next_level = 0.0
        try:
            for chunk in self.source.chunks(self._stop):
                duration = chunk.end_s
                if not self._input_enabled.is_set():  # push-to-talk released: the segmenter hears silence
                    chunk = AudioChunk(np.zeros_like(chunk.samples), chunk.start_s, chunk.captured_at)
                if chunk.end_s >= next_level:
                    next_level = chunk.end_s + level_every
                    x = chunk.samples.astype(np.float32) / 32768.0
                    rms = float(np.sqrt(np.mean(x * x))) if len(x) else 0.0
                    self.bus.publish(AudioLevel(rms_dbfs=round(20 * np.log10(max(rms, 1e-6)), 1),
                                                in_speech=self.segmenter.in_speech))
                for ev in self.segmenter.push(chunk):
                    self._on_segmenter_event(ev)
                if self.live_frames:
                    self._maybe_offer_live(chunk.captured_at)
                if self.responder is not None and self.cfg.tts.barge_in:
                    self._maybe_barge_in()
                if self.source.overflows != last_overflows:
                    last_overflows = self.source.overflows
                    self.bus.publish(InputOverflow(count=last_overflows))
        except AudioInputError as e:
            error = str(e)
            log.warning("audio input ended with an error: %s", e)
        except Exception as e:  # never let the capture thread die silently
            error = f"{type(e).__name__}: {e}"
            log.error("capture failed", exc_info=True)
        finally:
            for ev in self.segmenter.flush():  # nothing already heard is lost
                self._on_segmenter_event(ev)
            self.bus.publish(SourceEnded(source=self.source.info.name, duration_s=duration,
                                         overflows=self.source.overflows, error=error))

    def set_input_enabled(self, enabled: bool) -> None:
        """Push-to-talk: while disabled, what the microphone hears is replaced by silence (timing kept)."""
        if enabled:
            self._input_enabled.set()
        else:
            self._input_enabled.clear()

    def _maybe_barge_in(self) -> None:
        seg_id = self.segmenter.current_id
        if (seg_id is None or seg_id in self._barged or not self.responder.assistant_speaking
                or self.segmenter.current_voiced_s * 1000 < self.cfg.tts.barge_in_ms):
            return
        self._barged.add(seg_id)
        self.responder.barge_in(seg_id)

    def _on_segmenter_event(self, ev: Event) -> None:
        if self.responder is not None and not self.cfg.tts.barge_in:
            # Turn-taking: without echo cancellation the microphone hears the assistant; what starts while
            # it speaks is not taken as the person's input.
            if isinstance(ev, SpeechStarted) and self.responder.assistant_speaking:
                self._ignored.add(ev.segment_id or 0)
            if isinstance(ev, SpeechSegment) and ev.segment_id in self._ignored:
                self._ignored.discard(ev.segment_id)
                self.bus.publish(SpeechDiscarded(segment_id=ev.segment_id, start_s=ev.start_s,
                                                 voiced_s=ev.end_s - ev.start_s, reason="assistant_speaking"))
                return
        self.bus.publish(ev)
        if not isinstance(ev, SpeechSegment):
            return
        report = self._check_quality(ev)
        self.bus.publish(report)
        if report.ok:
            if self.emotion_enabled:
                self._speech_end[ev.segment_id or 0] = ev.speech_end_at  # popped when its mood is computed
                self._emotion_worker.submit(ev)
            self._asr_worker.submit(ev)

    def _maybe_offer_live(self, captured_at: float) -> None:
        seg_id = self.segmenter.current_id
        if seg_id is None:
            return
        audio = self.segmenter.current_audio()
        heard_s = len(audio) / 16000
        last_id, last_s = self._live_offered
        if heard_s < 0.2 or (last_id == seg_id and heard_s - last_s < self.cfg.emotion.live_interval_ms / 1000):
            return
        self._live_offered = (seg_id, heard_s)
        self._emotion_worker.offer(LiveRequest(segment_id=seg_id, audio=audio,
                                               start_s=self.segmenter.current_start_s, captured_at=captured_at))

    def _check_quality(self, seg: SpeechSegment) -> QualityReport:
        q = assess(seg.audio.samples, self.cfg.quality)
        issue = q.issue
        if issue is None and self.cfg.vad.silero_confirm:
            try:
                from voiceassist.audio.silero import silero_speech_seconds

                speech_s = silero_speech_seconds(seg.audio.as_float32(), self.cfg.vad.silero_threshold,
                                                 self.cfg.vad.min_speech_ms)
                if speech_s * 1000 < self.cfg.vad.min_speech_ms:
                    issue = "noise"
            except Exception as e:
                self.bus.publish(StageError(segment_id=seg.segment_id, stage="silero", message=str(e)))
        msg = MESSAGES.get(issue) if issue else None
        return QualityReport(
            segment_id=seg.segment_id, ok=issue is None, issue=issue,
            message=msg[0] if msg else None, message_zh=msg[1] if msg else None,
            rms_dbfs=round(q.rms_dbfs, 2), peak_dbfs=round(q.peak_dbfs, 2), clipped_ratio=round(q.clipped_ratio, 5),
            trimmed_start_s=seg.start_s + q.trim_start / 16000, trimmed_end_s=seg.start_s + q.trim_end / 16000,
        )

    # -- asr worker --------------------------------------------------------------------------------
    def _load_asr(self) -> Iterable[Event]:
        t0 = time.monotonic()
        if self._asr is None:
            self._asr = create_backend(self.cfg.asr, self.cfg.paths.models_dir)
        self._asr.load()
        warm = getattr(self._asr, "warmup", None)
        if warm is not None:
            warm()
        embedded = bool(getattr(getattr(self._asr, "resolved", None), "embedded", False))
        yield StageReady(stage="asr", description=self._asr.description, embedded=embedded,
                         load_s=time.monotonic() - t0)

    def _transcribe(self, seg: SpeechSegment) -> Iterable[Event]:
        assert self._asr is not None
        t0 = time.monotonic()
        try:
            r = self._asr.transcribe(seg.audio.as_float32())
        except Exception:
            if self.emotion_enabled:  # fusion goes on with the voice alone
                yield from self._join_part(seg.segment_id, "text", None, seg.start_s, seg.end_s)
            raise
        tr = Transcript(
            segment_id=seg.segment_id, text=r.text, language=r.language,
            language_probability=round(r.language_probability, 4), start_s=seg.start_s, end_s=seg.end_s,
            backend=self._asr.description, no_speech_prob=round(r.no_speech_prob, 4),
            avg_logprob=round(r.avg_logprob, 4) if r.avg_logprob > -1e9 else -99.0,
            dropped_as_hallucination=r.dropped_as_hallucination, processing_s=time.monotonic() - t0,
        )
        yield tr
        if self.emotion_enabled:
            self._texts[seg.segment_id] = tr  # popped when its mood is computed
            if tr.text.strip():
                self._text_worker.submit(tr)
            else:
                self._languages[seg.segment_id] = tr.language
                yield from self._join_part(seg.segment_id, "text", None, tr.start_s, tr.end_s)

    # -- emotion workers ---------------------------------------------------------------------------
    def _load_speech_emotion(self) -> Iterable[Event]:
        from voiceassist.emotion import create_speech_backend
        from voiceassist.paths import models_dir

        t0 = time.monotonic()
        note = None
        if self._ser is None:
            try:
                self._ser, note = create_speech_backend(self.cfg.emotion, models_dir(self.cfg.paths.models_dir))
                self._ser.load()
            except Exception as e:  # a broken model folder: say so, and go on with the embedded backend
                log.error("speech emotion model failed to load", exc_info=True)
                from voiceassist.emotion.prosody import ProsodyBackend

                self._ser, note = ProsodyBackend(self.cfg.emotion), str(e)
                self.bus.publish(StageError(stage="speech-emotion", message=str(e)))
        else:
            self._ser.load()
        self._ser.warmup()
        yield StageReady(stage="speech-emotion", description=self._ser.description, embedded=self._ser.embedded,
                         load_s=time.monotonic() - t0, note=note)

    def _load_text_emotion(self) -> Iterable[Event]:
        from voiceassist.emotion import create_text_backend
        from voiceassist.paths import models_dir

        t0 = time.monotonic()
        note = None
        if self._ter is None:
            try:
                self._ter, note = create_text_backend(self.cfg.emotion, models_dir(self.cfg.paths.models_dir))
                self._ter.load()
            except Exception as e:
                log.error("text emotion model failed to load", exc_info=True)
                from voiceassist.emotion.text import LexiconTextBackend

                self._ter, note = LexiconTextBackend(self.cfg.emotion), str(e)
                self._ter.load()
                self.bus.publish(StageError(stage="text-emotion", message=str(e)))
        else:
            self._ter.load()
        yield StageReady(stage="text-emotion", description=self._ter.description, embedded=self._ter.embedded,
                         load_s=time.monotonic() - t0, note=note)

    def _speech_emotion(self, item: SpeechSegment | LiveRequest) -> Iterable[Event]:
        assert self._ser is not None
        if isinstance(item, LiveRequest):
            yield from self._live_frames(item)
            return
        t0 = time.monotonic()
        est: EmotionEstimate | None = None
        try:
            est, curves = self._ser.analyze(item.audio.as_float32())
            yield SpeechEmotion(segment_id=item.segment_id, estimate=est, frames=curves, start_s=item.start_s,
                                end_s=item.end_s, processing_s=time.monotonic() - t0)
        except Exception as e:
            log.error("speech emotion failed on segment %s", item.segment_id, exc_info=True)
            yield StageError(segment_id=item.segment_id, stage="speech-emotion", message=f"{type(e).__name__}: {e}")
        self._live_done.pop(item.segment_id, None)
        yield from self._join_part(item.segment_id, "speech", est, start_s=item.start_s, end_s=item.end_s)

    def _live_frames(self, req: LiveRequest) -> Iterable[Event]:
        """Frames for the audio heard since the last update, computed on it plus a little context."""
        assert self._ser is not None
        rate = self._ser.frame_rate
        done = self._live_done.get(req.segment_id, 0)
        total = int(len(req.audio) / 16000 * rate)
        if total <= done:
            return
        ctx_frames = int(self.cfg.emotion.live_context_s * rate)
        first = max(0, done - ctx_frames)
        audio = req.audio[int(first / rate * 16000):].astype(np.float32) / 32768.0
        curves = self._ser.frames(audio)
        new = curves.probs[done - first: total - first]
        if len(new) == 0:
            return
        self._live_done[req.segment_id] = done + len(new)
        yield EmotionFrames(segment_id=req.segment_id, start_s=req.start_s + done / rate, frame_rate=rate,
                            probs=new, audio_captured_at=req.captured_at, backend=self._ser.description)

    def _text_emotion(self, tr: Transcript) -> Iterable[Event]:
        assert self._ter is not None
        self._languages[tr.segment_id or 0] = tr.language
        est: EmotionEstimate | None = None
        try:
            est = self._ter.analyze(tr.text, tr.language)
            yield TextEmotion(segment_id=tr.segment_id, estimate=est, text=tr.text, language=tr.language)
        except Exception as e:
            log.error("text emotion failed on segment %s", tr.segment_id, exc_info=True)
            yield StageError(segment_id=tr.segment_id, stage="text-emotion", message=f"{type(e).__name__}: {e}")
        yield from self._join_part(tr.segment_id, "text", est, tr.start_s, tr.end_s)

    def _join_part(self, segment_id: int | None, key: str, value: EmotionEstimate | None,
                   start_s: float = 0.0, end_s: float = 0.0) -> Iterable[Event]:
        """One half of a segment's emotion is in; fuse when the other half is too (or cannot come)."""
        if segment_id is None:
            return
        need = tuple(k for k, worker in (("speech", self._emotion_worker), ("text", self._asr_worker))
                     if worker.failed_setup is None) or (key,)
        parts = self._join.add(segment_id, key, (value, (start_s, end_s)), need)
        if parts is None:
            return
        speech, span = parts.get("speech") or (None, None)  # type: ignore[misc]
        text, text_span = parts.get("text") or (None, None)  # type: ignore[misc]
        start, end = span or text_span or (start_s, end_s)
        lang = "zh" if self._languages.pop(segment_id, "") == "zh" or self.cfg.asr.language == "zh" else "en"
        speech_est = speech if isinstance(speech, EmotionEstimate) else None
        text_est = text if isinstance(text, EmotionEstimate) else None
        f = fuse(speech_est, text_est, self.cfg.emotion, lang)
        yield FusedEmotion(segment_id=segment_id, scores=f.scores, label=f.label, confidence=round(f.confidence, 4),
                           speech=speech_est, text=text_est, speech_weight=f.speech_weight,
                           text_weight=f.text_weight, rule=f.rule, fallback_action=f.fallback_action,
                           suggested_response=f.suggested_response, language=lang, start_s=start, end_s=end)
        yield from self._mood_and_alerts(segment_id, speech_est, f, start, end)

    def _mood_and_alerts(self, segment_id: int, speech: EmotionEstimate | None, f: Fused, start: float,
                         end: float) -> Iterable[Event]:
        tr = self._texts.pop(segment_id, None)
        speech_end_at = self._speech_end.pop(segment_id, 0.0)
        with self._mood_lock:  # two workers may finish segments at the same time
            state = self.mood.update(speech.embedding if speech is not None else None, f.scores)
            self._recent.append({"segment_id": segment_id, "start_s": round(start, 3), "end_s": round(end, 3),
                                 "text": tr.text if tr else "", "fused": f.label,
                                 "confidence": round(f.confidence, 4),
                                 "valence": round(state.valence, 4), "arousal": round(state.arousal, 4)})
            recent = list(self._recent)
        yield MoodUpdate(segment_id=segment_id, state=state, embedding_backend=speech.backend if speech else None)
        if self.responder is not None:
            from voiceassist.responder import ReplyRequest

            lang = "zh" if tr is not None and tr.language == "zh" else "en"
            self.responder.reply_worker.submit(ReplyRequest(
                segment_id=segment_id, text=tr.text if tr else "", language=lang, label=f.label,
                fallback_action=f.fallback_action, suggested_response=f.suggested_response,
                mood_valence=state.mean_valence, mood_turns=state.n, speech_end_at=speech_end_at))
        if self.alerts is None:
            return
        evidence = {"utterances": recent, "mood": {k: getattr(state, k) for k in (
            "volatility_l2", "volatility_cos", "volatility_relative", "rmssd_valence", "pac_valence",
            "rmssd_arousal", "pac_arousal", "mean_valence", "mean_arousal")}}
        for alert_id, d in self.alerts.evaluate(time.monotonic(), segment_id, tr.text if tr else "",
                                                state.metric(self.cfg.alerts.metric), evidence):
            yield AlertRaised(segment_id=segment_id, alert_id=alert_id, kind=d.kind, severity=d.severity.value,
                              rule=d.rule, segment_ids=d.segment_ids, suppressed=d.suppressed,
                              channels=() if d.suppressed else tuple(self.alerts.channels))

    @property
    def asr_backend(self) -> AsrBackend | None:
        return self._asr

    @property
    def speech_emotion_backend(self) -> SpeechEmotionBackend | None:
        return self._ser

    @property
    def text_emotion_backend(self) -> TextEmotionBackend | None:
        return self._ter
