"""Alert delivery for real: an SMTP server (aiosmtpd) and an HTTP server on loopback receive the alerts; a
channel that is down is retried with backoff, and after a restart the alert still arrives. Secrets never
reach the logs; messages carry no words of the conversation unless the caregiver enabled it."""

from __future__ import annotations

import json
import logging
import threading
import time
from email import message_from_bytes
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.conftest import wait_until
from voiceassist.alerts.channels import EmailChannel, WebhookChannel
from voiceassist.alerts.service import AlertService, check_pin, hash_pin
from voiceassist.config import AlertsConfig, EmailConfig, WebhookConfig
from voiceassist.pipeline import Models

TOKEN = "tok-SECRET-5f3a9"
PASSWORD = "pw-SECRET-81c2"


class Hook:
    """A loopback webhook receiver; ``status`` is what it answers."""

    def __init__(self) -> None:
        self.received: list[tuple[dict, dict]] = []
        self.status = 200
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if hook.status == 200:
                    hook.received.append((dict(self.headers), json.loads(body)))
                self.send_response(hook.status)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/alert"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def hook():
    h = Hook()
    yield h
    h.close()


class Smtp:
    def __init__(self, port: int = 0) -> None:
        from aiosmtpd.controller import Controller
        from aiosmtpd.smtp import AuthResult, LoginPassword

        self.messages: list = []
        self.logins: list[tuple[bytes, bytes]] = []
        outer = self

        class Handler:
            async def handle_DATA(self, server, session, envelope):
                outer.messages.append((envelope.rcpt_tos, message_from_bytes(envelope.content)))
                return "250 OK"

        def auth(server, session, envelope, mechanism, data):
            if isinstance(data, LoginPassword):
                outer.logins.append((data.login, data.password))
                return AuthResult(success=data.password == PASSWORD.encode())
            return AuthResult(success=False)

        if not port:  # aiosmtpd needs a real port number (it connects to itself to check it started)
            import socket

            with socket.socket() as s:
                s.bind(("127.0.0.1", 0))
                port = s.getsockname()[1]
        self.port = port
        self.controller = Controller(
            Handler(), hostname="127.0.0.1", port=port, authenticator=auth, auth_require_tls=False
        )
        self.controller.start()

    def stop(self) -> None:
        self.controller.stop()


@pytest.fixture
def smtp():
    s = Smtp()
    yield s
    s.stop()


def cfg(**kw) -> AlertsConfig:
    c = AlertsConfig(
        enabled=True,
        channels=["banner"],
        retry_base_s=0.2,
        retry_max_s=1.0,
        person_name="Mum",
        debounce_n=1,
        debounce_s=0,
    )
    for k, v in kw.items():
        setattr(c, k, v)
    return c


def evidence(text: str = "I feel so bad") -> dict:
    return {"utterances": [{"segment_id": 1, "text": text, "fused": "sad", "confidence": 0.8}]}


def test_email_and_webhook_receive_a_crisis_alert(tmp_path: Path, smtp: Smtp, hook: Hook):
    c = cfg(
        channels=["banner", "email", "webhook"],
        email=EmailConfig(
            host="127.0.0.1",
            port=smtp.port,
            security="none",
            username="care",
            password=PASSWORD,
            sender="va@home",
            to=["carer@example.org"],
        ),
        webhook=WebhookConfig(url=hook.url, token=TOKEN),
    )
    svc = AlertService(c, outbox_path=tmp_path / "alerts.db")
    svc.start()
    try:
        fired = svc.evaluate(0.0, 7, "I want to kill myself", None, evidence("I want to kill myself"))
        assert [d.kind for _, d in fired] == ["crisis:suicide"]
        assert wait_until(lambda: smtp.messages and hook.received)
    finally:
        svc.stop()
    rcpt, mail = smtp.messages[0]
    assert rcpt == ["carer@example.org"] and "URGENT" in mail["Subject"] and "Mum" in mail["Subject"]
    assert smtp.logins == [(b"care", PASSWORD.encode())]
    headers, body = hook.received[0]
    assert headers["Authorization"] == f"Bearer {TOKEN}"
    assert body["severity"] == "urgent" and body["kind"] == "crisis:suicide" and body["type"] == "voiceassist.alert"
    # minimal content by default: not a word of what was said
    text = mail.get_payload() + json.dumps(body)
    assert "kill myself" not in text and "transcript" not in body


def test_transcript_only_when_the_caregiver_enables_it(tmp_path: Path, hook: Hook):
    svc = AlertService(
        cfg(channels=["webhook"], include_transcript=True, webhook=WebhookConfig(url=hook.url)),
        outbox_path=tmp_path / "a.db",
    )
    svc.evaluate(0.0, 1, "I want to end my life", None, evidence("I want to end my life"))
    svc.deliver_due()
    svc.stop()
    assert hook.received[0][1]["transcript"] == ["I want to end my life"]
    assert "end my life" in hook.received[0][1]["rule"]


def test_a_down_channel_is_retried_with_backoff_and_delivers_after_a_restart(tmp_path: Path, hook: Hook):
    db = tmp_path / "alerts.db"
    c = cfg(channels=["webhook"], webhook=WebhookConfig(url=hook.url, token=TOKEN), retry_base_s=5, retry_max_s=60)
    hook.status = 503
    svc = AlertService(c, outbox_path=db)
    alert_id, _ = svc.evaluate(0.0, 3, "I'm going to hurt myself", None, evidence())[0]
    now = time.time()
    tries = []
    for k in range(4):  # each retry waits longer: 5, 10, 20, 40 s
        assert svc.deliver_due(now=now + 1000 * k) == 0
        d = svc.outbox.deliveries(alert_id)[0]
        tries.append(d.next_try - (now + 1000 * k))
        assert d.status == "pending" and d.attempts == k + 1 and "503" in (d.last_error or "")
    assert tries == pytest.approx([5, 10, 20, 40], abs=0.5)
    svc.stop()  # the app quits with the alert undelivered
    assert not hook.received

    hook.status = 200
    svc2 = AlertService(c, outbox_path=db)  # next start
    svc2.deliver_due(now=time.time() + 3600)
    svc2.stop()
    assert len(hook.received) == 1 and hook.received[0][1]["id"] == alert_id
    svc3 = AlertService(c, outbox_path=db)
    assert svc3.outbox.deliveries(alert_id)[0].status == "sent"
    assert svc3.deliver_due(now=time.time() + 7200) == 0  # never sent twice
    svc3.stop()


def test_smtp_down_then_up(tmp_path: Path):
    probe = Smtp()
    port = probe.port
    probe.stop()  # nothing listens on the port now
    c = cfg(channels=["email"], email=EmailConfig(host="127.0.0.1", port=port, security="none", to=["c@x.org"]))
    svc = AlertService(c, outbox_path=tmp_path / "a.db")
    alert_id, _ = svc.evaluate(0.0, 1, "我不想活了", None, evidence())[0]
    svc.deliver_due()
    d = svc.outbox.deliveries(alert_id)[0]
    assert d.status == "pending" and d.attempts == 1 and "failed" in (d.last_error or "")
    server = Smtp(port=port)
    try:
        svc.deliver_due(now=time.time() + 100)
        assert svc.outbox.deliveries(alert_id)[0].status == "sent"
        assert len(server.messages) == 1
    finally:
        server.stop()
        svc.stop()


def test_secrets_never_reach_the_logs(tmp_path: Path, caplog: pytest.LogCaptureFixture):
    from voiceassist.logs import setup_logging

    log_file = setup_logging(2, log_dir=tmp_path / "logs")
    caplog.set_level(logging.DEBUG)
    try:
        c = cfg(
            channels=["email", "webhook"],
            email=EmailConfig(
                host="127.0.0.1", port=1, security="none", username="u", password=PASSWORD, to=["c@x.org"]
            ),
            webhook=WebhookConfig(url=f"http://127.0.0.1:1/{TOKEN}", token=TOKEN),
        )
        svc = AlertService(c, outbox_path=tmp_path / "a.db")
        svc.evaluate(0.0, 1, "I want to die", None, evidence())
        svc.deliver_due()
        logging.getLogger("probe").warning("config dump: password=%s token=%s", PASSWORD, TOKEN)
        errors = [d.last_error or "" for d in svc.outbox.deliveries()]
        svc.stop()
    finally:
        root = logging.getLogger()
        for h in list(root.handlers):
            if h.__class__.__module__.startswith("logging"):  # ours, not pytest's capture handlers
                root.removeHandler(h)
                h.close()
    assert log_file is not None
    written = log_file.read_text() + "\n".join(errors)
    assert "webhook" in written and "***" in written
    assert PASSWORD not in written and TOKEN not in written


def test_pin_is_hashed_and_checked():
    h = hash_pin("482135", time_cost=1, memory_cost=64)
    assert "482135" not in h and check_pin("482135", h) and not check_pin("482136", h)
    assert h.startswith("$argon2id$") and hash_pin("482135", time_cost=1, memory_cost=64) != h  # salted
    assert not check_pin("482135", "garbage")


def test_channels_scrub_their_secret_from_errors():
    ch = WebhookChannel(WebhookConfig(url=f"http://127.0.0.1:1/x?t={TOKEN}", token=TOKEN, timeout_s=2))
    with pytest.raises(Exception) as e:
        ch.send({"severity": "info"})
    assert TOKEN not in str(e.value)
    em = EmailChannel(EmailConfig(host="127.0.0.1", port=1, security="none", password=PASSWORD, to=["a@b"]))
    with pytest.raises(Exception) as e:
        em.send({"severity": "info", "summary": "s", "created_at": "now", "rule": "r"})
    assert PASSWORD not in str(e.value)


def test_pipeline_raises_and_delivers_a_crisis_alert_and_reports_mood(tmp_path: Path, hook: Hook, two_utterances):
    from tests.test_pipeline_emotion import ScriptedAsr
    from voiceassist.audio.sources import FileSource
    from voiceassist.bus import Collector
    from voiceassist.config import Config
    from voiceassist.events import AlertRaised, FusedEmotion, MoodUpdate, StageReady
    from voiceassist.session import Session

    c = Config()
    c.alerts = cfg(channels=["banner", "webhook"], webhook=WebhookConfig(url=hook.url))
    svc = AlertService(c.alerts, outbox_path=tmp_path / "alerts.db")
    path, _ = two_utterances
    col = Collector()
    p = Session(
        c,
        FileSource(path),
        models=Models(asr=ScriptedAsr([("Good morning, how are you", "en"), ("我真的不想活了", "zh")])),
        alerts=svc,
    )
    p.subscribe(col)
    p.start()
    assert p.wait(timeout=120)
    ready = {e.stage: e for e in col.of(StageReady)}
    assert "alerts ON" in ready["alerts"].description  # the person can see alerts are on
    moods = col.of(MoodUpdate)
    assert [m.segment_id for m in moods] == [e.segment_id for e in col.of(FusedEmotion)] and moods[1].state.n == 2
    raised = col.of(AlertRaised)
    # the crisis phrase raises one urgent alert at once; the jump from a greeting to it may also raise a
    # volatility alert (debounce_n=1 here), which is delivered like any other
    alerts = [a for a in raised if a.kind.startswith("crisis")]
    assert len(alerts) == 1 and alerts[0].severity == "urgent" and alerts[0].segment_ids == (2,)
    assert all(a.kind == "volatility" and a.segment_ids[-1] == 2 for a in raised if a not in alerts)
    assert alerts[0].channels == ("webhook",)
    assert col.events.index(alerts[0]) > col.events.index(moods[1])
    kinds = sorted(body["kind"] for _, body in hook.received)
    assert kinds == sorted(a.kind for a in raised) and "crisis:suicide" in kinds
    # stored with its evidence: the utterances and the mood scores
    out = AlertService(c.alerts, outbox_path=tmp_path / "alerts.db")
    stored = out.outbox.alert(alerts[0].alert_id)
    # include_transcript is off: the outbox keeps no words of the conversation (segment ids and scores only)
    assert [u["segment_id"] for u in stored.evidence["utterances"]] == [1, 2]
    assert all("text" not in u for u in stored.evidence["utterances"]) and stored.evidence["phrases"] == []
    assert "不想活" not in json.dumps(stored.evidence, ensure_ascii=False) and "不想活" not in stored.rule
    assert "rmssd_valence" in stored.evidence["mood"] and stored.rule.startswith("a crisis phrase (suicide)")
    out.stop()


def test_cli_pin_on_off_and_test(tmp_path: Path, hook: Hook):
    import subprocess
    import sys

    conf = tmp_path / "config.toml"
    conf.write_text(
        f'# my settings\n[alerts]\nchannels = ["banner", "webhook"]\n\n[alerts.webhook]\nurl = "{hook.url}"\n'
    )

    def cli(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [
                sys.executable,
                "-m",
                "voiceassist",
                "alerts",
                *args,
                "--config",
                str(conf),
                "--outbox",
                str(tmp_path / "o.db"),
            ],
            capture_output=True,
            text=True,
            timeout=60,
        )

    r = cli("on", "--pin", "1234")
    assert r.returncode == 3 and "set a caregiver PIN first" in r.stderr
    r = cli("set-pin", "--pin", "1234")
    assert r.returncode == 3 and "at least 6 digits" in r.stderr
    assert cli("set-pin", "--pin", "123456").returncode == 0
    assert "123456" not in conf.read_text() and "# my settings" in conf.read_text()
    assert cli("on", "--pin", "999999").returncode == 3
    r = cli("on", "--pin", "123456")
    assert r.returncode == 0 and "ON" in r.stdout
    from voiceassist.config import load_config

    assert load_config(conf).alerts.enabled
    r = cli("test")
    assert r.returncode == 0 and "webhook  sent" in r.stdout
    assert hook.received[-1][1]["test"] is True and hook.received[-1][1]["kind"] == "test"
    hook.status = 500
    r = cli("test")
    assert r.returncode == 4 and "FAILED" in r.stdout and "HTTP 500" in r.stdout
    r = cli("status")
    assert r.returncode == 0 and "alerts are ON" in r.stdout and "webhook: pending" in r.stdout
    assert cli("off", "--pin", "123456").returncode == 0 and not load_config(conf).alerts.enabled
