"""Privacy in the window: the first-run consent dialog saves the person's choices, Settings shows every
switch (the caregiver's read-only), and a caregiver setting changed without the PIN is shown on top."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.test_ui import cfg_path, window  # noqa: F401 (the fixture)
from voiceassist.config import load_config


def test_first_run_consent_saves_the_choices(qtbot, cfg_path: Path):  # noqa: F811
    from voiceassist.ui.privacy import ConsentDialog, show_first_run

    cfg = load_config(cfg_path)
    dlg = ConsentDialog(cfg, cfg_path)
    qtbot.addWidget(dlg)
    boxes = dlg.box.boxes
    assert set(boxes) == {
        ("store", "keep_transcripts"),
        ("store", "keep_audio"),
        ("privacy", "voice_emotion"),
        ("privacy", "weekly_report"),
    }
    assert not boxes[("privacy", "weekly_report")].isChecked()  # only with the person's agreement
    assert not boxes[("store", "keep_audio")].isChecked()  # off by default, as before
    assert boxes[("privacy", "voice_emotion")].isChecked()
    boxes[("store", "keep_transcripts")].setChecked(False)
    boxes[("privacy", "voice_emotion")].setChecked(False)
    dlg.accept()
    saved = load_config(cfg_path)
    assert not saved.store.keep_transcripts and saved.privacy.consent_shown and saved.vad.aggressiveness == 2
    assert not saved.privacy.voice_emotion
    assert show_first_run(None, saved, cfg_path) is None  # asked once


def test_settings_show_the_caregiver_switches_read_only(qtbot, cfg_path: Path):  # noqa: F811
    cfg_path.write_text(
        '[alerts]\nenabled = true\nchannels = ["banner", "email"]\n[alerts.email]\nhost = "h"\nto = ["a@b"]\n'
    )
    w = window(qtbot, cfg_path, None)
    from PySide6.QtWidgets import QLabel

    texts = " ".join(lb.text() for lb in w.settings.privacy.findChildren(QLabel))
    assert "Caregiver alerts: <b>on</b>" in texts and "sent by email" in texts
    assert ("alerts", "enabled") not in w.settings.privacy.boxes  # the person cannot switch it here
    w.settings.privacy.boxes[("store", "keep_transcripts")].setChecked(False)
    assert w.settings.save() and not load_config(cfg_path).store.keep_transcripts


def test_a_change_without_the_pin_is_shown_in_the_window(qtbot, cfg_path: Path, tmp_path: Path, monkeypatch):  # noqa: F811
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    from voiceassist.alerts.lock import CaregiverLock
    from voiceassist.alerts.outbox import Outbox, default_outbox_path
    from voiceassist.alerts.pin import hash_pin
    from voiceassist.config_file import edit_config
    from voiceassist.ui.privacy import show_caregiver_notice

    edit_config(cfg_path, {"alerts": {"enabled": True, "pin_hash": hash_pin("246813", time_cost=1, memory_cost=64)}})
    box = Outbox(default_outbox_path())
    CaregiverLock(box).seal(load_config(cfg_path).alerts)
    box.close()
    edit_config(cfg_path, {"alerts": {"enabled": False}})  # by hand, no PIN
    w = window(qtbot, cfg_path, None)
    label = show_caregiver_notice(w, w.cfg)
    assert label is not None and label.isVisibleTo(w) and "alerts were switched off" in label.text()
    assert "The caregiver is told" in label.text()


@pytest.mark.parametrize("on", [True, False])
def test_the_person_always_sees_whether_alerts_are_on(qtbot, cfg_path: Path, on: bool):  # noqa: F811
    cfg_path.write_text(f"[alerts]\nenabled = {str(on).lower()}\n")
    w = window(qtbot, cfg_path, None)
    assert w.consent.isVisibleTo(w) == on
