"""The session store: SQLite (through the one SQLite layer, voiceassist/storage/db.py) in the user data
dir, written as the session goes.

Each event worth keeping is written in its own short transaction as it arrives, so a crash or a kill
loses at most the utterance in flight. The schema is versioned (``PRAGMA user_version``) and upgraded
by the migrations of storage/schema.py, in order. Raw audio is stored only when ``store.keep_audio`` is on (a privacy
setting, off by default). The file is encrypted (SQLCipher, through storage/db.py); retention runs at
start (``apply_retention``) and again every hour while sessions are recorded, with deleted rows overwritten.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import os
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from voiceassist.emotion.labels import LABELS
from voiceassist.storage.db import Database
from voiceassist.storage.schema import MIGRATIONS

log = logging.getLogger(__name__)

FRAME_RATE_STORED = 10.0


@dataclass(frozen=True)
class SessionInfo:
    id: int
    started_at: float
    ended_at: float | None
    source: str
    utterances: int
    ended_abruptly: bool = False
    """The process was killed (or crashed) during the session; ``ended_at`` is its last utterance's time."""


def _json(v: Any) -> str:
    return json.dumps(v, ensure_ascii=False)


class SessionStore:
    PURGE_EVERY_S = 3600.0

    def __init__(self, path: Path, key: bytes | None = None) -> None:
        self.path = path
        self.db = Database(path, MIGRATIONS, key=key)
        self.closed_abandoned = self.close_abandoned()
        self._retention_days = 0.0
        self._purged_at = 0.0

    @property
    def schema_version(self) -> int:
        return self.db.version

    def close(self) -> None:
        self.db.close()

    def _write(self, sql: str, args: tuple[Any, ...]) -> int:
        return self.db.write(sql, args)

    def close_abandoned(self) -> int:
        """Sessions left open by a process that no longer runs (``kill -9``, a crash, a power cut) are
        marked as ended abruptly, at the time of their last utterance. Returns how many."""
        rows = self.db.query("SELECT id, pid, started_at FROM sessions WHERE ended_at IS NULL")
        n = 0
        for sid, pid, started in rows:
            if pid is not None and _alive(int(pid)):
                continue  # another process is still recording it
            last = self.db.query("SELECT MAX(wall_time) FROM utterances WHERE session_id=?", (sid,))[0][0]
            self.db.write("UPDATE sessions SET ended_at=?, ended_abruptly=1 WHERE id=?", (last or started, sid))
            n += 1
        return n

    # -- writing -----------------------------------------------------------------------------------
    def start_session(self, source: str, now: float | None = None) -> int:
        self._purge_on_schedule()
        return self._write(
            "INSERT INTO sessions (started_at, source, pid) VALUES (?, ?, ?)",
            (time.time() if now is None else now, source, os.getpid()),
        )

    def end_session(self, session_id: int) -> None:
        self._write("UPDATE sessions SET ended_at=? WHERE id=?", (time.time(), session_id))

    def set_backends(self, session_id: int, backends: dict[str, str]) -> None:
        self._write("UPDATE sessions SET backends=? WHERE id=?", (_json(backends), session_id))

    def add_utterance(
        self, session_id: int, segment_id: int, start_s: float, end_s: float, audio: np.ndarray | None = None
    ) -> None:
        self._purge_on_schedule()
        row = (session_id, segment_id, time.time(), start_s, end_s)

        def add(c: sqlite3.Connection) -> None:
            c.execute(
                "INSERT OR IGNORE INTO utterances (session_id, segment_id, wall_time, start_s, end_s) "
                "VALUES (?,?,?,?,?)",
                row,
            )
            if audio is not None:  # written once: the utterance's row is updated several times, its audio never
                c.execute(
                    "INSERT OR IGNORE INTO audio (session_id, segment_id, samples) VALUES (?,?,?)",
                    (session_id, segment_id, audio.astype(np.int16).tobytes()),
                )

        self.db.transact(add)

    def update_utterance(self, session_id: int, segment_id: int, **fields: Any) -> None:
        if not fields:
            return
        cols = ", ".join(f"{k}=?" for k in fields)
        self._write(
            f"UPDATE utterances SET {cols} WHERE session_id=? AND segment_id=?",
            (*fields.values(), session_id, segment_id),
        )

    def add_frames(
        self, session_id: int, segment_id: int, start_s: float, frame_rate: float, probs: np.ndarray
    ) -> None:
        step = max(1, round(frame_rate / FRAME_RATE_STORED))
        if len(probs) >= step:
            down = probs[: len(probs) // step * step].reshape(-1, step, probs.shape[1]).mean(axis=1)
        else:
            down = probs
        self._write(
            "INSERT OR REPLACE INTO frames VALUES (?,?,?,?,?)",
            (session_id, segment_id, start_s, frame_rate / step, down.astype(np.float16).tobytes()),
        )

    def add_mood(self, session_id: int, segment_id: int, data: dict[str, Any]) -> None:
        self._write("INSERT OR REPLACE INTO moods VALUES (?,?,?,?)", (session_id, segment_id, time.time(), _json(data)))

    def add_alert(
        self,
        session_id: int,
        alert_id: int,
        segment_id: int | None,
        kind: str,
        severity: str,
        rule: str,
        suppressed: bool,
    ) -> None:
        self._write(
            "INSERT OR REPLACE INTO alerts VALUES (?,?,?,?,?,?,?,?)",
            (session_id, alert_id, segment_id, time.time(), kind, severity, rule, int(suppressed)),
        )

    def add_feedback(self, session_id: int, segment_id: int, data: dict[str, Any]) -> int:
        """Returns the row's id (storage/feedback.py edits and undoes corrections by it)."""
        return self._write("INSERT INTO feedback VALUES (?,?,?,?)", (session_id, segment_id, time.time(), _json(data)))

    # -- reading -----------------------------------------------------------------------------------
    def sessions(self) -> list[SessionInfo]:
        rows = self.db.query(
            "SELECT s.id, s.started_at, s.ended_at, s.source, COUNT(u.segment_id), s.ended_abruptly FROM sessions s "
            "LEFT JOIN utterances u ON u.session_id = s.id GROUP BY s.id ORDER BY s.id DESC"
        )
        return [SessionInfo(r[0], r[1], r[2], r[3], r[4], bool(r[5])) for r in rows]

    def utterances(self, session_id: int) -> list[dict[str, Any]]:
        out = []
        rows = self.db.query_dicts(
            # the last "audio" column wins: the audio table's, or what a version before schema 4 still running
            # on this file wrote in the row
            "SELECT u.*, COALESCE(a.samples, u.audio) AS audio FROM utterances u LEFT JOIN audio a "
            "ON a.session_id = u.session_id AND a.segment_id = u.segment_id "
            "WHERE u.session_id=? ORDER BY u.segment_id",
            (session_id,),
        )
        for d in rows:
            for k in ("speech", "text_emotion", "fused"):
                d[k] = json.loads(d[k]) if d[k] else None
            d["embedding"] = np.frombuffer(d["embedding"], dtype=np.float32) if d["embedding"] is not None else None
            d["audio"] = np.frombuffer(d["audio"], dtype=np.int16) if d["audio"] is not None else None
            out.append(d)
        return out

    def frames(self, session_id: int, segment_id: int) -> tuple[float, float, np.ndarray] | None:
        rows = self.db.query(
            "SELECT start_s, frame_rate, probs FROM frames WHERE session_id=? AND segment_id=?",
            (session_id, segment_id),
        )
        if not rows:
            return None
        r = rows[0]
        return r[0], r[1], np.frombuffer(r[2], dtype=np.float16).reshape(-1, len(LABELS)).astype(np.float32)

    def moods(self, session_id: int) -> list[dict[str, Any]]:
        rows = self.db.query(
            "SELECT segment_id, wall_time, data FROM moods WHERE session_id=? ORDER BY segment_id", (session_id,)
        )
        return [{"segment_id": r[0], "wall_time": r[1], **json.loads(r[2])} for r in rows]

    def alerts(self, session_id: int) -> list[dict[str, Any]]:
        return self.db.query_dicts("SELECT * FROM alerts WHERE session_id=? ORDER BY alert_id", (session_id,))

    def feedback(self, session_id: int) -> list[dict[str, Any]]:
        rows = self.db.query(
            "SELECT segment_id, wall_time, data FROM feedback WHERE session_id=? ORDER BY wall_time", (session_id,)
        )
        return [{"segment_id": r[0], "wall_time": r[1], **json.loads(r[2])} for r in rows]

    def integrity_ok(self) -> bool:
        return bool(self.db.query("PRAGMA integrity_check")[0][0] == "ok")

    # -- export, delete, retention -----------------------------------------------------------------
    def export_json(self, session_id: int) -> dict[str, Any]:
        info = next((s for s in self.sessions() if s.id == session_id), None)
        if info is None:
            raise KeyError(session_id)
        utts = []
        for u in self.utterances(session_id):
            u = {k: v for k, v in u.items() if k not in ("embedding", "audio", "session_id")}
            utts.append(u)
        return {
            "session": {"id": info.id, "started_at": info.started_at, "ended_at": info.ended_at, "source": info.source},
            "utterances": utts,
            "moods": self.moods(session_id),
            "alerts": self.alerts(session_id),
            "feedback": self.feedback(session_id),
            "profile": next(  # the person's calibration profile goes with their sessions
                (
                    json.loads(r[0])
                    for r in self.db.query(
                        "SELECT p.data FROM profiles p JOIN sessions s ON s.person = p.person WHERE s.id=?",
                        (session_id,),
                    )
                ),
                None,
            ),
        }

    def export_csv(self, session_id: int) -> str:
        buf = io.StringIO()
        w = csv.writer(buf)
        w.writerow(
            [
                "segment_id",
                "start_s",
                "end_s",
                "text",
                "language",
                "fused_label",
                "confidence",
                "valence",
                "arousal",
                "speech_label",
                "text_label",
                "reply",
            ]
        )
        for u in self.utterances(session_id):
            w.writerow(
                [
                    u["segment_id"],
                    round(u["start_s"], 3),
                    round(u["end_s"], 3),
                    u["text"],
                    u["language"],
                    u["fused_label"],
                    u["confidence"],
                    u["valence"],
                    u["arousal"],
                    (u["speech"] or {}).get("label"),
                    (u["text_emotion"] or {}).get("label"),
                    u["reply"],
                ]
            )
        return buf.getvalue()

    def export_embeddings(self, session_id: int, folder: Path) -> list[Path]:
        from voiceassist.storage.embeddings import EmbeddingRow, write_embeddings

        rows = [EmbeddingRow(u["segment_id"], u["embedding"]) for u in self.utterances(session_id)]
        return [folder / f["file"] for f in write_embeddings(folder, rows, prefix=f"session{session_id}_")]

    def delete_session(self, session_id: int) -> None:
        def delete(c: sqlite3.Connection) -> None:
            # a profile is learnt from the person's corrections: it goes with them (refitted from what is left)
            c.execute("DELETE FROM profiles WHERE person IN (SELECT person FROM sessions WHERE id=?)", (session_id,))
            for table in ("audio", "utterances", "frames", "moods", "alerts", "feedback"):
                c.execute(f"DELETE FROM {table} WHERE session_id=?", (session_id,))
            c.execute("DELETE FROM sessions WHERE id=?", (session_id,))

        self.db.transact(delete)

    def apply_retention(self, days: float, now: float | None = None) -> int:
        """Delete sessions that started more than ``days`` ago (0: keep everything)."""
        self._retention_days, self._purged_at = days, time.time()
        if days <= 0:
            return 0
        cutoff = (time.time() if now is None else now) - days * 86400
        old = [s.id for s in self.sessions() if s.started_at < cutoff]
        for sid in old:
            self.delete_session(sid)
        return len(old)

    def _purge_on_schedule(self) -> None:
        if self._retention_days > 0 and time.time() - self._purged_at >= self.PURGE_EVERY_S:
            n = self.apply_retention(self._retention_days)
            if n:
                log.info("retention: deleted %d sessions older than %g days", n, self._retention_days)


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


def default_store_path() -> Path:
    from voiceassist.paths import user_data_dir

    return user_data_dir() / "sessions.sqlite3"
