"""``voiceassist data validate``: keep the rows that are fit to train on, reject the rest with a reason.

Checks, in this order (a row is rejected with the first that fails):

====================  =====================================================================================
``missing_field``     a required field is absent or null (default: dialogue_id, lang, text; add more with
                      ``--require``), or text/response is not a string
``empty_text``        the text is empty or only whitespace
``bad_chars``         text or response holds C0/C1 control characters (other than tab and newline),
                      U+FFFD replacement characters (a broken encoding), lone surrogates or private-use
                      characters
``bad_label``         ``emotion`` is given but is not one of the 9 labels (an absent or empty emotion is
                      fine: the ``label`` step fills it)
``lang_mismatch``     ``lang`` is not zh or en, or "zh" with no Chinese character, or "en" with mostly
                      Chinese characters
``too_short``,        Chinese: fewer than ``--min-chars`` (2) or more than ``--max-chars`` (200) characters,
``too_long``          spaces not counted; English: fewer than ``--min-words`` (3) or more than
                      ``--max-words`` (60) words
``duplicate_id``      the same dialogue_id as a row kept earlier. A dialogue of several turns keeps one
                      dialogue_id on all its rows and numbers them in a ``turn`` field: then the pair
                      (dialogue_id, turn) must be unique
``pii``               sensitive information in text or response (phones, resident ID numbers, bank cards,
                      e-mail addresses, names in self-introductions; see voiceassist/data/pii.py), with
                      ``--pii reject``. With ``--pii mask`` (the default) the spans are replaced by
                      ``[PHONE]``, ``[ID]``, ``[CARD]``, ``[EMAIL]``, ``[NAME]`` and the row is kept
====================  =====================================================================================

(``malformed_json``, a line that is not a JSON object, is reported by the reader.) The report counts
each kind of sensitive information found, and the rows masked or rejected for it.
"""

from __future__ import annotations

import argparse
import re
import unicodedata
from collections import Counter
from typing import Any

from voiceassist.data.pii import DEFAULT_REGIONS, KINDS, mask, scan_row
from voiceassist.data.records import LANGS, Record, is_label
from voiceassist.data.step import OptionError, StepResult
from voiceassist.lang import CJK_RANGES, has_cjk

REQUIRED = ("dialogue_id", "lang", "text")
TEXT_FIELDS = ("text", "response")
_CJK = re.compile(f"[{CJK_RANGES}]")
_LATIN = re.compile(r"[A-Za-z]")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--min-chars", type=int, default=2, help="Chinese text: fewest characters (default 2)")
    p.add_argument("--max-chars", type=int, default=200, help="Chinese text: most characters (default 200)")
    p.add_argument("--min-words", type=int, default=3, help="English text: fewest words (default 3)")
    p.add_argument("--max-words", type=int, default=60, help="English text: most words (default 60)")
    p.add_argument(
        "--pii",
        choices=["mask", "reject"],
        default="mask",
        help="sensitive information: mask it ([PHONE], [ID], [CARD], [EMAIL], [NAME]) or reject the row",
    )
    p.add_argument(
        "--phone-regions",
        default=",".join(DEFAULT_REGIONS),
        metavar="CC,CC",
        help="regions whose phone numbers are looked for in English rows (default US,GB; Chinese rows: CN)",
    )
    p.add_argument(
        "--require",
        action="append",
        default=[],
        metavar="FIELD",
        help="another field every row must have, e.g. --require emotion (repeatable)",
    )


def bad_char(text: str) -> str | None:
    """A description of the first illegal character in ``text``, or None."""
    for i, c in enumerate(text):
        if c in "\t\n":
            continue
        cat = unicodedata.category(c)
        if c == "\ufffd":
            what = "U+FFFD replacement character (broken encoding)"
        elif cat == "Cc":
            what = "control character"
        elif cat == "Cs":
            what = "lone surrogate"
        elif cat == "Co":
            what = "private-use character"
        else:
            continue
        return f"{what} U+{ord(c):04X} at {i}"
    return None


def length_problem(text: str, lang: str, args: argparse.Namespace) -> tuple[str, str] | None:
    if lang == "zh":
        n, lo, hi, unit = len("".join(text.split())), args.min_chars, args.max_chars, "characters"
    else:
        n, lo, hi, unit = len(text.split()), args.min_words, args.max_words, "words"
    if n < lo:
        return "too_short", f"{n} {unit} (at least {lo})"
    if n > hi:
        return "too_long", f"{n} {unit} (at most {hi})"
    return None


def lang_problem(text: str, lang: Any) -> str | None:
    if lang not in LANGS:
        return f"lang {lang!r} is not one of {', '.join(LANGS)}"
    if lang == "zh" and not has_cjk(text):
        return 'lang "zh" but the text has no Chinese character'
    if lang == "en":
        cjk, latin = len(_CJK.findall(text)), len(_LATIN.findall(text))
        if cjk > latin:
            return f'lang "en" but the text is mostly Chinese ({cjk} Chinese characters, {latin} Latin letters)'
    return None


def check_row(row: Record, required: tuple[str, ...], args: argparse.Namespace) -> tuple[str, str] | None:
    """(reason, detail) of the first check the row fails, before the duplicate and PII checks."""
    for name in required:
        if row.get(name) is None:
            return "missing_field", f"no {name}"
    for name in TEXT_FIELDS:
        if name in row and row[name] is not None and not isinstance(row[name], str):
            return "missing_field", f"{name} is not a string"
    text = row.get("text") or ""
    if not text.strip():
        return "empty_text", "the text is empty"
    for name in TEXT_FIELDS:
        problem = bad_char(row.get(name) or "")
        if problem:
            return "bad_chars", f"{name}: {problem}"
    emotion = row.get("emotion")
    if emotion not in (None, "") and not is_label(emotion):
        return "bad_label", f"emotion {emotion!r} is not one of the 9 labels"
    problem = lang_problem(text, row.get("lang"))
    if problem:
        return "lang_mismatch", problem
    return length_problem(text, row["lang"], args)


def _regions(value: str) -> tuple[str, ...]:
    regions = tuple(r.strip().upper() for r in value.split(",") if r.strip())
    try:
        import phonenumbers
    except ImportError:  # reported when the first row is scanned, as a missing extra
        return regions
    known = phonenumbers.SUPPORTED_REGIONS
    unknown = [r for r in regions if r not in known]
    if unknown or not regions:
        raise OptionError(f"--phone-regions: unknown region {', '.join(unknown) or '(none)'}; use codes such as US,GB")
    return regions


def run(rows: list[tuple[int, Record]], args: argparse.Namespace) -> StepResult:
    if not 0 <= args.min_chars <= args.max_chars or not 0 <= args.min_words <= args.max_words:
        raise OptionError("length limits: need 0 <= --min-chars <= --max-chars and 0 <= --min-words <= --max-words")
    regions = _regions(args.phone_regions)
    required = tuple(dict.fromkeys([*REQUIRED, *args.require]))
    result = StepResult()
    seen: dict[tuple[str, str], int] = {}
    found: Counter[str] = Counter()
    masked_rows = 0
    for line, row in rows:
        problem = check_row(row, required, args)
        key = (str(row.get("dialogue_id")), str(row.get("turn", "")))
        if problem is None and key in seen:
            turn = f" turn {key[1]}" if key[1] else ""
            problem = "duplicate_id", f"dialogue_id {key[0]!r}{turn} is already used on line {seen[key]}"
        if problem is not None:
            result.reject(line, *problem, row)
            continue
        spans = scan_row(row, TEXT_FIELDS, row["lang"], regions)
        if spans:
            kinds = Counter(s.kind for field_spans in spans.values() for s in field_spans)
            found.update(kinds)
            if args.pii == "reject":
                result.reject(line, "pii", ", ".join(f"{k} x{n}" for k, n in sorted(kinds.items())), row)
                continue
            row = {**row, **{name: mask(row[name], s) for name, s in spans.items()}}
            masked_rows += 1
        seen[key] = line
        result.kept.append(row)
    result.report = {
        "pii": {
            "mode": args.pii,
            "found": {k: found[k] for k in KINDS},
            "rows_masked": masked_rows,
            "rows_rejected": sum(r.reason == "pii" for r in result.rejected),
            "phone_regions": list(regions),
        },
        "limits": {
            "zh_chars": [args.min_chars, args.max_chars],
            "en_words": [args.min_words, args.max_words],
        },
        "required": list(required),
    }
    return result
