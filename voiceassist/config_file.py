"""Writing files safely, and editing the user's config file in place (comments and layout kept).

Shared by the front ends: ``alerts set-pin/on/off`` in the CLI and the window's Settings tab write the
config through ``edit_config``; results and exports go through ``write_atomic``. Files written into the
app's own folders are private (0600 in 0700 folders); the config file always is.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

from voiceassist.paths import is_app_path, private_dir


def write_atomic(path: Path, text: str, mode: int | None = None) -> None:
    """Write ``text`` to a temporary file beside ``path`` and rename it into place: readers never see a
    half-written file, and a failure (full disk) leaves the old file as it was. ``mode``: file mode bits."""
    if is_app_path(path.parent):
        private_dir(path.parent)
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        if mode is not None:
            os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def edit_config(path: Path, values: dict[str, dict[str, Any]], mode: int | None = 0o600) -> None:
    """Set ``{section: {key: value}}`` (sections may be dotted: ``alerts.email``) in the TOML file at
    ``path``, keeping everything else in it as it was (tomlkit)."""
    import tomlkit

    doc = tomlkit.parse(path.read_text(encoding="utf-8")) if path.exists() else tomlkit.document()
    for section, kv in values.items():
        table: Any = doc
        for part in section.split("."):
            if part not in table:
                table[part] = tomlkit.table()
            table = table[part]
        for k, v in kv.items():
            table[k] = v
    write_atomic(path, tomlkit.dumps(doc), mode)
