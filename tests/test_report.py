"""The caregiver report: `voiceassist report` writes one HTML page with the charts as embedded PNGs and the
key figures in words, in English or Chinese; no words of the conversation unless the caregiver setting
allows it; bad input is said clearly. The weekly report goes through the e-mail channel to a real SMTP
server on loopback, only with the person's consent, once per week."""

from __future__ import annotations

import base64
import re
from datetime import date, timedelta
from email import message_from_bytes, policy
from pathlib import Path

import pytest

from tests.test_alert_delivery import Smtp
from voiceassist.cli import main
from voiceassist.config import load_config
from voiceassist.review.sample import SENTENCES, write_sample_history
from voiceassist.review.weekly import last_week, send_weekly_report
from voiceassist.storage import SessionStore

END = date(2026, 3, 29)


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("report") / "s.db"
    s = SessionStore(path)
    write_sample_history(s, 42, end=END, seed=5)
    s.close()
    return path


def _config(tmp_path: Path, text: str = "") -> Path:
    p = tmp_path / "config.toml"
    p.write_text('[alerts]\nperson_name = "Mum"\n' + text, encoding="utf-8")
    return p


def _report(tmp_path: Path, db: Path, *args: str, config: str = "") -> tuple[int, Path]:
    out = tmp_path / "report.html"
    code = main(["report", "--store", str(db), "--config", str(_config(tmp_path, config)), "-o", str(out), *args])
    return code, out


def test_report_in_english_with_charts_and_figures(tmp_path: Path, db: Path, capsys):
    code, out = _report(tmp_path, db, "--from", "2026-03-16", "--to", "2026-03-29", "--language", "en")
    assert code == 0 and "written to" in capsys.readouterr().out
    page = out.read_text(encoding="utf-8")
    images = re.findall(r'src="data:image/png;base64,([^"]+)"', page)
    assert len(images) == 2 and all(base64.b64decode(i).startswith(b"\x89PNG") for i in images)
    assert "Mum talked with the assistant on" in page and "of 14 days" in page
    assert "on a scale from -1 (very unpleasant) to +1 (very pleasant)" in page
    assert "not a population norm" in page and "Compared with 2026-03-02 to 2026-03-15" in page
    assert "@media print" in page and '<html lang="en">' in page
    for en, zh in SENTENCES.values():  # no words of the conversation by default
        assert en not in page and zh not in page
    assert "alerts.include_transcript is off" in page


def test_report_in_chinese(tmp_path: Path, db: Path):
    code, out = _report(tmp_path, db, "--from", "2026-03-23", "--to", "2026-03-29", "--language", "zh")
    assert code == 0
    page = out.read_text(encoding="utf-8")
    assert '<html lang="zh-CN">' in page and "情绪报告" in page and "天和助手说过话" in page
    assert "不是人群常模" in page and "Mood report" not in page


def test_the_caregiver_setting_lets_the_words_in(tmp_path: Path, db: Path):
    code, out = _report(
        tmp_path, db, "--from", "2026-03-23", "--to", "2026-03-29", config="include_transcript = true\n"
    )
    assert code == 0
    page = out.read_text(encoding="utf-8")
    assert "What was said" in page and any(en in page for en, _ in SENTENCES.values())


def test_bad_input_is_said_and_nothing_is_written(tmp_path: Path, db: Path, capsys):
    code, out = _report(tmp_path, db, "--from", "2020-01-01", "--to", "2020-01-07")
    assert code == 2 and not out.exists()
    assert "No conversations between 2020-01-01 and 2020-01-07" in capsys.readouterr().err
    code, out = _report(tmp_path, db, "--from", "2026-03-29", "--to", "2026-03-01")
    assert code == 3 and not out.exists() and "ends (2026-03-01) before it starts" in capsys.readouterr().err
    with pytest.raises(SystemExit) as e:
        _report(tmp_path, db, "--from", "29/03/2026")
    assert e.value.code == 2 and "is not a date: use YYYY-MM-DD" in capsys.readouterr().err
    code = main(["report", "--store", str(tmp_path / "none.db"), "--config", str(_config(tmp_path))])
    assert code == 3 and "no session store" in capsys.readouterr().err


def _weekly_cfg(tmp_path: Path, port: int, consent: bool):
    text = (
        f'[alerts.email]\nhost = "127.0.0.1"\nport = {port}\nsecurity = "none"\nto = ["carer@example.org"]\n'
        f"[privacy]\nweekly_report = {'true' if consent else 'false'}\n"
    )
    return load_config(_config(tmp_path, text))


def test_weekly_report_by_email_only_with_consent_and_once_a_week(tmp_path: Path, db: Path):
    smtp = Smtp()
    try:
        store = SessionStore(db)
        state = tmp_path / "weekly.json"
        today = END + timedelta(days=3)  # Wednesday after the last sample week
        r = send_weekly_report(_weekly_cfg(tmp_path, smtp.port, False), store, today, state)
        assert not r.sent and "has not agreed" in r.message and smtp.messages == []
        cfg = _weekly_cfg(tmp_path, smtp.port, True)
        r = send_weekly_report(cfg, store, today, state)
        assert r.sent and r.week == last_week(today) == (date(2026, 3, 23), date(2026, 3, 29)), r.message
        (rcpt, raw), *_ = smtp.messages
        msg = message_from_bytes(raw.as_bytes(), policy=policy.default)
        assert rcpt == ["carer@example.org"] and "Weekly mood report for Mum" in msg["Subject"]
        body = msg.get_body(("plain",)).get_content()
        assert "Mum talked with the assistant on" in body
        (page,) = [p for p in msg.iter_attachments() if p.get_filename().endswith(".html")]
        html = page.get_payload(decode=True).decode("utf-8")
        assert "data:image/png;base64," in html and not any(en in html for en, _ in SENTENCES.values())
        again = send_weekly_report(cfg, store, today + timedelta(days=1), state)
        assert not again.sent and again.message.startswith("already sent") and len(smtp.messages) == 1
        store.close()
    finally:
        smtp.stop()
    down = send_weekly_report(cfg, SessionStore(db), END + timedelta(days=10), state)
    assert not down.sent and "failed" in down.message  # the server is gone: said, retried next time
