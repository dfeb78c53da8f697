"""The alert service: policies + crisis phrases -> stored alerts -> delivery with retries.

``evaluate`` is called once per utterance (after fusion and the mood update) and returns the decisions;
each decision is stored in the outbox with its evidence before anything is sent. A dispatcher thread
delivers due rows, retrying failures with exponential backoff (``retry_base_s`` doubling up to
``retry_max_s``); rows still pending at shutdown are sent after the next start. Stored evidence and the
messages hold no words of the conversation unless ``alerts.include_transcript`` is on; the caregiver lock
(``lock.py``) is verified at start, and its notices go out through the channels the caregiver sealed.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from voiceassist.alerts.channels import Channel, DeliveryError, build_channels
from voiceassist.alerts.lock import CaregiverLock
from voiceassist.alerts.outbox import Outbox, StoredAlert, default_outbox_path
from voiceassist.alerts.pin import check_pin, hash_pin  # noqa: F401 (where callers import them from)
from voiceassist.alerts.policy import AlertDecision, CrisisDetector, CrisisMatch, CrisisPolicy, VolatilityPolicy
from voiceassist.logs import redact
from voiceassist.storage.db import failure_reason

log = logging.getLogger(__name__)


@dataclass
class Held:
    """An alert the outbox could not store (a full disk), kept in memory until it can."""

    id: int
    created_at: float
    kind: str
    severity: str
    rule: str
    evidence: dict[str, Any]
    suppressed: bool
    sent: set[str] = field(default_factory=set)
    next_try: dict[str, float] = field(default_factory=dict)


_SUMMARY = {
    "volatility": "{who}'s mood has been changing sharply",
    "crisis:suicide": "{who} said something that may mean they are thinking of ending their life",
    "crisis:self_harm": "{who} said something about harming themselves",
    "crisis:violence": "{who} said something about hurting someone",
    "test": "Test alert from VoiceAssist: this channel works",
}


class AlertService:
    def __init__(self, cfg: Any, outbox_path: Path | None = None, channels: dict[str, Channel] | None = None) -> None:

        self.cfg = cfg
        self.outbox = Outbox(outbox_path or default_outbox_path())
        self.channels = build_channels(cfg) if channels is None else channels
        self.lock = CaregiverLock(self.outbox)
        self.tamper = self.lock.verify(cfg)
        self.volatility = VolatilityPolicy.from_config(cfg)
        self.crisis = CrisisPolicy(cooldown_s=cfg.crisis_cooldown_s)
        self.detector = CrisisDetector.from_config(cfg.crisis_phrases)
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._held: list[Held] = []

    # -- policy ------------------------------------------------------------------------------------
    def evaluate(
        self,
        t: float,
        segment_id: int,
        text: str,
        metric_value: float | None,
        evidence: dict[str, Any],
        crisis: list[CrisisMatch] | None = None,
    ) -> list[tuple[int, AlertDecision]]:
        """Run both policies for one utterance; store what fired; return (alert id, decision) pairs.
        ``crisis``: the phrases already found in ``text`` (the assessment detects them once for the reply
        and the alerts); None: detect them here."""
        if crisis is None:
            crisis = self.detector.detect(text) if text else []
        decisions = self.crisis.observe(t, segment_id, crisis) if crisis or text else []
        decisions += self.volatility.observe(t, segment_id, metric_value)
        out = []
        for d in decisions:
            ev = {
                **evidence,
                "segment_ids": list(d.segment_ids),
                "values": list(d.values),
                "phrases": list(d.phrases),
                "metric": self.cfg.metric,
            }
            rule = d.rule
            if not self.cfg.include_transcript:  # the outbox keeps no words of the conversation
                ev["phrases"] = []
                ev["utterances"] = [{k: v for k, v in u.items() if k != "text"} for u in ev.get("utterances", [])]
                if d.kind.startswith("crisis:"):
                    rule = f"a crisis phrase ({d.kind.split(':', 1)[1].replace('_', ' ')}) was heard"
            alert_id = self._add(d.kind, d.severity.value, rule, ev, d.suppressed)
            note = " (in cooldown: stored, not sent)" if d.suppressed else ""
            log.warning("alert %d: %s %s%s", alert_id, d.severity.value, d.kind, note)
            out.append((alert_id, d))
        if out:
            self._wake.set()
        return out

    def _add(self, kind: str, severity: str, rule: str, evidence: dict[str, Any], suppressed: bool) -> int:
        """Stored in the outbox; when it cannot be written (a full disk) the alert is held in memory, sent
        from there, and stored once there is space again. Returns its id (negative while only in memory)."""
        try:
            return self.outbox.add(kind, severity, rule, evidence, list(self.channels), suppressed=suppressed)
        except sqlite3.Error as e:
            held = Held(-(len(self._held) + 1), time.time(), kind, severity, rule, evidence, suppressed)
            self._held.append(held)
            log.error(
                "alert %s cannot be stored (%s): held in memory, sent from there, stored when it can be",
                kind,
                failure_reason(e),
            )
            return held.id

    def send_test(self) -> int:
        return self.outbox.add(
            "test", "info", "test alert requested by the caregiver", {}, list(self.channels), test=True
        )

    # -- messages ----------------------------------------------------------------------------------
    def message(self, alert: StoredAlert) -> dict[str, Any]:
        who = self.cfg.person_name or "The person"
        summary = _SUMMARY.get(alert.kind, "VoiceAssist alert: {who}").format(who=who)
        rule = alert.rule
        if alert.kind.startswith("crisis:") and not self.cfg.include_transcript:
            rule = f"a crisis phrase ({alert.kind.split(':', 1)[1].replace('_', ' ')}) was heard"
        msg: dict[str, Any] = {
            "type": "voiceassist.alert",
            "id": alert.id,
            "kind": alert.kind,
            "severity": alert.severity,
            "created_at": datetime.fromtimestamp(alert.created_at, timezone.utc).isoformat(timespec="seconds"),
            "summary": summary,
            "rule": rule,
            "test": alert.test,
        }
        if self.cfg.include_transcript and alert.evidence.get("utterances"):
            msg["transcript"] = [u["text"] for u in alert.evidence["utterances"] if u.get("text")]
        return msg

    # -- delivery ----------------------------------------------------------------------------------
    def deliver_due(self, now: float | None = None) -> int:
        """Try every due delivery once; returns how many were sent."""
        now = time.time() if now is None else now
        sent = self._deliver_held(now)
        sent += self.lock.deliver_notices(now)  # notices of a change made without the PIN
        for d in self.outbox.due(now):
            if self.outbox.alert(d.alert_id).kind == "tamper":
                continue
            channel = self.channels.get(d.channel)
            if channel is None:
                self.outbox.mark_failed(d.alert_id, d.channel, "channel no longer configured", None)
                continue
            try:
                channel.send(self.message(self.outbox.alert(d.alert_id)))
            except Exception as e:
                err = redact(str(e) if isinstance(e, DeliveryError) else f"{type(e).__name__}: {e}")
                attempts = d.attempts + 1
                give_up = channel.max_attempts is not None and attempts >= channel.max_attempts
                delay = min(self.cfg.retry_max_s, self.cfg.retry_base_s * 2 ** (attempts - 1))
                self.outbox.mark_failed(d.alert_id, d.channel, err, None if give_up else now + delay)
                log.warning(
                    "alert %d via %s failed (attempt %d): %s%s",
                    d.alert_id,
                    d.channel,
                    attempts,
                    err,
                    "; giving up" if give_up else f"; retry in {delay:.1f} s",
                )
                continue
            self.outbox.mark_sent(d.alert_id, d.channel)
            sent += 1
        return sent

    def _deliver_held(self, now: float) -> int:
        """Alerts the outbox could not take: stored when it can now (with the channels already sent marked
        sent), else sent from memory, each channel tried again after ``retry_base_s``."""
        sent = 0
        for h in list(self._held):
            try:
                alert_id = self.outbox.add(
                    h.kind,
                    h.severity,
                    h.rule,
                    h.evidence,
                    list(self.channels),
                    suppressed=h.suppressed,
                    now=h.created_at,
                )
                for ch in h.sent:
                    self.outbox.mark_sent(alert_id, ch)
            except sqlite3.Error:
                pass
            else:
                self._held.remove(h)
                log.warning(
                    "alert %s stored now (id %d), %d channel(s) already sent from memory", h.kind, alert_id, len(h.sent)
                )
                continue
            if h.suppressed:
                continue
            stored = StoredAlert(h.id, h.created_at, h.kind, h.severity, h.rule, h.evidence, False, False)
            for name, channel in self.channels.items():
                if name in h.sent or h.next_try.get(name, 0.0) > now:
                    continue
                try:
                    channel.send(self.message(stored))
                except Exception as e:
                    h.next_try[name] = now + self.cfg.retry_base_s
                    log.warning("held alert %s via %s failed: %s", h.kind, name, redact(str(e)))
                    continue
                h.sent.add(name)
                sent += 1
        return sent

    @property
    def held(self) -> int:
        """Alerts waiting in memory for the outbox to take them."""
        return len(self._held)

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="voiceassist-alerts", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.deliver_due()
            except Exception:
                log.error("alert dispatcher failed", exc_info=True)
            nxt = self.outbox.next_due_at()
            wait = 1.0 if nxt is None else max(0.05, min(1.0, nxt - time.time()))
            self._wake.wait(wait)
            self._wake.clear()
        try:  # one last pass at stop: an alert raised by the last utterance is not left for the next start
            self.deliver_due()
        except Exception:
            log.error("alert dispatcher failed on its last pass", exc_info=True)

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
        self.outbox.close()
