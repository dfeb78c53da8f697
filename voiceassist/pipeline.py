"""The UI-independent pipeline.

Threads (each owned here, each with a stop path and a bounded join):

    source (file or microphone) --chunks--> [capture thread] segmenter + quality checks
                                                 |  SpeechSegment (bounded queue, backpressure)
                                                 v
                                           [asr worker] owns Whisper --> Transcript

Everything a stage produces is a typed event on the bus; the CLI and the window are just subscribers.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable

from voiceassist.asr import AsrBackend, create_backend
from voiceassist.audio.quality import MESSAGES, assess
from voiceassist.audio.sources import AudioInputError, AudioSource
from voiceassist.audio.vad import Segmenter
from voiceassist.bus import EventBus
from voiceassist.config import Config
from voiceassist.events import (
    Event,
    InputOverflow,
    PipelineStopped,
    QualityReport,
    SourceEnded,
    SourceStarted,
    SpeechSegment,
    StageError,
    StageReady,
    Transcript,
)
from voiceassist.worker import Worker

log = logging.getLogger(__name__)


class Pipeline:
    def __init__(self, cfg: Config, source: AudioSource, bus: EventBus | None = None,
                 asr: AsrBackend | None = None) -> None:
        self.cfg = cfg
        self.source = source
        self.bus = bus or EventBus()
        self._asr = asr
        self._stop = threading.Event()
        self._capture: threading.Thread | None = None
        self._asr_worker: Worker[SpeechSegment] = Worker("asr", self.bus, self._transcribe, setup=self._load_asr)
        self.segmenter = Segmenter(cfg.vad)
        self._stopped = False
        self._stop_lock = threading.Lock()

    # -- lifecycle ---------------------------------------------------------------------------------
    def start(self, wait_ready: bool = True) -> None:
        """Open the source (errors raise AudioInputError here, before any thread starts), start the
        workers (models load and warm up in their own threads), then start capturing."""
        info = self.source.open()
        self._asr_worker.start()
        if wait_ready:
            self._asr_worker.ready.wait()
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
        remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
        done = self._asr_worker.drain(remaining)
        self._finish("end of input")
        return done

    def stop(self, timeout: float = 5.0) -> None:
        """Stop capturing (an utterance in progress is closed and still processed), let the workers finish
        what they hold within ``timeout``, then stop them. Idempotent; reverse start order."""
        self._stop.set()
        if self._capture is not None:
            self._capture.join(timeout)
        self._asr_worker.drain(timeout)
        self._asr_worker.stop(1.0)
        self._finish("stopped")

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
        try:
            for chunk in self.source.chunks(self._stop):
                duration = chunk.end_s
                for ev in self.segmenter.push(chunk):
                    self._on_segmenter_event(ev)
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

    def _on_segmenter_event(self, ev: Event) -> None:
        self.bus.publish(ev)
        if not isinstance(ev, SpeechSegment):
            return
        report = self._check_quality(ev)
        self.bus.publish(report)
        if report.ok:
            self._asr_worker.submit(ev)

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
        r = self._asr.transcribe(seg.audio.as_float32())
        yield Transcript(
            segment_id=seg.segment_id, text=r.text, language=r.language,
            language_probability=round(r.language_probability, 4), start_s=seg.start_s, end_s=seg.end_s,
            backend=self._asr.description, no_speech_prob=round(r.no_speech_prob, 4),
            avg_logprob=round(r.avg_logprob, 4) if r.avg_logprob > -1e9 else -99.0,
            dropped_as_hallucination=r.dropped_as_hallucination, processing_s=time.monotonic() - t0,
        )

    @property
    def asr_backend(self) -> AsrBackend | None:
        return self._asr
