"""The real voice model one step away: where the window says Emotion2Vec+ is missing, it offers to get it.

The offer names the model chosen for this machine (``models pull --recommended``'s rule), its size and its
licence (with the link), and downloads only after the person agrees. The download runs on a helper thread
(the GUI thread never waits): a progress bar in bytes and a Cancel button; a cancelled or broken download
keeps what arrived and the next try resumes from it; the files are checked against the hub's sizes and
sha256 before they are installed. Once installed, ``installed(name)`` fires: the window switches the
running session to it (``ReloadVoiceModel``) and the config remembers it (``emotion.speech_model``).
"""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path
from typing import Any

from PySide6.QtCore import QCoreApplication, QObject, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QMessageBox, QProgressBar, QPushButton, QWidget

log = logging.getLogger(__name__)


def tr(text: str) -> str:
    return QCoreApplication.translate("VoiceAssist", text)


class _Relay(QObject):
    progress = Signal(int, int)  # bytes so far, bytes in all (from the helper thread)
    finished = Signal(str, str)  # model name, error ("" when installed, "cancelled" when cancelled)


class ModelOffer(QWidget):
    installed = Signal(str)

    def __init__(self, models_dir: Path, endpoint: str | None = None) -> None:
        super().__init__()
        self.models_dir = models_dir
        self.endpoint = endpoint
        self.name = ""  # chosen for this machine when first offered (models pull --recommended's rule)
        self.entry: Any = None
        self._cancel: threading.Event | None = None
        self._relay = _Relay()
        self._relay.progress.connect(self._progress)
        self._relay.finished.connect(self._finished)
        self.text = QLabel()
        self.text.setWordWrap(True)
        self.get_btn = QPushButton(tr("Get Emotion2Vec+..."))
        self.cancel_btn = QPushButton(tr("Cancel"))
        self.bar = QProgressBar()
        self.bar.setMaximumWidth(220)
        lay = QHBoxLayout(self)
        lay.setContentsMargins(4, 0, 4, 0)
        lay.addWidget(self.text, 1)
        lay.addWidget(self.bar)
        lay.addWidget(self.get_btn)
        lay.addWidget(self.cancel_btn)
        self.get_btn.clicked.connect(self.ask)
        self.cancel_btn.clicked.connect(self.cancel)
        self.setStyleSheet("background: #eef5ff; color: #1c3d6b")
        self._idle()
        self.setVisible(False)

    def _choose(self) -> None:
        from voiceassist import models_manager as mm

        if not self.name:
            self.name = mm.recommended(mm.cuda_memory_gb(), os.cpu_count() or 1)
        if self.entry is None:
            self.entry = mm.catalogue()[self.name]

    def _idle(self) -> None:
        if not self.name:
            return
        self.text.setText(
            tr("Your voice is read by the embedded model. Emotion2Vec+ hears more of how you say things.")
            + f" ({self.name}, ~{self.entry.size_mb:.0f} MB)"
        )
        self.bar.setVisible(False)
        self.cancel_btn.setVisible(False)
        self.get_btn.setVisible(True)
        self.get_btn.setEnabled(True)

    def offer_if_missing(self, stage_ready: Any) -> None:
        """Shown while the voice runs on an embedded default because Emotion2Vec+ is not installed."""
        if stage_ready.stage != "speech-emotion" or self.downloading:
            return
        missing = bool(stage_ready.embedded and stage_ready.note and "Emotion2Vec+" in stage_ready.note)
        if missing:
            self._choose()
            self._idle()
        self.setVisible(missing)

    @property
    def downloading(self) -> bool:
        return self._cancel is not None

    def consent_text(self) -> str:
        e = self.entry
        return (
            f"{tr('Download')} {self.name} (~{e.size_mb:.0f} MB) {tr('from')} huggingface.co/{e.hf}?\n\n"
            f"{tr('Licence')}: {e.license}\n{e.license_url}\n\n"
            + tr("It runs on this computer: your voice is never sent anywhere. You can cancel, and resume later.")
        )

    def ask(self) -> None:
        box = QMessageBox(self)
        box.setWindowTitle(tr("Get Emotion2Vec+"))
        box.setText(self.consent_text())
        box.setStandardButtons(QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No)
        if box.exec() == QMessageBox.StandardButton.Yes:
            self.start()

    def start(self) -> None:
        """The download, on a helper thread; the bar and the buttons follow it by signals."""
        from voiceassist import models_manager as mm

        cancel = threading.Event()
        self._cancel = cancel
        self.get_btn.setVisible(False)
        self.cancel_btn.setVisible(True)
        self.bar.setVisible(True)
        self.bar.setRange(0, 0)  # until the sizes are known
        self.text.setText(f"{tr('Downloading')} {self.name}...")

        def work() -> None:
            try:
                mm.pull(
                    self.name,
                    self.models_dir,
                    endpoint=self.endpoint,
                    progress=self._relay.progress.emit,
                    cancel=cancel,
                )
                self._relay.finished.emit(self.name, "")
            except mm.Cancelled:
                self._relay.finished.emit(self.name, "cancelled")
            except Exception as e:  # offline, a damaged transfer: said, and the next try resumes
                log.warning("the download of %s failed", self.name, exc_info=True)
                self._relay.finished.emit(self.name, str(e))

        threading.Thread(target=work, name="voiceassist-model-download", daemon=True).start()

    def cancel(self) -> None:
        if self._cancel is not None:
            self._cancel.set()
            self.cancel_btn.setEnabled(False)

    def _progress(self, done: int, total: int) -> None:
        if total > 0:
            self.bar.setRange(0, 1000)
            self.bar.setValue(int(1000 * done / total))
            self.bar.setFormat(f"{done / 1e6:.0f} / {total / 1e6:.0f} MB")

    def _finished(self, name: str, error: str) -> None:
        self._cancel = None
        self.cancel_btn.setEnabled(True)
        self._idle()
        if not error:
            self.setVisible(False)
            self.installed.emit(name)
        elif error == "cancelled":
            self.text.setText(tr("Download cancelled: what arrived is kept, and the next try goes on from it."))
        else:
            self.text.setText(f"{tr('Download failed')}: {error}")
