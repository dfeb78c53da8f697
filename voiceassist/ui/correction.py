"""Correcting the assistant in the window: the menu on a turn's emotion chip (the right emotion, "not
sure", whether the reply fitted, undo) and the calibration bar (whose profile is active, before/after
accuracy on their corrections, "Reset my calibration"). Widgets only: the answers go to the Session as
``CorrectEmotion`` commands (voiceassist/ui/main_window.py), stored before the chip shows them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QCoreApplication
from PySide6.QtWidgets import QHBoxLayout, QLabel, QMenu, QPushButton, QWidget

from voiceassist.emotion.labels import LABELS, LABELS_ZH

Pick = Callable[[str, str | None, bool], None]
"""(kind, label, undo): kind "emotion" (label one of the 9, or None: not sure) or "reply" (fits/does_not_fit)."""


def tr(text: str) -> str:
    return QCoreApplication.translate("Correction", text)


def label_name(label: str, zh: bool) -> str:
    return LABELS_ZH[label] if zh else label


def correction_menu(parent: QWidget, shown: str, answered: dict[str, str | None], zh: bool, pick: Pick) -> QMenu:
    """The chip's menu. ``shown``: the label the assistant read; ``answered``: the person's answers so far
    (kind -> label) so the current one is checked."""
    menu = QMenu(parent)
    menu.addSection(tr("How did you feel?"))
    current = answered.get("emotion", shown) if "emotion" in answered else shown
    for lab in LABELS:
        a = menu.addAction(label_name(lab, zh))
        a.setCheckable(True)
        a.setChecked(lab == current)
        a.setObjectName(f"emotion:{lab}")
        a.triggered.connect(lambda _=False, lab=lab: pick("emotion", lab, False))
    a = menu.addAction(tr("Not sure"))
    a.setObjectName("emotion:not-sure")
    a.triggered.connect(lambda _=False: pick("emotion", None, False))
    menu.addSection(tr("The reply"))
    for rating, text in (("fits", tr("Fits")), ("does_not_fit", tr("Does not fit"))):
        a = menu.addAction(text)
        a.setCheckable(True)
        a.setChecked(answered.get("reply") == rating)
        a.setObjectName(f"reply:{rating}")
        a.triggered.connect(lambda _=False, rating=rating: pick("reply", rating, False))
    menu.addSeparator()
    for kind, text in (("emotion", tr("Undo my emotion answer")), ("reply", tr("Undo my reply rating"))):
        a = menu.addAction(text)
        a.setObjectName(f"undo:{kind}")
        a.setEnabled(kind in answered)
        a.triggered.connect(lambda _=False, kind=kind: pick(kind, None, True))
    return menu


def chip_text(shown: str, confidence: float, answered: dict[str, str | None], zh: bool) -> str:
    """``[sad 0.62]``, or with the person's answer ``[sad 0.62 → neutral ✓]``, and their reply rating."""
    chip = f"{label_name(shown, zh)} {confidence:.2f}"
    if "emotion" in answered:
        lab = answered["emotion"]
        chip += f" → {label_name(lab, zh) if lab else tr('not sure')} ✓"
    if "reply" in answered:
        chip += " · " + (tr("reply fits") if answered["reply"] == "fits" else tr("reply does not fit"))
    return f"[{chip}]"


class CalibrationBar(QWidget):
    """Whose calibration is in use and what it does on their own corrections; one-click reset."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.label = QLabel(tr("Calibration: base model"))
        self.label.setToolTip(
            tr(
                "Your corrections teach the assistant how you sound. A step is used only if it reads your own "
                "corrections better than the base model (each one predicted without itself)."
            )
        )
        self.reset_btn = QPushButton(tr("Reset my calibration"))
        self.update_btn = QPushButton(tr("Learn from my corrections"))
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.label, 1)
        row.addWidget(self.update_btn)
        row.addWidget(self.reset_btn)

    def show_profile(self, person: str, profile: Any, note: str | None = None) -> None:
        text = f"{tr('Person')}: <b>{person}</b> · "
        if profile is None or not getattr(profile, "active", False):
            text += tr("Calibration: base model")
            n = getattr(profile, "n_corrections", 0)
            if n:
                text += f" ({n} {tr('corrections; not yet better than the base model on them')})"
        else:
            before, after = profile.accuracy
            steps = [s for s, st in (("1", profile.stage1), ("2", profile.stage2)) if st.on]
            text += f"{tr('Calibration')}: {tr('step')} {'+'.join(steps)} · "
            text += f"{tr('on your corrections')} {before:.0%} → {after:.0%}"
        if note:
            text += f" · <span style='color:#d62728'>{note}</span>"
        self.label.setText(text)
