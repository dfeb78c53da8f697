"""One config tree of documented dataclasses, loaded from TOML and validated once at start.

The file lives at ``<user config dir>/voiceassist/config.toml`` (``voiceassist config-path`` prints it).
Each section of the file is one dataclass (listening.py, responding.py, serving.py); unknown keys, wrong types and
values out of range are errors, not ignored.
Command-line overrides use dotted paths: ``--set vad.aggressiveness=3``.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, get_args, get_type_hints

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

from voiceassist.config.checks import (
    ASR_BACKENDS,
    COMPUTE_TYPES,
    MAX_CONFIG_BYTES,
    MAX_CPU_THREADS,
    WHISPER_LANGUAGES,
    ConfigError,
    read_toml,
)
from voiceassist.config.listening import AsrConfig, AudioConfig, QualityConfig, TurnConfig, VadConfig
from voiceassist.config.responding import (
    AlertsConfig,
    EmailConfig,
    EmotionConfig,
    MoodConfig,
    PathsConfig,
    PrivacyConfig,
    ReplyConfig,
    StoreConfig,
    TtsConfig,
    UiConfig,
    WebhookConfig,
)
from voiceassist.config.serving import ApiConfig

log = logging.getLogger(__name__)

__all__ = [
    "ASR_BACKENDS",
    "COMPUTE_TYPES",
    "MAX_CPU_THREADS",
    "WHISPER_LANGUAGES",
    "AlertsConfig",
    "ApiConfig",
    "AsrConfig",
    "AudioConfig",
    "Config",
    "ConfigError",
    "EmailConfig",
    "EmotionConfig",
    "MoodConfig",
    "PathsConfig",
    "PrivacyConfig",
    "QualityConfig",
    "ReplyConfig",
    "StoreConfig",
    "TtsConfig",
    "TurnConfig",
    "UiConfig",
    "VadConfig",
    "WebhookConfig",
    "default_config_path",
    "load_config",
    "parse_override",
    "validate_values",
]


@dataclass
class Config:
    audio: AudioConfig = field(default_factory=AudioConfig)
    vad: VadConfig = field(default_factory=VadConfig)
    turn: TurnConfig = field(default_factory=TurnConfig)
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
    privacy: PrivacyConfig = field(default_factory=PrivacyConfig)
    api: ApiConfig = field(default_factory=ApiConfig)

    def validate(self) -> Config:
        for f in dataclasses.fields(self):
            section = getattr(self, f.name)
            if hasattr(section, "validate"):
                section.validate()
        return self


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


def load_config(
    path: Path | None = None, overrides: list[str] | tuple[str, ...] = (), explicit: bool = False
) -> Config:
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
            _apply(cfg, read_toml(path, f"config file {path}", MAX_CONFIG_BYTES), "")
            _keep_secrets_private(path, cfg)
        elif explicit:
            raise ConfigError(f"config file {path} does not exist")
    for item in overrides:
        keys, value = parse_override(item)
        if keys[0] in CAREGIVER_SECTIONS:
            raise ConfigError(
                f"{'.'.join(keys)} is the caregiver's setting, locked by the caregiver PIN: --set cannot change it; "
                "use 'voiceassist alerts set-pin/on/off' or the caregiver section of the window's Settings"
            )
        nested: dict[str, Any] = {keys[-1]: value}
        for k in reversed(keys[:-1]):
            nested = {k: nested}
        _apply(cfg, nested, "")
    return cfg.validate()


def secrets_in(cfg: Config) -> list[str]:
    """The settings of ``cfg`` that hold a secret (set, not empty)."""
    a = cfg.alerts
    held = {
        "alerts.email.password": a.email.password,
        "alerts.webhook.token": a.webhook.token,
        "alerts.pin_hash": a.pin_hash,
    }
    return [k for k, v in held.items() if v]


def _keep_secrets_private(path: Path, cfg: Config) -> None:
    """A config file that holds a secret and that others can read (one written by hand, or copied) is made
    private to its owner (0600), said in one line; one the app cannot change is said too, and used."""
    if os.name != "posix":
        return
    try:
        mode = path.stat().st_mode & 0o777
    except OSError:
        return
    held = secrets_in(cfg)
    if not held or not mode & 0o077:
        return
    try:
        os.chmod(path, 0o600)
        log.warning("%s holds %s and was readable by others (%o): made private to you (600)", path, held[0], mode)
    except OSError as e:
        log.warning("%s holds %s and is readable by others (%o); cannot change that: %s", path, held[0], mode, e)


CAREGIVER_SECTIONS = ("alerts",)
"""Sections no override (``--set``, an API call) may change: the caregiver's, behind the PIN."""


def validate_values(path: Path | None, values: dict[str, dict[str, Any]]) -> Config:
    """The config file with ``{section: {key: value}}`` applied (sections may be dotted), validated: what a
    front end checks before it writes values into the file (the caregiver's only after the PIN)."""
    cfg = load_config(path)
    for section, kv in values.items():
        nested: dict[str, Any] = dict(kv)
        for k in reversed(section.split(".")):
            nested = {k: nested}
        _apply(cfg, nested, "")
    return cfg.validate()


def default_config_path() -> Path:
    from voiceassist.paths import user_config_dir

    return user_config_dir() / "config.toml"
