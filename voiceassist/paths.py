"""Where things live on the user's machine (platformdirs), the checkout's models/ folder, and private files.

Everything the app keeps about a person (config, data, logs, keys) is private on POSIX: folders the app owns
are 0700 and files 0600, whatever the umask (``private_dir``, ``private_file``, ``open_private``)."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

APP = "voiceassist"


def user_config_dir() -> Path:
    return Path(platformdirs.user_config_dir(APP))


def user_data_dir() -> Path:
    return Path(platformdirs.user_data_dir(APP))


def user_cache_dir() -> Path:
    return Path(platformdirs.user_cache_dir(APP))


def user_log_dir() -> Path:
    return Path(platformdirs.user_log_dir(APP))


def user_state_dir() -> Path:
    return Path(platformdirs.user_state_dir(APP))


def user_keys_dir() -> Path:
    """The data key's file and its record (``<user state dir>/keys``): apart from the databases, so a copy
    of the data folder alone does not carry the key."""
    return user_state_dir() / "keys"


def app_dirs() -> list[Path]:
    """The folders the app owns (created private; data-wipe empties the data, state and log ones)."""
    return [user_config_dir(), user_data_dir(), user_state_dir(), user_log_dir(), user_cache_dir()]


PRIVATE_DIR = 0o700
PRIVATE_FILE = 0o600


def is_app_path(path: Path) -> bool:
    """``path`` is one of the app's folders or inside one (only those are made private when they exist)."""
    try:
        p = path.resolve()
        return any(p == d.resolve() or d.resolve() in p.parents for d in app_dirs())
    except OSError:
        return False


def private_dir(path: Path) -> Path:
    """Create ``path`` (and missing parents) as 0700; an existing folder of the app's is set to 0700 too.
    Folders outside the app's (a ``-o`` target, an existing home folder) are never changed."""
    path = Path(path)
    missing = []
    p = path
    while not p.exists():
        missing.append(p)
        if p.parent == p:
            break
        p = p.parent
    for d in reversed(missing):
        try:
            d.mkdir(mode=PRIVATE_DIR)
        except FileExistsError:
            continue
        _chmod(d, PRIVATE_DIR)
    if not missing and os.name == "posix" and is_app_path(path):
        _chmod(path, PRIVATE_DIR)
    return path


def private_file(path: Path) -> Path:
    """Make an existing file 0600 (no-op where it is missing or on Windows)."""
    if Path(path).exists():
        _chmod(Path(path), PRIVATE_FILE)
    return path


def open_private(path: Path, flags: int = os.O_WRONLY | os.O_CREAT | os.O_APPEND) -> int:
    """``os.open`` a file created 0600 whatever the umask (and an existing one set to 0600); a descriptor."""
    fd = os.open(path, flags, PRIVATE_FILE)
    if os.name == "posix":
        os.fchmod(fd, PRIVATE_FILE)
    return fd


def _chmod(path: Path, mode: int) -> None:
    if os.name != "posix":
        return
    try:
        if (path.stat().st_mode & 0o777) != mode:
            os.chmod(path, mode)
    except OSError:  # not ours (another user's folder): leave it
        pass


def checkout_models_dir() -> Path | None:
    """``models/`` of a source checkout (where the README tells people to put weights), if run from one."""
    here = Path(__file__).resolve().parent.parent / "models"
    return here if here.is_dir() else None


def models_dir(configured: str = "") -> Path:
    """The folder searched for local model folders: config, then $VOICEASSIST_MODELS, then the checkout's
    models/, then ``<user data dir>/models``."""
    if configured:
        return Path(configured).expanduser()
    env = os.environ.get("VOICEASSIST_MODELS")
    if env:
        return Path(env).expanduser()
    return checkout_models_dir() or user_data_dir() / "models"


def resources_dir() -> Path:
    """Data files (lexicons, reply templates, crisis phrases, translations, the model catalogue): inside the
    package (``voiceassist/resources``, read through importlib.resources, so a wheel has them too), unless
    $VOICEASSIST_RESOURCES names another folder."""
    env = os.environ.get("VOICEASSIST_RESOURCES")
    if env:
        return Path(env).expanduser()
    from importlib.resources import files

    return Path(str(files("voiceassist") / "resources"))
