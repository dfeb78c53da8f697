"""Sensitive information in dialogue text: find it, and mask it as ``[PHONE]``, ``[ID]``, ``[CARD]``,
``[EMAIL]`` or ``[NAME]``.

What is found, and how:

- **phone**: mainland China mobile numbers (``1[3-9]`` and nine more digits, optionally ``+86``/``0086``,
  with single spaces or hyphens anywhere between the digits: ``138 1234 5678``, ``138-1234-5678``), by
  pattern, in every row. Other numbers through ``phonenumbers``, the Python port of Google's
  libphonenumber: English rows in ``regions`` (default US and GB), Chinese rows in CN (landlines such as
  ``010-62345678``). We use it rather than a regex because it validates each candidate against the
  numbering plan of its region (lengths, area codes, number types; the metadata is updated with every
  release), so a price, a date, an order number or a zip code is not taken for a phone number, and a real
  number in any national or international format is.
- **id**: 18-character resident identity numbers (GB 11643-1999): a province code, a real date of birth
  (1900 up to today) in characters 7-14, and the 18th character equal to the ISO 7064 MOD 11-2 check
  (``0-9`` or ``X``) of the first 17. One digit off and it is not an ID.
- **card**: bank card numbers, 13 to 19 digits (in groups split by single spaces or hyphens) that pass
  the Luhn check. (About one random digit string in ten passes Luhn, so a long order number can be
  masked as a card: on purpose, a mask too many is the safe side.)
- **email**: ``local@domain.tld``.
- **name**: no well-kept library finds person names offline without a model download: Presidio and
  scrubadub run a spaCy (or Stanford, or TextBlob) NER model that has to be downloaded first, nltk's
  ``ne_chunk`` needs its downloaded chunker, and a first-name list (names-dataset, gender-guesser) would
  mark every "Will", "May" and "Grace". So names are found **only in explicit self-introductions**: "my
  name is X", "my name's X", "call me X", "I'm X from ...", "this is X speaking", "我叫X", "我的名字是X",
  "我的名字叫X" (a capitalised English name of up to three words; a Chinese name of 2-3 characters).
  A name mentioned any other way is not found; a corpus with names in free text needs a review pass or
  an NER model.

Overlaps are resolved in the order email, id, mainland mobile, card, other phones, name: the first claim
on a span wins (so ``+86 138 1234 5678``, 13 digits, is a phone, not a card).
"""

from __future__ import annotations

import datetime as _dt
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

KINDS = ("phone", "id", "card", "email", "name")
MASKS = {"phone": "[PHONE]", "id": "[ID]", "card": "[CARD]", "email": "[EMAIL]", "name": "[NAME]"}
DEFAULT_REGIONS = ("US", "GB")


@dataclass(frozen=True)
class Span:
    kind: str
    start: int
    end: int
    text: str


# -- resident identity numbers (GB 11643-1999) ------------------------------------------------------------

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"
_PROVINCES = {11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37, 41, 42, 43, 44, 45, 46, 50, 51, 52}
_PROVINCES |= {53, 54, 61, 62, 63, 64, 65, 71, 81, 82, 83}
_ID_RE = re.compile(r"(?<![0-9A-Za-z])\d{6}[ -]?\d{8}[ -]?\d{3}[\dXx](?![0-9A-Za-z])")


def id_check_char(first17: str) -> str:
    """The 18th character of a resident ID number whose first 17 digits are ``first17``."""
    return _ID_CHECK[sum(int(c) * w for c, w in zip(first17, _ID_WEIGHTS, strict=True)) % 11]


def is_resident_id(value: str, today: _dt.date | None = None) -> bool:
    digits = re.sub(r"[ -]", "", value).upper()
    if not re.fullmatch(r"\d{17}[\dX]", digits) or int(digits[:2]) not in _PROVINCES:
        return False
    try:
        born = _dt.date(int(digits[6:10]), int(digits[10:12]), int(digits[12:14]))
    except ValueError:
        return False
    if not _dt.date(1900, 1, 1) <= born <= (today or _dt.date.today()):
        return False
    return id_check_char(digits[:17]) == digits[17]


# -- bank cards (Luhn) -------------------------------------------------------------------------------------

_DIGIT_RUN = re.compile(r"(?<![\d.])\d+(?:[ -]\d+)*(?![\d])")


def luhn_ok(digits: str) -> bool:
    total = 0
    for i, c in enumerate(reversed(digits)):
        d = int(c)
        if i % 2 == 1:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def _cards(text: str) -> Iterable[tuple[int, int]]:
    """Spans of 13-19 digits passing Luhn. A run of digit groups ("4111 1111 1111 1111 25") is tried as
    every contiguous range of its groups, longest first, so a card next to another number is still found."""
    for m in _DIGIT_RUN.finditer(text):
        groups = [(g.start() + m.start(), g.end() + m.start()) for g in re.finditer(r"\d+", m.group())]
        i = 0
        while i < len(groups):
            found = None
            for j in range(len(groups) - 1, i - 1, -1):
                digits = re.sub(r"\D", "", text[groups[i][0] : groups[j][1]])
                if 13 <= len(digits) <= 19 and luhn_ok(digits):
                    found = j
                    break
            if found is None:
                i += 1
                continue
            yield groups[i][0], groups[found][1]
            i = found + 1


# -- phones, e-mail, names ----------------------------------------------------------------------------------

_CN_MOBILE = re.compile(r"(?<![\d+])(?:(?:\+|00)86[ -]?)?1[ -]?[3-9](?:[ -]?\d){9}(?!\d)")
_EMAIL = re.compile(r"(?<![A-Za-z0-9._%+-])[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
_EN_NAME = r"([A-Z][a-z'’-]+(?:[ -][A-Z][a-z'’-]+){0,2})"
_NAME_PATTERNS = (
    re.compile(r"\b(?i:my name is|my name's|call me)\s+" + _EN_NAME),
    re.compile(r"\b(?i:i'm|i’m|i am)\s+" + _EN_NAME + r"\s+(?i:from)\b"),
    re.compile(r"\b(?i:this is)\s+" + _EN_NAME + r"\s+(?i:speaking|here)\b"),
    re.compile(
        r"(?:我叫|我的名字是|我的名字叫|我名字叫)\s*(?![他她它你您我们大家了过着])([\u4e00-\u9fff·]{2,3}?)"
        r"(?=[\s，。！？、,.!?；;：:）)]|$|今年|来自|是|在|的)"
    ),
)


def _phonenumbers(text: str, regions: Sequence[str]) -> Iterable[tuple[int, int]]:
    import phonenumbers  # the data extra: pip install 'voiceassist[data]'

    for region in regions:
        for m in phonenumbers.PhoneNumberMatcher(text, region, leniency=phonenumbers.Leniency.VALID):
            yield m.start, m.end


def find_pii(text: str, lang: str = "en", regions: Sequence[str] = DEFAULT_REGIONS) -> list[Span]:
    """Every sensitive span in ``text``, sorted and not overlapping. ``regions``: where English phone
    numbers are validated (Chinese rows: CN)."""
    candidates: list[tuple[str, int, int]] = []
    candidates += [("email", m.start(), m.end()) for m in _EMAIL.finditer(text)]
    candidates += [("id", m.start(), m.end()) for m in _ID_RE.finditer(text) if is_resident_id(m.group())]
    candidates += [("phone", m.start(), m.end()) for m in _CN_MOBILE.finditer(text)]  # before cards: +86...
    candidates += [("card", a, b) for a, b in _cards(text)]
    if any(c.isdigit() for c in text):
        candidates += [("phone", a, b) for a, b in _phonenumbers(text, ("CN",) if lang == "zh" else regions)]
    for pattern in _NAME_PATTERNS:
        candidates += [("name", m.start(1), m.end(1)) for m in pattern.finditer(text)]
    spans: list[Span] = []
    for kind, a, b in candidates:  # in priority order: the first claim on a character wins
        if not any(a < s.end and s.start < b for s in spans):
            spans.append(Span(kind, a, b, text[a:b]))
    return sorted(spans, key=lambda s: s.start)


def mask(text: str, spans: Sequence[Span]) -> str:
    out, last = [], 0
    for s in sorted(spans, key=lambda s: s.start):
        out += [text[last : s.start], MASKS[s.kind]]
        last = s.end
    return "".join(out) + text[last:]


def scan_row(row: dict[str, Any], fields: Sequence[str], lang: str, regions: Sequence[str]) -> dict[str, list[Span]]:
    """field -> its sensitive spans, for each string field of ``fields`` that has any."""
    found: dict[str, list[Span]] = {}
    for name in fields:
        value = row.get(name)
        if isinstance(value, str) and value:
            spans = find_pii(value, lang, regions)
            if spans:
                found[name] = spans
    return found
