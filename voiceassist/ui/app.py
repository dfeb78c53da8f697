"""``voiceassist app``: the desktop window, with its own command line (the same common options as the CLI)."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import Any

from voiceassist.config import ConfigError, default_config_path
from voiceassist.lang import is_zh
from voiceassist.logs import setup_logging
from voiceassist.options import EXIT_CONFIG, add_common, config_from_args

log = logging.getLogger(__name__)


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(
        prog="voiceassist app", description="the desktop window (live view, mood timeline, settings)"
    )
    ap.add_argument("--file", type=Path, help="replay this recording in real time instead of the microphone")
    ap.add_argument("--no-start", action="store_true", help="open the window without starting to listen")
    ap.add_argument("--tab", choices=["live", "timeline", "review", "settings"], default="live")
    ap.add_argument("--screenshot", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--quit-after", type=float, default=0.0, help=argparse.SUPPRESS)
    ap.add_argument(
        "--self-test", action="store_true", help="load every model, run a bundled recording, draw the window; exit"
    )
    add_common(ap)
    return ap


def main(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    if args.self_test:  # before anything reads the user's folders: it runs in a temporary one
        from voiceassist.ui.selftest import run_self_test

        return run_self_test(args.overrides, args.verbose)
    setup_logging(args.verbose)
    try:
        cfg = config_from_args(args)
    except ConfigError as e:
        print(f"voiceassist: configuration error: {e}", file=sys.stderr)
        return EXIT_CONFIG
    return run_app(
        cfg,
        args.config or default_config_path(),
        args.file,
        args.screenshot,
        args.quit_after,
        args.tab,
        start=not args.no_start,
    )


def make_source_factory(cfg: Any, file: Path | None) -> Any:
    from voiceassist.audio.sources import FileSource, MicSource

    def factory() -> Any:
        if file is not None:
            return FileSource(file, realtime=True, chunk_ms=cfg.audio.block_ms)
        return MicSource(
            cfg.audio.input_device or None, cfg.audio.block_ms, cfg.audio.queue_seconds, cfg.audio.no_data_timeout_s
        )

    return factory


def install_signal_handlers(app: Any, win: Any) -> Any:
    """Ctrl-C (SIGINT) and SIGTERM close the window the normal way: the session is stopped (the utterance in
    flight finished, the session row closed), then the app quits. A second signal quits at once. Python
    handles signals only when it runs, so a timer wakes it while Qt waits; the returned timer must be kept."""
    import signal

    from PySide6.QtCore import QTimer

    state = {"asked": False}

    def handler(signum: int, _frame: Any) -> None:
        log.info("signal %d: closing the window", signum)
        if state["asked"]:
            QTimer.singleShot(0, app.quit)
            return
        state["asked"] = True
        QTimer.singleShot(0, win.close)

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, handler)
    timer = QTimer()
    timer.timeout.connect(lambda: None)
    timer.start(200)
    return timer


def run_app(
    cfg: Any,
    config_path: Path,
    file: Path | None = None,
    screenshot: Path | None = None,
    quit_after: float = 0.0,
    tab: str = "live",
    start: bool = True,
) -> int:
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from voiceassist.storage import SessionStore, default_store_path
    from voiceassist.ui.i18n import load_translator, resolve_language
    from voiceassist.ui.main_window import MainWindow

    app = QApplication.instance() or QApplication(sys.argv[:1])
    lang = resolve_language(cfg.ui.language)
    translator = load_translator(lang)
    if translator is not None:
        app.installTranslator(translator)
    from voiceassist.ui import privacy

    privacy.install_passphrase_prompt()
    store = None
    if cfg.store.enabled:
        path = Path(cfg.store.path) if cfg.store.path else default_store_path()
        store = privacy.open_store(lambda: SessionStore(path))
        if store is None:  # the data key cannot be had (said in a dialog); nothing was changed
            return EXIT_CONFIG
        store.apply_retention(cfg.store.retention_days)
    win = MainWindow(cfg, config_path, store, make_source_factory(cfg, file), zh=is_zh(lang))
    win.show()
    privacy.show_caregiver_notice(win, cfg)
    if screenshot is None:
        privacy.show_first_run(win, cfg, config_path)
    tabs = {"live": win.live, "timeline": win.timeline, "review": win.review, "settings": win.settings}
    win.tabs.setCurrentWidget(tabs.get(tab, win.live))
    if start:
        QTimer.singleShot(0, win.start_listening)
    if quit_after > 0:

        def finish() -> None:
            if screenshot is not None:
                if tab == "timeline":
                    win.timeline.reload()
                if tab == "review":
                    win.review.reload()
                screenshot.parent.mkdir(parents=True, exist_ok=True)
                win.grab().save(str(screenshot))
            win.close()
            app.quit()

        QTimer.singleShot(int(quit_after * 1000), finish)
    keep = install_signal_handlers(app, win)  # noqa: F841 (the wake-up timer must live as long as the loop)
    code = app.exec()
    for t in win.stopping:  # a session still stopping (the window was closed while listening): let it finish
        t.join(6.0)
    if store is not None:
        store.close()
    return int(code)
