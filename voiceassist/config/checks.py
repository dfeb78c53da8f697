"""What the config sections share: the error type, closed sets and limits, and the checks they use."""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


ASR_BACKENDS = ("faster-whisper", "funasr")
"""The ASR backend names (voiceassist/asr/__init__.py registers one class per name; a test keeps them equal)."""


class ConfigError(ValueError):
    """The configuration is invalid; the message names the key and what is allowed."""


MAX_CPU_THREADS = 64
COMPUTE_TYPES = (
    "default",
    "auto",
    "int8",
    "int8_float16",
    "int8_float32",
    "int8_bfloat16",
    "int16",
    "float16",
    "bfloat16",
    "float32",
)
"""CTranslate2's compute types."""
WHISPER_CODES = (
    "af am ar as az ba be bg bn bo br bs ca cs cy da de el en es et eu fa fi fo fr gl gu ha haw he hi hr ht hu hy id "
    "is it ja jw ka kk km kn ko la lb ln lo lt lv mg mi mk ml mn mr ms mt my ne nl nn no oc pa pl ps pt ro ru sa sd "
    "si sk sl sn so sq sr su sv sw ta te tg th tk tl tr tt uk ur uz vi yi yo zh yue"
)
WHISPER_LANGUAGES = frozenset(WHISPER_CODES.split())
"""The language codes Whisper detects (faster_whisper.tokenizer._LANGUAGE_CODES); replies and text emotion
are Chinese for zh and English for every other language."""
PIN_HASH_RE = re.compile(r"pbkdf2_sha256\$([0-9]{1,9})\$((?:[0-9a-f]{2})+)\$([0-9a-f]{64})")
"""The format older versions wrote (PBKDF2-SHA256); still checked, replaced by the next set-pin."""
ARGON2_HASH_RE = re.compile(
    r"\$argon2id\$v=19\$m=([0-9]{1,8}),t=([0-9]{1,3}),p=([0-9]{1,2})\$[A-Za-z0-9+/]{11,64}\$[A-Za-z0-9+/]{22,128}"
)
"""The format voiceassist.alerts.pin.hash_pin writes (Argon2id, PHC string)."""
WEEK_S = 7 * 24 * 3600.0
MAX_CONFIG_BYTES = 1 << 20
MAX_TOML_FILE_BYTES = 16 << 20


def require(ok: bool, key: str, allowed: str) -> None:
    if not ok:
        raise ConfigError(f"invalid value for {key}: must be {allowed}")


def read_toml(path: Path, what: str, max_bytes: int) -> dict[str, Any]:
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


def toml_file(value: str, key: str) -> dict[str, Any]:
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
    return read_toml(path, f"{key} file {value}", MAX_TOML_FILE_BYTES)
