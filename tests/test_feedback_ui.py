"""Correcting the assistant in the window (offscreen): a turn's chip opens the correction menu, the answer
is stored through the Session before the chip shows it, undo steps back, bad answers are said and not
shown, the timeline marks the corrections, and the calibration bar names the person and resets."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("PySide6")

from tests.conftest import espeak, silence, write_wav
from tests.test_ui import window
from voiceassist.storage import SessionStore
from voiceassist.storage import feedback as fb


@pytest.fixture
def cfg_path(tmp_path: Path) -> Path:
    p = tmp_path / "config.toml"
    p.write_text('[store]\nperson = "li"\n', encoding="utf-8")
    return p


def test_correct_a_turn_from_its_chip(qtbot, cfg_path: Path, tmp_path: Path) -> None:
    from voiceassist import events as E

    wav = write_wav(
        tmp_path / "talk.wav",
        np.concatenate([silence(0.3), espeak("I feel so lonely since my friend moved away."), silence(1.0)]),
    )
    store = SessionStore(tmp_path / "sessions.db")
    w = window(qtbot, cfg_path, store, wav, overrides=["reply.enabled=false"])
    assert "li" in w.live.calibration.label.text() and "base model" in w.live.calibration.label.text()
    seen: list = []
    w.bridge.event.connect(lambda item: seen.append(item[1]))
    w.start_listening()
    qtbot.waitUntil(lambda: any(isinstance(e, E.PipelineStopped) for e in seen), timeout=120_000)
    qtbot.waitUntil(lambda: not w.listening, timeout=5_000)
    [seg] = list(w.live.turn_info)
    item = w.live.turn_info[seg]["item"]
    shown = w.live.turn_info[seg]["label"]
    menu = w.live.chip_menu(item, w.live.chat.visualItemRect(item).center())
    names = [a.objectName() for a in menu.actions() if a.objectName()]
    assert "emotion:neutral" in names and "emotion:not-sure" in names and "reply:fits" in names
    assert next(a for a in menu.actions() if a.objectName() == f"emotion:{shown}").isChecked()
    assert not next(a for a in menu.actions() if a.objectName() == "undo:emotion").isEnabled()
    next(a for a in menu.actions() if a.objectName() == "emotion:neutral").trigger()  # one click
    [info] = store.sessions()
    assert fb.current(store, info.id, seg)["label"] == "neutral"  # stored before the chip shows it
    assert "→ neutral ✓" in item.text()
    assert w.live.answer(seg, "reply", "fits") and "reply fits" in item.text()
    assert w.live.answer(seg, "emotion", "sad")  # edit
    assert w.live.answer(seg, "emotion", None, undo=True)
    assert fb.current(store, info.id, seg)["label"] == "neutral" and "→ neutral ✓" in item.text()
    assert not w.live.answer(seg, "emotion", "calm")  # outside the 9: said, nothing shown or stored
    assert "not one of the 9" in w.status.text() and "calm" not in item.text()
    w.timeline.reload()
    w.timeline.show_utterance(w.timeline.utterances[0])
    assert len(w.timeline.correction_marks) == 1
    details = w.timeline.details.toPlainText()
    assert "your correction: neutral\n" in details and "your rating of the reply: fits" in details
    w.live.calibration.reset_btn.click()
    assert fb.load_profile(store, "li")["reset_at"] > 0
    store.close()
