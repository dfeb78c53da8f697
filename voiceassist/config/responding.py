"""Config sections for understanding and answering: emotion, mood, alerts (and their channels), replies,
speech output, the session store, the window, paths."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from typing import Literal

if sys.version_info >= (3, 11):
    pass
else:  # pragma: no cover
    pass

from voiceassist.config.checks import ARGON2_HASH_RE, PIN_HASH_RE, WEEK_S, require, toml_file


@dataclass
class EmotionConfig:
    enabled: bool = True
    speech_backend: Literal["auto", "emotion2vec", "voice-head", "prosody"] = "auto"
    """auto: Emotion2Vec+ when its model folder is found, else the embedded voice head on the recogniser's
    frames (voiceassist/emotion/voice_head.py), else the prosody (arousal) estimate."""
    voice_model: str = ""
    """A voice-head folder made by `voiceassist train speech-emotion` (or its name under models/); empty:
    the head shipped in the package."""
    speech_model: str = "emotion2vec_plus_base"
    """emotion2vec_plus_seed, emotion2vec_plus_base, emotion2vec_plus_large, or a model folder."""
    device: Literal["auto", "cpu", "cuda"] = "auto"
    """Where Emotion2Vec+ runs; auto: CUDA when torch sees a GPU."""
    text_backend: Literal["auto", "lexicon", "embedded-head", "transformers"] = "auto"
    """auto: the model in ``text_model`` when set (an embedded head or a transformers classifier, by its
    folder), else the trained head shipped in the package (multilingual e5 + lexicon features), else the
    lexicons; lexicon: the NRC/DUTIR lexicons alone."""
    text_model: str = ""
    """A text-emotion model folder (or its name under models/): one made by `voiceassist train text-emotion`
    (an embedded head) or a transformers sequence-classification model."""
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
    words_plain_below: float = 0.35
    """Text evidence below which the words count as plain (no emotion in them): a categorical voice that is
    sure (``voice_leads_confidence``) then decides the label (voiceassist/emotion/fusion.py)."""
    voice_leads_confidence: float = 0.4
    """How sure a categorical voice (the voice head, Emotion2Vec+) must be of an emotion to decide over
    plain words."""
    arousal_shift: float = 0.1
    """How far an arousal-only voice (the embedded prosody estimate) shifts the words' emotion towards the
    emotions of matching arousal; 0: the words alone (see voiceassist/emotion/fusion.py). 0.1 was best on
    the seed corpus's dev split spoken through the pipeline (bench/fusion_eval.py)."""

    def validate(self) -> None:
        require(
            self.speech_backend in ("auto", "emotion2vec", "voice-head", "prosody"),
            "emotion.speech_backend",
            "auto, emotion2vec, voice-head or prosody",
        )
        require(self.device in ("auto", "cpu", "cuda"), "emotion.device", "auto, cpu or cuda")
        require(
            self.text_backend in ("auto", "lexicon", "embedded-head", "transformers"),
            "emotion.text_backend",
            "auto, lexicon, embedded-head or transformers",
        )
        require(50 <= self.live_interval_ms <= 2000, "emotion.live_interval_ms", "between 50 and 2000")
        require(0.0 <= self.live_context_s <= 10.0, "emotion.live_context_s", "between 0 and 10")
        require(0 <= self.frame_smoothing_ms <= 2000, "emotion.frame_smoothing_ms", "between 0 and 2000")
        require(
            0 <= self.speech_weight <= 100
            and 0 <= self.text_weight <= 100
            and self.speech_weight + self.text_weight > 0,
            "emotion.speech_weight/text_weight",
            "between 0 and 100 and not both 0",
        )
        require(0 <= self.min_confidence < 1, "emotion.min_confidence", "in [0, 1)")
        require(0 <= self.text_override_evidence <= 1, "emotion.text_override_evidence", "in [0, 1]")
        require(0 <= self.words_plain_below <= 1, "emotion.words_plain_below", "in [0, 1]")
        require(0 <= self.voice_leads_confidence <= 1, "emotion.voice_leads_confidence", "in [0, 1]")
        require(0 <= self.arousal_shift <= 2, "emotion.arousal_shift", "between 0 and 2")
        if self.lexicon_overlay:
            overlay = toml_file(self.lexicon_overlay, "emotion.lexicon_overlay")
            for lang in ("en", "zh"):
                section = overlay.get(lang, {})
                require(
                    isinstance(section, dict) and isinstance(section.get("words", {}), dict),
                    "emotion.lexicon_overlay",
                    f"a lexicon file whose [{lang}] and [{lang}.words] are tables",
                )


@dataclass
class MoodConfig:
    window: int = 5
    """Utterances in the rolling window that volatility is computed over."""
    baseline_min: int = 5
    """Volatility scores needed before the person's own baseline is used (volatility_relative)."""
    pac_threshold: float = 0.5
    """A change in valence or arousal at least this big counts as acute (PAC); both scales span [-1, 1]."""

    def validate(self) -> None:
        require(2 <= self.window <= 100, "mood.window", "between 2 and 100")
        require(1 <= self.baseline_min <= 1000, "mood.baseline_min", "between 1 and 1000")
        require(0 < self.pac_threshold <= 2, "mood.pac_threshold", "in (0, 2]")


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
        require(1 <= self.port <= 65535, "alerts.email.port", "between 1 and 65535")
        require(self.security in ("starttls", "ssl", "none"), "alerts.email.security", "starttls, ssl or none")
        require(0 < self.timeout_s <= 300, "alerts.email.timeout_s", "in (0, 300]")


@dataclass
class WebhookConfig:
    url: str = ""
    token: str = ""
    """Sent as "Authorization: Bearer ..."; better from VOICEASSIST_WEBHOOK_TOKEN. Never logged."""
    timeout_s: float = 10.0

    def validate(self) -> None:
        require(0 < self.timeout_s <= 300, "alerts.webhook.timeout_s", "in (0, 300]")


@dataclass
class AlertsConfig:
    enabled: bool = False
    """Off by default. A caregiver turns alerts on (PIN-protected); the person sees that they are on."""
    pin_hash: str = ""
    """Set with `voiceassist alerts set-pin`; an Argon2id hash, never the PIN itself. Like every key of
    [alerts], the caregiver's: `--set` cannot change it, and a change made in this file without the PIN is
    told to the caregiver (voiceassist/alerts/lock.py)."""
    person_name: str = ""
    """How alerts name the person ("Mum"); empty: "the person"."""
    channels: list[str] = field(default_factory=lambda: ["banner", "desktop"])
    """Any of banner, desktop, email, webhook."""
    include_transcript: bool = False
    """Messages carry minimal content by default: no words of the conversation unless this is on."""
    metric: Literal[
        "rmssd_valence", "rmssd_arousal", "pac_valence", "volatility_cos", "volatility_relative", "volatility_l2"
    ] = "rmssd_valence"
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
        require(set(self.channels) <= known, "alerts.channels", "a list of banner, desktop, email, webhook")
        require(
            0 <= self.exit < self.enter <= self.warning <= 1000,
            "alerts.exit/enter/warning",
            "0 <= exit < enter <= warning <= 1000",
        )
        require(1 <= self.debounce_n <= 1000, "alerts.debounce_n", "between 1 and 1000")
        for name in ("debounce_s", "cooldown_s", "crisis_cooldown_s"):
            require(0 <= getattr(self, name) <= WEEK_S, f"alerts.{name}", f"between 0 and {WEEK_S:.0f} (a week)")
        require(0 < self.retry_base_s <= self.retry_max_s, "alerts.retry_base_s", "> 0 and <= retry_max_s")
        require(self.retry_max_s <= WEEK_S, "alerts.retry_max_s", f"at most {WEEK_S:.0f} (a week)")
        if self.pin_hash:
            m = PIN_HASH_RE.fullmatch(self.pin_hash)
            a = ARGON2_HASH_RE.fullmatch(self.pin_hash)
            require(
                (m is not None and 1 <= int(m.group(1)) <= 10_000_000)
                or (a is not None and 8 <= int(a.group(1)) <= 4 * 1024 * 1024 and 1 <= int(a.group(2)) <= 100),
                "alerts.pin_hash",
                "what 'voiceassist alerts set-pin' writes ($argon2id$v=19$m=...,t=...,p=...$SALT$HASH); put "
                "back the line the caregiver set, or reset the PIN with 'voiceassist alerts reset-pin' (the "
                "caregiver is told)",
            )
        if self.crisis_phrases:
            table = toml_file(self.crisis_phrases, "alerts.crisis_phrases")
            for category, entry in table.items():
                require(
                    isinstance(entry, dict)
                    and all(
                        isinstance(entry.get(k, []), list) and all(isinstance(p, str) for p in entry.get(k, []))
                        for k in ("en", "zh", "except")
                    ),
                    "alerts.crisis_phrases",
                    f"a phrase file whose [{category}] is a table of en, zh and except lists of strings",
                )
        self.email.validate()
        self.webhook.validate()
        if self.enabled and "email" in self.channels:
            require(bool(self.email.host and self.email.to), "alerts.email", "host and to set when e-mail is on")
        if self.enabled and "webhook" in self.channels:
            require(self.webhook.url.startswith(("http://", "https://")), "alerts.webhook.url", "an http(s) URL")


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
    ask_feedback: bool = True
    """The assistant may ask how the person felt ("Did that sound more sad or more tired?") when it is unsure
    or before a caregiver alert; never during a crisis reply. Off: it never asks."""
    ask_max_per_session: int = 2
    """At most this many such questions in one session."""
    ask_below_confidence: float = 0.45
    """Unsure: the fused confidence is below this and the two most likely emotions are close."""

    def validate(self) -> None:
        require(self.backend in ("strategy", "generative"), "reply.backend", "strategy or generative")
        require(1 <= self.max_new_tokens <= 512, "reply.max_new_tokens", "between 1 and 512")
        require(0 < self.timeout_s <= 60, "reply.timeout_s", "in (0, 60]")
        require(-1 <= self.low_mood_valence <= 1, "reply.low_mood_valence", "between -1 and 1")
        require(1 <= self.low_mood_turns <= 1000, "reply.low_mood_turns", "between 1 and 1000")
        require(-1 <= self.seed < 2**32, "reply.seed", "-1 (random) or between 0 and 2**32 - 1")
        require(0 <= self.ask_max_per_session <= 100, "reply.ask_max_per_session", "between 0 and 100")
        require(0 <= self.ask_below_confidence <= 1, "reply.ask_below_confidence", "between 0 and 1")


@dataclass
class TtsConfig:
    enabled: bool = True
    """Speak replies (listen). analyze never speaks."""
    driver: str = ""
    """pyttsx3 driver: espeak (Linux), sapi5 (Windows), nsss (macOS); empty: the platform's."""
    neural: bool = True
    """Neural voices (Piper) where one is available: the embedded English voice, and a Mandarin voice once
    installed ('voiceassist models pull piper-zh_CN-huayan-medium'); off: espeak-ng / system voices only."""
    voice_en: str = ""
    voice_zh: str = ""
    """System voice ids (see pyttsx3), used where no neural voice is; empty: found by language."""
    output_device: str = ""
    """Sound output by name or index; empty: the system default."""
    rate_scale: float = 1.0
    """Multiplies every tone's speaking rate."""
    barge_in: bool = False
    """Off: while the assistant speaks, what the microphone hears is not taken as input (no echo
    cancellation, so the assistant would hear itself). On: the person speaking for barge_in_ms stops it."""
    barge_in_ms: int = 400

    def validate(self) -> None:
        require(0.3 <= self.rate_scale <= 3.0, "tts.rate_scale", "between 0.3 and 3")
        require(100 <= self.barge_in_ms <= 3000, "tts.barge_in_ms", "between 100 and 3000")


@dataclass
class StoreConfig:
    enabled: bool = True
    """Keep sessions (utterances, emotions, mood, alerts) in <user data dir>/sessions.sqlite3 (listen, app)."""
    path: str = ""
    keep_audio: bool = False
    """Also keep each utterance's audio (a privacy choice: off by default)."""
    retention_days: float = 0.0
    """Delete sessions older than this at start and every hour while recording (0: keep them until
    deleted); `voiceassist privacy purge` does it on demand."""
    keep_transcripts: bool = True
    """Keep what was said (the words and the replies) with each utterance; off: only times, emotions and
    mood are kept (a privacy choice, asked on first run)."""
    person: str = ""
    """Who is speaking (the app may be shared): sessions, corrections and the personal calibration profile
    are kept per person; empty: "default"."""
    calibration: bool = True
    """Apply the person's calibration profile (learnt from their corrections, each stage on only where it
    beats the base model on them; voiceassist/personal/). Off: the base model alone."""

    def validate(self) -> None:
        require(len(self.person) <= 64, "store.person", "at most 64 characters")
        require(0 <= self.retention_days <= 36500, "store.retention_days", "between 0 (keep) and 36500")


@dataclass
class UiConfig:
    language: Literal["auto", "en", "zh_CN"] = "auto"
    """auto: follow the system locale."""
    hands_free: bool = True
    """Hands-free listening; off: push-to-talk (hold the Talk button)."""
    curve_labels: int = 4
    """How many emotion curves to draw live (the most likely ones); 9 draws them all."""

    def validate(self) -> None:
        require(1 <= self.curve_labels <= 9, "ui.curve_labels", "between 1 and 9")


@dataclass
class PrivacyConfig:
    consent_shown: bool = False
    """The first-run privacy choices were shown and answered (the window asks once)."""
    weekly_report: bool = False
    """The person agrees that a weekly mood report (figures and charts; words only with
    alerts.include_transcript) is e-mailed to the caregiver's alerts.email.to once a week (the window when it
    opens, or `voiceassist report --weekly`). The person's choice, so not under the caregiver's PIN."""

    voice_emotion: bool = True
    """Analyse the emotion in the voice (how it sounds, not the words). Off: no speech-emotion model runs,
    no voice curves are drawn, and emotion comes from the words alone."""

    def validate(self) -> None:
        pass


@dataclass
class PathsConfig:
    models_dir: str = ""
    """Where local model folders live; empty: ./models when run from a checkout, else the user data dir."""
