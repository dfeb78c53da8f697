"""Emotion2Vec+ through FunASR, on a tiny random checkpoint built with FunASR's own class: the real loading
code (AutoModel from a folder, no network), shapes, the label mapping, the frame/utterance identity, and
the errors for broken folders. The real weights are tested when present under models/."""

from __future__ import annotations

import shutil
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from tests.conftest import espeak
from voiceassist.emotion import EmotionModelError, create_speech_backend
from voiceassist.emotion.emotion2vec import Emotion2VecBackend, find_model
from voiceassist.emotion.labels import INDEX, LABELS

CFG = SimpleNamespace(
    device="cpu", frame_smoothing_ms=0, speech_backend="auto", speech_model="emotion2vec_plus_base", voice_model=""
)


@pytest.fixture(scope="module")
def backend(tiny_e2v: Path) -> Emotion2VecBackend:
    b = Emotion2VecBackend(CFG, tiny_e2v)
    b.load()
    return b


@pytest.fixture(scope="module")
def utterance() -> np.ndarray:
    return espeak("I can't believe it, this is wonderful news!").astype(np.float32) / 32768


def test_loads_through_funasr_automodel_from_a_folder(backend: Emotion2VecBackend, tiny_e2v: Path):
    assert type(backend.funasr_model.model).__name__ == "Emotion2vec"
    assert backend.device == "cpu" and not backend.embedded
    assert backend.embedding_dim == 32
    assert tiny_e2v.name in backend.description


def test_utterance_result_shapes_and_labels(backend: Emotion2VecBackend, utterance: np.ndarray):
    est, curves = backend.analyze(utterance)
    assert est.scores.shape == (9,) and est.scores.sum() == pytest.approx(1.0)
    assert est.label in LABELS and est.confidence == pytest.approx(est.scores.max())
    assert est.embedding is not None and est.embedding.shape == (32,)
    # 50 frames per second of audio (the conv stack's 320x stride)
    assert abs(curves.n_frames - len(utterance) / 16000 * 50) <= 2
    assert curves.probs.shape == (curves.n_frames, 9)
    np.testing.assert_allclose(curves.probs.sum(axis=1), 1.0, atol=1e-5)
    assert curves.features is not None and curves.features.shape == (curves.n_frames, 32)


def test_scores_match_funasr_own_output_in_our_label_order(backend: Emotion2VecBackend, utterance: np.ndarray):
    est, _ = backend.analyze(utterance)
    res = backend.funasr_model.generate(utterance, granularity="utterance", extract_embedding=True, disable_pbar=True)
    theirs = dict(zip(res[0]["labels"], res[0]["scores"], strict=True))
    for token, p in theirs.items():
        ours = "unknown" if token == "<unk>" else token.split("/")[1]
        assert est.scores[INDEX[ours]] == pytest.approx(p, abs=1e-6)
    np.testing.assert_allclose(est.embedding, res[0]["feats"], atol=1e-5)


def test_mean_of_frame_logits_equals_utterance_logits(backend: Emotion2VecBackend, utterance: np.ndarray):
    """The head is linear: mean_t(W f_t + b) == W mean_t(f_t) + b, so frame curves agree with the utterance."""
    _, curves = backend.analyze(utterance)
    frame_logits = backend.frame_logits(curves.features)
    net = backend.funasr_model.model
    import torch

    with torch.no_grad():
        utter_logits = net.proj(torch.from_numpy(curves.features.mean(axis=0))).numpy()
    np.testing.assert_allclose(frame_logits.mean(axis=0), utter_logits, rtol=1e-4, atol=1e-5)


def test_frame_curves_follow_the_audio(backend: Emotion2VecBackend, utterance: np.ndarray):
    """Per-frame output really varies over time (it is not the utterance vector repeated)."""
    _, curves = backend.analyze(np.concatenate([utterance, np.zeros(16000, np.float32), utterance]))
    assert np.ptp(curves.probs, axis=0).max() > 1e-3


def test_short_audio_does_not_crash(backend: Emotion2VecBackend):
    est, curves = backend.analyze(np.zeros(100, np.float32))
    assert est.scores.shape == (9,) and curves.n_frames >= 1


def test_auto_picks_emotion2vec_when_the_folder_is_present(tiny_e2v: Path):
    b, note = create_speech_backend(CFG, tiny_e2v.parent)
    assert isinstance(b, Emotion2VecBackend) and note is None


def test_auto_falls_back_to_the_embedded_voice_model_and_says_why(tmp_path: Path):
    from voiceassist.emotion.voice_head import shipped_model_dir

    b, note = create_speech_backend(CFG, tmp_path)
    shipped = (shipped_model_dir() / "model.json").is_file()
    assert b.name == ("voice-head" if shipped else "prosody") and b.embedded
    assert note is not None and str(tmp_path / "emotion2vec_plus_base") in note and "model.pt" in note
    empty = tmp_path / "no-head"
    empty.mkdir()
    b, note = create_speech_backend(SimpleNamespace(**{**vars(CFG), "voice_model": str(empty)}), tmp_path)
    assert b.name == "prosody" and note is not None  # no voice head there either: prosody, and why


def test_missing_folder_error_names_folder_and_files(tmp_path: Path):
    with pytest.raises(EmotionModelError, match=r"config\.yaml, model\.pt, tokens\.txt"):
        find_model("emotion2vec_plus_large", tmp_path)


def _copy(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst)
    return dst


def test_config_that_does_not_match_the_weights_is_an_error(tiny_e2v: Path, tmp_path: Path):
    """FunASR would load this silently and leave the weights random."""
    bad = _copy(tiny_e2v, tmp_path / "mismatch")
    text = (bad / "config.yaml").read_text()
    (bad / "config.yaml").write_text(text.replace("embed_dim: 32", "embed_dim: 48"))
    with pytest.raises(EmotionModelError, match="does not match"):
        Emotion2VecBackend(CFG, bad).load()


def test_truncated_checkpoint_is_an_error(tiny_e2v: Path, tmp_path: Path):
    bad = _copy(tiny_e2v, tmp_path / "truncated")
    data = (bad / "model.pt").read_bytes()
    (bad / "model.pt").write_bytes(data[: len(data) // 2])
    with pytest.raises(EmotionModelError):
        Emotion2VecBackend(CFG, bad).load()


def test_weights_of_another_model_are_an_error(tiny_e2v: Path, tmp_path: Path):
    """Same architecture, other weights: loads, but our check compares tensors with the file."""
    import torch

    from voiceassist.emotion.emotion2vec import verify_loaded

    b = Emotion2VecBackend(CFG, tiny_e2v)
    b.load()
    net = b.funasr_model.model
    state = {k: v.clone() for k, v in net.state_dict().items()}
    state["proj.weight"] += 1.0
    torch.save(state, tmp_path / "other.pt")
    with pytest.raises(EmotionModelError, match=r"proj\.weight"):
        verify_loaded(net, tmp_path / "other.pt")


def test_tokens_that_do_not_fit_the_head_are_an_error(tiny_e2v: Path, tmp_path: Path):
    bad = _copy(tiny_e2v, tmp_path / "tokens")
    (bad / "tokens.txt").write_text("happy\nsad\n")
    with pytest.raises(EmotionModelError):
        Emotion2VecBackend(CFG, bad).load()


def test_a_folder_without_weights_is_named(tmp_path: Path):
    (tmp_path / "config.yaml").write_text("model: Emotion2vec\n")
    with pytest.raises(EmotionModelError, match=r"missing model\.pt"):
        find_model(str(tmp_path), tmp_path)


REAL = Path(__file__).resolve().parent.parent / "models" / "emotion2vec_plus_base"


@pytest.mark.needs_weights
@pytest.mark.skipif(not (REAL / "model.pt").is_file(), reason=f"real Emotion2Vec+ weights not in {REAL}")
def test_real_emotion2vec_plus_base():
    b = Emotion2VecBackend(SimpleNamespace(device="auto", frame_smoothing_ms=200), REAL)
    b.load()
    est, curves = b.analyze(espeak("This is wonderful, I am so happy today!").astype(np.float32) / 32768)
    assert est.embedding is not None and est.embedding.shape == (768,)
    assert curves.probs.shape[1] == 9
