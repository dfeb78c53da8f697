"""The session store's schema: its migrations, in order (``PRAGMA user_version`` counts them).

A migration is never edited once released: a change to the schema is a new one at the end.
"""

from __future__ import annotations

MIGRATIONS: list[str] = [
    # 1: the first schema
    """
    CREATE TABLE sessions (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        started_at REAL NOT NULL,           -- unix time
        ended_at REAL,
        source TEXT NOT NULL DEFAULT '',
        backends TEXT NOT NULL DEFAULT '{}' -- JSON: stage -> description
    );
    CREATE TABLE utterances (
        session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
        segment_id INTEGER NOT NULL,
        wall_time REAL NOT NULL,
        start_s REAL NOT NULL, end_s REAL NOT NULL,
        text TEXT NOT NULL DEFAULT '', language TEXT,
        speech TEXT, text_emotion TEXT, fused TEXT,       -- JSON: label, confidence, scores, backend
        fused_label TEXT, confidence REAL, valence REAL, arousal REAL,
        fallback_action TEXT,
        embedding BLOB, embedding_dim INTEGER,            -- float32
        reply TEXT, reply_tone TEXT,
        audio BLOB,                                       -- unused since schema 4 (the audio table)
        PRIMARY KEY (session_id, segment_id)
    );
    CREATE TABLE frames (
        session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
        segment_id INTEGER NOT NULL,
        start_s REAL NOT NULL, frame_rate REAL NOT NULL,
        probs BLOB NOT NULL,                              -- float16 (T, 9), downsampled
        PRIMARY KEY (session_id, segment_id)
    );
    CREATE TABLE moods (
        session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
        segment_id INTEGER NOT NULL,
        wall_time REAL NOT NULL,
        data TEXT NOT NULL,                               -- JSON: the MoodState fields
        PRIMARY KEY (session_id, segment_id)
    );
    CREATE TABLE alerts (
        session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
        alert_id INTEGER NOT NULL,
        segment_id INTEGER,
        wall_time REAL NOT NULL,
        kind TEXT NOT NULL, severity TEXT NOT NULL, rule TEXT NOT NULL, suppressed INTEGER NOT NULL,
        PRIMARY KEY (session_id, alert_id)
    );
    CREATE TABLE feedback (
        session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
        segment_id INTEGER NOT NULL,
        wall_time REAL NOT NULL,
        data TEXT NOT NULL
    );
    """,
    # 2: which process owns an open session, and whether it ended abruptly (the process was killed)
    """
    ALTER TABLE sessions ADD COLUMN pid INTEGER;
    ALTER TABLE sessions ADD COLUMN ended_abruptly INTEGER NOT NULL DEFAULT 0;
    CREATE INDEX feedback_utterance ON feedback(session_id, segment_id)
    """,
    # 3: whose session it is, and each person's calibration profile (storage/feedback.py, personal/)
    """
    ALTER TABLE sessions ADD COLUMN person TEXT NOT NULL DEFAULT '';
    CREATE TABLE profiles (person TEXT PRIMARY KEY, updated_at REAL NOT NULL, data TEXT NOT NULL)
    """,
    # 4: the audio in a table of its own. In the utterance's row it was copied again by each of the row's
    # updates (transcript, emotions, reply: about six), since SQLite rewrites the whole row; utterances.audio
    # stays, always NULL from now on (dropping a column needs SQLite 3.35)
    """
    CREATE TABLE audio (
        session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
        segment_id INTEGER NOT NULL,
        samples BLOB NOT NULL,                            -- int16 16 kHz, only with store.keep_audio
        PRIMARY KEY (session_id, segment_id)
    );
    INSERT INTO audio SELECT session_id, segment_id, audio FROM utterances WHERE audio IS NOT NULL;
    UPDATE utterances SET audio = NULL WHERE audio IS NOT NULL
    """,
]
SCHEMA_VERSION = len(MIGRATIONS)
