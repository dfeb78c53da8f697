"""``voiceassist app --self-test``: a few seconds, no display and no user data needed, exit 0 only if every
step worked. It is what ``packaging/build.sh`` runs on the frozen build (and the test suite from the source
tree), so it touches everything a frozen app can miss: each embedded model loads (Whisper base, the speech
and text emotion models with the lexicons and e5-small, the Piper voice), a bundled 3 s recording goes
through the whole pipeline (ASR, both emotions, fusion, mood, a reply), the reply is rendered to a buffer
(no sound card), the encrypted store opens (SQLCipher, the data key), and the window is drawn once.

Everything it writes goes to a temporary folder (config, data, state and logs: ``XDG_*`` and ``HOME``
pointed there before anything reads them; the data key in a key file there, never the OS keyring), and its
config says the consent was shown, so the first-run dialog does not appear. Only the model cache is the
user's (the embedded Whisper base is assembled there once, as the app itself does on first use). The
models folder is an empty temporary one, so the self-test checks exactly the models the install ships.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from voiceassist.lang import is_zh
from voiceassist.options import EXIT_FAILED, EXIT_OK

RECORDING = "selftest/hello_en.wav"
"""The bundled recording (voiceassist/resources): the embedded Piper joe voice (CC0) saying SCRIPT."""
SCRIPT = "I had a really good day today, and I feel happy."
MODEL_STAGES = ("asr", "speech-emotion", "text-emotion")


def isolate(home: Path) -> None:
    """Point every user folder the app would write into at ``home`` (before any of them is read)."""
    for var, sub in (
        ("XDG_CONFIG_HOME", "config"),
        ("XDG_DATA_HOME", "data"),
        ("XDG_STATE_HOME", "state"),
    ):
        (home / sub).mkdir(parents=True, exist_ok=True)
        os.environ[var] = str(home / sub)
    if sys.platform == "darwin":  # platformdirs reads ~/Library there; the cache dir is the only one kept
        os.environ["HOME"] = str(home)
    os.environ["PYTHON_KEYRING_BACKEND"] = "keyring.backends.fail.Keyring"  # never the user's keyring
    os.environ["VOICEASSIST_KEY_STORE"] = "file"
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


class Steps:
    """Runs named steps, printing each one's outcome and time; remembers whether all passed."""

    def __init__(self, out: Any = None) -> None:
        self.out = out or sys.stdout
        self.ok = True
        self.t0 = time.monotonic()

    def say(self, text: str) -> None:
        print(f"self-test: {text}", file=self.out, flush=True)

    def run(self, name: str, fn: Callable[[], Any]) -> Any:
        t = time.monotonic()
        try:
            result = fn()
        except Exception as e:
            self.ok = False
            self.say(f"FAIL {name} ({time.monotonic() - t:.2f} s): {type(e).__name__}: {e}")
            traceback.print_exc(file=sys.stderr)
            return None
        detail = f": {result}" if isinstance(result, str) and result else ""
        self.say(f"ok   {name} ({time.monotonic() - t:.2f} s){detail}")
        return result


class SelfTestError(Exception):
    """A step ran but its result is wrong."""


def write_config(home: Path) -> Path:
    path = home / "config" / "voiceassist" / "config.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    models = home / "models"
    models.mkdir(exist_ok=True)
    path.write_text(
        f"[privacy]\nconsent_shown = true\n\n[paths]\nmodels_dir = {str(models)!r}\n\n[tts]\nenabled = false\n",
        encoding="utf-8",
    )
    return path


def word_overlap(heard: str, said: str) -> float:
    """The share of the words said that were heard (case and punctuation ignored)."""

    def words(s: str) -> set[str]:
        return {w.strip(".,!?;:'\"").lower() for w in s.split()} - {""}

    want = words(said)
    return len(want & words(heard)) / max(1, len(want))


def run_pipeline(cfg: Any, recording: Path, steps: Steps) -> Any:
    """The recording through a conversation Session (speech not played); each model's load reported."""
    from voiceassist import events as E
    from voiceassist.audio.sources import FileSource
    from voiceassist.bus import Collector
    from voiceassist.session import Session

    collector = Collector()
    session = Session(cfg, FileSource(recording, realtime=False, chunk_ms=cfg.audio.file_chunk_ms), speak=False)
    session.subscribe(collector)
    t = time.monotonic()
    try:
        session.start()
    except BaseException:
        session.stop()
        raise
    failed = {e.stage for e in collector.of(E.StageError)}  # a model that failed, its fallback running instead
    # the text-emotion head ships inside: a note means it was not used (the lexicons run instead). The notes
    # of the others are expected: ASR says it runs the embedded model, speech emotion that Emotion2Vec+ is
    # not installed.
    failed |= {r.stage for r in collector.of(E.StageReady) if r.stage == "text-emotion" and r.note}
    for ready in collector.of(E.StageReady):
        if ready.stage in MODEL_STAGES:
            note = f" [{ready.note}]" if ready.note else ""
            steps.ok = steps.ok and ready.stage not in failed
            word = "FAIL" if ready.stage in failed else "ok  "
            steps.say(f"{word} load {ready.stage} ({ready.load_s:.2f} s): {ready.description}{note}")
    loaded = {r.stage for r in collector.of(E.StageReady)}
    missing = [s for s in MODEL_STAGES if s not in loaded]
    if missing:
        session.stop()
        raise SelfTestError(f"models not loaded: {', '.join(missing)}")
    steps.say(f"ok   models loaded ({time.monotonic() - t:.2f} s)")
    if not session.wait(timeout=120.0):
        session.stop()
        raise SelfTestError("the pipeline did not finish the recording within 120 s")
    errors = collector.of(E.StageError)
    if errors:
        raise SelfTestError("; ".join(f"{e.stage}: {e.message}" for e in errors))
    text = " ".join(t.text for t in collector.of(E.Transcript)).strip()
    if word_overlap(text, SCRIPT) < 0.5:
        raise SelfTestError(f"heard {text!r}, expected about {SCRIPT!r}")
    fused, replies = collector.of(E.FusedEmotion), collector.of(E.Reply)
    if not fused:
        raise SelfTestError("no fused emotion")
    if not replies or not replies[0].text.strip():
        raise SelfTestError("no reply")
    return text, fused[0], replies[0]


def render_reply(cfg: Any, reply: Any) -> str:
    import numpy as np

    from voiceassist.paths import models_dir
    from voiceassist.tts import Synthesizer
    from voiceassist.voices import VoiceSet

    system = Synthesizer(cfg.tts.driver, cfg.tts.voice_en, cfg.tts.voice_zh, cfg.tts.rate_scale)
    voices = VoiceSet(system, models_dir(cfg.paths.models_dir), cfg.tts.neural, cfg.tts.rate_scale)
    voices.load()
    samples, rate = voices.render(reply.text, reply.language, reply.tone)
    seconds = len(samples) / rate
    if seconds < 0.3 or not np.isfinite(samples).all() or float(np.abs(samples).max()) < 0.01:
        raise SelfTestError(f"the rendered reply is not speech ({seconds:.2f} s, peak {np.abs(samples).max():.3f})")
    return f"{seconds:.2f} s at {rate} Hz ({voices.description})"


def draw_window(cfg: Any, config_path: Path, recording: Path, home: Path) -> str:
    from PySide6.QtGui import QGuiApplication
    from PySide6.QtWidgets import QApplication

    from voiceassist.audio.sources import FileSource
    from voiceassist.privacy.keys import data_key
    from voiceassist.storage import SessionStore
    from voiceassist.ui.i18n import load_translator, resolve_language
    from voiceassist.ui.main_window import MainWindow

    app = QApplication.instance() or QApplication(sys.argv[:1])
    lang = resolve_language(cfg.ui.language)
    translator = load_translator(lang)
    if translator is not None:
        app.installTranslator(translator)
    # encrypted like the real one (SQLCipher, a data key made in a key file), both named inside the temporary
    # home, so even where platformdirs ignores XDG_* (Windows) the user's store and key are not opened
    key = data_key(create=True, folder=home / "state" / "voiceassist" / "keys")
    store = SessionStore(home / "data" / "voiceassist" / "sessions.sqlite3", key=key)
    try:
        win = MainWindow(cfg, config_path, store, lambda: FileSource(recording), zh=is_zh(lang))
        win.show()
        for _ in range(5):
            app.processEvents()
        image = win.grab().toImage()
        win.close()
        app.processEvents()
    finally:
        store.close()
    if image.isNull() or image.width() < 200 or image.height() < 200:
        raise SelfTestError(f"the window drew nothing ({image.width()}x{image.height()})")
    small = image.scaled(32, 32)
    colours = {small.pixel(x, y) for x in range(32) for y in range(32)}
    if len(colours) < 3:
        raise SelfTestError("the window drew a blank image")
    platform = QGuiApplication.platformName()
    return f"{image.width()}x{image.height()}, {platform} platform, language {lang}"


def run_self_test(overrides: list[str] | None = None, verbose: int = 0) -> int:
    """Every step, printed; EXIT_OK only if all of them worked."""
    steps = Steps()
    t0 = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="voiceassist-selftest-") as tmp:
        home = Path(tmp)
        isolate(home)
        from voiceassist.config import load_config
        from voiceassist.logs import setup_logging
        from voiceassist.paths import resources_dir

        setup_logging(verbose)
        steps.say(f"python {sys.version.split()[0]}, frozen={bool(getattr(sys, 'frozen', False))}, home {home}")
        config_path = steps.run("config", lambda: write_config(home))
        cfg = steps.run("load config", lambda: load_config(config_path, overrides or [], explicit=True))
        recording = resources_dir() / RECORDING
        if cfg is None or not recording.is_file():
            steps.say(f"FAIL bundled recording {recording}" if cfg is not None else "FAIL no configuration")
            return EXIT_FAILED
        result = steps.run("pipeline (3 s recording)", lambda: run_pipeline(cfg, recording, steps))
        if result is not None:
            text, fused, reply = result
            steps.say(f"     heard {text!r}; emotion {fused.label} ({fused.confidence:.2f}); reply {reply.text!r}")
            steps.run("render the reply", lambda: render_reply(cfg, reply))
        steps.run("draw the window", lambda: draw_window(cfg, config_path, recording, home))
    steps.say(f"{'PASSED' if steps.ok else 'FAILED'} in {time.monotonic() - t0:.1f} s")
    return EXIT_OK if steps.ok else EXIT_FAILED
