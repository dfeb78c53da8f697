"""faster-whisper backend. The model is owned by the ASR worker; segments are consumed there."""

from __future__ import annotations

import logging
import math
import os
import threading
from typing import Any

import numpy as np

from voiceassist.asr import guard
from voiceassist.asr.base import AsrResult
from voiceassist.asr.models import AUTO, ResolvedModel, choose_auto_model, resolve_whisper_model
from voiceassist.config import AsrConfig
from voiceassist.events import Word
from voiceassist.paths import models_dir

log = logging.getLogger(__name__)


def cuda_available() -> bool:
    try:
        import ctranslate2

        return bool(ctranslate2.get_cuda_device_count() > 0)
    except Exception:
        return False


def _encoder_caching_model_class() -> Any:
    """WhisperModel that reuses the encoder output when asked to encode the same features twice.

    With the language left open, faster-whisper 1.2 encodes each window once to detect the language and
    again to decode it. Our utterances fit one 30 s window, so detecting on the same features first and
    then decoding hits this one-entry cache: one encoder pass per utterance instead of two.
    """
    from faster_whisper import WhisperModel

    class EncoderCachingWhisperModel(WhisperModel):  # type: ignore[misc]
        encoder_calls = 0
        window_frames = 0  # 0: Whisper's full 30 s window; else features are cut to this many frames

        def encode(self, features: np.ndarray):  # type: ignore[no-untyped-def]
            if 0 < self.window_frames < features.shape[-1]:
                # faster-whisper pads every window to 3000 frames with zeros; the encoder's cost grows
                # with its input (attention: faster than linearly), so a short utterance is encoded in a
                # shorter window. Only the padding is cut: window_frames covers the whole utterance.
                features = np.ascontiguousarray(features[..., : self.window_frames])
            last = getattr(self, "_last_encoded", None)
            if last is not None and last[0].shape == features.shape and np.array_equal(last[0], features):
                return last[1]
            self.encoder_calls += 1
            out = super().encode(features)
            self._last_encoded = (np.array(features, copy=True), out)
            return out

    return EncoderCachingWhisperModel


SAMPLES_PER_FRAME = 320
"""Whisper's encoder output: one frame per 20 ms of 16 kHz audio (two mel frames, stride 2)."""


def window_frames(n_samples: int, min_window_s: float) -> int:
    """Encoder input length (100 frames a second) for an utterance of ``n_samples`` at 16 kHz: the
    utterance plus 1 s, at least ``min_window_s``, rounded up to a whole second; 0 (the full 30 s window,
    as Whisper was trained) when ``min_window_s`` is 30 or the utterance needs the whole window anyway."""
    if min_window_s >= 30:
        return 0
    seconds = max(min_window_s, math.ceil(n_samples / 16000 + 1.0))
    return 0 if seconds >= 30 else int(seconds * 100)


class FasterWhisperBackend:
    name = "faster-whisper"

    def __init__(self, cfg: AsrConfig, models_dir_setting: str = "") -> None:
        self.cfg = cfg
        self.models_dir = models_dir(models_dir_setting)
        self.model: Any = None
        self.resolved: ResolvedModel | None = None
        self.device = "cpu"
        self.compute_type = "int8"
        self.cpu_threads = 0
        self.choice = ""  # with asr.model = "auto": which model was chosen and why
        self._converter: Any = None
        self._lock = threading.RLock()  # one decode at a time: the model's window and encoder cache are state

    @property
    def embedded(self) -> bool:
        return bool(self.resolved is not None and self.resolved.embedded)

    @property
    def description(self) -> str:
        if self.resolved is None:
            return f"faster-whisper {self.cfg.model} (not loaded)"
        tag = " [embedded default]" if self.resolved.embedded else ""
        choice = f"; {self.choice}" if self.choice else ""
        return (
            f"faster-whisper {self.resolved.name} ({self.resolved.source}, {self.device}/{self.compute_type}"
            f"{choice}){tag}"
        )

    def load(self) -> None:
        WhisperModel = _encoder_caching_model_class()
        want_cuda = self.cfg.device == "cuda" or (self.cfg.device == "auto" and cuda_available())
        name = self.cfg.model
        if name == AUTO:
            name, self.choice = choose_auto_model(self.models_dir, os.cpu_count() or 1, want_cuda)
        self.resolved = resolve_whisper_model(name, self.models_dir, self.cfg.allow_download)
        attempts = [("cuda", "float16")] if want_cuda else []
        attempts.append(("cpu", "int8"))
        last_error: Exception | None = None
        for device, default_ct in attempts:
            ct = default_ct if self.cfg.compute_type == "default" else self.cfg.compute_type
            try:
                threads = self.cfg.cpu_threads or min(os.cpu_count() or 4, 8)
                self.model = WhisperModel(str(self.resolved.path), device=device, compute_type=ct, cpu_threads=threads)
                self.device, self.compute_type, self.cpu_threads = device, ct, threads
                break
            except (RuntimeError, ValueError, OSError) as e:  # e.g. CUDA libraries missing
                last_error = e
                log.warning("loading Whisper on %s/%s failed: %s", device, ct, e)
        if self.model is None:
            raise RuntimeError(f"cannot load Whisper model from {self.resolved.path}: {last_error}") from last_error
        if self.cfg.chinese_script != "as-is":
            import opencc

            self._converter = opencc.OpenCC("t2s" if self.cfg.chinese_script == "simplified" else "s2t")
        log.info("ASR ready: %s", self.description)

    def warmup(self) -> None:
        """One short decode (and one speech-gate pass) so the first utterance does not pay for lazy
        initialisation. The decode is called directly: the gate would (rightly) skip silence."""
        quiet = np.zeros(8000, dtype=np.float32)
        with self._lock:
            if self.model is None:
                self.load()
            self.model.window_frames = window_frames(len(quiet), self.cfg.encoder_window_s)
            self._decode(quiet, self.cfg.language if self.cfg.language != "auto" else None)
        guard.gate(np.random.default_rng(0).normal(0, 0.01, 8000).astype(np.float32), self.cfg)

    def _decode(  # type: ignore[no-untyped-def]
        self, audio: np.ndarray, language: str | None, prompt: bool = True, words: bool = False, greedy: bool = False
    ):
        assert self.model is not None
        zh = language == "zh"
        beam = (self.cfg.beam_size_zh or self.cfg.beam_size) if zh else self.cfg.beam_size
        segments, info = self.model.transcribe(
            audio,
            language=language,
            beam_size=1 if greedy else beam,
            initial_prompt=(self.cfg.initial_prompt_zh or None) if prompt and zh else None,
            hotwords=" ".join(self.cfg.hotwords) or None,
            temperature=[0.0, 0.2, 0.4, 0.6, 0.8, 1.0] if self.cfg.temperature_fallback else 0.0,
            condition_on_previous_text=False,
            vad_filter=False,
            without_timestamps=True,
            word_timestamps=words,
        )
        return list(segments), info  # decoding happens here, while iterating, in this (worker) thread

    def detect_language(self, audio: np.ndarray) -> tuple[str, float]:
        """Most likely language among ``asr.languages``, from the first 30 s (shares the encoder pass), and
        its probability among ALL of Whisper's languages: speech in a language the models were not set up
        for (Cantonese, Japanese) comes out as a low probability, not as a confident zh or en."""
        assert self.model is not None
        if not self.model.model.is_multilingual:
            return "en", 1.0
        features = self.model.feature_extractor(audio)[..., :-1]  # the frames decoding will encode
        _, _, all_probs = self.model.detect_language(features=features)
        probs = dict(all_probs)
        allowed = {lang: probs.get(lang, 0.0) for lang in self.cfg.languages}
        best = max(allowed, key=lambda lang: allowed[lang])
        top = max(probs, key=lambda lang: probs[lang]) if probs else best
        if top != best:
            log.info(
                "language: %s (%.2f) outside asr.languages; decoding as %s (%.2f)", top, probs[top], best, allowed[best]
            )
        return best, allowed[best]

    def transcribe(self, audio: np.ndarray, language: str | None = None, words: bool = False) -> AsrResult:
        with self._lock:
            if self.model is None:
                self.load()
            return self._transcribe(audio, self.cfg.language if language is None else language, words)

    def preview(self, audio: np.ndarray, language: str | None = None) -> AsrResult:
        """A partial transcript of speech still going on, shown greyed and then replaced: the cheap pass
        (greedy, every language in the short window), so that it never keeps the worker from the pass whose
        words are kept. Mandarin's final pass (beam 5, the full 30 s window) costs 3-5x more on a CPU."""
        with self._lock:
            if self.model is None:
                self.load()
            return self._transcribe(audio, self.cfg.language if language is None else language, False, preview=True)

    def _transcribe(self, audio: np.ndarray, asked: str, words: bool, preview: bool = False) -> AsrResult:
        short = window_frames(len(audio), self.cfg.encoder_window_s)
        known = asked if asked != "auto" else None
        short_here = preview or known is None or known in self.cfg.short_window_languages
        self.model.window_frames = short if short_here else 0
        g = guard.gate(audio, self.cfg)
        if not g.decode:  # silence, noise, hum: Whisper never sees it (it would write text for it)
            language = known or self.cfg.languages[0]
            return AsrResult("", language, 0.0, 1.0, -math.inf, dropped_as_hallucination=False, dropped_reason=g.reason)
        if known is None:
            language, probability = self.detect_language(audio)
        else:
            language, probability = known, 1.0
        if language not in self.cfg.short_window_languages and not preview:
            self.model.window_frames = 0  # decoded in the full window (detected in the short one)
        segments, _ = self._decode(audio, language, words=words, greedy=preview)
        d = guard.decide(g, [(s.text, s.no_speech_prob, s.avg_logprob) for s in segments], self.cfg)
        if language == "zh" and self.cfg.initial_prompt_zh and not "".join(d.texts).strip() and not preview:
            # The prompt must never make words disappear: on some short answers ("好的") Whisper ends at
            # once after it, or loops. The gate heard speech, so decode once more without it.
            segments, _ = self._decode(audio, language, prompt=False, words=words)
            d = guard.decide(g, [(s.text, s.no_speech_prob, s.avg_logprob) for s in segments], self.cfg)
        if d.reasons:
            log.debug("ASR guard: %s on %r", d.reasons, [s.text for s in segments])
        text = ("" if language == "zh" else " ").join(d.texts).strip()
        if language == "zh" and self._converter is not None:
            text = self._converter.convert(text)
        nsp = float(np.mean([s.no_speech_prob for s in segments])) if segments else 1.0
        weights = [max(s.end - s.start, 1e-3) for s in segments]
        lp = float(np.average([s.avg_logprob for s in segments], weights=weights)) if segments else -math.inf
        return AsrResult(
            text,
            language,
            probability,
            nsp,
            lp,
            dropped_as_hallucination=d.produced and not text,
            dropped_reason=d.reasons[0] if d.reasons else None,
            words=_kept_words(segments, d.texts, self._converter if language == "zh" else None) if words else (),
            encoder=self._speech_frames(len(audio)),
        )

    def encode_speech(self, audio: np.ndarray, window: str = "short") -> np.ndarray:
        """The encoder frames a decode of ``audio`` would read, without decoding: ``window`` "short" (the
        window English is decoded in, ``asr.encoder_window_s``) or "full" (Whisper's 30 s, Mandarin's). For
        training the voice head on exactly what it reads at run time."""
        from faster_whisper.audio import pad_or_trim

        with self._lock:
            if self.model is None:
                self.load()
            audio = np.asarray(audio, np.float32)[: 30 * 16000]
            features = pad_or_trim(self.model.feature_extractor(audio)[..., :-1])  # as decoding cuts it
            self.model.window_frames = window_frames(len(audio), self.cfg.encoder_window_s) if window == "short" else 0
            self.model.encode(features)
            frames = self._speech_frames(len(audio))
        if frames is None:
            raise RuntimeError("this CTranslate2 build gives no readable encoder output")
        return frames

    def _speech_frames(self, n_samples: int) -> np.ndarray | None:
        """The encoder output of the decode just run, over the speech only (the padding left out; at most
        Whisper's 30 s window), float32 on the CPU."""
        last = getattr(self.model, "_last_encoded", None)
        if last is None:
            return None
        try:
            out = last[1]
            if str(getattr(out, "device", "cpu")) != "cpu":
                import ctranslate2

                out = out.to_device(ctranslate2.Device.cpu)
            arr = np.asarray(np.array(out), dtype=np.float32)
        except Exception:  # a CTranslate2 without the array interface: no voice features, said in the log
            log.debug("the encoder output could not be read", exc_info=True)
            return None
        n = min(arr.shape[1], max(1, math.ceil(n_samples / SAMPLES_PER_FRAME)))
        return np.ascontiguousarray(arr[0, :n])


def _kept_words(segments: Any, kept: list[str], converter: Any) -> tuple[Word, ...]:
    """The words of the segments the guard kept (a dropped loop or phantom phrase has no words here)."""
    keep = {t.strip() for t in kept}
    out = []
    for s in segments:
        if s.text.strip() not in keep:
            continue
        for w in s.words or ():
            text = converter.convert(w.word) if converter is not None else w.word
            out.append(Word(text.strip(), round(w.start, 3), round(w.end, 3), round(w.probability, 4)))
    return tuple(w for w in out if w.word)
