"""Config sections for hearing the person: audio input, voice activity detection, input quality, ASR."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from typing import Literal

if sys.version_info >= (3, 11):
    pass
else:  # pragma: no cover
    pass

from voiceassist.config.checks import (
    ASR_BACKENDS,
    COMPUTE_TYPES,
    MAX_CPU_THREADS,
    WHISPER_LANGUAGES,
    require,
)


@dataclass
class AudioConfig:
    input_device: str = ""
    """Microphone by name (substring match) or index; empty: the system default input."""
    block_ms: int = 30
    """Capture block length. The audio callback only copies blocks into a bounded queue."""
    queue_seconds: float = 10.0
    """Seconds of audio the capture queue holds before blocks are dropped (and counted)."""
    no_data_timeout_s: float = 2.0
    """A running microphone that delivers nothing for this long is treated as unplugged."""
    file_chunk_ms: int = 100
    """Chunk length when reading files."""

    def validate(self) -> None:
        require(self.block_ms in (10, 20, 30, 40, 50, 100), "audio.block_ms", "one of 10, 20, 30, 40, 50, 100")
        require(0 < self.queue_seconds <= 600, "audio.queue_seconds", "in (0, 600]")
        require(0 < self.no_data_timeout_s <= 60, "audio.no_data_timeout_s", "in (0, 60]")
        require(10 <= self.file_chunk_ms <= 5000, "audio.file_chunk_ms", "between 10 and 5000")


@dataclass
class VadConfig:
    aggressiveness: int = 2
    """webrtcvad aggressiveness, 0 (keeps most audio as speech) to 3 (most eager to call it non-speech)."""
    frame_ms: int = 30
    """webrtcvad frame length: 10, 20 or 30 ms."""
    start_window_ms: int = 150
    """Speech starts when at least ``start_ratio`` of the frames in this window are voiced."""
    start_ratio: float = 0.6
    end_ratio: float = 0.9
    """Speech ends when at least ``end_ratio`` of the frames in the hangover window are unvoiced."""
    hangover_ms: int = 500
    """End-of-speech hangover: how much trailing silence closes an utterance."""
    preroll_ms: int = 300
    """Audio kept from before the detected start so first words are not clipped."""
    postroll_ms: int = 150
    """Audio kept after the last voiced frame."""
    min_speech_ms: int = 250
    """Utterances with less voiced audio than this are dropped as clicks or coughs."""
    max_segment_s: float = 20.0
    """Long monologues are cut into pieces of at most this length (Whisper reads 30 s windows)."""
    silero_confirm: bool = False
    """Also run silero-vad on each segment and drop segments where it finds no speech (noise)."""
    silero_threshold: float = 0.5

    def validate(self) -> None:
        require(self.aggressiveness in (0, 1, 2, 3), "vad.aggressiveness", "0, 1, 2 or 3")
        require(self.frame_ms in (10, 20, 30), "vad.frame_ms", "10, 20 or 30")
        require(self.frame_ms <= self.start_window_ms <= 2000, "vad.start_window_ms", "between vad.frame_ms and 2000")
        require(0 < self.start_ratio <= 1, "vad.start_ratio", "in (0, 1]")
        require(0 < self.end_ratio <= 1, "vad.end_ratio", "in (0, 1]")
        require(self.frame_ms <= self.hangover_ms <= 10000, "vad.hangover_ms", "between vad.frame_ms and 10000")
        require(0 <= self.preroll_ms <= 2000, "vad.preroll_ms", "between 0 and 2000")
        require(0 <= self.postroll_ms <= self.hangover_ms, "vad.postroll_ms", "between 0 and vad.hangover_ms")
        require(0 <= self.min_speech_ms <= 10000, "vad.min_speech_ms", "between 0 and 10000")
        require(1.0 <= self.max_segment_s <= 30.0, "vad.max_segment_s", "between 1 and 30")
        require(0 < self.silero_threshold < 1, "vad.silero_threshold", "in (0, 1)")


@dataclass
class TurnConfig:
    """When the person has finished speaking, and the words shown while they speak."""

    end_of_turn: Literal["semantic", "adaptive", "fixed"] = "semantic"
    """fixed: every utterance ends after vad.hangover_ms of silence. semantic: the end-of-turn model reads
    the words heard so far (voiceassist/asr/eot.py): finished (P >= finished_above, and the pitch did not
    stay up unless it is a question): complete_hangover_ms; mid-thought (P <= unfinished_below):
    trailing_hangover_ms; unsure: vad.hangover_ms. Without the model it acts as adaptive: the trailing-word
    rule (a complete sentence on a falling pitch: complete_hangover_ms; a trailing "and", "because", "um",
    "然后", "就是"...: trailing_hangover_ms; otherwise vad.hangover_ms)."""
    complete_hangover_ms: int = 250
    """Silence that ends a turn the words say is finished (and whose pitch falls, or is a question)."""
    trailing_hangover_ms: int = 1000
    """Silence that ends a turn whose words are mid-thought (trailing off on a conjunction or a filler)."""
    finished_above: float = 0.8
    """semantic: P(finished) at or above which the turn counts as finished (chosen on the dev cuts: at most
    5% of unfinished ones reach it in each language; resources/models/end_of_turn/MODEL_CARD.md)."""
    unfinished_below: float = 0.2
    """semantic: P(finished) at or below which the person is mid-thought (at most 5% of the dev turns, single
    sentences and single clauses in each language wait that long)."""
    speculative_pause_ms: int = 200
    """Start transcribing at a pause this long instead of waiting for the end of the turn; the work is
    thrown away if the person goes on (0: off)."""
    partials: bool = True
    """Show the words heard so far while the person speaks (a preview; the final transcript replaces it)."""
    partial_every_ms: int = 700
    """At most one partial transcript per this much new speech."""

    def validate(self) -> None:
        modes = ("semantic", "adaptive", "fixed")
        require(self.end_of_turn in modes, "turn.end_of_turn", "semantic, adaptive or fixed")
        require(0 <= self.unfinished_below < self.finished_above <= 1, "turn.finished_above",
                "above turn.unfinished_below, both in [0, 1]")  # fmt: skip
        require(90 <= self.complete_hangover_ms <= 10000, "turn.complete_hangover_ms", "between 90 and 10000")
        require(90 <= self.trailing_hangover_ms <= 10000, "turn.trailing_hangover_ms", "between 90 and 10000")
        require(0 <= self.speculative_pause_ms <= 5000, "turn.speculative_pause_ms", "between 0 and 5000")
        require(200 <= self.partial_every_ms <= 10000, "turn.partial_every_ms", "between 200 and 10000")


@dataclass
class QualityConfig:
    rms_floor_dbfs: float = -45.0
    """A segment whose speech is quieter than this is not transcribed ("please speak closer")."""
    clip_ratio: float = 0.01
    """A segment with more than this fraction of samples at full scale counts as clipped."""
    reject_clipped: bool = True
    trim_threshold_db: float = 40.0
    """Leading/trailing audio this many dB below the segment's loudest 10 ms is trimmed as silence."""

    def validate(self) -> None:
        require(-90 < self.rms_floor_dbfs < 0, "quality.rms_floor_dbfs", "between -90 and 0")
        require(0 < self.clip_ratio < 1, "quality.clip_ratio", "in (0, 1)")
        require(10 <= self.trim_threshold_db <= 80, "quality.trim_threshold_db", "between 10 and 80")


@dataclass
class AsrConfig:
    backend: str = "faster-whisper"
    model: str = "base"
    """A size name (tiny, base, small, ..., large-v3, tiny.en...), a hub repo id, or a folder path."""
    device: Literal["auto", "cpu", "cuda"] = "auto"
    """auto: CUDA when CTranslate2 sees a GPU, else CPU."""
    compute_type: str = "default"
    """default: float16 on CUDA, int8 on CPU."""
    language: Literal["auto", "zh", "en"] = "auto"
    languages: list[str] = field(default_factory=lambda: ["zh", "en"])
    """With language=auto, detection is restricted to these languages."""
    chinese_script: Literal["simplified", "traditional", "as-is"] = "simplified"
    """Whisper often writes Mandarin in traditional characters; convert with OpenCC."""
    beam_size: int = 1
    beam_size_zh: int = 5
    """Beam width for Mandarin (0: ``beam_size``): chosen on the Mandarin dev set, real read speech (AISHELL-1
    dev speaker, 120 clips): beam 5 CER 0.145 against 0.163 greedy, at about the same cost there
    (docs/benchmarks.md)."""
    temperature_fallback: bool = False
    """Decode again at rising temperatures (0.2 ... 1.0) when the greedy result looks like a loop or has a low
    log-probability, as Whisper's reference decoder does; off: greedy only (faster, the guards catch loops)."""
    initial_prompt_zh: str = "以下是普通话的句子。"
    """Text given to Whisper as the words before a Mandarin utterance (simplified characters steer it to
    simplified output); empty: none. Chosen on a dev set (docs/benchmarks.md, "Mandarin recognition")."""
    word_timestamps: bool = False
    """Word-level times in transcripts (the API's timestamp_granularities[]=word); costs an alignment pass
    per utterance."""
    hotwords: list[str] = field(default_factory=list)
    """The person's own vocabulary (names they use, places): passed to faster-whisper as hotwords."""
    encoder_window_s: float = 10.0
    """Whisper's encoder reads a 30 s window, padded with silence; a short utterance in one of
    ``short_window_languages`` is encoded in a window of this length instead (the utterance plus 1 s when
    longer): about 2.5x less time per utterance on a CPU, English WER the same within noise
    (bench/asr_window.py). 30: the full window, as Whisper was trained."""
    min_language_probability: float = 0.5
    """Below this probability of the detected language (among all of Whisper's languages) the result
    carries a note: the speech may be in a language the models were not set up for (asr.languages)."""
    short_window_languages: list[str] = field(default_factory=lambda: ["en"])
    """Languages decoded in the short window. Mandarin is not: its character error rate rose in it
    (bench/asr_window.py), so it is only detected there (detection is as good) and decoded in the full one."""
    cpu_threads: int = 0
    """0: one per CPU core (at most 8); measured faster than CTranslate2's own default on 2 cores."""
    no_speech_threshold: float = 0.6
    logprob_threshold: float = -1.0
    """A piece with no_speech_prob above the first AND avg_logprob below the second is dropped."""
    min_avg_logprob: float = -1.6
    """A piece whose avg_logprob is below this is dropped whatever no_speech_prob says."""
    max_compression_ratio: float = 2.4
    """Repetitive output (a hallucination loop) is dropped."""
    speech_gate: bool = True
    """Before decoding, silero-vad must hear at least gate_min_speech_ms of speech in the utterance: silence,
    noise and hum never reach Whisper (which writes text for them, differently on each CPU)."""
    gate_min_speech_ms: int = 120
    """Speech silero-vad must find for the utterance to be decoded at all."""
    gate_rms_floor_dbfs: float = -60.0
    """Audio quieter than this overall is not decoded (digital silence, a muted microphone)."""
    short_output_units: int = 4
    """An output of at most this many words (Chinese: characters) is judged on no_speech_prob alone..."""
    short_no_speech_prob: float = 0.5
    """...and dropped when no_speech_prob is above this, whatever avg_logprob says."""
    max_loop_repeats: int = 4
    """Output in which one word or character (or a phrase of up to 8) repeats more than this many times in
    a row is a decoding loop: the loop is cut, and the whole output dropped when the loop is most of it."""
    allow_download: bool = True
    """Try the Hugging Face hub when no local copy is found (needs a network)."""

    def validate(self) -> None:
        require(self.device in ("auto", "cpu", "cuda"), "asr.device", "auto, cpu or cuda")
        require(self.language in ("auto", "zh", "en"), "asr.language", "auto, zh or en")
        require(bool(self.languages), "asr.languages", "a non-empty list")
        require(
            self.chinese_script in ("simplified", "traditional", "as-is"),
            "asr.chinese_script",
            "simplified, traditional or as-is",
        )
        require(1 <= self.beam_size <= 10, "asr.beam_size", "between 1 and 10")
        require(0 <= self.beam_size_zh <= 10, "asr.beam_size_zh", "between 0 (as beam_size) and 10")
        require(len(self.initial_prompt_zh) <= 200, "asr.initial_prompt_zh", "at most 200 characters")
        require(
            len(self.hotwords) <= 50 and all(isinstance(w, str) and 0 < len(w) <= 40 for w in self.hotwords),
            "asr.hotwords",
            "at most 50 words or names of 1 to 40 characters",
        )
        require(0 <= self.min_language_probability <= 1, "asr.min_language_probability", "between 0 and 1")
        require(5 <= self.encoder_window_s <= 30, "asr.encoder_window_s", "between 5 and 30 (seconds)")
        bad = [lang for lang in self.short_window_languages if lang not in WHISPER_LANGUAGES]
        require(not bad, "asr.short_window_languages", "Whisper language codes such as en, zh")
        # CTranslate2 crashes (segfault) on absurd thread counts and raises on negative ones.
        require(
            0 <= self.cpu_threads <= MAX_CPU_THREADS,
            "asr.cpu_threads",
            f"between 0 (one per core, at most 8) and {MAX_CPU_THREADS}",
        )
        require(-20 <= self.logprob_threshold <= 0, "asr.logprob_threshold", "between -20 and 0")
        require(-20 <= self.min_avg_logprob <= 0, "asr.min_avg_logprob", "between -20 and 0")
        require(1 <= self.max_compression_ratio <= 100, "asr.max_compression_ratio", "between 1 and 100")
        require(self.compute_type in COMPUTE_TYPES, "asr.compute_type", "one of " + ", ".join(COMPUTE_TYPES))
        unknown_langs = [lang for lang in self.languages if lang not in WHISPER_LANGUAGES]
        require(
            not unknown_langs,
            "asr.languages",
            f"Whisper language codes such as zh, en, yue, ja (not {', '.join(map(repr, unknown_langs))})",
        )
        require(self.backend in ASR_BACKENDS, "asr.backend", "one of " + ", ".join(ASR_BACKENDS))
        require(0 < self.no_speech_threshold <= 1, "asr.no_speech_threshold", "in (0, 1]")
        require(bool(self.model), "asr.model", "a model name or path")
        require(0 <= self.gate_min_speech_ms <= 2000, "asr.gate_min_speech_ms", "between 0 and 2000")
        require(-120 <= self.gate_rms_floor_dbfs < 0, "asr.gate_rms_floor_dbfs", "between -120 and 0")
        require(0 <= self.short_output_units <= 20, "asr.short_output_units", "between 0 and 20")
        require(0 < self.short_no_speech_prob <= 1, "asr.short_no_speech_prob", "in (0, 1]")
        require(2 <= self.max_loop_repeats <= 50, "asr.max_loop_repeats", "between 2 and 50")
