"""``voiceassist privacy status | wipe | purge | key``: what is kept and where, deleting it, and where the
data key lives (voiceassist/privacy/)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from voiceassist.config import ConfigError, default_config_path, load_config
from voiceassist.options import EXIT_CONFIG, EXIT_FAILED, EXIT_OK


def add_parser(sub: Any) -> None:
    pr = sub.add_parser("privacy", help="what is kept and where; delete everything (wipe); the data key")
    ps = pr.add_subparsers(dest="privacy_command", required=True)
    for name, text in (
        ("status", "what is kept, where the data key is, file modes, the caregiver lock"),
        ("wipe", "delete all sessions, alerts, logs and the data key (settings and models stay)"),
        ("purge", "delete sessions older than store.retention_days now (or --older-than DAYS)"),
        ("key", "keep the data key elsewhere: --store keyring | file | passphrase"),
    ):
        p = ps.add_parser(name, help=text)
        p.add_argument("--config", type=Path, default=None, help="config TOML (default: the user config file)")
        p.add_argument("-v", "--verbose", action="count", default=0)
        if name == "wipe":
            p.add_argument("--yes", action="store_true", help="do not ask for confirmation")
        if name == "purge":
            p.add_argument("--older-than", type=float, metavar="DAYS", help="default: store.retention_days")
        if name == "key":
            p.add_argument("--store", choices=["keyring", "file", "passphrase"], required=True)


def _prompt(text: str) -> str:
    import getpass

    return getpass.getpass(text)


def run(args: argparse.Namespace) -> int:
    from voiceassist.privacy import keys

    if sys.stdin.isatty():
        keys.set_passphrase_prompt(_prompt)
    try:
        cfg = load_config(args.config or default_config_path(), explicit=args.config is not None)
    except ConfigError as e:
        print(f"voiceassist: configuration error: {e}", file=sys.stderr)
        return EXIT_CONFIG
    try:
        return int(_COMMANDS[args.privacy_command](args, cfg))
    except keys.DataKeyError as e:
        print(f"voiceassist: {e}", file=sys.stderr)
        return EXIT_CONFIG


def _store_path(cfg: Any) -> Path:
    from voiceassist.storage.sessions import default_store_path

    return Path(cfg.store.path) if cfg.store.path else default_store_path()


def cmd_status(args: argparse.Namespace, cfg: Any) -> int:
    from voiceassist.alerts.outbox import default_outbox_path
    from voiceassist.paths import app_dirs
    from voiceassist.privacy.consent import switches
    from voiceassist.privacy.keys import KeyStore
    from voiceassist.storage.crypto import file_state

    print(f"data key: {KeyStore().describe()}")
    for p in (_store_path(cfg), default_outbox_path()):
        print(f"{p}: {file_state(p)}")
    for s in switches(cfg):
        print(f"[{'x' if s.on else ' '}] {s.title_en}: {s.text_en}" + ("" if s.person else " (caregiver, PIN)"))
    loose = []
    for d in app_dirs():
        for f in [d, *d.rglob("*")] if d.is_dir() else []:
            mode = f.stat().st_mode & 0o777
            if mode & 0o077:
                loose.append(f"{f} ({mode:o})")
    print("file modes: " + ("all private" if not loose else "readable by others: " + ", ".join(loose[:10])))
    return EXIT_OK


def cmd_wipe(args: argparse.Namespace, cfg: Any) -> int:
    from voiceassist.privacy.wipe import wipe_all

    if not args.yes:
        if not sys.stdin.isatty():
            print("voiceassist: privacy wipe deletes everything; run it with --yes", file=sys.stderr)
            return EXIT_CONFIG
        if input("Delete all sessions, alerts, logs and the data key? Type 'delete': ").strip() != "delete":
            print("nothing deleted")
            return EXIT_OK
    rep = wipe_all(cfg)
    print(f"deleted {len(rep.removed)} files and the data key ({rep.key})")
    if rep.pending_dropped:
        print(f"{rep.pending_dropped} alert deliveries that were still pending were dropped")
    if rep.caregiver_told:
        print("the caregiver lock stays; the caregiver is told that the data was deleted")
    return EXIT_OK


def cmd_purge(args: argparse.Namespace, cfg: Any) -> int:
    from voiceassist.storage import SessionStore

    days = cfg.store.retention_days if args.older_than is None else args.older_than
    if days <= 0:
        print(
            "voiceassist: nothing to purge: store.retention_days is 0 (keep); give --older-than DAYS", file=sys.stderr
        )
        return EXIT_CONFIG
    store = SessionStore(_store_path(cfg))
    try:
        n = store.apply_retention(days)
    finally:
        store.close()
    print(f"deleted {n} sessions older than {days:g} days (overwritten on disk: secure_delete)")
    return EXIT_OK


def cmd_key(args: argparse.Namespace, cfg: Any) -> int:
    from voiceassist.privacy.keys import KeyStore

    ks = KeyStore()
    try:
        where = ks.move(args.store)
    except Exception as e:
        print(f"voiceassist: {e}", file=sys.stderr)
        return EXIT_FAILED
    print(f"the data key is now {ks.describe()}" + (f" (asked for {args.store})" if where != args.store else ""))
    return EXIT_OK


_COMMANDS = {"status": cmd_status, "wipe": cmd_wipe, "purge": cmd_purge, "key": cmd_key}
