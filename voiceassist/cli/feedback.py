"""``voiceassist feedback list | correct | export | import | clear | profile``: the person's corrections of
the emotion read in each utterance (and their ratings of the replies), and their calibration profile
(voiceassist/storage/feedback.py, voiceassist/personal/)."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path
from typing import Any

from voiceassist.config import ConfigError, default_config_path, load_config
from voiceassist.options import EXIT_CONFIG, EXIT_FAILED, EXIT_INPUT, EXIT_OK

log = logging.getLogger(__name__)
FORMAT = "voiceassist-feedback"


def add_parser(sub: Any) -> None:
    fp = sub.add_parser("feedback", help="corrections of the emotion read, reply ratings, the calibration profile")
    fs = fp.add_subparsers(dest="feedback_command", required=True)
    for name, text in (
        ("list", "the corrections and ratings, oldest first"),
        ("correct", "correct one utterance: SESSION SEGMENT LABEL (one of the 9, or not-sure)"),
        ("export", "write the corrections to a JSON file"),
        ("import", "read corrections from a JSON file written by export"),
        ("clear", "delete corrections (all, --person's or --session's)"),
        ("profile", "the calibration profile: show it, --refit it, or --reset it"),
    ):
        p = fs.add_parser(name, help=text)
        p.add_argument("--store", type=Path, help="the session store (default: store.path or the user data dir)")
        p.add_argument("--config", type=Path, default=None, help="config TOML (default: the user config file)")
        p.add_argument("-v", "--verbose", action="count", default=0)
        if name in ("list", "export", "clear", "profile"):
            p.add_argument("--person", help="only this person's (profile: default store.person or 'default')")
        if name in ("list", "clear"):
            p.add_argument("--session", type=int, help="only this session's")
        if name == "list":
            p.add_argument("--json", action="store_true", help="one JSON object a line")
        if name == "correct":
            p.add_argument("session", type=int)
            p.add_argument("segment", type=int)
            p.add_argument(
                "label",
                help="angry, disgusted, fearful, happy, neutral, other, sad, surprised, unknown, "
                "not-sure; with --reply: fits or does_not_fit",
            )
            p.add_argument("--reply", action="store_true", help="rate the reply instead of the emotion")
            p.add_argument("--note", default="")
        if name in ("export", "import"):
            p.add_argument("file", type=Path)
        if name == "clear":
            p.add_argument("--yes", action="store_true", help="do not ask for confirmation")
        if name == "profile":
            g = p.add_mutually_exclusive_group()
            g.add_argument("--refit", action="store_true", help="fit it again from the corrections")
            g.add_argument("--reset", action="store_true", help="back to the base model (corrections kept)")


def run(args: argparse.Namespace) -> int:
    from voiceassist.privacy.keys import DataKeyError
    from voiceassist.storage import SessionStore, default_store_path
    from voiceassist.storage.feedback import FeedbackError

    try:
        cfg = load_config(args.config or default_config_path(), explicit=args.config is not None)
    except ConfigError as e:
        print(f"voiceassist: configuration error: {e}", file=sys.stderr)
        return EXIT_CONFIG
    path = args.store or (Path(cfg.store.path) if cfg.store.path else default_store_path())
    if not path.is_file() and args.feedback_command != "import":
        print(f"voiceassist: no session store at {path}: nothing has been recorded yet", file=sys.stderr)
        return EXIT_CONFIG
    try:
        store = SessionStore(path)
    except DataKeyError as e:
        print(f"voiceassist: {e}", file=sys.stderr)
        return EXIT_CONFIG
    try:
        return int(_COMMANDS[args.feedback_command](args, cfg, store))
    except FeedbackError as e:
        print(f"voiceassist: {e}", file=sys.stderr)
        return EXIT_INPUT
    except Exception as e:  # one line here, the details in the log file
        log.error("feedback %s failed", args.feedback_command, exc_info=True)
        print(f"voiceassist: feedback {args.feedback_command} failed: {e}", file=sys.stderr)
        return EXIT_FAILED
    finally:
        store.close()


def cmd_list(args: argparse.Namespace, cfg: Any, store: Any) -> int:
    from voiceassist.storage.feedback import list_feedback

    rows = list_feedback(store, args.person, args.session)
    for r in rows:
        if args.json:
            print(json.dumps(_public(r), ensure_ascii=False))
            continue
        shown = (r.get("shown") or {}).get("label") or "?"
        label = r.get("label") or "not sure"
        edits = f" (edited {len(r['history'])}x)" if r.get("history") else ""
        words = f'  "{r["text"]}"' if r.get("text") else ""
        print(
            f"#{r['id']} session {r['session_id']} utterance {r['segment_id']} [{r['person']}] "
            f"{r['kind']}: {shown} -> {label}{edits}{words}"
        )
    if not rows and not args.json:
        print("no corrections")
    return EXIT_OK


def _public(r: dict[str, Any]) -> dict[str, Any]:
    keys = (
        "id",
        "session_id",
        "session_started_at",
        "segment_id",
        "wall_time",
        "person",
        "kind",
        "label",
        "note",
        "source",
        "shown",
        "base_scores",
        "models",
        "history",
        "text",
    )
    return {k: r.get(k) for k in keys}


def cmd_correct(args: argparse.Namespace, cfg: Any, store: Any) -> int:
    from voiceassist.storage.feedback import record

    label = None if args.label in ("not-sure", "not_sure") else args.label
    fid = record(
        store,
        args.session,
        args.segment,
        label,
        kind="reply" if args.reply else "emotion",
        note=args.note,
        source="cli",
    )
    print(f"stored as #{fid}")
    return EXIT_OK


def cmd_export(args: argparse.Namespace, cfg: Any, store: Any) -> int:
    from voiceassist.config_file import write_atomic
    from voiceassist.storage.feedback import list_feedback

    rows = [_public(r) for r in list_feedback(store, args.person)]
    write_atomic(args.file, json.dumps({"format": FORMAT, "version": 1, "items": rows}, ensure_ascii=False, indent=1))
    print(f"{len(rows)} corrections written to {args.file}")
    return EXIT_OK


def cmd_import(args: argparse.Namespace, cfg: Any, store: Any) -> int:
    from voiceassist.storage.feedback import FeedbackError, record

    try:
        doc = json.loads(args.file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as e:
        raise FeedbackError(f"cannot read {args.file}: {e}") from e
    if not isinstance(doc, dict) or doc.get("format") != FORMAT or not isinstance(doc.get("items"), list):
        raise FeedbackError(f"{args.file} is not a file written by 'voiceassist feedback export'")
    starts = {round(s.started_at, 3): s.id for s in store.sessions()}
    done, skipped = 0, 0
    for item in doc["items"]:
        try:
            when = item.get("session_started_at")
            sid = starts.get(round(float(when), 3)) if when is not None else None
            if sid is None:
                raise FeedbackError(f"its session (started at {when}) is not in this store")
            for h in item.get("history") or []:  # the earlier answers first, so undo works the same here
                record(
                    store,
                    sid,
                    int(item["segment_id"]),
                    h.get("label"),
                    kind=item.get("kind", "emotion"),
                    note=h.get("note") or "",
                    source=h.get("source") or "import",
                    base_scores=item.get("base_scores"),
                )
            record(
                store,
                sid,
                int(item["segment_id"]),
                item.get("label"),
                kind=item.get("kind", "emotion"),
                note=item.get("note") or "",
                source="import",
                base_scores=item.get("base_scores"),
            )
            done += 1
        except (FeedbackError, KeyError, TypeError, ValueError) as e:
            skipped += 1
            print(
                f"voiceassist: skipped correction #{item.get('id') if isinstance(item, dict) else '?'}: {e}",
                file=sys.stderr,
            )
    print(f"{done} corrections imported, {skipped} skipped")
    return EXIT_OK if not skipped else EXIT_INPUT


def cmd_clear(args: argparse.Namespace, cfg: Any, store: Any) -> int:
    from voiceassist.storage.feedback import clear, list_feedback

    n = len(list_feedback(store, args.person, args.session))
    if not args.yes:
        if not sys.stdin.isatty():
            print("voiceassist: add --yes to delete corrections without a terminal", file=sys.stderr)
            return EXIT_CONFIG
        if input(f"Delete {n} corrections? [y/N] ").strip().lower() not in ("y", "yes"):
            print("nothing deleted")
            return EXIT_OK
    print(f"{clear(store, args.person, args.session)} corrections deleted")
    return EXIT_OK


def cmd_profile(args: argparse.Namespace, cfg: Any, store: Any) -> int:
    from voiceassist.personal.service import load, refit, reset

    person = args.person or cfg.store.person or "default"
    if args.reset:
        print(reset(store, person).describe())
        return EXIT_OK
    profile, note = load(store, person)
    if note:
        print(f"voiceassist: {note}", file=sys.stderr)
    if args.refit or profile is None:
        profile = refit(store, person)
    print(profile.describe())
    return EXIT_OK if not note else EXIT_INPUT


_COMMANDS = {
    "list": cmd_list,
    "correct": cmd_correct,
    "export": cmd_export,
    "import": cmd_import,
    "clear": cmd_clear,
    "profile": cmd_profile,
}
