"""``voiceassist alerts test/status/set-pin/reset-pin/on/off``: the caregiver's commands (PIN-protected).

Every command first verifies the caregiver lock (voiceassist/alerts/lock.py): a change made to [alerts]
without the PIN is told to the caregiver and shown here. A PIN is checked against the sealed hash, with a
lockout after wrong ones; a change made with it is sealed. ``reset-pin`` sets a new PIN without the old
one, and the caregiver is told.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

from voiceassist.config import ConfigError, default_config_path, load_config
from voiceassist.config_file import edit_config
from voiceassist.options import EXIT_CONFIG, EXIT_FAILED, EXIT_OK


def _ask(value: str | None, prompt: str) -> str:
    if value:
        return str(value)
    import getpass

    return getpass.getpass(prompt)


def _edit_alerts_config(path: Path, **values: Any) -> None:
    """Change keys of [alerts] in the user's config file, keeping its comments and layout."""
    edit_config(path, {"alerts": values}, mode=0o600)


def _err(text: str) -> int:
    print(f"voiceassist: {text}", file=sys.stderr)
    return EXIT_CONFIG


def cmd_alerts(args: argparse.Namespace) -> int:
    path = args.config or default_config_path()
    try:
        # set-pin may create the file it is pointed at; the other commands need it to exist
        explicit = args.config is not None and args.alerts_command != "set-pin"
        cfg = load_config(path, args.overrides, explicit=explicit)
    except ConfigError as e:
        print(f"voiceassist: configuration error: {e}", file=sys.stderr)
        return EXIT_CONFIG
    if args.alerts_command in ("status", "test"):
        return _service_command(args, cfg)
    from voiceassist.alerts.lock import CaregiverLock
    from voiceassist.alerts.outbox import Outbox, default_outbox_path

    box = Outbox(args.outbox or default_outbox_path())
    lock = CaregiverLock(box)
    try:
        tamper = lock.verify(cfg.alerts)
        if tamper is not None:
            print(f"note: {tamper.describe()} The caregiver is told.", file=sys.stderr)
        code = _lock_command(args, path, cfg, lock)
        lock.deliver_notices()
        return code
    finally:
        box.close()


def _lock_command(args: argparse.Namespace, path: Path, cfg: Any, lock: Any) -> int:
    from voiceassist.alerts.pin import PinError, hash_pin, is_weak, validate_new_pin

    a = cfg.alerts
    stored = lock.pin_hash(a)
    cmd = args.alerts_command
    if cmd in ("on", "off") and not stored:
        return _err("set a caregiver PIN first: voiceassist alerts set-pin")
    if cmd in ("set-pin", "on", "off") and stored:
        check = lock.try_pin(_ask(args.pin, "Caregiver PIN: " if cmd != "set-pin" else "Current PIN: "), a)
        if not check.ok:
            return _err(check.message)
    if cmd in ("set-pin", "reset-pin"):
        first = args.pin if cmd == "set-pin" and not stored else None
        try:
            new = validate_new_pin(_ask(args.new_pin or first, "New PIN (at least 6 digits): "))
        except PinError as e:
            return _err(str(e))
        if cmd == "reset-pin" and not stored:
            return _err("no caregiver PIN is set: voiceassist alerts set-pin")
        from voiceassist.alerts.lock import alerts_config_from

        before = lock.sealed()
        _edit_alerts_config(path, pin_hash=hash_pin(new))
        lock.seal(load_config(path).alerts)
        if cmd == "reset-pin":  # told through the channels the caregiver sealed
            lock.notify(
                ("a new PIN was set without the old one",),
                alerts_config_from(before) if before else a,
                headline="The caregiver PIN was reset",
            )
            print(f"PIN reset (stored as an Argon2id hash in {path}); the caregiver is told")
        else:
            print(f"PIN set (stored as an Argon2id hash in {path})")
        return EXIT_OK
    # on / off
    _edit_alerts_config(path, enabled=cmd == "on")
    lock.seal(load_config(path).alerts)
    print(f"caregiver alerts are {cmd.upper()} (channels: {', '.join(a.channels)}); the person sees this in the app")
    if is_weak(stored):
        print(
            "note: this PIN is kept with an old, weak hash: set a new one (6 digits) with 'voiceassist alerts set-pin'"
        )
    return EXIT_OK


def _service_command(args: argparse.Namespace, cfg: Any) -> int:
    from voiceassist.alerts.service import AlertService

    a = cfg.alerts
    service = AlertService(a, outbox_path=args.outbox)
    try:
        if service.tamper is not None:
            print(f"note: {service.tamper.describe()} The caregiver is told.", file=sys.stderr)
        service.lock.deliver_notices()
        if args.alerts_command == "status":
            print(f"alerts are {'ON' if a.enabled else 'OFF'}; channels: {', '.join(a.channels)}")
            for al in service.outbox.alerts(20):
                ds = service.outbox.deliveries(al.id)
                state = ", ".join(
                    f"{d.channel}: {d.status}" + (f" ({d.last_error})" if d.last_error else "") for d in ds
                ) or ("stored only (cooldown)" if al.suppressed else "banner only")
                print(
                    f"#{al.id} {time.strftime('%Y-%m-%d %H:%M', time.localtime(al.created_at))} "
                    f"[{al.severity}] {al.kind}: {al.rule} -> {state}"
                )
            return EXIT_OK
        # test: one alert through every configured channel, a few quick retries, then report
        alert_id = service.send_test()
        if not service.channels:
            print(
                "only the in-app banner is configured; nothing to send (add desktop, email or webhook to "
                "alerts.channels)"
            )
            return EXIT_OK
        for _ in range(3):
            service.deliver_due(now=time.time() + 3600)  # do not wait out the backoff here
            if all(d.status != "pending" for d in service.outbox.deliveries(alert_id)):
                break
        ok = True
        for d in service.outbox.deliveries(alert_id):
            good = d.status == "sent"
            ok = ok and good
            print(f"{d.channel:8s} {'sent' if good else 'FAILED'}" + ("" if good else f": {d.last_error}"))
        if not ok:
            print("undelivered test alerts stay queued and are retried while VoiceAssist runs", file=sys.stderr)
        return EXIT_OK if ok else EXIT_FAILED
    finally:
        service.stop()
