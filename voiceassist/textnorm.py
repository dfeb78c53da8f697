"""The one text normalisation between what Whisper wrote and what the text stages read (pure).

The transcript shown and stored keeps Whisper's words. The text-emotion model, the crisis phrases and the
reply intents read ``normalize(text, language)`` instead, so that spellings of the same words match alike:

- full-width letters, digits and punctuation become their ASCII forms (Unicode NFKC: "１２！" -> "12!");
- Chinese written in traditional characters becomes simplified (OpenCC ``t2s``), the script of the
  lexicons and phrase lists;
- in Chinese text, Arabic numbers become Chinese numerals ("我吃了3个" -> "我吃了三个"; "1234567890" ->
  "一二三四五六七八九零", read digit by digit like a phone number; "50%" -> "百分之五十"), because the
  phrase lists are written in characters. The other way round (numerals to digits) would break idioms
  the lexicons hold: 一了百了, 十分, 一点, 万一. Numbers are converted with cn2an (MIT, maintained).
- spaces Whisper puts between two Chinese characters go; spaces around English words in Chinese speech
  ("我今天 meeting 好多") stay, and so do the English words.

English text only gets the NFKC step. Missing optional libraries (opencc, cn2an: the ``asr`` extra) leave
their step out rather than fail: the text then reaches the stages as Whisper wrote it.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from functools import lru_cache
from typing import Any

log = logging.getLogger(__name__)

_CJK = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_SPACE_BETWEEN_CJK = re.compile(rf"(?<=[{_CJK}])\s+(?=[{_CJK}])")
# a number: digits with an optional decimal part and an optional percent sign, not inside a Latin word
_NUMBER = re.compile(r"(?<![A-Za-z0-9.])(\d+(?:\.\d+)?)(%?)(?![A-Za-z0-9])")
_DIGITS = "零一二三四五六七八九"
_DIGIT_BY_DIGIT_LEN = 5  # a run this long (or with a leading 0, or a year) is read digit by digit


@lru_cache(maxsize=1)
def _t2s() -> Any:
    try:
        import opencc

        return opencc.OpenCC("t2s")
    except Exception as e:  # not installed, or its data missing
        log.warning("traditional-to-simplified normalisation off (%s); install the 'asr' extra", e)
        return None


@lru_cache(maxsize=1)
def _cn2an() -> Any:
    try:
        import cn2an

        return cn2an
    except ImportError:
        log.warning("number normalisation off (cn2an not installed); install the 'asr' extra")
        return None


def _digit_by_digit(digits: str) -> str:
    return "".join(_DIGITS[int(d)] if d.isdigit() else "点" for d in digits)


def _number(match: re.Match[str], following: str) -> str:
    number, percent = match.group(1), match.group(2)
    whole = number.split(".")[0]
    if len(whole) >= _DIGIT_BY_DIGIT_LEN or (len(whole) > 1 and whole.startswith("0")) or following == "年":
        spoken = _digit_by_digit(number)
    else:
        lib = _cn2an()
        if lib is None:
            return match.group(0)
        spoken = str(lib.an2cn(number, "low"))
    return f"百分之{spoken}" if percent else spoken


def numbers_to_chinese(text: str) -> str:
    """Arabic numbers in Chinese text as Chinese numerals (see the module docstring)."""
    return _NUMBER.sub(lambda m: _number(m, text[m.end() : m.end() + 1]), text)


def normalize(text: str, language: str) -> str:
    """The form the text stages read; ``language`` is the utterance's ("zh", "en", ...)."""
    out = unicodedata.normalize("NFKC", text)
    if language != "zh":
        return out
    converter = _t2s()
    if converter is not None:
        out = converter.convert(out)
    out = _SPACE_BETWEEN_CJK.sub("", out)
    return numbers_to_chinese(out)
