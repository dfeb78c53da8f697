"""Where things live on the user's machine (platformdirs), and the checkout's models/ folder."""

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
