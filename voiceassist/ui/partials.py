"""The words heard so far, in the conversation list: one greyed line per open utterance, replaced as they
firm up, and turned into the person's line when the final transcript comes."""

from __future__ import annotations

from typing import Any

from PySide6.QtGui import QBrush, QColor, QFont
from PySide6.QtWidgets import QListWidget, QListWidgetItem

PARTIAL_COLOR = "#8a8a8a"


class PartialLines:
    def __init__(self, chat: QListWidget, you: str) -> None:
        self.chat = chat
        self.you = you
        self.items: dict[int, QListWidgetItem] = {}

    def show(self, ev: Any) -> None:
        """A PartialTranscript: create or update the utterance's greyed line."""
        sid = ev.segment_id or 0
        item = self.items.get(sid)
        if item is None:
            item = QListWidgetItem()
            font = QFont(item.font())
            font.setItalic(True)
            item.setFont(font)
            item.setForeground(QBrush(QColor(PARTIAL_COLOR)))
            self.chat.addItem(item)
            self.items[sid] = item
        item.setText(f"{self.you}: {ev.text} …")
        self.chat.scrollToBottom()

    def finish(self, segment_id: int | None) -> QListWidgetItem | None:
        """The final transcript came: the utterance's line (if it had one), in normal type, for reuse."""
        item = self.items.pop(segment_id or 0, None)
        if item is not None:
            font = QFont(item.font())
            font.setItalic(False)
            item.setFont(font)
            item.setForeground(QBrush(QColor("black")))
        return item

    def drop(self, segment_id: int | None) -> None:
        """The utterance was discarded (too short, or heard while the assistant spoke): remove its line."""
        item = self.items.pop(segment_id or 0, None)
        if item is not None:
            self.chat.takeItem(self.chat.row(item))
