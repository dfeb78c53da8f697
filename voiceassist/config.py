"""One config tree of documented dataclasses, loaded from TOML and validated once at start.

The file lives at ``<user config dir>/voiceassist/config.toml`` (``voiceassist config-path`` prints it).
Each section of the file is one dataclass below; unknown keys and wrong types are errors, not ignored.
Command-line overrides use dotted paths: ``--set vad.aggressiveness=3``.
"""

from __future__ import annotations

import dataclasses
import math
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, get_args, get_type_hints

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


ASR_BACKENDS = ("faster-whisper",)
"""The ASR backend names (voiceassist/asr/__init__.py registers one class per name; a test keeps them equal)."""


class ConfigError(ValueError):
    """The configuration is invalid; the message names the key and what is allowed."""


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
        _require(self.block_ms in (10, 20, 30, 40, 50, 100), "audio.block_ms", "one of 10, 20, 30, 40, 50, 100")
        _require(0 < self.queue_seconds <= 600, "audio.queue_seconds", "in (0, 600]")
        _require(0 < self.no_data_timeout_s <= 60, "audio.no_data_timeout_s", "in (0, 60]")
        _require(10 <= self.file_chunk_ms <= 5000, "audio.file_chunk_ms", "between 10 and 5000")


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
        _require(self.aggressiveness in (0, 1, 2, 3), "vad.aggressiveness", "0, 1, 2 or 3")
        _require(self.frame_ms in (10, 20, 30), "vad.frame_ms", "10, 20 or 30")
        _require(self.frame_ms <= self.start_window_ms <= 2000, "vad.start_window_ms", "between vad.frame_ms and 2000")
        _require(0 < self.start_ratio <= 1, "vad.start_ratio", "in (0, 1]")
        _require(0 < self.end_ratio <= 1, "vad.end_ratio", "in (0, 1]")
        _require(self.frame_ms <= self.hangover_ms <= 10000, "vad.hangover_ms", "between vad.frame_ms and 10000")
        _require(0 <= self.preroll_ms <= 2000, "vad.preroll_ms", "between 0 and 2000")
        _require(0 <= self.postroll_ms <= self.hangover_ms, "vad.postroll_ms", "between 0 and vad.hangover_ms")
        _require(0 <= self.min_speech_ms <= 10000, "vad.min_speech_ms", "between 0 and 10000")
        _require(1.0 <= self.max_segment_s <= 30.0, "vad.max_segment_s", "between 1 and 30")
        _require(0 < self.silero_threshold < 1, "vad.silero_threshold", "in (0, 1)")


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
        _require(-90 < self.rms_floor_dbfs < 0, "quality.rms_floor_dbfs", "between -90 and 0")
        _require(0 < self.clip_ratio < 1, "quality.clip_ratio", "in (0, 1)")
        _require(10 <= self.trim_threshold_db <= 80, "quality.trim_threshold_db", "between 10 and 80")


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
        _require(self.device in ("auto", "cpu", "cuda"), "asr.device", "auto, cpu or cuda")
        _require(self.language in ("auto", "zh", "en"), "asr.language", "auto, zh or en")
        _require(bool(self.languages), "asr.languages", "a non-empty list")
        _require(self.chinese_script in ("simplified", "traditional", "as-is"), "asr.chinese_script",
                 "simplified, traditional or as-is")
        _require(1 <= self.beam_size <= 10, "asr.beam_size", "between 1 and 10")
        # CTranslate2 crashes (segfault) on absurd thread counts and raises on negative ones.
        _require(0 <= self.cpu_threads <= MAX_CPU_THREADS, "asr.cpu_threads",
                 f"between 0 (one per core, at most 8) and {MAX_CPU_THREADS}")
        _require(-20 <= self.logprob_threshold <= 0, "asr.logprob_threshold", "between -20 and 0")
        _require(-20 <= self.min_avg_logprob <= 0, "asr.min_avg_logprob", "between -20 and 0")
        _require(1 <= self.max_compression_ratio <= 100, "asr.max_compression_ratio", "between 1 and 100")
        _require(self.compute_type in COMPUTE_TYPES, "asr.compute_type", "one of " + ", ".join(COMPUTE_TYPES))
        unknown_langs = [lang for lang in self.languages if lang not in WHISPER_LANGUAGES]
        _require(not unknown_langs, "asr.languages",
                 f"Whisper language codes such as zh, en, yue, ja (not {', '.join(map(repr, unknown_langs))})")
        _require(self.backend in ASR_BACKENDS, "asr.backend", "one of " + ", ".join(ASR_BACKENDS))
        _require(0 < self.no_speech_threshold <= 1, "asr.no_speech_threshold", "in (0, 1]")
        _require(bool(self.model), "asr.model", "a model name or path")
        _require(0 <= self.gate_min_speech_ms <= 2000, "asr.gate_min_speech_ms", "between 0 and 2000")
        _require(-120 <= self.gate_rms_floor_dbfs < 0, "asr.gate_rms_floor_dbfs", "between -120 and 0")
        _require(0 <= self.short_output_units <= 20, "asr.short_output_units", "between 0 and 20")
        _require(0 < self.short_no_speech_prob <= 1, "asr.short_no_speech_prob", "in (0, 1]")
        _require(2 <= self.max_loop_repeats <= 50, "asr.max_loop_repeats", "between 2 and 50")


@dataclass
class EmotionConfig:
    enabled: bool = True
    speech_backend: Literal["auto", "emotion2vec", "prosody"] = "auto"
    """auto: Emotion2Vec+ when its model folder is found, else the embedded prosody (arousal) estimate."""
    speech_model: str = "emotion2vec_plus_base"
    """emotion2vec_plus_seed, emotion2vec_plus_base, emotion2vec_plus_large, or a model folder."""
    device: Literal["auto", "cpu", "cuda"] = "auto"
    """Where Emotion2Vec+ runs; auto: CUDA when torch sees a GPU."""
    text_backend: Literal["auto", "lexicon", "transformers"] = "auto"
    """auto: the transformers classifier in ``text_model`` when set and found, else the embedded lexicons."""
    text_model: str = ""
    """A transformers sequence-classification model folder (or its name under models/)."""
    lexicon_overlay: str = ""
    """Extra emotion words (TOML); empty: resources/emotion_lexicon.toml."""
    live_frames: bool = True
    """Emit frame-level curves while the person is speaking (live sources only)."""
    live_interval_ms: int = 250
    """How often live curves are updated."""
    live_context_s: float = 0.5
    """Audio before the new part that each live update also reads (context for the model)."""
    frame_smoothing_ms: int = 200
    """Frame curves are smoothed over this window."""
    speech_weight: float = 0.5
    text_weight: float = 0.5
    """Fusion weights, each scaled by that side's reliability (see voiceassist/emotion/fusion.py)."""
    min_confidence: float = 0.3
    """A fused result below this confidence asks the person to clarify."""
    text_override_evidence: float = 0.5
    """Text evidence above which clearly negative words overrule a positive-sounding voice."""

    def validate(self) -> None:
        _require(self.speech_backend in ("auto", "emotion2vec", "prosody"), "emotion.speech_backend",
                 "auto, emotion2vec or prosody")
        _require(self.device in ("auto", "cpu", "cuda"), "emotion.device", "auto, cpu or cuda")
        _require(self.text_backend in ("auto", "lexicon", "transformers"), "emotion.text_backend",
                 "auto, lexicon or transformers")
        _require(50 <= self.live_interval_ms <= 2000, "emotion.live_interval_ms", "between 50 and 2000")
        _require(0.0 <= self.live_context_s <= 10.0, "emotion.live_context_s", "between 0 and 10")
        _require(0 <= self.frame_smoothing_ms <= 2000, "emotion.frame_smoothing_ms", "between 0 and 2000")
        _require(0 <= self.speech_weight <= 100 and 0 <= self.text_weight <= 100
                 and self.speech_weight + self.text_weight > 0,
                 "emotion.speech_weight/text_weight", "between 0 and 100 and not both 0")
        _require(0 <= self.min_confidence < 1, "emotion.min_confidence", "in [0, 1)")
        _require(0 <= self.text_override_evidence <= 1, "emotion.text_override_evidence", "in [0, 1]")
        if self.lexicon_overlay:
            overlay = _toml_file(self.lexicon_overlay, "emotion.lexicon_overlay")
            for lang in ("en", "zh"):
                section = overlay.get(lang, {})
                _require(isinstance(section, dict) and isinstance(section.get("words", {}), dict),
                         "emotion.lexicon_overlay", f"a lexicon file whose [{lang}] and [{lang}.words] are tables")


@dataclass
class MoodConfig:
    window: int = 5
    """Utterances in the rolling window that volatility is computed over."""
    baseline_min: int = 5
    """Volatility scores needed before the person's own baseline is used (volatility_relative)."""
    pac_threshold: float = 0.5
    """A change in valence or arousal at least this big counts as acute (PAC); both scales span [-1, 1]."""

    def validate(self) -> None:
        _require(2 <= self.window <= 100, "mood.window", "between 2 and 100")
        _require(1 <= self.baseline_min <= 1000, "mood.baseline_min", "between 1 and 1000")
        _require(0 < self.pac_threshold <= 2, "mood.pac_threshold", "in (0, 2]")


@dataclass
class EmailConfig:
    host: str = ""
    port: int = 587
    security: Literal["starttls", "ssl", "none"] = "starttls"
    username: str = ""
    password: str = ""
    """Better: leave empty and set VOICEASSIST_SMTP_PASSWORD in the environment. Never logged."""
    sender: str = ""
    to: list[str] = field(default_factory=list)
    timeout_s: float = 15.0

    def validate(self) -> None:
        _require(1 <= self.port <= 65535, "alerts.email.port", "between 1 and 65535")
        _require(self.security in ("starttls", "ssl", "none"), "alerts.email.security", "starttls, ssl or none")
        _require(0 < self.timeout_s <= 300, "alerts.email.timeout_s", "in (0, 300]")


@dataclass
class WebhookConfig:
    url: str = ""
    token: str = ""
    """Sent as "Authorization: Bearer ..."; better from VOICEASSIST_WEBHOOK_TOKEN. Never logged."""
    timeout_s: float = 10.0

    def validate(self) -> None:
        _require(0 < self.timeout_s <= 300, "alerts.webhook.timeout_s", "in (0, 300]")


@dataclass
class AlertsConfig:
    enabled: bool = False
    """Off by default. A caregiver turns alerts on (PIN-protected); the person sees that they are on."""
    pin_hash: str = ""
    """Set with `voiceassist alerts set-pin`; PBKDF2-SHA256, never the PIN itself."""
    person_name: str = ""
    """How alerts name the person ("Mum"); empty: "the person"."""
    channels: list[str] = field(default_factory=lambda: ["banner", "desktop"])
    """Any of banner, desktop, email, webhook."""
    include_transcript: bool = False
    """Messages carry minimal content by default: no words of the conversation unless this is on."""
    metric: Literal["rmssd_valence", "rmssd_arousal", "pac_valence", "volatility_cos", "volatility_relative",
                    "volatility_l2"] = "rmssd_valence"
    enter: float = 0.5
    """Volatility alert when the metric reaches this..."""
    exit: float = 0.35
    """...and the episode ends only when it falls below this (hysteresis)."""
    warning: float = 0.8
    """Severity warning (else info) when the metric reaches this."""
    debounce_n: int = 3
    """The condition must hold for this many utterances..."""
    debounce_s: float = 60.0
    """...or this many seconds (0: utterances only)."""
    cooldown_s: float = 1800.0
    """No second volatility alert within this time (it is stored, not sent)."""
    crisis_cooldown_s: float = 300.0
    """A crisis category repeated within this time is stored, not sent again."""
    crisis_phrases: str = ""
    """Crisis phrase file; empty: resources/crisis_phrases.toml."""
    retry_base_s: float = 5.0
    retry_max_s: float = 3600.0
    """Failed deliveries are retried with exponential backoff between these bounds, across restarts."""
    email: EmailConfig = field(default_factory=EmailConfig)
    webhook: WebhookConfig = field(default_factory=WebhookConfig)

    def validate(self) -> None:
        known = {"banner", "desktop", "email", "webhook"}
        _require(set(self.channels) <= known, "alerts.channels", "a list of banner, desktop, email, webhook")
        _require(0 <= self.exit < self.enter <= self.warning <= 1000, "alerts.exit/enter/warning",
                 "0 <= exit < enter <= warning <= 1000")
        _require(1 <= self.debounce_n <= 1000, "alerts.debounce_n", "between 1 and 1000")
        for name in ("debounce_s", "cooldown_s", "crisis_cooldown_s"):
            _require(0 <= getattr(self, name) <= _WEEK_S, f"alerts.{name}", f"between 0 and {_WEEK_S:.0f} (a week)")
        _require(0 < self.retry_base_s <= self.retry_max_s, "alerts.retry_base_s", "> 0 and <= retry_max_s")
        _require(self.retry_max_s <= _WEEK_S, "alerts.retry_max_s", f"at most {_WEEK_S:.0f} (a week)")
        if self.pin_hash:
            m = _PIN_HASH_RE.fullmatch(self.pin_hash)
            _require(m is not None and 1 <= int(m.group(1)) <= 10_000_000, "alerts.pin_hash",
                     "what 'voiceassist alerts set-pin' writes (pbkdf2_sha256$ROUNDS$SALT$DIGEST); remove the "
                     "pin_hash line from the config file and set the PIN again")
        if self.crisis_phrases:
            table = _toml_file(self.crisis_phrases, "alerts.crisis_phrases")
            for category, entry in table.items():
                _require(isinstance(entry, dict) and all(
                    isinstance(entry.get(k, []), list) and all(isinstance(p, str) for p in entry.get(k, []))
                    for k in ("en", "zh", "except")), "alerts.crisis_phrases",
                    f"a phrase file whose [{category}] is a table of en, zh and except lists of strings")
        self.email.validate()
        self.webhook.validate()
        if self.enabled and "email" in self.channels:
            _require(bool(self.email.host and self.email.to), "alerts.email", "host and to set when e-mail is on")
        if self.enabled and "webhook" in self.channels:
            _require(self.webhook.url.startswith(("http://", "https://")), "alerts.webhook.url", "an http(s) URL")


@dataclass
class ReplyConfig:
    enabled: bool = True
    """Answer each utterance (text in events and result.json; spoken when tts.enabled)."""
    backend: Literal["strategy", "generative"] = "strategy"
    """strategy: the replies in resources/replies/; generative: a local causal LM (falls back to strategy)."""
    model: str = ""
    """Folder of a transformers causal language model for the generative backend (or its name under models/)."""
    max_new_tokens: int = 60
    timeout_s: float = 3.0
    """A generated reply that takes longer is dropped for the strategy reply."""
    low_mood_valence: float = -0.3
    low_mood_turns: int = 3
    """Someone whose mean valence has been at or below low_mood_valence for this many turns gets gentle,
    not cheerful, replies."""
    seed: int = -1
    """Seed for choosing among reply variants (-1: random)."""

    def validate(self) -> None:
        _require(self.backend in ("strategy", "generative"), "reply.backend", "strategy or generative")
        _require(1 <= self.max_new_tokens <= 512, "reply.max_new_tokens", "between 1 and 512")
        _require(0 < self.timeout_s <= 60, "reply.timeout_s", "in (0, 60]")
        _require(-1 <= self.low_mood_valence <= 1, "reply.low_mood_valence", "between -1 and 1")
        _require(1 <= self.low_mood_turns <= 1000, "reply.low_mood_turns", "between 1 and 1000")
        _require(-1 <= self.seed < 2**32, "reply.seed", "-1 (random) or between 0 and 2**32 - 1")


@dataclass
class TtsConfig:
    enabled: bool = True
    """Speak replies (listen). analyze never speaks."""
    driver: str = ""
    """pyttsx3 driver: espeak (Linux), sapi5 (Windows), nsss (macOS); empty: the platform's."""
    voice_en: str = ""
    voice_zh: str = ""
    """Voice ids (see pyttsx3); empty: an English / Mandarin voice found by language."""
    output_device: str = ""
    """Sound output by name or index; empty: the system default."""
    rate_scale: float = 1.0
    """Multiplies every tone's speaking rate."""
    barge_in: bool = False
    """Off: while the assistant speaks, what the microphone hears is not taken as input (no echo
    cancellation, so the assistant would hear itself). On: the person speaking for barge_in_ms stops it."""
    barge_in_ms: int = 400

    def validate(self) -> None:
        _require(0.3 <= self.rate_scale <= 3.0, "tts.rate_scale", "between 0.3 and 3")
        _require(100 <= self.barge_in_ms <= 3000, "tts.barge_in_ms", "between 100 and 3000")


@dataclass
class StoreConfig:
    enabled: bool = True
    """Keep sessions (utterances, emotions, mood, alerts) in <user data dir>/sessions.sqlite3 (listen, app)."""
    path: str = ""
    keep_audio: bool = False
    """Also keep each utterance's audio (a privacy choice: off by default)."""
    retention_days: float = 0.0
    """Delete sessions older than this at start (0: keep them until deleted)."""

    def validate(self) -> None:
        _require(0 <= self.retention_days <= 36500, "store.retention_days", "between 0 (keep) and 36500")


@dataclass
class UiConfig:
    language: Literal["auto", "en", "zh_CN"] = "auto"
    """auto: follow the system locale."""
    hands_free: bool = True
    """Hands-free listening; off: push-to-talk (hold the Talk button)."""
    curve_labels: int = 4
    """How many emotion curves to draw live (the most likely ones); 9 draws them all."""

    def validate(self) -> None:
        _require(1 <= self.curve_labels <= 9, "ui.curve_labels", "between 1 and 9")


@dataclass
class PathsConfig:
    models_dir: str = ""
    """Where local model folders live; empty: ./models when run from a checkout, else the user data dir."""


@dataclass
class Config:
    audio: AudioConfig = field(default_factory=AudioConfig)
    vad: VadConfig = field(default_factory=VadConfig)
    quality: QualityConfig = field(default_factory=QualityConfig)
    asr: AsrConfig = field(default_factory=AsrConfig)
    emotion: EmotionConfig = field(default_factory=EmotionConfig)
    mood: MoodConfig = field(default_factory=MoodConfig)
    alerts: AlertsConfig = field(default_factory=AlertsConfig)
    reply: ReplyConfig = field(default_factory=ReplyConfig)
    tts: TtsConfig = field(default_factory=TtsConfig)
    store: StoreConfig = field(default_factory=StoreConfig)
    ui: UiConfig = field(default_factory=UiConfig)
    paths: PathsConfig = field(default_factory=PathsConfig)

    def validate(self) -> Config:
        for f in dataclasses.fields(self):
            section = getattr(self, f.name)
            if hasattr(section, "validate"):
                section.validate()
        return self


MAX_CPU_THREADS = 64
COMPUTE_TYPES = ("default", "auto", "int8", "int8_float16", "int8_float32", "int8_bfloat16", "int16", "float16",
                 "bfloat16", "float32")
"""CTranslate2's compute types."""
_WHISPER_CODES = (
    "af am ar as az ba be bg bn bo br bs ca cs cy da de el en es et eu fa fi fo fr gl gu ha haw he hi hr ht hu hy id "
    "is it ja jw ka kk km kn ko la lb ln lo lt lv mg mi mk ml mn mr ms mt my ne nl nn no oc pa pl ps pt ro ru sa sd "
    "si sk sl sn so sq sr su sv sw ta te tg th tk tl tr tt uk ur uz vi yi yo zh yue")
WHISPER_LANGUAGES = frozenset(_WHISPER_CODES.split())
"""The language codes Whisper detects (faster_whisper.tokenizer._LANGUAGE_CODES); replies and text emotion
are Chinese for zh and English for every other language."""
_PIN_HASH_RE = re.compile(r"pbkdf2_sha256\$([0-9]{1,9})\$((?:[0-9a-f]{2})+)\$([0-9a-f]{64})")
"""The format voiceassist.alerts.service.hash_pin writes."""
_WEEK_S = 7 * 24 * 3600.0
_MAX_CONFIG_BYTES = 1 << 20
_MAX_TOML_FILE_BYTES = 16 << 20


def _require(ok: bool, key: str, allowed: str) -> None:
    if not ok:
        raise ConfigError(f"invalid value for {key}: must be {allowed}")


def _read_toml(path: Path, what: str, max_bytes: int) -> dict[str, Any]:
    """The TOML document in the regular file ``path`` (which exists); ConfigError for everything else.
    ``what`` names the file in messages ("config file x.toml", "emotion.lexicon_overlay x.toml")."""
    try:
        if path.is_dir():
            raise ConfigError(f"{what} is a folder, not a file")
        if not path.is_file():
            raise ConfigError(f"{what} is not a regular file")
        size = path.stat().st_size
        if size > max_bytes:
            raise ConfigError(f"{what} is {size} bytes, too big for a settings file (at most {max_bytes})")
        text = path.read_text(encoding="utf-8-sig")  # -sig: a byte-order mark (Windows editors) is fine
    except PermissionError as e:
        raise ConfigError(f"cannot read {what}: permission denied") from e
    except UnicodeDecodeError as e:
        raise ConfigError(f"{what} is not UTF-8 text (invalid byte at offset {e.start}); save it as UTF-8") from e
    except OSError as e:
        raise ConfigError(f"cannot read {what}: {e.strerror or e}") from e
    try:
        return tomllib.loads(text)
    except (ValueError, RecursionError) as e:  # TOMLDecodeError is a ValueError, and so is an over-long integer
        raise ConfigError(f"cannot read {what}: not valid TOML ({e})") from e


def _toml_file(value: str, key: str) -> dict[str, Any]:
    """The TOML table in the file setting ``key`` names; ConfigError naming the key when it is not one."""
    path = Path(value)
    try:
        exists = path.exists()
    except (OSError, ValueError) as e:  # a name too long for the file system; a NUL character
        raise ConfigError(f"invalid value for {key}: cannot use {value!r} as a file name ({e})") from e
    if not exists:
        raise ConfigError(f"invalid value for {key}: {value} does not exist")
    if path.suffix.lower() != ".toml":
        raise ConfigError(f"invalid value for {key}: {value} is not a .toml file")
    return _read_toml(path, f"{key} file {value}", _MAX_TOML_FILE_BYTES)


def _coerce(value: Any, annotation: Any, key: str) -> Any:
    """Check a TOML value against a field's annotation (int/float/bool/str/list[str]/Literal)."""
    origin_args = get_args(annotation)
    if annotation is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{key} must be true or false, got {value!r}")
        return value
    if annotation is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{key} must be an integer, got {value!r}")
        return value
    if annotation is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(f"{key} must be a number, got {value!r}")
        try:
            number = float(value)
        except OverflowError:  # an integer beyond any float
            number = math.inf
        if not math.isfinite(number):
            raise ConfigError(f"{key} must be a finite number, got {value!r}")
        return number
    if annotation is str:
        if isinstance(value, int) and not isinstance(value, bool):
            return str(value)  # e.g. an input device index given as a number
        if not isinstance(value, str):
            raise ConfigError(f"{key} must be a string, got {value!r}")
        return value
    if getattr(annotation, "__origin__", None) is list:
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ConfigError(f"{key} must be a list of strings, got {value!r}")
        return list(value)
    if origin_args and all(isinstance(a, str) for a in origin_args):  # Literal["a", "b"]
        if value not in origin_args:
            raise ConfigError(f"{key} must be one of {', '.join(origin_args)}, got {value!r}")
        return value
    raise ConfigError(f"{key}: unsupported setting type {annotation!r}")  # pragma: no cover


def _apply(section_obj: Any, values: dict[str, Any], prefix: str) -> None:
    hints = get_type_hints(type(section_obj))
    names = {f.name for f in dataclasses.fields(section_obj)}
    for key, value in values.items():
        path = f"{prefix}.{key}" if prefix else key
        if key not in names:
            raise ConfigError(f"unknown setting {path!r}; known: {', '.join(sorted(names))}")
        current = getattr(section_obj, key)
        if dataclasses.is_dataclass(current):
            if not isinstance(value, dict):
                raise ConfigError(f"{path} must be a table ([{path}] in TOML)")
            _apply(current, value, path)
        else:
            setattr(section_obj, key, _coerce(value, hints[key], path))


def parse_override(text: str) -> tuple[list[str], Any]:
    """``"vad.aggressiveness=3"`` -> (["vad", "aggressiveness"], 3). Values are TOML; bare words are strings."""
    if "=" not in text:
        raise ConfigError(f"override {text!r} must look like section.key=value")
    key, raw = text.split("=", 1)
    keys = [k.strip() for k in key.split(".")]
    if not all(keys):
        raise ConfigError(f"empty setting name in override {text!r}")
    try:
        value = tomllib.loads(f"v = {raw.strip()}")["v"]
    except (ValueError, RecursionError):  # not TOML (TOMLDecodeError is a ValueError): a bare word
        value = raw.strip()
    return keys, value


def load_config(path: Path | None = None, overrides: list[str] | tuple[str, ...] = (),
                explicit: bool = False) -> Config:
    """Defaults, then the TOML file, then overrides; validated. Every problem is a ConfigError.

    ``explicit``: the user named ``path`` (``--config FILE``), so a missing file is an error; otherwise
    (the default user path) a missing file means the defaults. A folder, an unreadable file, a file that
    is not UTF-8 or not TOML are errors either way.
    """
    cfg = Config()
    if path is not None:
        path = Path(path)
        try:
            exists = path.exists()
        except (OSError, ValueError) as e:  # a name too long for the file system; a NUL character
            raise ConfigError(f"cannot read config file {path}: {e}") from e
        if exists:
            _apply(cfg, _read_toml(path, f"config file {path}", _MAX_CONFIG_BYTES), "")
        elif explicit:
            raise ConfigError(f"config file {path} does not exist")
    for item in overrides:
        keys, value = parse_override(item)
        nested: dict[str, Any] = {keys[-1]: value}
        for k in reversed(keys[:-1]):
            nested = {k: nested}
        _apply(cfg, nested, "")
    return cfg.validate()


def default_config_path() -> Path:
    from voiceassist.paths import user_config_dir

    return user_config_dir() / "config.toml"
