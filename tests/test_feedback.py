"""Corrections and ratings (voiceassist/storage/feedback.py): stored with their utterance, editable and
undoable, refused clearly when the utterance is gone or the label is not one of the 9; the CLI's
list/export/import/clear/profile; profiles deleted with their sessions; a corrupt profile is said and the
base model used; a Session applies a person's profile from the next utterance."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tests.test_pipeline_emotion import ScriptedAsr
from voiceassist.audio.sources import FileSource
from voiceassist.bus import Collector
from voiceassist.cli import main
from voiceassist.config import Config
from voiceassist.emotion.labels import INDEX, N_LABELS, as_dict
from voiceassist.events import FusedEmotion, StageReady
from voiceassist.personal import service
from voiceassist.pipeline import Models
from voiceassist.session import CorrectEmotion, Session
from voiceassist.storage import SessionStore
from voiceassist.storage import feedback as fb
from voiceassist.storage.feedback import FeedbackError


def _scores(label: str, p: float = 0.6) -> np.ndarray:
    s = np.full(N_LABELS, (1 - p) / (N_LABELS - 1))
    s[INDEX[label]] = p
    return s


def seed(store: SessionStore, n: int, person: str = "li", read_as: str = "sad", started: float = 1000.0) -> int:
    """A session of ``n`` utterances the base model read as ``read_as``."""
    sid = store.start_session("test", now=started)
    fb.set_person(store, sid, person)
    store.set_backends(sid, {"speech": "prosody 1", "text": "head 2"})
    rng = np.random.default_rng(n)
    for seg in range(1, n + 1):
        store.add_utterance(sid, seg, seg, seg + 0.5)
        emb = rng.normal(0, 1, 8).astype(np.float32)
        fused = {"label": read_as, "confidence": 0.6, "scores": as_dict(_scores(read_as))}
        store.update_utterance(
            sid, seg, fused=json.dumps(fused), fused_label=read_as, text=f"words {seg}", embedding=emb.tobytes()
        )
    return sid


@pytest.fixture
def store(tmp_path: Path) -> SessionStore:
    s = SessionStore(tmp_path / "s.db")
    yield s
    s.close()


def test_a_correction_is_stored_with_its_utterance_models_and_base(store: SessionStore) -> None:
    sid = seed(store, 3)
    fid = fb.record(store, sid, 2, "neutral", note="just tired", base_scores=_scores("sad", 0.5))
    [row] = fb.list_feedback(store)
    assert row["id"] == fid and row["segment_id"] == 2 and row["label"] == "neutral" and row["person"] == "li"
    assert row["shown"]["label"] == "sad" and row["models"] == {"speech": "prosody 1", "text": "head 2"}
    assert row["base_scores"][INDEX["sad"]] == pytest.approx(0.5) and row["text"] == "words 2"
    assert store.export_json(sid)["feedback"][0]["label"] == "neutral"  # exported with the session
    service.refit(store, "li")
    assert store.export_json(sid)["profile"]["person"] == "li"  # and the person's profile


def test_an_acknowledged_correction_survives_the_process_dying(store: SessionStore, tmp_path: Path) -> None:
    sid = seed(store, 1)
    fb.record(store, sid, 1, "neutral")  # returned: committed
    other = SessionStore(store.path)  # what a new process finds, with this one never closed
    assert fb.current(other, sid, 1)["label"] == "neutral"
    other.close()


def test_edit_then_undo_steps_back(store: SessionStore) -> None:
    sid = seed(store, 2)
    fb.record(store, sid, 1, "neutral")
    fb.record(store, sid, 1, None)  # "not sure" after all
    fb.record(store, sid, 1, "fits", kind="reply")  # a rating is its own answer
    assert fb.current(store, sid, 1)["label"] is None and len(fb.list_feedback(store)) == 2
    assert fb.undo(store, sid, 1)["label"] == "neutral"
    assert fb.undo(store, sid, 1) is None and fb.current(store, sid, 1) is None
    assert fb.current(store, sid, 1, "reply")["label"] == "fits"


def test_bad_input_is_refused_clearly_and_nothing_is_stored(store: SessionStore) -> None:
    sid = seed(store, 1)
    with pytest.raises(FeedbackError, match="no longer exists"):
        fb.record(store, sid, 99, "sad")
    with pytest.raises(FeedbackError, match="not one of the 9"):
        fb.record(store, sid, 1, "calm")
    with pytest.raises(FeedbackError, match="fits or does_not_fit"):
        fb.record(store, sid, 1, "great", kind="reply")
    assert fb.list_feedback(store) == []


def _correct_biased(store: SessionStore, sid: int, n: int) -> None:
    for seg in range(1, n + 1):  # this person's "sad" is mostly neutral
        fb.record(store, sid, seg, "sad" if seg % 3 == 0 else "neutral")


def test_refit_gates_on_and_reset_and_session_delete_take_it_away(store: SessionStore) -> None:
    sid = seed(store, 36)
    _correct_biased(store, sid, 36)
    p = service.refit(store, "li")
    before, after = p.accuracy
    assert p.stage1.on and before is not None and after is not None and after > before
    assert np.argmax(p.apply(_scores("sad"))) == INDEX["neutral"]
    assert service.load(store, "li")[0].stage1.on
    assert not service.reset(store, "li").active
    assert not service.refit(store, "li").active  # corrections before the reset no longer count
    assert len(fb.list_feedback(store)) == 36  # ... but they are kept
    store.delete_session(sid)
    assert fb.load_profile(store, "li") is None and fb.list_feedback(store) == []


def test_a_corrupt_profile_is_said_and_the_base_used(store: SessionStore) -> None:
    seed(store, 1)
    fb.save_profile(store, "li", {"version": 1, "person": "li", "stage1": "garbage"})
    profile, note = service.load(store, "li")
    assert profile is None and note is not None and "base model is used" in note


def test_cli_list_correct_export_import_clear_profile(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "s.db"
    store = SessionStore(path)
    sid = seed(store, 36)
    store.close()
    db = ["--store", str(path)]
    assert main(["feedback", "correct", str(sid), "1", "neutral", *db]) == 0
    assert main(["feedback", "correct", str(sid), "1", "not-sure", *db]) == 0
    assert main(["feedback", "correct", str(sid), "99", "sad", *db]) == 2
    assert "no longer exists" in capsys.readouterr().err
    assert main(["feedback", "correct", str(sid), "2", "calm", *db]) == 2
    assert "not one of the 9" in capsys.readouterr().err
    assert main(["feedback", "list", *db]) == 0
    assert "sad -> not sure (edited 1x)" in capsys.readouterr().out
    out = tmp_path / "fb.json"
    assert main(["feedback", "export", str(out), *db]) == 0
    assert main(["feedback", "clear", "--yes", *db]) == 0
    assert "1 corrections deleted" in capsys.readouterr().out
    assert main(["feedback", "import", str(out), *db]) == 0
    store = SessionStore(path)
    [row] = fb.list_feedback(store)
    assert row["label"] is None and row["history"][0]["label"] == "neutral"
    _correct_biased(store, sid, 36)
    store.close()
    bad = tmp_path / "bad.json"
    bad.write_text('{"format": "something else"}')
    assert main(["feedback", "import", str(bad), *db]) == 2
    assert main(["feedback", "profile", "--person", "li", "--refit", *db]) == 0
    assert "stage 1" in capsys.readouterr().out
    assert main(["feedback", "profile", "--person", "li", "--reset", *db]) == 0
    assert "base model only" in capsys.readouterr().out


def test_a_session_applies_the_persons_profile_and_refuses_bad_corrections(two_utterances, tmp_path: Path) -> None:
    path, _ = two_utterances
    store = SessionStore(tmp_path / "s.db")
    old = seed(store, 36, person="li", read_as="sad")
    _correct_biased(store, old, 36)
    cfg = Config()
    cfg.store.person = "li"
    cfg.reply.enabled = False
    col = Collector()
    s = Session(
        cfg, FileSource(path), store=store, models=Models(asr=ScriptedAsr([("I feel so lonely", "en"), ("ok", "en")]))
    )
    s.subscribe(col)
    s.start()
    assert s.profile is not None and s.profile.stage1.on and s.pipeline.calibration is s.profile
    [ready] = [e for e in col.of(StageReady) if e.stage == "calibration"]
    assert "stage 1" in ready.description
    assert s.wait(120)
    fused = col.of(FusedEmotion)
    assert fused and all("personal calibration" in f.rule for f in fused)
    with pytest.raises(FeedbackError, match="no longer exists"):
        s.send(CorrectEmotion(segment_id=42, label="sad"))
    with pytest.raises(FeedbackError, match="not one of the 9"):
        s.send(CorrectEmotion(segment_id=1, label="calm"))
    s.send(CorrectEmotion(segment_id=1, label="sad"))
    s.stop(5.0)
    new = next(i.id for i in store.sessions() if i.id != old)
    [row] = fb.list_feedback(store, session_id=new)
    assert row["person"] == "li" and row["base_scores"] is not None and "calibration" in row["models"]
    # a corrupt profile at the start of a session: said, and refitted from the corrections
    fb.save_profile(store, "li", {"version": 1, "stage1": "garbage"})
    col2 = Collector()
    s2 = Session(cfg, FileSource(path), store=store, models=Models(asr=ScriptedAsr([("hello", "en")])))
    s2.subscribe(col2)
    s2.start()
    assert s2.wait(120)
    [ready] = [e for e in col2.of(StageReady) if e.stage == "calibration"]
    assert ready.note is not None and "cannot be read" in ready.note and "refitted" in ready.note
    store.close()


def test_post_v1_feedback_stores_and_says_what_is_wrong(store: SessionStore) -> None:
    from types import SimpleNamespace

    from fastapi import FastAPI
    from fastapi.testclient import TestClient

    from voiceassist.api import errors
    from voiceassist.api import feedback as api_feedback

    sid = seed(store, 2)
    app = FastAPI()
    errors.install(app)
    app.include_router(api_feedback.router)
    app.state.engine = SimpleNamespace(store=lambda: store)  # the engine's store: this one
    with TestClient(app) as client:
        ok = client.post("/v1/feedback", json={"session_id": sid, "segment_id": 1, "label": "neutral"})
        assert ok.status_code == 200 and ok.json()["stored"] and ok.json()["label"] == "neutral"
        gone = client.post("/v1/feedback", json={"session_id": sid, "segment_id": 9, "label": "sad"})
        assert gone.status_code == 404 and gone.json()["error"]["code"] == "utterance_not_found"
        bad = client.post("/v1/feedback", json={"session_id": sid, "segment_id": 1, "label": "calm"})
        assert bad.status_code == 400 and "not one of the 9" in bad.json()["error"]["message"]
        rate = client.post("/v1/feedback", json={"session_id": sid, "segment_id": 1, "label": "fits", "kind": "reply"})
        assert rate.status_code == 200
    [row] = [r for r in fb.list_feedback(store) if r["kind"] == "emotion"]
    assert row["source"] == "api" and row["label"] == "neutral"
