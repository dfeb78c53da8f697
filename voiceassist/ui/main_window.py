"""The main window and its controller. The controller owns a Session (voiceassist/session.py), started and
stopped on helper threads so the GUI thread never waits on a model; its events reach the window through the
bridge, and the controls send it commands."""

from __future__ import annotations

import gc
import logging
import threading
from pathlib import Path
from typing import Any

from PySide6.QtCore import QCoreApplication
from PySide6.QtWidgets import QLabel, QMainWindow, QProgressBar, QTabWidget, QVBoxLayout, QWidget

from voiceassist import events as E
from voiceassist.session import Mute, SetInput, StopSpeaking
from voiceassist.storage import SessionStore
from voiceassist.ui.bridge import EventBridge
from voiceassist.ui.live import LiveTab
from voiceassist.ui.model_offer import ModelOffer
from voiceassist.ui.review import ReviewTab
from voiceassist.ui.settings import SettingsTab
from voiceassist.ui.timeline import TimelineTab

log = logging.getLogger(__name__)
STAGES = ("asr", "speech-emotion", "text-emotion", "reply", "tts")
SPEECH_END_KEEP = 16
"""Replies waiting for their playback to start whose speech end the window keeps (for the latency shown)."""


def keep_heap_out_of_full_collections(listening: bool) -> None:
    """Python's full collections walk every object the process tracks: about 300,000 once the models are
    loaded, 50-115 ms on 2 cores, in whichever thread triggers them, holding the GIL, so the window stalls
    (bench/soak.py). While listening, what was alive when listening began (models, Qt, modules) is left out
    of them (``gc.freeze``); when listening stops it is put back, so a stopped session's cycles are still
    collected."""
    if listening:
        gc.collect()
        gc.freeze()
    else:
        gc.unfreeze()


def tr(text: str) -> str:
    return QCoreApplication.translate("VoiceAssist", text)


class MainWindow(QMainWindow):
    def __init__(
        self,
        cfg: Any,
        config_path: Path,
        store: SessionStore | None,
        source_factory: Any,
        zh: bool = False,
        models: Any = None,
    ) -> None:
        """``models``: loaded models every listening session runs on (None: each session loads its own)."""
        super().__init__()
        self.cfg = cfg
        self.models = models
        self.store = store
        self.source_factory = source_factory
        self.session: Any = None
        self._closing = False
        self.stopping: list[threading.Thread] = []  # sessions being stopped (the app waits for them at exit)
        self.bridge = EventBridge()
        self.bridge.event.connect(self.on_event)
        self.ready: dict[str, Any] = {}
        self.last_latency: float | None = None
        self._generation = 0  # which start of the pipeline an event comes from
        self._speech_end: dict[int, float] = {}
        """segment -> when its speech ended, for the replies whose playback has not started yet (the latest
        ``SPEECH_END_KEEP``: with no voice, or when a reply is not spoken, no PlaybackStarted takes them out)."""
        self.setWindowTitle("VoiceAssist")
        self.resize(1180, 760)

        self.banner = QLabel()
        self.banner.setWordWrap(True)
        self.banner.setVisible(False)
        self.banner.setStyleSheet("background: #fdecea; color: #8a1c1c; padding: 6px; font-weight: bold")
        self.consent = QLabel(
            tr(
                "Caregiver alerts are ON: a caregiver is told when your mood becomes very "
                "volatile or a crisis phrase is heard."
            )
        )
        self.consent.setStyleSheet("background: #fff4d6; color: #6b4e00; padding: 4px")
        self.consent.setVisible(cfg.alerts.enabled)
        self.fallbacks = QLabel()  # which features run on an embedded default, and how to get the real model
        self.fallbacks.setWordWrap(True)
        self.fallbacks.setStyleSheet("background: #eef5ff; color: #1c3d6b; padding: 4px")
        self.fallbacks.setVisible(False)
        self.saving = QLabel()  # the store cannot be written (a full disk): said until saving resumes
        self.saving.setWordWrap(True)
        self.saving.setStyleSheet("background: #fff4e5; color: #6b3d00; padding: 4px; font-weight: bold")
        self.saving.setVisible(False)
        from voiceassist.paths import models_dir

        self.offer = ModelOffer(models_dir(cfg.paths.models_dir))  # Emotion2Vec+, one step away
        self.offer.installed.connect(self._voice_model_installed)
        self.live = LiveTab(cfg, zh)
        self.feedback_session: Any = None  # the session whose turns the chips correct (kept after it stops)
        self.live.on_correct = self._correct
        self.live.stored_answer = self._stored_answer
        self.live.calibration.reset_btn.clicked.connect(self._reset_calibration)
        self.live.calibration.update_btn.clicked.connect(self._update_calibration)
        self._show_calibration()
        self.timeline = TimelineTab(store)
        self.review = ReviewTab(cfg, store, zh)
        self.review.open_session.connect(self._open_session)
        self.settings = SettingsTab(cfg, config_path)
        self.tabs = QTabWidget()
        self.tabs.addTab(self.live, tr("Live"))
        self.tabs.addTab(self.timeline, tr("Timeline"))
        self.tabs.addTab(self.review, tr("Mood over time"))
        self.tabs.addTab(self.settings, tr("Settings"))
        central = QWidget()
        lay = QVBoxLayout(central)
        lay.addWidget(self.consent)
        lay.addWidget(self.fallbacks)
        lay.addWidget(self.saving)
        lay.addWidget(self.offer)
        lay.addWidget(self.banner)
        lay.addWidget(self.tabs)
        self.setCentralWidget(central)
        self.progress = QProgressBar()
        self.progress.setRange(0, len(STAGES))
        self.progress.setMaximumWidth(180)
        self.progress.setFormat(tr("loading models %v/%m"))
        self.progress.setVisible(False)
        self.status = QLabel(tr("Not listening. Press Start listening."))
        self.statusBar().addWidget(self.status, 1)
        self.statusBar().addPermanentWidget(self.progress)
        self.live.start_btn.clicked.connect(self.toggle_listening)
        self.live.hands_free.toggled.connect(self._hands_free)
        self.live.talk_btn.pressed.connect(lambda: self._talk(True))
        self.live.talk_btn.released.connect(lambda: self._talk(False))
        self.live.mute.toggled.connect(self._mute)
        self.live.stop_speaking.clicked.connect(self._stop_speaking)

    # -- controls ----------------------------------------------------------------------------------
    @property
    def listening(self) -> bool:
        return self.session is not None

    def toggle_listening(self) -> None:
        if self.listening:
            self.stop_listening()
        else:
            self.start_listening()

    def start_listening(self) -> None:
        from voiceassist.session import Session

        self._generation += 1
        generation = self._generation
        try:
            source = self.source_factory()
        except Exception as e:
            self.status.setText(str(e))
            return
        session = Session(self.cfg, source, store=self.store, models=self.models)
        session.subscribe(lambda ev: self.bridge((generation, ev)))
        self.feedback_session = session
        self._show_calibration()
        if not self.live.hands_free.isChecked():
            session.send(SetInput(False))
        self.session = session
        self.ready.clear()
        self._speech_end.clear()  # the new session numbers its utterances afresh
        self.progress.setValue(0)
        self.progress.setVisible(True)
        self.status.setText(tr("Loading models..."))
        self.live.start_btn.setText(tr("Stop listening"))

        def start() -> None:  # opening the source and warming the models up take seconds
            try:
                session.start()
            except Exception as e:
                log.error("could not start listening", exc_info=True)
                session.bus.publish(E.StageError(stage="input", message=str(e)))
                session.bus.publish(E.PipelineStopped(reason=str(e)))

        threading.Thread(target=start, name="voiceassist-ui-start", daemon=True).start()

    def stop_listening(self, timeout: float = 5.0) -> None:
        session, self.session = self.session, None
        self.live.start_btn.setText(tr("Start listening"))
        self.status.setText(tr("Stopping..."))
        if session is not None:
            self.stopping.append(session.stop_async(timeout))

    def _hands_free(self, on: bool) -> None:
        self.live.talk_btn.setEnabled(not on)
        if self.session is not None:
            self.session.send(SetInput(on))

    def _talk(self, down: bool) -> None:
        if self.session is not None and not self.live.hands_free.isChecked():
            self.session.send(SetInput(down))

    def _mute(self, on: bool) -> None:
        if self.session is not None:
            self.session.send(Mute(on))

    def _open_session(self, session_id: int) -> None:
        if self.timeline.show_session(session_id):
            self.tabs.setCurrentWidget(self.timeline)

    def _stop_speaking(self) -> None:
        if self.session is not None:
            self.session.send(StopSpeaking())

    # -- corrections and calibration (voiceassist/ui/correction.py) -------------------------------------
    def _correct(self, segment_id: int, kind: str, label: str | None, undo: bool) -> bool:
        from voiceassist.session import CorrectEmotion

        if self.feedback_session is None or self.store is None:
            self.status.setText(tr("Corrections are kept only when sessions are stored (store.enabled)."))
            return False
        try:
            self.feedback_session.send(CorrectEmotion(segment_id=segment_id, label=label, kind=kind, undo=undo))
        except Exception as e:  # a missing utterance, a label outside the 9, a full disk: said, nothing changes
            log.warning("correction not stored: %s", e)
            self.status.setText(f"{tr('Correction not stored')}: {e}")
            return False
        self.status.setText(tr("Thank you: stored."))
        return True

    def _stored_answer(self, segment_id: int, kind: str) -> dict[str, Any] | None:
        from voiceassist.storage.feedback import current

        s = self.feedback_session
        if s is None or self.store is None or s.recorder is None:
            return None
        return current(self.store, s.recorder.session_id, segment_id, kind)

    def _show_calibration(self) -> None:
        s = self.feedback_session
        if s is not None:
            self.live.calibration.show_profile(s.person, s.profile, s.calibration_note)
        else:
            self.live.calibration.show_profile(self.cfg.store.person or "default", None)
        self.live.calibration.setVisible(self.store is not None)

    def _update_calibration(self) -> None:
        """Refit on a helper thread; the bar is redrawn when the session's calibration StageReady arrives."""
        s = self.feedback_session
        if s is not None:
            threading.Thread(target=s.recalibrate, name="voiceassist-ui-calibrate", daemon=True).start()

    def _reset_calibration(self) -> None:
        if self.store is None:
            return
        from voiceassist.personal.service import reset

        reset(self.store, self.cfg.store.person or "default")  # a row deleted: quick
        if self.feedback_session is not None:
            self._update_calibration()  # the refit (slow with many corrections) on a helper thread
        self._show_calibration()

    def _voice_model_installed(self, name: str) -> None:
        """Emotion2Vec+ arrived: the config remembers it, and a running session switches to it now."""
        from voiceassist.session import ReloadVoiceModel
        from voiceassist.ui.settings import save_settings

        self.cfg.emotion.speech_model = name
        try:
            save_settings(self.settings.config_path, {"emotion": {"speech_model": name}})
        except Exception as e:  # not remembered for next time; used now all the same
            self.status.setText(f"{name}: {e}")
        if self.session is not None:
            self.session.send(ReloadVoiceModel(name))
        self.status.setText(f"{name} {tr('installed: the voice is read by it from now on.')}")

    # -- events (GUI thread) -----------------------------------------------------------------------
    def on_event(self, item: Any) -> None:
        generation, ev = item
        if generation == -1:  # the session stopped for closing the window
            self.close()
            return
        current = generation == self._generation
        self.live.on_event(ev)
        if isinstance(ev, E.StageReady) and ev.stage == "calibration":
            self._show_calibration()
        if isinstance(ev, E.StageReady):
            self.ready[ev.stage] = ev
            self.progress.setValue(len([s for s in STAGES if s in self.ready]))
            self._status_line()
            self.settings.set_model_status(
                [f"{r.stage}: {r.description}" + (f" - {r.note}" if r.note else "") for r in self.ready.values()]
            )
            notes = [f"{r.stage}: {r.note}" for r in self.ready.values() if r.note]
            self.fallbacks.setText("\n".join(notes))
            self.fallbacks.setVisible(bool(notes))
            self.offer.offer_if_missing(ev)
        elif isinstance(ev, E.SourceStarted):
            self.progress.setVisible(False)
            if current:
                keep_heap_out_of_full_collections(True)
            self._status_line()
        elif isinstance(ev, E.PlaybackStarted):
            end = self._speech_end.pop(ev.segment_id or 0, None)
            if end:
                self.last_latency = ev.first_sample_at - end
                self._status_line()
        elif isinstance(ev, E.Reply) and ev.speech_end_at:
            self._speech_end[ev.segment_id or 0] = ev.speech_end_at
            while len(self._speech_end) > SPEECH_END_KEEP:  # the oldest go (a day-long session grew it)
                del self._speech_end[next(iter(self._speech_end))]
            self.last_latency = ev.t - ev.speech_end_at
            self._status_line()
        elif isinstance(ev, E.AlertRaised) and not ev.suppressed:
            self.banner.setText(f"{tr('Alert')} [{ev.severity}]: {ev.rule}")
            self.banner.setVisible(True)
        elif isinstance(ev, E.StoreStatus):
            if ev.saving:
                self.status.setText(tr("Saving again: this conversation is stored."))
            else:
                self.saving.setText(
                    f"{tr('Not saving')}: {tr(ev.reason)}. "
                    + tr("Listening goes on; what is said is kept in memory and saved when there is space again.")
                )
            self.saving.setVisible(not ev.saving)
        elif isinstance(ev, E.StageError) and ev.stage == "input":
            self.status.setText(f"{tr('Microphone problem')}: {ev.message}")
        elif isinstance(ev, E.SourceEnded) and current:
            if ev.error:
                self.status.setText(f"{tr('Microphone problem')}: {ev.error}")
            if self.session is not None:  # end of the file, or the device is gone: finish what was heard
                self.stopping.append(self.session.stop_async(30.0))
        elif isinstance(ev, E.PipelineStopped) and current:
            keep_heap_out_of_full_collections(False)
            self.progress.setVisible(False)
            self.session = None  # ended by itself (end of file, lost device) or stopped
            self.live.start_btn.setText(tr("Start listening"))
            self.timeline.reload()
            self.review.reload()
            if not self.status.text().startswith(tr("Microphone problem")):
                self.status.setText(tr("Not listening."))

    def _status_line(self) -> None:
        parts = []
        for stage in STAGES:
            r = self.ready.get(stage)
            if r is not None:
                mark = f" [{tr('embedded')}]" if r.embedded else ""
                parts.append(f"{stage}: {r.description.split(' (')[0]}{mark}")
        device = "GPU" if any("cuda" in r.description for r in self.ready.values()) else "CPU"
        latency = f" | {tr('last reply')} {self.last_latency:.2f} s" if self.last_latency is not None else ""
        self.status.setText(" | ".join(parts) + f" | {device}{latency}")

    def closeEvent(self, event: Any) -> None:
        """Closing while listening: the session is stopped on a helper thread (the utterance in flight is
        finished, the session row closed) and the window closes when it is done, within a few seconds."""
        session = self.session
        if session is None or self._closing:
            super().closeEvent(event)
            return
        self._closing = True
        self.session = None
        self.status.setText(tr("Stopping..."))
        event.ignore()
        self.stopping.append(
            session.stop_async(4.0, on_done=lambda _ok: self.bridge((-1, E.PipelineStopped(reason="window closed"))))
        )
