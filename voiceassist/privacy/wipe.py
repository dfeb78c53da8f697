"""Delete everything the app keeps about the person: sessions (utterances, kept audio, embeddings, feedback),
alerts and the outbox, the log files, and the data key (so any copy of the encrypted files left on a disk or
in a backup cannot be read either).

The caregiver lock is not data: the config file keeps the caregiver's settings, and where a caregiver set
one up, the lock is sealed again in a new (newly keyed) outbox and the caregiver gets one notice that the
data was deleted (no content). Settings (config.toml) and downloaded models stay.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

_SIDE_FILES = ("", "-wal", "-shm", "-journal", ".lock", ".encrypting", ".encrypting-journal")


@dataclass
class WipeReport:
    removed: list[Path] = field(default_factory=list)
    key: str = ""
    caregiver_told: bool = False
    pending_dropped: int = 0


def database_files(path: Path) -> list[Path]:
    return [path.with_name(path.name + s) for s in _SIDE_FILES]


def wipe_all(
    cfg: Any,
    store_path: Path | None = None,
    outbox_path: Path | None = None,
    log_dir: Path | None = None,
    keys_folder: Path | None = None,
) -> WipeReport:
    """Remove it all (the stores must be closed by their owners first). Returns what was removed."""
    from voiceassist.alerts.lock import CaregiverLock, alerts_config_from
    from voiceassist.alerts.outbox import Outbox, default_outbox_path
    from voiceassist.paths import user_log_dir
    from voiceassist.privacy.keys import DataKeyError, KeyStore
    from voiceassist.storage.sessions import default_store_path

    store_path = store_path or (Path(cfg.store.path) if cfg.store.path else default_store_path())
    outbox_path = outbox_path or default_outbox_path()
    report = WipeReport()
    sealed = None
    if outbox_path.exists():
        try:
            box = Outbox(outbox_path)
            try:
                sealed = CaregiverLock(box).sealed()
                report.pending_dropped = sum(1 for d in box.deliveries() if d.status == "pending")
            finally:
                box.close()
        except (DataKeyError, RuntimeError, OSError) as e:  # unreadable already: deleted all the same
            log.warning("the outbox could not be read before deleting it: %s", e)
    for db in (store_path, outbox_path):
        for f in database_files(db):
            if f.exists():
                f.unlink()
                report.removed.append(f)
    folder = log_dir or user_log_dir()
    for f in sorted(folder.glob("voiceassist.log*")) if folder.is_dir() else []:
        f.unlink()
        report.removed.append(f)
    keys = KeyStore(keys_folder)
    report.key = keys.describe()
    keys.delete()
    if sealed is not None and sealed.get("pin_hash"):  # the caregiver lock stays, in a new outbox
        box = Outbox(outbox_path)
        try:
            lock = CaregiverLock(box)
            lock.seal(alerts_config_from(sealed))
            lock.notify(
                ("the caregiver settings stay as they were",),
                alerts_config_from(sealed),
                headline="The person deleted all their stored VoiceAssist data",
            )
            report.caregiver_told = True
            lock.deliver_notices()
        finally:
            box.close()
    log.info("data wiped: %d files, the data key (%s)", len(report.removed), report.key)
    return report
