"""Delivery channels. Each ``send`` raises ``DeliveryError`` on failure (then the dispatcher retries).

Secrets (SMTP password, webhook token) come from the environment or the config file, are registered with
the log redactor, and are scrubbed from every error message.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import smtplib
import ssl
import subprocess
import urllib.error
import urllib.request
from email.message import EmailMessage
from typing import Any

from voiceassist.logs import redact, register_secret


class DeliveryError(RuntimeError):
    pass


class Channel:
    name = "channel"
    max_attempts: int | None = None
    """None: retry until delivered (with backoff, across restarts)."""

    def send(self, message: dict[str, Any]) -> None:
        raise NotImplementedError


def render_text(message: dict[str, Any]) -> tuple[str, str]:
    """(subject, body) in plain words."""
    sev = message["severity"].upper()
    subject = f"[VoiceAssist {sev}] {message['summary']}"
    lines = [
        message["summary"],
        "",
        f"Severity: {message['severity']}",
        f"When: {message['created_at']}",
        f"Why: {message['rule']}",
    ]
    if message.get("transcript"):
        lines += ["", "What was said:"] + [f"  - {t}" for t in message["transcript"]]
    lines += [
        "",
        "Open VoiceAssist on their computer for the details. This alert was sent because a caregiver "
        "turned alerts on; the person can see that alerts are on.",
    ]
    if message.get("test"):
        subject = "[VoiceAssist TEST] " + message["summary"]
    return subject, "\n".join(lines)


class DesktopChannel(Channel):
    name = "desktop"
    max_attempts = 3  # a notification is only useful now

    def send(self, message: dict[str, Any]) -> None:
        subject, _ = render_text(message)
        system = platform.system()
        if system == "Linux":
            exe = shutil.which("notify-send")
            if exe is None:
                raise DeliveryError("desktop notifications need notify-send (apt-get install libnotify-bin)")
            urgency = "critical" if message["severity"] == "urgent" else "normal"
            cmd = [exe, "-u", urgency, "-a", "VoiceAssist", subject, message["summary"]]
        elif system == "Darwin":
            script = f"display notification {json.dumps(message['summary'])} with title {json.dumps(subject)}"
            cmd = ["osascript", "-e", script]
        else:
            raise DeliveryError(f"desktop notifications are not supported on {system}; the in-app banner shows it")
        try:
            r = subprocess.run(cmd, capture_output=True, text=True, timeout=10)
        except (OSError, subprocess.TimeoutExpired) as e:
            raise DeliveryError(f"desktop notification failed: {e}") from e
        if r.returncode != 0:
            raise DeliveryError(f"desktop notification failed: {r.stderr.strip()[:200] or r.returncode}")


class EmailChannel(Channel):
    name = "email"

    def __init__(self, cfg: Any) -> None:
        self.cfg = cfg
        self.password = os.environ.get("VOICEASSIST_SMTP_PASSWORD", "") or cfg.password
        register_secret(self.password)

    def send(self, message: dict[str, Any]) -> None:
        subject, body = render_text(message)
        msg = EmailMessage()
        msg["Subject"] = subject
        msg["From"] = self.cfg.sender or self.cfg.username or "voiceassist@localhost"
        msg["To"] = ", ".join(self.cfg.to)
        msg.set_content(body)
        self.deliver(msg)

    def deliver(self, msg: EmailMessage) -> None:
        """Send a built message through the configured SMTP server (TLS as configured, secrets redacted)."""
        try:
            if self.cfg.security == "ssl":
                smtp: smtplib.SMTP = smtplib.SMTP_SSL(
                    self.cfg.host, self.cfg.port, timeout=self.cfg.timeout_s, context=ssl.create_default_context()
                )
            else:
                smtp = smtplib.SMTP(self.cfg.host, self.cfg.port, timeout=self.cfg.timeout_s)
            with smtp:
                if self.cfg.security == "starttls":
                    smtp.starttls(context=ssl.create_default_context())
                if self.cfg.username:
                    smtp.login(self.cfg.username, self.password)
                smtp.send_message(msg)
        except (OSError, smtplib.SMTPException) as e:
            where = f"{self.cfg.host}:{self.cfg.port}"
            raise DeliveryError(redact(f"e-mail to {where} failed: {type(e).__name__}: {e}")) from None


class WebhookChannel(Channel):
    name = "webhook"

    def __init__(self, cfg: Any) -> None:
        self.cfg = cfg
        self.token = os.environ.get("VOICEASSIST_WEBHOOK_TOKEN", "") or cfg.token
        register_secret(self.token)

    def send(self, message: dict[str, Any]) -> None:
        data = json.dumps(message, ensure_ascii=False).encode("utf-8")
        req = urllib.request.Request(
            self.cfg.url,
            data=data,
            method="POST",
            headers={"Content-Type": "application/json; charset=utf-8", "User-Agent": "voiceassist-alerts"},
        )
        if self.token:
            req.add_header("Authorization", f"Bearer {self.token}")
        try:
            with urllib.request.urlopen(req, timeout=self.cfg.timeout_s) as resp:
                if not 200 <= resp.status < 300:
                    raise DeliveryError(f"webhook answered HTTP {resp.status}")
        except urllib.error.HTTPError as e:
            raise DeliveryError(f"webhook answered HTTP {e.code}") from None
        except (OSError, urllib.error.URLError) as e:
            raise DeliveryError(redact(f"webhook {self.cfg.url} unreachable: {e}")) from None


def build_channels(cfg: Any) -> dict[str, Channel]:
    """The configured outbound channels (the banner is the in-app AlertRaised event, not a channel)."""
    out: dict[str, Channel] = {}
    for name in cfg.channels:
        if name == "desktop":
            out[name] = DesktopChannel()
        elif name == "email":
            out[name] = EmailChannel(cfg.email)
        elif name == "webhook":
            out[name] = WebhookChannel(cfg.webhook)
    return out
