"""The weekly report by e-mail: last week's caregiver report (Monday to Sunday) sent through the caregiver's
e-mail channel (alerts.email: its SMTP settings, the password from VOICEASSIST_SMTP_PASSWORD, secrets
redacted) once the week is over, only when the person has agreed (``privacy.weekly_report``). A week is sent
once: the last week sent is kept in ``<user data dir>/weekly_report.json``; a failed sending is tried again
the next time (``voiceassist report --weekly`` from a timer, or the window when it opens)."""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from datetime import date, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from voiceassist.alerts.channels import DeliveryError, EmailChannel
from voiceassist.review.history import load_history
from voiceassist.review.report import ReportOptions, build_report, key_figures
from voiceassist.review.words import t

log = logging.getLogger(__name__)


class ReportEmail(EmailChannel):
    """The alerts' e-mail channel, sending a report: the key figures as the text, the page attached."""

    name = "email-report"

    def send_report(self, subject: str, text: str, page: str, filename: str) -> None:
        msg = EmailMessage()
        msg["Subject"] = subject
        msg["From"] = self.cfg.sender or self.cfg.username or "voiceassist@localhost"
        msg["To"] = ", ".join(self.cfg.to)
        msg.set_content(text)
        msg.add_attachment(page.encode("utf-8"), maintype="text", subtype="html", filename=filename)
        self.deliver(msg)


@dataclass(frozen=True)
class WeeklyResult:
    sent: bool
    message: str
    week: tuple[date, date] | None = None


def last_week(today: date) -> tuple[date, date]:
    """The last whole Monday-to-Sunday week before ``today``."""
    monday = today - timedelta(days=today.weekday() + 7)
    return monday, monday + timedelta(days=6)


def default_state_path() -> Path:
    from voiceassist.paths import user_data_dir

    return user_data_dir() / "weekly_report.json"


def _last_sent(path: Path) -> date | None:
    try:
        return date.fromisoformat(json.loads(path.read_text(encoding="utf-8"))["last_week_end"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def send_weekly_report(
    cfg: Any,
    store: Any,
    today: date | None = None,
    state_path: Path | None = None,
    force: bool = False,
    language: str | None = None,
) -> WeeklyResult:
    """Send last week's report when it is due. Never raises for a refusal or a failed delivery: the result
    says what happened (sent, not agreed, not configured, already sent, failed: why)."""
    a = cfg.alerts
    if not cfg.privacy.weekly_report:
        return WeeklyResult(False, "not sent: the person has not agreed to a weekly report (privacy.weekly_report)")
    if not (a.email.host and a.email.to):
        return WeeklyResult(False, "not sent: no caregiver e-mail is configured (alerts.email.host and .to)")
    start, end = last_week(today or date.today())
    state = state_path or default_state_path()
    done = _last_sent(state)
    if done is not None and done >= end and not force:
        return WeeklyResult(False, f"already sent: the week {start} to {end}", (start, end))
    opts = ReportOptions.from_config(cfg, language)
    page = build_report(store, start, end, opts, allow_empty=True)
    h = load_history(store, start, end, opts.metric)
    text = "\n".join(key_figures(h, opts))
    person = opts.person or t("the_person", opts.language)
    subject = t("weekly_subject", opts.language, person=person, start=start, end=end)
    try:
        ReportEmail(a.email).send_report(subject, text, page, f"voiceassist-report-{start}-{end}.html")
    except DeliveryError as e:
        log.warning("weekly report: %s", e)
        return WeeklyResult(False, f"not sent: {e}", (start, end))
    state.parent.mkdir(parents=True, exist_ok=True)
    tmp = state.with_name(state.name + ".tmp")
    tmp.write_text(json.dumps({"last_week_end": end.isoformat()}), encoding="utf-8")
    os.replace(tmp, state)
    log.info("weekly report for %s to %s sent to %d address(es)", start, end, len(a.email.to))
    return WeeklyResult(True, f"sent: the week {start} to {end} to {', '.join(a.email.to)}", (start, end))
