"""The caregiver lock: every walk-around of issue 20 attempted and refused (``--set`` of the PIN hash, the
switch or the channels; a hash pasted into the file; the PIN removed from the file), the lockout after wrong
PINs, and the caregiver told, once and with no conversation content, of a change made without the PIN."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.test_alert_delivery import Hook
from voiceassist.alerts.lock import CaregiverLock, check_caregiver_lock
from voiceassist.alerts.outbox import Outbox
from voiceassist.alerts.pin import hash_pin, lockout_s
from voiceassist.config import load_config
from voiceassist.config_file import edit_config

PIN = "246813"


@pytest.fixture
def hook():
    h = Hook()
    yield h
    h.close()


def _cli(tmp: Path, conf: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "voiceassist", "alerts", *args, "--config", str(conf), "--outbox", str(tmp / "o.db")],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "XDG_STATE_HOME": str(tmp / "state")},
    )


@pytest.fixture
def locked(tmp_path: Path, hook: Hook) -> tuple[Path, Path, Hook]:
    conf = tmp_path / "config.toml"
    conf.write_text(f'[alerts]\nchannels = ["banner", "webhook"]\n\n[alerts.webhook]\nurl = "{hook.url}"\n')
    assert _cli(tmp_path, conf, "set-pin", "--pin", PIN).returncode == 0
    r = _cli(tmp_path, conf, "on", "--pin", PIN)
    assert r.returncode == 0, r.stderr
    assert load_config(conf).alerts.enabled and hook.received == []
    return tmp_path, conf, hook


def _notices(hook: Hook) -> list[dict]:
    return [body for _, body in hook.received if body.get("kind") == "tamper"]


@pytest.mark.slow
def test_set_cannot_walk_around_the_pin(locked):
    tmp, conf, hook = locked
    r = _cli(tmp, conf, "set-pin", "--pin", "000000", "--set", 'alerts.pin_hash=""')  # the bypass of issue 20
    assert r.returncode == 3 and "--set cannot change it" in r.stderr and "PIN set" not in r.stdout
    other = hash_pin("000000", time_cost=1, memory_cost=64)
    r = _cli(tmp, conf, "off", "--pin", "000000", "--set", f"alerts.pin_hash={json.dumps(other)}")
    assert r.returncode == 3 and "--set cannot change it" in r.stderr
    for override in ("alerts.enabled=false", 'alerts.channels=["banner"]', "alerts.enter=1000"):
        assert _cli(tmp, conf, "status", "--set", override).returncode == 3
    assert load_config(conf).alerts.enabled and _notices(hook) == []  # nothing changed, nothing to tell


@pytest.mark.slow
def test_editing_the_file_is_told_to_the_caregiver_and_unlocks_nothing(locked):
    tmp, conf, hook = locked
    # the PIN removed from the file: set-pin still wants the old PIN (the sealed one)
    text = conf.read_text()
    conf.write_text("\n".join(line for line in text.splitlines() if not line.startswith("pin_hash")) + "\n")
    r = _cli(tmp, conf, "set-pin", "--pin", "000000", "--new-pin", "000000")
    assert r.returncode == 3 and "wrong PIN" in r.stderr
    assert "the PIN was removed" in r.stderr  # the person sees it too
    [n] = _notices(hook)
    assert "the PIN was removed" in n["rule"] and n["severity"] == "warning"
    # a hash of a PIN of one's own pasted in, and alerts switched off in the file: still the sealed PIN
    edit_config(conf, {"alerts": {"pin_hash": hash_pin("000000", time_cost=1, memory_cost=64), "enabled": False}})
    r = _cli(tmp, conf, "on", "--pin", "000000")
    assert r.returncode == 3 and "wrong PIN" in r.stderr
    second = _notices(hook)[-1]
    assert len(_notices(hook)) == 2 and "alerts were switched off" in second["rule"]
    assert "the PIN was replaced" in second["rule"]
    _cli(tmp, conf, "status")  # the same change seen again: not told twice
    assert len(_notices(hook)) == 2
    # the caregiver sets things again with the real PIN: sealed, and the standing notice is cleared
    r = _cli(tmp, conf, "set-pin", "--pin", PIN, "--new-pin", "135792")
    assert r.returncode == 0, r.stderr
    assert _cli(tmp, conf, "on", "--pin", "135792").returncode == 0
    from voiceassist.privacy.keys import KeyStore

    box = Outbox(tmp / "o.db", key=KeyStore(tmp / "state" / "voiceassist" / "keys").load(create=False))
    try:
        lock = CaregiverLock(box)
        assert lock.tamper() is None and lock.verify(load_config(conf).alerts) is None
    finally:
        box.close()


@pytest.mark.slow
def test_reset_pin_tells_the_caregiver(locked):
    tmp, conf, hook = locked
    r = _cli(tmp, conf, "reset-pin", "--new-pin", "975310")
    assert r.returncode == 0 and "the caregiver is told" in r.stdout
    [n] = _notices(hook)
    assert "PIN was reset" in n["summary"]
    assert _cli(tmp, conf, "off", "--pin", "975310").returncode == 0  # the new PIN works; the caregiver knows
    assert _cli(tmp, conf, "reset-pin", "--new-pin", "1234").returncode == 3  # still 6 digits at least


def test_switched_off_in_the_file_is_told_at_the_next_start(tmp_path: Path, hook: Hook):
    from voiceassist.config import Config

    cfg = Config()
    a = cfg.alerts
    a.enabled, a.channels, a.webhook.url = True, ["banner", "webhook"], hook.url
    a.pin_hash = hash_pin(PIN, time_cost=1, memory_cost=64)
    box = Outbox(tmp_path / "o.db")
    CaregiverLock(box).seal(a)
    box.close()
    a.enabled = False  # the person edits the file: no PIN
    found = check_caregiver_lock(a, tmp_path / "o.db", deliver="now")
    assert found is not None and "alerts were switched off" in found.describe()
    [n] = _notices(hook)
    assert n["kind"] == "tamper" and "transcript" not in n and set(n) >= {"summary", "rule", "created_at"}
    assert check_caregiver_lock(a, tmp_path / "o.db", deliver="now") is not None  # still shown...
    assert len(_notices(hook)) == 1  # ...told once


def test_a_deleted_caregiver_record_is_told(tmp_path: Path, hook: Hook):
    from voiceassist.config import Config

    a = Config().alerts
    a.enabled, a.channels, a.webhook.url = True, ["banner", "webhook"], hook.url
    a.pin_hash = hash_pin(PIN, time_cost=1, memory_cost=64)
    found = check_caregiver_lock(a, tmp_path / "gone.db", deliver="now")  # a PIN in the file, no record
    assert found is not None and "deleted or replaced" in found.describe()
    assert len(_notices(hook)) == 1


def test_wrong_pins_lock_out_with_growing_delays(tmp_path: Path):
    from voiceassist.config import Config

    a = Config().alerts
    a.pin_hash = hash_pin(PIN, time_cost=1, memory_cost=64)
    box = Outbox(tmp_path / "o.db")
    lock = CaregiverLock(box)
    lock.seal(a)
    t = time.time()
    assert [lock.try_pin("111111", a, now=t).ok for _ in range(2)] == [False, False]
    third = lock.try_pin("111111", a, now=t)
    assert not third.ok and third.wait_s == 30 and "30 s" in third.message
    early = lock.try_pin(PIN, a, now=t + 10)  # even the right PIN waits out the lockout
    assert not early.ok and "too many wrong PINs" in early.message
    fourth = lock.try_pin("111111", a, now=t + 31)
    assert fourth.wait_s == 60 and [lockout_s(n) for n in (5, 6, 20)] == [120, 240, 3600]
    assert lock.try_pin(PIN, a, now=t + 100).ok
    assert lock.try_pin("111111", a, now=t + 100).wait_s == 0  # a right PIN starts the count again
    box.close()


def test_alert_messages_and_the_outbox_hold_no_words_unless_the_caregiver_says(tmp_path: Path):
    from voiceassist.alerts.service import AlertService
    from voiceassist.config import Config

    a = Config().alerts
    a.debounce_n = 1
    for include in (False, True):
        a.include_transcript = include
        svc = AlertService(a, outbox_path=tmp_path / f"o{include}.db", channels={})
        ev = {"utterances": [{"segment_id": 1, "text": "我真的不想活了", "fused": "sad"}]}
        [(alert_id, _)] = svc.evaluate(time.time(), 1, "我真的不想活了", None, ev)
        stored = svc.outbox.alert(alert_id)
        msg = svc.message(stored)
        kept = json.dumps([stored.evidence, stored.rule, msg], ensure_ascii=False)
        assert ("不想活" in kept) == include
        svc.stop()


def test_wipe_keeps_the_lock_and_tells_the_caregiver(tmp_path: Path, hook: Hook, monkeypatch: pytest.MonkeyPatch):
    for k in ("DATA", "STATE", "CONFIG"):
        monkeypatch.setenv(f"XDG_{k}_HOME", str(tmp_path / k.lower()))
    from voiceassist.alerts.outbox import default_outbox_path
    from voiceassist.config import Config
    from voiceassist.privacy import keys
    from voiceassist.privacy.wipe import wipe_all

    keys.forget_cached()
    cfg = Config()
    a = cfg.alerts
    a.enabled, a.channels, a.webhook.url = True, ["banner", "webhook"], hook.url
    a.pin_hash = hash_pin(PIN, time_cost=1, memory_cost=64)
    box = Outbox(default_outbox_path())
    CaregiverLock(box).seal(a)
    box.add("crisis:suicide", "urgent", "r", {}, ["webhook"])
    box.close()
    old_key = keys.data_key()
    rep = wipe_all(cfg)
    assert rep.caregiver_told and rep.pending_dropped == 1
    [n] = _notices(hook)
    assert "deleted all their stored VoiceAssist data" in n["rule"]
    assert keys.data_key() != old_key  # a new key for the new outbox
    assert check_caregiver_lock(a, deliver="no") is not None  # sealed again: only the wipe notice stands
    box = Outbox(default_outbox_path())
    assert CaregiverLock(box).sealed()["enabled"] is True and len(box.alerts()) == 1
    box.close()
    keys.forget_cached()
