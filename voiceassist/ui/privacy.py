"""Privacy in the window: the person's switches with what each means (in Settings and as the first-run
dialog), the caregiver's switches shown read-only, "Delete everything", and the notice of a caregiver setting
changed without the PIN (voiceassist/alerts/lock.py)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from PySide6.QtCore import QCoreApplication
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QGroupBox,
    QLabel,
    QMessageBox,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from voiceassist.lang import is_zh

log = logging.getLogger(__name__)


def tr(text: str) -> str:
    return QCoreApplication.translate("VoiceAssist", text)


def _zh(cfg: Any) -> bool:
    from voiceassist.ui.i18n import resolve_language

    return is_zh(resolve_language(cfg.ui.language))


class PrivacyBox(QGroupBox):
    """The switches: the person's as check boxes, the caregiver's as lines the person can always read."""

    def __init__(self, cfg: Any, parent: QWidget | None = None, wipe: bool = True) -> None:
        from voiceassist.privacy.consent import switches

        super().__init__(tr("Privacy"), parent)
        zh = _zh(cfg)
        lay = QVBoxLayout(self)
        self.boxes: dict[tuple[str, str], QCheckBox] = {}
        for s in switches(cfg):
            title, text = (s.title_zh, s.text_zh) if zh else (s.title_en, s.text_en)
            if s.person:
                box = QCheckBox(title)
                box.setChecked(s.on)
                self.boxes[(s.section, s.key)] = box
                lay.addWidget(box)
            else:
                on = tr("on") if s.on else tr("off")
                lay.addWidget(QLabel(f"{title}: <b>{on}</b> ({tr('set by the caregiver, with the PIN')})"))
            note = QLabel(text)
            note.setWordWrap(True)
            note.setStyleSheet("color: #555; margin-left: 20px")
            lay.addWidget(note)
        self.wipe_btn: QPushButton | None = None
        if wipe:
            self.wipe_btn = QPushButton(tr("Delete everything..."))
            lay.addWidget(self.wipe_btn)

    def values(self) -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        for (section, key), box in self.boxes.items():
            out.setdefault(section, {})[key] = box.isChecked()
        return out


def wipe_from_window(widget: QWidget, cfg: Any) -> bool:
    """Confirm, close the store, delete everything (voiceassist/privacy/wipe.py), then close the window."""
    win = widget.window()
    if getattr(win, "session", None) is not None:
        QMessageBox.information(widget, "VoiceAssist", tr("Stop listening first."))
        return False
    answer = QMessageBox.question(
        widget,
        "VoiceAssist",
        tr(
            "Delete all sessions, transcripts, kept audio, alerts, logs and the encryption key? This cannot be "
            "undone. Settings and models stay."
        ),
    )
    if answer != QMessageBox.StandardButton.Yes:
        return False
    from voiceassist.privacy.wipe import wipe_all

    store = getattr(win, "store", None)
    if store is not None:
        store.close()
    rep = wipe_all(cfg)
    told = tr(" The caregiver is told that the data was deleted.") if rep.caregiver_told else ""
    QMessageBox.information(widget, "VoiceAssist", tr("Everything was deleted. VoiceAssist closes now.") + told)
    win.close()
    return True


class ConsentDialog(QDialog):
    """First run: what is kept and what is analysed, each switch in one plain sentence; the answer is saved."""

    def __init__(self, cfg: Any, config_path: Path, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.config_path = config_path
        self.setWindowTitle(tr("Your privacy"))
        lay = QVBoxLayout(self)
        intro = QLabel(
            tr(
                "VoiceAssist runs on this computer and keeps what it stores encrypted here. Choose what it may "
                "keep and analyse; you can change this any time in Settings."
            )
        )
        intro.setWordWrap(True)
        lay.addWidget(intro)
        self.box = PrivacyBox(cfg, self, wipe=False)
        lay.addWidget(self.box)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok)
        buttons.accepted.connect(self.accept)
        lay.addWidget(buttons)

    def accept(self) -> None:
        from voiceassist.config_file import edit_config

        values = self.box.values()
        values.setdefault("privacy", {})["consent_shown"] = True
        edit_config(self.config_path, values)
        super().accept()


def show_first_run(win: Any, cfg: Any, config_path: Path) -> ConsentDialog | None:
    """The consent dialog, once (until privacy.consent_shown is saved); not modal for the event loop."""
    if cfg.privacy.consent_shown:
        return None
    from PySide6.QtCore import Qt

    dlg = ConsentDialog(cfg, config_path, win)
    dlg.setAttribute(Qt.WidgetAttribute.WA_QuitOnClose, False)  # closing the window still quits the app
    dlg.open()
    if win is not None:
        win.consent_dialog = dlg  # kept while it is open
    return dlg


def show_caregiver_notice(win: Any, cfg: Any) -> QLabel | None:
    """Verify the caregiver lock; a change made without the PIN is shown at the top of the window (and the
    caregiver is told, on a helper thread)."""
    from voiceassist.alerts.lock import check_caregiver_lock

    try:
        found = check_caregiver_lock(cfg.alerts)
    except Exception:
        log.error("could not check the caregiver lock", exc_info=True)
        return None
    if found is None:
        return None
    label = QLabel(found.describe() + " " + tr("The caregiver is told."))
    label.setWordWrap(True)
    label.setStyleSheet("background: #fdecea; color: #8a1c1c; padding: 4px")
    win.centralWidget().layout().insertWidget(0, label)
    win.caregiver_notice = label
    return label


def install_passphrase_prompt() -> None:
    """Where the data key is behind a passphrase, the window asks for it in a dialog."""
    from PySide6.QtWidgets import QInputDialog, QLineEdit

    from voiceassist.privacy import keys

    def ask(prompt: str) -> str:
        text, ok = QInputDialog.getText(None, "VoiceAssist", prompt, QLineEdit.EchoMode.Password)
        if not ok:
            raise keys.DataKeyError("no passphrase given: the data stays locked; nothing was changed")
        return str(text)

    keys.set_passphrase_prompt(ask)


def open_store(make: Any) -> Any:
    """``make()`` (a SessionStore), or None after saying in a dialog why the data cannot be opened (a wrong
    passphrase, a locked keyring, another key): the data is left as it is."""
    from voiceassist.privacy.keys import DataKeyError, WrongPassphraseError
    from voiceassist.storage.crypto import WrongKeyError

    for _ in range(3):
        try:
            return make()
        except WrongPassphraseError as e:
            QMessageBox.warning(None, "VoiceAssist", str(e))
        except (DataKeyError, WrongKeyError) as e:
            log.error("%s", e)
            QMessageBox.critical(None, "VoiceAssist", str(e))
            return None
    return None
