"""Which language a text is in, as far as the assistant cares: Chinese (any CJK ideograph) or English."""

from __future__ import annotations

import re
from typing import Literal

CJK_RANGES = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
"""CJK ideographs: extension A, the unified block, compatibility ideographs."""
_CJK = re.compile(f"[{CJK_RANGES}]")


def has_cjk(text: str) -> bool:
    return _CJK.search(text) is not None


def language_of(text: str, default: Literal["zh", "en"] = "en") -> Literal["zh", "en"]:
    """ "zh" when the text has Chinese characters, else ``default``."""
    return "zh" if has_cjk(text) else default
