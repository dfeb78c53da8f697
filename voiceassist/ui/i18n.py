"""UI translations: a QTranslator that reads resources/i18n/<lang>.toml (source text -> translation), so
translators edit a text file and nothing has to be compiled. English is the source language."""

from __future__ import annotations

import sys
from typing import Any

from PySide6.QtCore import QLocale, QTranslator

from voiceassist.lang import is_zh
from voiceassist.paths import resources_dir

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


class TomlTranslator(QTranslator):
    def __init__(self, table: dict[str, str], parent: Any = None) -> None:
        super().__init__(parent)
        self.table = table

    def translate(self, context: str, source: str, disambiguation: str | None = None, n: int = -1) -> str:
        return self.table.get(source, "")

    def isEmpty(self) -> bool:
        return not self.table


def resolve_language(setting: str) -> str:
    if setting != "auto":
        return setting
    return "zh_CN" if is_zh(QLocale.system().name()) else "en"


def load_translator(language: str) -> TomlTranslator | None:
    if language in ("en", ""):
        return None
    path = resources_dir() / "i18n" / f"{language}.toml"
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError):
        return None
    return TomlTranslator({str(k): str(v) for k, v in data.get("strings", {}).items()})
