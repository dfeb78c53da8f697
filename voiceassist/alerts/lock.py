"""The caregiver lock: what the caregiver set with the PIN is sealed, and any other change is told to them.

The [alerts] section of the config file is the caregiver's. ``--set`` and API overrides cannot change it
(voiceassist/config); the CLI's ``alerts`` commands and the window's caregiver section change it only after
the PIN, and then seal it: the whole section is kept in the caregiver record of the (encrypted) alert
outbox. A person who owns the machine can still edit the file, so the lock is tamper-evident: at every
start the section is compared with the seal, and a difference (alerts switched off, the PIN removed or
replaced, the channels changed) queues one notice, with no words of the conversation, through the channels
the caregiver sealed; the window shows it until the caregiver sets things again with the PIN. A missing
record where a PIN is set (the outbox deleted) is told the same way, through the channels in the file.

PINs are checked against the sealed hash (a hash pasted into the file does not unlock anything), with a
lockout: three free tries, then 30 s doubling up to an hour, kept in the record across processes.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from voiceassist.alerts.outbox import Outbox
from voiceassist.alerts.pin import check_pin, lockout_s

log = logging.getLogger(__name__)


SETTINGS_CHANGED = "Caregiver settings were changed without the caregiver PIN"


@dataclass(frozen=True)
class Tamper:
    at: float
    changes: tuple[str, ...]
    """What changed, in plain words ("alerts were switched off"); never values or conversation."""
    headline: str = SETTINGS_CHANGED

    def describe(self) -> str:
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(self.at))
        return f"{self.headline} ({when}): {'; '.join(self.changes)}."


@dataclass(frozen=True)
class PinCheck:
    ok: bool
    wait_s: float = 0.0
    message: str = ""


def caregiver_state(alerts_cfg: Any) -> dict[str, Any]:
    return dataclasses.asdict(alerts_cfg)


def alerts_config_from(state: dict[str, Any]) -> Any:
    """An AlertsConfig from a sealed state (keys a newer version added are skipped)."""
    from voiceassist.config import AlertsConfig, EmailConfig, WebhookConfig

    def build(cls: Any, values: dict[str, Any]) -> Any:
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in values.items() if k in names and k not in ("email", "webhook")})

    cfg = build(AlertsConfig, state)
    cfg.email = build(EmailConfig, state.get("email", {}))
    cfg.webhook = build(WebhookConfig, state.get("webhook", {}))
    return cfg


def describe_changes(sealed: dict[str, Any], now: dict[str, Any]) -> tuple[str, ...]:
    out = []
    if sealed.get("enabled") != now.get("enabled"):
        out.append("alerts were switched " + ("on" if now.get("enabled") else "off"))
    if sealed.get("pin_hash") != now.get("pin_hash"):
        out.append("the PIN was removed" if not now.get("pin_hash") else "the PIN was replaced")
    if any(sealed.get(k) != now.get(k) for k in ("channels", "email", "webhook", "weekly_report")):
        out.append("the caregiver's channels were changed")
    if sealed.get("include_transcript") != now.get("include_transcript"):
        out.append("whether messages carry what was said was changed")
    rest = sorted(
        k
        for k in set(sealed) | set(now)
        if sealed.get(k) != now.get(k)
        and k not in ("enabled", "pin_hash", "channels", "email", "webhook", "weekly_report", "include_transcript")
    )
    if rest:
        out.append("alert settings were changed: " + ", ".join(rest))
    return tuple(out)


class CaregiverLock:
    def __init__(self, outbox: Outbox) -> None:
        self.outbox = outbox
        self.db = outbox.db

    def _row(self) -> dict[str, Any]:
        return self.db.query_dicts("SELECT * FROM caregiver WHERE id = 1")[0]

    def sealed(self) -> dict[str, Any] | None:
        s = self._row()["sealed"]
        return None if s is None else dict(json.loads(s))

    def pin_hash(self, alerts_cfg: Any) -> str:
        """The hash a PIN is checked against: the sealed one (the file's only before any seal)."""
        sealed = self.sealed()
        return str(sealed.get("pin_hash", "")) if sealed else str(alerts_cfg.pin_hash)

    def seal(self, alerts_cfg: Any, now: float | None = None) -> None:
        """After a change made with the PIN: this is now the caregiver's state; a standing tamper is cleared."""
        self.db.write(
            "UPDATE caregiver SET sealed=?, sealed_at=?, observed=NULL, tamper=NULL WHERE id = 1",
            (json.dumps(caregiver_state(alerts_cfg)), time.time() if now is None else now),
        )

    def tamper(self) -> Tamper | None:
        t = self._row()["tamper"]
        if t is None:
            return None
        d = json.loads(t)
        return Tamper(float(d["at"]), tuple(d["changes"]), d.get("headline", SETTINGS_CHANGED))

    def verify(self, alerts_cfg: Any, now: float | None = None) -> Tamper | None:
        """Compare the config's [alerts] with the seal; a new difference queues one notice to the sealed
        channels. Returns the standing tamper (shown until the caregiver sets things again), if any."""
        now = time.time() if now is None else now
        row = self._row()
        state = caregiver_state(alerts_cfg)
        if row["sealed"] is None:
            if alerts_cfg.pin_hash and self.db.found_version < 2 and not self.db.created:
                self.seal(alerts_cfg, now)  # the first start of this version: what the older one had is sealed
                log.info("caregiver settings sealed as found (the first start of a version with the lock)")
                return None
            if alerts_cfg.pin_hash and row["observed"] is None:  # set up once, and the record is gone
                self.notify(("the caregiver record was deleted or replaced",), alerts_cfg, now)
                self.db.write("UPDATE caregiver SET observed=? WHERE id = 1", (json.dumps(state),))
            return self.tamper()
        sealed = json.loads(row["sealed"])
        if state != sealed and (row["observed"] is None or json.loads(row["observed"]) != state):
            changes = describe_changes(sealed, state)
            self.notify(changes, alerts_config_from(sealed), now)
            self.db.write("UPDATE caregiver SET observed=? WHERE id = 1", (json.dumps(state),))
            log.warning("caregiver settings changed without the PIN: %s; the caregiver is told", "; ".join(changes))
        return self.tamper()

    def notify(
        self, changes: tuple[str, ...], channels_cfg: Any, now: float | None = None, headline: str = SETTINGS_CHANGED
    ) -> int:
        """Queue one notice (no conversation content) through ``channels_cfg``'s channels; record it (the
        window shows it until the caregiver next sets things with the PIN)."""
        from voiceassist.alerts.channels import build_channels

        now = time.time() if now is None else now
        t = Tamper(now, changes, headline)
        alert_id = self.outbox.add(
            "tamper",
            "warning",
            t.describe(),
            {"changes": list(changes), "channels": caregiver_channels(channels_cfg)},
            list(build_channels(channels_cfg)),
            now=now,
        )
        self.db.write(
            "UPDATE caregiver SET tamper=? WHERE id = 1",
            (json.dumps({"at": now, "changes": list(changes), "headline": headline}),),
        )
        return alert_id

    # -- PIN checks with a lockout -----------------------------------------------------------------
    def try_pin(self, pin: str, alerts_cfg: Any, now: float | None = None) -> PinCheck:
        now = time.time() if now is None else now
        row = self._row()
        if now < row["locked_until"]:
            wait = row["locked_until"] - now
            return PinCheck(False, wait, f"too many wrong PINs: try again in {wait:.0f} s")
        stored = self.pin_hash(alerts_cfg)
        if stored and check_pin(pin, stored):
            self.db.write("UPDATE caregiver SET failures=0, locked_until=0 WHERE id = 1")
            return PinCheck(True)
        failures = int(row["failures"]) + 1
        wait = lockout_s(failures)
        self.db.write("UPDATE caregiver SET failures=?, locked_until=? WHERE id = 1", (failures, now + wait))
        if not stored:
            return PinCheck(False, wait, "no caregiver PIN is set: voiceassist alerts set-pin")
        return PinCheck(False, wait, "wrong PIN" + (f"; the next try in {wait:.0f} s" if wait else ""))

    # -- delivery of the notices -------------------------------------------------------------------
    def deliver_notices(self, now: float | None = None) -> int:
        """Send due notices through the channels each one was queued for; failures retried later."""
        from voiceassist.alerts.channels import build_channels

        now = time.time() if now is None else now
        sent = 0
        for d in self.outbox.due(now, kind="tamper"):
            alert = self.outbox.alert(d.alert_id)
            chans = build_channels(alerts_config_from(alert.evidence.get("channels", {})))
            channel = chans.get(d.channel)
            if channel is None:
                self.outbox.mark_failed(d.alert_id, d.channel, "channel not configured", None)
                continue
            try:
                channel.send(notice_message(alert))
            except Exception as e:
                self.outbox.mark_failed(d.alert_id, d.channel, f"{type(e).__name__}: {e}", now + 60 * 2**d.attempts)
                continue
            self.outbox.mark_sent(d.alert_id, d.channel)
            sent += 1
        return sent


def caregiver_channels(alerts_cfg: Any) -> dict[str, Any]:
    """What a notice needs to reach the caregiver later: the channels and their settings (no secrets from
    the environment; a password in the file is kept, the outbox is encrypted)."""
    state = caregiver_state(alerts_cfg)
    return {k: state[k] for k in ("channels", "email", "webhook", "person_name")}


def notice_message(alert: Any) -> dict[str, Any]:
    who = alert.evidence.get("channels", {}).get("person_name") or "The person"
    return {
        "type": "voiceassist.alert",
        "id": alert.id,
        "kind": alert.kind,
        "severity": alert.severity,
        "created_at": datetime.fromtimestamp(alert.created_at, timezone.utc).isoformat(timespec="seconds"),
        "summary": f"{who}'s VoiceAssist: {alert.rule}",
        "rule": alert.rule,
        "test": False,
    }


def check_caregiver_lock(
    alerts_cfg: Any, outbox_path: Path | None = None, deliver: str = "background"
) -> Tamper | None:
    """At a start: verify the lock (where a caregiver was ever set up) and send pending notices
    (``deliver``: "background" on a daemon thread, "now" before returning, "no")."""
    from voiceassist.alerts.outbox import default_outbox_path

    path = outbox_path or default_outbox_path()
    if not alerts_cfg.pin_hash and not path.exists():
        return None  # never set up: nothing to check
    try:
        box = Outbox(path)
    except Exception as e:  # an unreadable outbox (a wrong key): said; the store says it too
        log.error("cannot check the caregiver lock: %s", e)
        return None
    try:
        lock = CaregiverLock(box)
        found = lock.verify(alerts_cfg)
        if deliver == "now":
            lock.deliver_notices()
    finally:
        box.close()
    if deliver == "background" and found is not None:

        def run() -> None:
            b = Outbox(path)
            try:
                CaregiverLock(b).deliver_notices()
            except Exception:
                log.error("could not send the caregiver notice", exc_info=True)
            finally:
                b.close()

        threading.Thread(target=run, name="voiceassist-caregiver-notice", daemon=True).start()
    return found
