"""The alert outbox: every alert with its evidence, and one delivery row per channel (SQLite, WAL).

An alert is written before any channel is tried, and a delivery is only marked sent after the channel
said so; a crash or restart leaves undelivered rows pending, and the dispatcher sends them later.
"""

from __future__ import annotations

import json
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from voiceassist.storage.db import Database


def default_outbox_path() -> Path:
    """The alert outbox (and the caregiver record) in the user data dir."""
    from voiceassist.paths import user_data_dir

    return user_data_dir() / "alerts.sqlite3"


MIGRATIONS = [
    # 1: the first schema (IF NOT EXISTS: files made before the schema was versioned upgrade in place)
    """
CREATE TABLE IF NOT EXISTS alerts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    created_at REAL NOT NULL,          -- unix time
    kind TEXT NOT NULL,
    severity TEXT NOT NULL,
    rule TEXT NOT NULL,
    evidence TEXT NOT NULL,            -- JSON: segment ids, values, phrases, utterances, scores
    suppressed INTEGER NOT NULL DEFAULT 0,
    test INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS deliveries (
    alert_id INTEGER NOT NULL REFERENCES alerts(id),
    channel TEXT NOT NULL,
    status TEXT NOT NULL,              -- pending | sent | failed (gave up: a transient channel)
    attempts INTEGER NOT NULL DEFAULT 0,
    next_try REAL NOT NULL,
    last_error TEXT,
    sent_at REAL,
    PRIMARY KEY (alert_id, channel)
);
CREATE INDEX IF NOT EXISTS deliveries_due ON deliveries(status, next_try)
""",
    # 2: the caregiver record (alerts/lock.py): the [alerts] section as the caregiver last set it with the PIN,
    # what was seen changed without it, and the wrong-PIN count behind the lockout
    """
CREATE TABLE caregiver (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    sealed TEXT,                       -- JSON: [alerts] as set with the PIN (NULL: never set up)
    sealed_at REAL,
    observed TEXT,                     -- JSON: the last [alerts] seen that differs from it (told once)
    tamper TEXT,                       -- JSON: the last change made without the PIN, until set again with it
    failures INTEGER NOT NULL DEFAULT 0,
    locked_until REAL NOT NULL DEFAULT 0
);
INSERT INTO caregiver (id) VALUES (1)
""",
]


@dataclass(frozen=True)
class StoredAlert:
    id: int
    created_at: float
    kind: str
    severity: str
    rule: str
    evidence: dict[str, Any]
    suppressed: bool
    test: bool


@dataclass(frozen=True)
class Delivery:
    alert_id: int
    channel: str
    status: str
    attempts: int
    next_try: float
    last_error: str | None


class Outbox:
    def __init__(self, path: Path, key: bytes | None = None) -> None:
        self.path = path
        self.db = Database(path, MIGRATIONS, key=key)

    def close(self) -> None:
        self.db.close()

    def add(
        self,
        kind: str,
        severity: str,
        rule: str,
        evidence: dict[str, Any],
        channels: list[str],
        suppressed: bool = False,
        test: bool = False,
        now: float | None = None,
    ) -> int:
        now = time.time() if now is None else now

        def insert(c: sqlite3.Connection) -> int:
            cur = c.execute(
                "INSERT INTO alerts (created_at, kind, severity, rule, evidence, suppressed, test) "
                "VALUES (?,?,?,?,?,?,?)",
                (now, kind, severity, rule, json.dumps(evidence, ensure_ascii=False), int(suppressed), int(test)),
            )
            alert_id = int(cur.lastrowid or 0)
            if not suppressed:
                c.executemany(
                    "INSERT INTO deliveries (alert_id, channel, status, next_try) VALUES (?, ?, 'pending', ?)",
                    [(alert_id, ch, now) for ch in channels],
                )
            return alert_id

        return self.db.transact(insert)

    def due(self, now: float | None = None, kind: str | None = None) -> list[Delivery]:
        """Pending deliveries whose time has come (``kind``: of alerts of that kind only)."""
        now = time.time() if now is None else now
        rows = self.db.query(
            "SELECT d.alert_id, d.channel, d.status, d.attempts, d.next_try, d.last_error FROM deliveries d "
            "JOIN alerts a ON a.id = d.alert_id WHERE d.status = 'pending' AND d.next_try <= ? "
            "AND (? IS NULL OR a.kind = ?) ORDER BY d.next_try",
            (now, kind, kind),
        )
        return [Delivery(*r) for r in rows]

    def next_due_at(self) -> float | None:
        row = self.db.query("SELECT MIN(next_try) FROM deliveries WHERE status = 'pending'")[0]
        return None if row[0] is None else float(row[0])

    def mark_sent(self, alert_id: int, channel: str, now: float | None = None) -> None:
        self.db.write(
            "UPDATE deliveries SET status='sent', attempts=attempts+1, sent_at=?, last_error=NULL "
            "WHERE alert_id=? AND channel=?",
            (time.time() if now is None else now, alert_id, channel),
        )

    def mark_failed(self, alert_id: int, channel: str, error: str, next_try: float | None) -> None:
        """``next_try`` None: give up (status failed)."""
        if next_try is None:
            self.db.write(
                "UPDATE deliveries SET status='failed', attempts=attempts+1, last_error=? "
                "WHERE alert_id=? AND channel=?",
                (error, alert_id, channel),
            )
        else:
            self.db.write(
                "UPDATE deliveries SET attempts=attempts+1, last_error=?, next_try=? WHERE alert_id=? AND channel=?",
                (error, next_try, alert_id, channel),
            )

    def alert(self, alert_id: int) -> StoredAlert:
        rows = self.db.query(
            "SELECT id, created_at, kind, severity, rule, evidence, suppressed, test FROM alerts WHERE id=?",
            (alert_id,),
        )
        if not rows:
            raise KeyError(alert_id)
        r = rows[0]
        return StoredAlert(r[0], r[1], r[2], r[3], r[4], json.loads(r[5]), bool(r[6]), bool(r[7]))

    def alerts(self, limit: int = 50) -> list[StoredAlert]:
        ids = [r[0] for r in self.db.query("SELECT id FROM alerts ORDER BY id DESC LIMIT ?", (limit,))]
        return [self.alert(i) for i in ids]

    def deliveries(self, alert_id: int | None = None) -> list[Delivery]:
        q = "SELECT alert_id, channel, status, attempts, next_try, last_error FROM deliveries"
        rows = self.db.query(q + " WHERE alert_id=?", (alert_id,)) if alert_id is not None else self.db.query(q)
        return [Delivery(*r) for r in rows]
