"""``voiceassist alerts test/status/set-pin/on/off``: the caregiver's commands (PIN-protected)."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

from voiceassist.config import ConfigError, default_config_path, load_config
from voiceassist.config_file import edit_config
from voiceassist.options import EXIT_CONFIG, EXIT_FAILED, EXIT_OK


def _ask_pin(args: argparse.Namespace, prompt: str = "Caregiver PIN: ") -> str:
    if args.pin:
        return str(args.pin)
    import getpass

    return getpass.getpass(prompt)


def _edit_alerts_config(path: Path, **values: Any) -> None:
    """Change keys of [alerts] in the user's config file, keeping its comments and layout."""
    edit_config(path, {"alerts": values}, mode=0o600)


def cmd_alerts(args: argparse.Namespace) -> int:
    from voiceassist.alerts.service import AlertService, check_pin, hash_pin

    path = args.config or default_config_path()
    try:
        # set-pin may create the file it is pointed at; the other commands need it to exist
        cfg = load_config(path, args.overrides, explicit=args.config is not None and args.alerts_command != "set-pin")
    except ConfigError as e:
        print(f"voiceassist: configuration error: {e}", file=sys.stderr)
        return EXIT_CONFIG
    a = cfg.alerts
    if args.alerts_command == "set-pin":
        if a.pin_hash and not check_pin(_ask_pin(args, "Current PIN: "), a.pin_hash):
            print("voiceassist: wrong PIN", file=sys.stderr)
            return EXIT_CONFIG
        new = args.pin if args.pin and not a.pin_hash else _ask_pin(argparse.Namespace(pin=None), "New PIN: ")
        if len(new) < 4 or not new.isdigit():
            print("voiceassist: the PIN must be at least 4 digits", file=sys.stderr)
            return EXIT_CONFIG
        _edit_alerts_config(path, pin_hash=hash_pin(new))
        print(f"PIN set (stored as a salted hash in {path})")
        return EXIT_OK
    if args.alerts_command in ("on", "off"):
        if not a.pin_hash:
            print("voiceassist: set a caregiver PIN first: voiceassist alerts set-pin", file=sys.stderr)
            return EXIT_CONFIG
        if not check_pin(_ask_pin(args), a.pin_hash):
            print("voiceassist: wrong PIN", file=sys.stderr)
            return EXIT_CONFIG
        _edit_alerts_config(path, enabled=args.alerts_command == "on")
        print(
            f"caregiver alerts are {args.alerts_command.upper()} (channels: {', '.join(a.channels)}); "
            "the person sees this in the app"
        )
        return EXIT_OK
    service = AlertService(a, outbox_path=args.outbox)
    try:
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
