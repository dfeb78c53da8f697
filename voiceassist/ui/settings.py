"""The settings tab: devices, VAD, models and their status, voice, language, privacy (voiceassist/ui/privacy.py)
and the caregiver section for alerts: unlocked with the PIN (checked against the sealed hash, with the
lockout of voiceassist/alerts/lock.py), and sealed when saved. Saving writes the user's config file, keeping
its comments."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from PySide6.QtCore import QCoreApplication, QObject, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QFrame,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

log = logging.getLogger(__name__)


class _Done(QObject):
    finished = Signal(str, str)  # model name, error message ("" when installed)
    pin_checked = Signal(object)  # the PinCheck (None: no PIN is set), from the helper thread


def tr(text: str) -> str:
    return QCoreApplication.translate("VoiceAssist", text)


def save_settings(path: Path, values: dict[str, dict[str, Any]]) -> None:
    """Write ``{section: {key: value}}`` into the config file (tomlkit keeps comments and layout)."""
    from voiceassist.config_file import edit_config

    edit_config(path, values, mode=0o600)


class SettingsTab(QWidget):
    def __init__(self, cfg: Any, config_path: Path, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.cfg = cfg
        self.config_path = config_path
        self.input_device = QComboBox()
        self.output_device = QComboBox()
        self._fill_devices()
        self.aggressiveness = QSpinBox()
        self.aggressiveness.setRange(0, 3)
        self.aggressiveness.setValue(cfg.vad.aggressiveness)
        self.hangover = QSpinBox()
        self.hangover.setRange(100, 3000)
        self.hangover.setSingleStep(50)
        self.hangover.setValue(cfg.vad.hangover_ms)
        self.end_of_turn = QCheckBox(tr('Judge from my words when I have finished (waits longer after "and", "um")'))
        self.end_of_turn.setChecked(cfg.turn.end_of_turn != "fixed")
        self._judged_by = cfg.turn.end_of_turn if cfg.turn.end_of_turn != "fixed" else "semantic"
        self.partials = QCheckBox(tr("Show my words while I speak"))
        self.partials.setChecked(cfg.turn.partials)
        self.language = QComboBox()
        for code, name in (("auto", tr("Detect (Mandarin or English)")), ("zh", "中文"), ("en", "English")):
            self.language.addItem(name, code)
        self.language.setCurrentIndex(max(0, self.language.findData(cfg.asr.language)))
        self.ui_language = QComboBox()
        for code, name in (("auto", tr("System")), ("en", "English"), ("zh_CN", "简体中文")):
            self.ui_language.addItem(name, code)
        self.ui_language.setCurrentIndex(max(0, self.ui_language.findData(cfg.ui.language)))
        self.rate = QDoubleSpinBox()
        self.rate.setRange(0.5, 2.0)
        self.rate.setSingleStep(0.1)
        self.rate.setValue(cfg.tts.rate_scale)
        self.barge_in = QCheckBox(tr("Let me interrupt the assistant (use headphones)"))
        self.barge_in.setChecked(cfg.tts.barge_in)
        self.models = QLabel(tr("Models load when listening starts."))
        self.models.setWordWrap(True)

        general = QGroupBox(tr("Audio, speech and voice"))
        f = QFormLayout(general)
        f.addRow(tr("Microphone"), self.input_device)
        f.addRow(tr("Speaker"), self.output_device)
        f.addRow(tr("VAD aggressiveness"), self.aggressiveness)
        f.addRow(tr("End of speech after (ms)"), self.hangover)
        f.addRow("", self.end_of_turn)
        f.addRow("", self.partials)
        f.addRow(tr("Spoken language"), self.language)
        f.addRow(tr("Voice speed"), self.rate)
        f.addRow("", self.barge_in)
        f.addRow(tr("Window language"), self.ui_language)
        f.addRow(tr("Models"), self.models)

        # caregiver section: locked until the PIN is given
        self.pin = QLineEdit()
        self.pin.setEchoMode(QLineEdit.EchoMode.Password)
        self.pin.setPlaceholderText(tr("caregiver PIN"))
        self.unlock_btn = QPushButton(tr("Unlock"))
        self.pin_status = QLabel(
            tr("Locked") if cfg.alerts.pin_hash else tr("No PIN set: run 'voiceassist alerts set-pin' first")
        )
        self.alerts_on = QCheckBox(tr("Caregiver alerts on"))
        self.alerts_on.setChecked(cfg.alerts.enabled)
        self.person = QLineEdit(cfg.alerts.person_name)
        self.channel_boxes = {name: QCheckBox(name) for name in ("desktop", "email", "webhook")}
        for name, box in self.channel_boxes.items():
            box.setChecked(name in cfg.alerts.channels)
        self.include_transcript = QCheckBox(tr("Include what was said in messages"))
        self.include_transcript.setChecked(cfg.alerts.include_transcript)
        self.webhook = QLineEdit(cfg.alerts.webhook.url)
        self.email_host = QLineEdit(cfg.alerts.email.host)
        self.email_to = QLineEdit(", ".join(cfg.alerts.email.to))
        self.caregiver = QGroupBox(tr("Caregiver alerts"))
        cf = QFormLayout(self.caregiver)
        unlock = QHBoxLayout()
        unlock.addWidget(self.pin)
        unlock.addWidget(self.unlock_btn)
        unlock.addWidget(self.pin_status)
        cf.addRow(tr("PIN"), unlock)
        channels = QHBoxLayout()
        for box in self.channel_boxes.values():
            channels.addWidget(box)
        self._protected = [
            self.alerts_on,
            self.person,
            *self.channel_boxes.values(),
            self.include_transcript,
            self.webhook,
            self.email_host,
            self.email_to,
        ]
        cf.addRow("", self.alerts_on)
        cf.addRow(tr("Person's name"), self.person)
        cf.addRow(tr("Channels (banner always)"), channels)
        cf.addRow("", self.include_transcript)
        cf.addRow(tr("Webhook URL"), self.webhook)
        cf.addRow(tr("SMTP server"), self.email_host)
        cf.addRow(tr("E-mail to"), self.email_to)
        self.set_unlocked(False)

        self.models_box = self._models_section(cfg)
        from voiceassist.alerts.outbox import default_outbox_path
        from voiceassist.ui.privacy import PrivacyBox, wipe_from_window

        self.outbox_path = default_outbox_path()
        self.privacy = PrivacyBox(cfg)
        assert self.privacy.wipe_btn is not None
        self.privacy.wipe_btn.clicked.connect(lambda: wipe_from_window(self, self.cfg))

        self.save_btn = QPushButton(tr("Save"))
        self.saved = QLabel("")
        # The sections scroll, so the window still fits a small laptop screen; Save stays in view below them.
        body = QWidget()
        sections = QVBoxLayout(body)
        sections.addWidget(general)
        sections.addWidget(self.models_box)
        sections.addWidget(self.privacy)
        sections.addWidget(self.caregiver)
        sections.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setWidget(body)
        root = QVBoxLayout(self)
        root.addWidget(scroll, 1)
        row = QHBoxLayout()
        row.addWidget(self.save_btn)
        row.addWidget(self.saved)
        row.addStretch(1)
        root.addLayout(row)
        self.unlock_btn.clicked.connect(self.try_unlock)
        self.save_btn.clicked.connect(self.save)

    def _models_section(self, cfg: Any) -> QGroupBox:
        from voiceassist import models_manager as mm
        from voiceassist.paths import models_dir

        self.models_dir = models_dir(cfg.paths.models_dir)
        self.endpoint: str | None = None  # the hub's address (None: huggingface.co or $HF_ENDPOINT)
        self.catalogue = mm.catalogue()
        box = QGroupBox(tr("Models"))
        lay = QVBoxLayout(box)
        self.model_table = QTableWidget(len(self.catalogue), 4)
        self.model_table.setHorizontalHeaderLabels([tr("Model"), tr("Kind"), tr("Status"), ""])
        self.model_table.verticalHeader().setVisible(False)
        self.download_btns: dict[str, QPushButton] = {}
        for row, e in enumerate(self.catalogue.values()):
            self.model_table.setItem(row, 0, QTableWidgetItem(e.name))
            self.model_table.setItem(row, 1, QTableWidgetItem(e.kind))
            btn = QPushButton(tr("Download"))
            btn.clicked.connect(lambda _=False, n=e.name: self.download(n))
            self.download_btns[e.name] = btn
            self.model_table.setCellWidget(row, 3, btn)
        self.model_table.resizeColumnsToContents()
        header = self.model_table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.ResizeToContents)
        self.model_table.setMaximumHeight(150)
        self.download_progress = QProgressBar()
        self.download_progress.setRange(0, 0)
        self.download_progress.setVisible(False)
        self.asr_model = QComboBox()
        self.speech_model = QComboBox()
        self._done = _Done()
        self._done.finished.connect(self._downloaded)
        self._done.pin_checked.connect(self._pin_checked)
        self.refresh_models()
        form = QFormLayout()
        form.addRow(tr("Speech recognition uses"), self.asr_model)
        form.addRow(tr("Voice emotion uses"), self.speech_model)
        lay.addWidget(self.model_table)
        lay.addWidget(self.download_progress)
        lay.addLayout(form)
        return box

    def refresh_models(self) -> None:
        from voiceassist import models_manager as mm

        for row, e in enumerate(self.catalogue.values()):
            here = mm.installed(e, self.models_dir)
            self.model_table.setItem(row, 2, QTableWidgetItem(tr("installed") if here else f"~{e.size_mb:.0f} MB"))
            self.download_btns[e.name].setText(tr("Download again") if here else tr("Download"))
        asr = ["base", "tiny.en"] + [
            e.folder for e in self.catalogue.values() if e.kind == "asr" and mm.installed(e, self.models_dir)
        ]
        ser = ["emotion2vec_plus_base"] + [
            e.folder for e in self.catalogue.values() if e.kind == "speech-emotion" and mm.installed(e, self.models_dir)
        ]
        for combo, options, current in (
            (self.asr_model, asr, self.cfg.asr.model),
            (self.speech_model, ser, self.cfg.emotion.speech_model),
        ):
            combo.clear()
            for o in dict.fromkeys([current, *options]):
                combo.addItem(o, o)
            combo.setCurrentIndex(0)

    def download(self, name: str) -> None:
        """Pull in a helper thread (the GUI thread never waits); the result comes back by a signal."""
        import threading

        from voiceassist import models_manager as mm

        for b in self.download_btns.values():
            b.setEnabled(False)
        self.download_progress.setVisible(True)
        self.saved.setText(f"{tr('Downloading')} {name}...")

        def work() -> None:
            try:
                mm.pull(name, self.models_dir, endpoint=self.endpoint)
                self._done.finished.emit(name, "")
            except Exception as e:
                self._done.finished.emit(name, str(e))

        threading.Thread(target=work, name="voiceassist-download", daemon=True).start()

    def _downloaded(self, name: str, error: str) -> None:
        self.download_progress.setVisible(False)
        for b in self.download_btns.values():
            b.setEnabled(True)
        self.saved.setText(f"{name}: {error}" if error else f"{name} {tr('installed')}")
        self.refresh_models()

    def _fill_devices(self) -> None:
        self.input_device.addItem(self.tr_default(), "")
        self.output_device.addItem(self.tr_default(), "")
        try:
            import sounddevice as sd

            for _i, d in enumerate(sd.query_devices()):
                if d["max_input_channels"] > 0:
                    self.input_device.addItem(d["name"], d["name"])
                if d["max_output_channels"] > 0:
                    self.output_device.addItem(d["name"], d["name"])
        except Exception:
            pass
        self.input_device.setCurrentIndex(max(0, self.input_device.findData(self.cfg.audio.input_device)))
        self.output_device.setCurrentIndex(max(0, self.output_device.findData(self.cfg.tts.output_device)))

    @staticmethod
    def tr_default() -> str:
        return tr("System default")

    def set_unlocked(self, unlocked: bool) -> None:
        self.unlocked = unlocked
        for w in self._protected:
            w.setEnabled(unlocked)

    def _lock(self) -> Any:
        from voiceassist.alerts.lock import CaregiverLock
        from voiceassist.alerts.outbox import Outbox

        return CaregiverLock(Outbox(self.outbox_path))

    def try_unlock(self) -> None:
        """Check the PIN on a helper thread (Argon2id takes a noticeable moment, and the lockout is kept in
        the encrypted outbox): the GUI thread never waits on it. ``_pin_checked`` shows the answer."""
        import threading

        pin = self.pin.text()
        self.pin.clear()
        self.unlock_btn.setEnabled(False)
        self.pin_status.setText(tr("Checking..."))

        def work() -> None:
            lock = self._lock()
            try:
                has_pin = bool(lock.pin_hash(self.cfg.alerts))
                self._done.pin_checked.emit(lock.try_pin(pin, self.cfg.alerts) if has_pin else None)
            except Exception as e:  # a damaged outbox: said, and the section stays locked
                log.warning("the caregiver PIN could not be checked", exc_info=True)
                self._done.pin_checked.emit(e)
            finally:
                lock.outbox.close()

        threading.Thread(target=work, name="voiceassist-pin-check", daemon=True).start()

    def _pin_checked(self, check: Any) -> None:
        self.unlock_btn.setEnabled(True)
        if isinstance(check, Exception):
            self.set_unlocked(False)
            self.pin_status.setText(tr("The PIN could not be checked") + f": {check}")
            return
        ok = check is not None and check.ok
        self.set_unlocked(ok)
        if ok:
            self.pin_status.setText(tr("Unlocked"))
        elif check is None:
            self.pin_status.setText(tr("No PIN set: run 'voiceassist alerts set-pin' first"))
        elif check.wait_s > 0:
            self.pin_status.setText(tr("Wrong PIN") + f" ({tr('next try in')} {check.wait_s:.0f} s)")
        else:
            self.pin_status.setText(tr("Wrong PIN"))

    def set_model_status(self, lines: list[str]) -> None:
        self.models.setText("\n".join(lines))

    def values(self) -> dict[str, dict[str, Any]]:
        v: dict[str, dict[str, Any]] = {
            "audio": {"input_device": self.input_device.currentData() or ""},
            "vad": {"aggressiveness": self.aggressiveness.value(), "hangover_ms": self.hangover.value()},
            "turn": {
                "end_of_turn": self._judged_by if self.end_of_turn.isChecked() else "fixed",
                "partials": self.partials.isChecked(),
            },
            "asr": {"language": self.language.currentData(), "model": self.asr_model.currentData()},
            "emotion": {"speech_model": self.speech_model.currentData()},
            "tts": {
                "output_device": self.output_device.currentData() or "",
                "rate_scale": round(self.rate.value(), 2),
                "barge_in": self.barge_in.isChecked(),
            },
            "ui": {"language": self.ui_language.currentData()},
        }
        for section, kv in self.privacy.values().items():
            v.setdefault(section, {}).update(kv)
        if self.unlocked:
            v["alerts"] = {
                "enabled": self.alerts_on.isChecked(),
                "person_name": self.person.text().strip(),
                "channels": ["banner"] + [n for n, b in self.channel_boxes.items() if b.isChecked()],
                "include_transcript": self.include_transcript.isChecked(),
            }
            v["alerts.webhook"] = {"url": self.webhook.text().strip()}
            v["alerts.email"] = {
                "host": self.email_host.text().strip(),
                "to": [x.strip() for x in self.email_to.text().split(",") if x.strip()],
            }
        return v

    def save(self) -> bool:
        from voiceassist.config import ConfigError, load_config, validate_values

        values = self.values()
        try:
            validate_values(self.config_path, values)  # validate before writing anything
        except ConfigError as e:
            self.saved.setText(f"{tr('Not saved')}: {e}")
            return False
        save_settings(self.config_path, values)
        if "alerts" in values:  # changed with the PIN: this is the caregiver's state now
            lock = self._lock()
            try:
                lock.seal(load_config(self.config_path).alerts)
            finally:
                lock.outbox.close()
        self.saved.setText(tr("Saved. Changes apply the next time listening starts."))
        return True
