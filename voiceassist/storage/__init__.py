"""Storage: the one SQLite layer (``db``) and the session store built on it (``sessions``)."""

from voiceassist.storage.db import Database, NewerSchemaError
from voiceassist.storage.recorder import StoreRecorder
from voiceassist.storage.sessions import SessionInfo, SessionStore, default_store_path

__all__ = ["Database", "NewerSchemaError", "SessionInfo", "SessionStore", "StoreRecorder", "default_store_path"]
