"""Which of the assistant's two languages something is in: the one rule every module asks.

The assistant speaks Mandarin ("zh") and English ("en"). ``lang`` turns whatever names a language (a
Whisper code, a locale such as ``zh_CN`` or ``zh-TW``, a request field, a setting) and, where there is one,
the text itself into one of the two:

- a code whose primary subtag is ``zh`` (or ``cmn``, ``zho``, ``chi``) is Mandarin;
- otherwise text with a Chinese character in it is Mandarin (Whisper labelled it otherwise, or no code
  was given);
- otherwise English.

``parse_code`` is the strict form for input a person or a client typed: "auto" or empty is None, en/zh
(any region) is the language, anything else is an error that names the choices.
"""

from __future__ import annotations

import re
from typing import Literal

Lang = Literal["zh", "en"]
LANGS: tuple[Lang, ...] = ("zh", "en")

CJK_RANGES = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
"""CJK ideographs: extension A, the unified block, compatibility ideographs."""
_CJK = re.compile(f"[{CJK_RANGES}]")
_ZH_CODES = frozenset({"zh", "cmn", "zho", "chi"})


def has_cjk(text: str) -> bool:
    return _CJK.search(text) is not None


def primary(code: str | None) -> str:
    """The primary subtag of a language code or locale, lower case: "zh_CN" -> "zh", "en-US" -> "en"."""
    return (code or "").strip().lower().replace("_", "-").split("-")[0].split(".")[0]


def lang(code: str | None = None, text: str | None = None) -> Lang:
    """ "zh" or "en" for a language code and/or a text (see the module docstring for the rule)."""
    if primary(code) in _ZH_CODES:
        return "zh"
    if text and has_cjk(text):
        return "zh"
    return "en"


def is_zh(code: str | None = None, text: str | None = None) -> bool:
    return lang(code, text) == "zh"


def language_of(text: str, default: Lang = "en") -> Lang:
    """ "zh" when the text has Chinese characters, else ``default``."""
    return "zh" if has_cjk(text) else default


def parse_code(code: str | None) -> Lang | None:
    """A language someone asked for: None for "auto" or nothing; "en"/"zh" for en, zh and their regional
    forms (en-US, zh_CN, zh-Hant...); ValueError for any other language."""
    p = primary(code)
    if p in ("", "auto"):
        return None
    if p in _ZH_CODES:
        return "zh"
    if p == "en":
        return "en"
    raise ValueError(f"language {code!r}: this assistant understands en and zh (or auto)")
