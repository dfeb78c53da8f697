"""Corrections and ratings, stored with the utterance they belong to (the feedback table of the session
store), and the per-person calibration profiles beside them.

A correction says what the emotion of an utterance really was (``kind="emotion"``, one of the 9 labels,
or None for "not sure"); a rating says whether the reply fitted (``kind="reply"``, ``fits`` /
``does_not_fit``). Each row keeps what the assistant had shown (label and scores), the base model's
scores before any personal calibration, the model versions (the session's backends) and who the person
was; the embeddings stay in the utterance row. One live row per utterance and kind: a new answer edits it
(the earlier one kept in ``history``), undo steps back. Every write is committed before it returns, so
what the person corrected survives a crash the moment it is acknowledged.
"""

from __future__ import annotations

import json
import sqlite3
import time
from typing import Any

import numpy as np

from voiceassist.emotion.labels import LABELS
from voiceassist.storage.sessions import SessionStore

KINDS = ("emotion", "reply")
RATINGS = ("fits", "does_not_fit")
DEFAULT_PERSON = "default"


class FeedbackError(ValueError):
    """A correction that cannot be stored (no such utterance, a label outside the 9): said as it is."""


def _json(v: Any) -> str:
    return json.dumps(v, ensure_ascii=False)


def check_label(kind: str, label: str | None) -> None:
    if kind not in KINDS:
        raise FeedbackError(f"unknown feedback kind {kind!r}: use emotion or reply")
    if kind == "emotion" and label is not None and label not in LABELS:
        raise FeedbackError(f"{label!r} is not one of the 9 emotions: {', '.join(LABELS)}")
    if kind == "reply" and label not in RATINGS:
        raise FeedbackError(f"a reply rating is {' or '.join(RATINGS)}, not {label!r}")


# -- the person of a session ---------------------------------------------------------------------------
def set_person(store: SessionStore, session_id: int, person: str) -> None:
    store.db.write("UPDATE sessions SET person=? WHERE id=?", (person or DEFAULT_PERSON, session_id))


def person_of(store: SessionStore, session_id: int) -> str:
    rows = store.db.query("SELECT person FROM sessions WHERE id=?", (session_id,))
    return (rows[0][0] or DEFAULT_PERSON) if rows else DEFAULT_PERSON


# -- corrections ---------------------------------------------------------------------------------------
def record(
    store: SessionStore,
    session_id: int,
    segment_id: int,
    label: str | None,
    *,
    kind: str = "emotion",
    note: str = "",
    source: str = "window",
    base_scores: Any = None,
    now: float | None = None,
) -> int:
    """Store (or edit) the person's answer for one utterance; returns the feedback id. Raises FeedbackError
    for an utterance that no longer exists or a label outside the set, and stores nothing then."""
    check_label(kind, label)
    when = time.time() if now is None else now

    def write(c: sqlite3.Connection) -> int:
        row = c.execute(
            "SELECT u.fused, s.backends, s.person FROM utterances u JOIN sessions s ON s.id = u.session_id "
            "WHERE u.session_id=? AND u.segment_id=?",
            (session_id, segment_id),
        ).fetchone()
        if row is None:
            raise FeedbackError(f"utterance {segment_id} of session {session_id} no longer exists; nothing stored")
        fused = json.loads(row[0]) if row[0] else {}
        data: dict[str, Any] = {
            "kind": kind,
            "label": label,
            "note": note,
            "source": source,
            "person": row[2] or DEFAULT_PERSON,
            "shown": {"label": fused.get("label"), "scores": fused.get("scores")},
            "models": json.loads(row[1] or "{}"),
        }
        if base_scores is not None:
            data["base_scores"] = [round(float(x), 6) for x in np.asarray(base_scores, np.float64)]
        prev = _live(c, session_id, segment_id, kind)
        if prev is None:
            data["history"] = []
            cur = c.execute("INSERT INTO feedback VALUES (?,?,?,?)", (session_id, segment_id, when, _json(data)))
            return int(cur.lastrowid or 0)
        fid, old = prev
        data.setdefault("base_scores", old.get("base_scores"))
        hist = [*old.get("history", []), {k: old.get(k) for k in ("label", "note", "source")}]
        data["history"] = hist
        c.execute("UPDATE feedback SET wall_time=?, data=? WHERE rowid=?", (when, _json(data), fid))
        return fid

    return int(store.db.transact(write))


def _live(c: Any, session_id: int, segment_id: int, kind: str) -> tuple[int, dict[str, Any]] | None:
    for fid, data in c.execute(
        "SELECT rowid, data FROM feedback WHERE session_id=? AND segment_id=? ORDER BY wall_time DESC",
        (session_id, segment_id),
    ).fetchall():
        d = json.loads(data)
        if d.get("kind", "emotion") == kind:
            return int(fid), d
    return None


def undo(store: SessionStore, session_id: int, segment_id: int, kind: str = "emotion") -> dict[str, Any] | None:
    """Step back one answer: the previous one again, or none. Returns the answer now in force (or None)."""

    def write(c: sqlite3.Connection) -> dict[str, Any] | None:
        prev = _live(c, session_id, segment_id, kind)
        if prev is None:
            return None
        fid, d = prev
        if not d.get("history"):
            c.execute("DELETE FROM feedback WHERE rowid=?", (fid,))
            return None
        last = d["history"].pop()
        d.update(last)
        c.execute("UPDATE feedback SET data=? WHERE rowid=?", (_json(d), fid))
        return d

    return store.db.transact(write)


def current(store: SessionStore, session_id: int, segment_id: int, kind: str = "emotion") -> dict[str, Any] | None:
    rows = store.db.query(
        "SELECT data FROM feedback WHERE session_id=? AND segment_id=? ORDER BY wall_time DESC",
        (session_id, segment_id),
    )
    return next((d for d in (json.loads(r[0]) for r in rows) if d.get("kind", "emotion") == kind), None)


def list_feedback(
    store: SessionStore, person: str | None = None, session_id: int | None = None
) -> list[dict[str, Any]]:
    """Every answer, oldest first, with the utterance's words, times and session start."""
    sql = (
        "SELECT f.rowid, f.session_id, f.segment_id, f.wall_time, f.data, u.text, u.start_s, u.end_s, "
        "s.started_at, s.person FROM feedback f JOIN sessions s ON s.id = f.session_id "
        "LEFT JOIN utterances u ON u.session_id = f.session_id AND u.segment_id = f.segment_id"
    )
    where: list[str] = []
    args: list[Any] = []
    if person is not None:
        where.append("s.person=?")
        args.append(person)
    if session_id is not None:
        where.append("f.session_id=?")
        args.append(session_id)
    if where:
        sql += " WHERE " + " AND ".join(where)
    out = []
    for r in store.db.query(sql + " ORDER BY f.wall_time", args):
        d = json.loads(r[4])
        d.setdefault("kind", "emotion")
        out.append(
            {
                **d,
                "id": r[0],
                "session_id": r[1],
                "segment_id": r[2],
                "wall_time": r[3],
                "text": r[5],
                "start_s": r[6],
                "end_s": r[7],
                "session_started_at": r[8],
                "person": r[9] or DEFAULT_PERSON,
            }
        )
    return out


def training_rows(store: SessionStore, person: str) -> list[dict[str, Any]]:
    """The person's emotion corrections with a label, joined with their utterances: base scores (as stored
    with the correction, else the fused ones), the speech embedding and the text scores."""
    rows = store.db.query(
        "SELECT f.data, u.fused, u.text_emotion, u.embedding, f.wall_time FROM feedback f "
        "JOIN sessions s ON s.id = f.session_id "
        "JOIN utterances u ON u.session_id = f.session_id AND u.segment_id = f.segment_id "
        "WHERE s.person=? ORDER BY f.wall_time",
        (person,),
    )
    out = []
    for data, fused, text_emotion, emb, when in rows:
        d = json.loads(data)
        if d.get("kind", "emotion") != "emotion" or d.get("label") not in LABELS:
            continue
        scores = d.get("base_scores") or _vector((json.loads(fused) if fused else {}).get("scores"))
        if scores is None:
            continue
        te = json.loads(text_emotion) if text_emotion else None
        out.append(
            {
                "label": d["label"],
                "wall_time": when,
                "scores": np.asarray(scores, np.float64),
                "embedding": None if emb is None else np.frombuffer(emb, dtype=np.float32),
                "text_scores": None if te is None else _vector(te.get("scores")),
            }
        )
    return out


def person_utterances(store: SessionStore, person: str, limit: int = 2000) -> list[dict[str, Any]]:
    """The person's latest utterances (corrected or not) for the stage-0 baselines."""
    rows = store.db.query(
        "SELECT u.fused, u.embedding FROM utterances u JOIN sessions s ON s.id = u.session_id "
        "WHERE s.person=? AND u.fused IS NOT NULL ORDER BY u.wall_time DESC LIMIT ?",
        (person, limit),
    )
    return [
        {
            "scores": _vector(json.loads(f).get("scores")),
            "embedding": None if e is None else np.frombuffer(e, dtype=np.float32),
        }
        for f, e in rows
    ]


def _vector(scores: Any) -> np.ndarray | None:
    if isinstance(scores, dict):
        return np.array([float(scores.get(k, 0.0)) for k in LABELS])
    if isinstance(scores, list) and len(scores) == len(LABELS):
        return np.asarray(scores, np.float64)
    return None


def clear(store: SessionStore, person: str | None = None, session_id: int | None = None) -> int:
    """Delete answers (all, one person's, or one session's); returns how many."""
    ids = [f["id"] for f in list_feedback(store, person, session_id)]

    def write(c: sqlite3.Connection) -> int:
        for fid in ids:
            c.execute("DELETE FROM feedback WHERE rowid=?", (fid,))
        return len(ids)

    return int(store.db.transact(write))


# -- the profiles --------------------------------------------------------------------------------------
def save_profile(store: SessionStore, person: str, data: dict[str, Any]) -> None:
    store.db.write("INSERT OR REPLACE INTO profiles VALUES (?,?,?)", (person, time.time(), _json(data)))


def load_profile(store: SessionStore, person: str) -> Any:
    """The stored JSON (None when there is none); its text unparsed raises ValueError."""
    rows = store.db.query("SELECT data FROM profiles WHERE person=?", (person,))
    return json.loads(rows[0][0]) if rows else None


def delete_profile(store: SessionStore, person: str) -> bool:
    had = bool(store.db.query("SELECT 1 FROM profiles WHERE person=?", (person,)))
    store.db.write("DELETE FROM profiles WHERE person=?", (person,))
    return had
