"""Emotion2Vec+ speech emotion through FunASR, from a local folder, with real frame-level output.

FunASR's ``generate(granularity="frame")`` returns 50 Hz features but one utterance-level score vector:
its head (``proj``, a Linear) is applied to the mean of the frame features. We apply that same head to
every frame: because it is linear, the mean of the frame logits equals the utterance logits, so the frame
curves and the utterance result agree by construction (a test checks the identity against FunASR's own
scores).

FunASR is imported lazily, in the worker that owns the model (the import takes seconds).
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import threading
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from voiceassist.audio.chunk import SAMPLE_RATE
from voiceassist.emotion.base import EmotionEstimate, EmotionModelError, FloatArray, FrameCurves, smooth_frames, softmax
from voiceassist.emotion.labels import INDEX, N_LABELS, e2v_token_to_label

log = logging.getLogger(__name__)

MODEL_NAMES = ("emotion2vec_plus_seed", "emotion2vec_plus_base", "emotion2vec_plus_large")
REQUIRED_FILES = ("config.yaml", "model.pt")
FRAME_RATE = 50.0


def import_funasr() -> Any:
    """Import FunASR quietly (it imports every submodule, uses distutils and prints on import)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        os.environ.setdefault("MODELSCOPE_LOG_LEVEL", "40")
        import funasr
    for name in ("funasr", "modelscope", "jieba", "numba"):
        logging.getLogger(name).setLevel(logging.WARNING)
    return funasr


def _candidates(name: str, models_dir: str | Path) -> list[Path]:
    base = name.split("/")[-1]
    home = Path.home()
    ms_cache = Path(os.environ.get("MODELSCOPE_CACHE", home / ".cache" / "modelscope" / "hub"))
    out = [
        Path(models_dir) / base,
        Path(models_dir) / "iic" / base,
        ms_cache / "models" / "iic" / base,
        ms_cache / "iic" / base,
    ]
    try:
        from huggingface_hub import snapshot_download

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out.append(Path(snapshot_download(f"emotion2vec/{base}", local_files_only=True)))
    except Exception:
        pass
    return out


def find_model(name: str, models_dir: str | Path) -> Path:
    """The folder holding ``name`` (a model name such as emotion2vec_plus_base, or a folder path):
    an explicit folder, then ``<models_dir>/<name>``, the ModelScope cache, the Hugging Face cache."""
    p = Path(name).expanduser()
    if p.is_dir():
        _check_files(p)
        return p
    for folder in _candidates(name, models_dir):
        if folder.is_dir() and all((folder / f).is_file() for f in REQUIRED_FILES):
            return folder
    base = name.split("/")[-1]
    raise EmotionModelError(
        f"Emotion2Vec+ model {base!r} not found. Get it with 'voiceassist models pull {base}', or put its files "
        f"(config.yaml, model.pt, tokens.txt) in {Path(models_dir) / base}, e.g. from "
        f"https://modelscope.cn/models/iic/{base} or https://huggingface.co/emotion2vec/{base}"
    )


def _check_files(folder: Path) -> None:
    missing = [f for f in REQUIRED_FILES if not (folder / f).is_file()]
    if missing:
        raise EmotionModelError(f"{folder} is not an Emotion2Vec+ model folder: missing {', '.join(missing)}")


def _unwrap_state(obj: Any) -> dict[str, Any]:
    for key in ("state_dict", "model_state_dict", "model"):
        if isinstance(obj, dict) and key in obj and isinstance(obj[key], dict):
            obj = obj[key]
    if not isinstance(obj, dict):
        raise EmotionModelError("model.pt does not hold a state dict")
    return obj


def read_checkpoint(checkpoint: Path) -> dict[str, Any]:
    """The checkpoint's tensors (memory-mapped, tensors only: nothing in the file gets executed)."""
    import torch

    try:
        return _unwrap_state(torch.load(checkpoint, map_location="cpu", weights_only=True, mmap=True))
    except EmotionModelError:
        raise
    except Exception as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise EmotionModelError(
            f"{checkpoint} is damaged or not a PyTorch checkpoint ({type(e).__name__}: "
            f"{first[:120]}); download the model again"
        ) from e


def verify_loaded(model: Any, checkpoint: Path, src: dict[str, Any] | None = None) -> None:
    """FunASR loads a checkpoint that does not match its config without a word and leaves the weights
    random. Compare every tensor of the built model with the checkpoint; raise unless they all loaded."""
    import torch

    if src is None:
        src = read_checkpoint(checkpoint)
    dst = model.state_dict()
    missing, wrong_shape, differ = [], [], []
    for key, tensor in dst.items():
        cand = next((src[k] for k in (key, f"module.{key}", f"d2v_model.{key}") if k in src), None)
        if cand is None:
            missing.append(key)
        elif tuple(cand.shape) != tuple(tensor.shape):
            wrong_shape.append(f"{key}: checkpoint {tuple(cand.shape)} vs config {tuple(tensor.shape)}")
        elif not torch.equal(cand.to(tensor.dtype), tensor.detach().cpu()):
            differ.append(key)
    problems = wrong_shape[:3] + [f"{k}: not in the checkpoint" for k in missing[:3]]
    problems += [f"{k}: not loaded" for k in differ[:3]]
    if problems:
        total = len(missing) + len(wrong_shape) + len(differ)
        raise EmotionModelError(
            f"{checkpoint} does not match {checkpoint.parent / 'config.yaml'}: {total} of {len(dst)} tensors "
            f"would keep random values ({'; '.join(problems)}). The folder is corrupt or mixes two models; "
            "download it again."
        )


class Emotion2VecBackend:
    name = "emotion2vec"
    embedded = False
    frame_rate = FRAME_RATE
    uses_asr_frames = False

    def __init__(self, cfg: Any, folder: Path) -> None:
        self.cfg = cfg
        self.folder = Path(folder)
        self.description = f"Emotion2Vec+ ({self.folder.name})"
        self.device = "cpu"
        self._model: Any = None
        self._weight: Any = None
        self._bias: Any = None
        self._perm: np.ndarray | None = None  # our label index -> model output index
        self._unused: np.ndarray | None = None
        self.embedding_dim = 0
        self._lock = threading.Lock()  # one forward pass at a time (FunASR's generate keeps state)

    def baseline_state(self) -> dict[str, Any] | None:
        return None  # the speaker baseline lives for one session

    def restore_baseline(self, state: dict[str, Any]) -> None:
        pass

    def fresh(self) -> Emotion2VecBackend:
        return self  # no per-speaker state

    def load(self) -> None:
        _check_files(self.folder)
        import torch

        import_funasr()
        from funasr import AutoModel

        state = read_checkpoint(self.folder / "model.pt")
        device = self.cfg.device
        if device == "auto":
            device = "cuda" if torch.cuda.is_available() else "cpu"
        try:
            # FunASR prints its version to stdout: keep stdout clean for JSON output.
            with warnings.catch_warnings(), contextlib.redirect_stdout(sys.stderr):
                warnings.simplefilter("ignore")
                self._model = AutoModel(
                    model=str(self.folder),
                    disable_update=True,
                    device=device,
                    disable_pbar=True,
                    disable_log=True,
                    log_level="ERROR",
                )
        except Exception as e:
            raise EmotionModelError(f"FunASR could not load {self.folder}: {type(e).__name__}: {e}") from e
        net = self._model.model
        if type(net).__name__ != "Emotion2vec":
            raise EmotionModelError(f"{self.folder} holds a {type(net).__name__}, not an Emotion2vec model")
        verify_loaded(net, self.folder / "model.pt", state)
        del state
        if net.proj is None:
            raise EmotionModelError(
                f"{self.folder} has no classification head (a pre-training checkpoint?); use an emotion2vec_plus model"
            )
        tokens = list(self._model.kwargs.get("tokenizer").token_list) if self._model.kwargs.get("tokenizer") else []
        if len(tokens) != net.proj.out_features:
            raise EmotionModelError(
                f"{self.folder}: {len(tokens)} labels in tokens.txt but the head has {net.proj.out_features} outputs"
            )
        perm = np.full(N_LABELS, -1)
        unused = np.array([t.startswith("unuse") for t in tokens])
        for j, tok in enumerate(tokens):
            label = e2v_token_to_label(tok)
            if label is not None and not unused[j]:
                perm[INDEX[label]] = j
        if (perm[[INDEX["angry"], INDEX["happy"], INDEX["neutral"], INDEX["sad"]]] < 0).any():
            raise EmotionModelError(f"{self.folder}: tokens.txt does not name the emotion classes: {tokens}")
        self._perm, self._unused = perm, unused
        self._weight = net.proj.weight.detach().cpu().numpy().astype(np.float64)
        self._bias = net.proj.bias.detach().cpu().numpy().astype(np.float64)
        self.embedding_dim = int(self._weight.shape[1])
        self.device = device
        self.description = f"Emotion2Vec+ ({self.folder.name}, {device})"

    def warmup(self) -> None:
        rng = np.random.default_rng(0)
        self._features((0.01 * rng.standard_normal(SAMPLE_RATE)).astype(np.float32))

    # -- inference ---------------------------------------------------------------------------------
    def _features(self, audio: FloatArray) -> np.ndarray:
        if self._model is None:
            raise EmotionModelError("the Emotion2Vec+ model is not loaded")
        audio = np.ascontiguousarray(audio, dtype=np.float32)
        if len(audio) < 400:  # shorter than the conv stack's receptive field
            audio = np.pad(audio, (0, 400 - len(audio)))
        with self._lock, warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = self._model.generate(audio, granularity="frame", extract_embedding=True, disable_pbar=True)
        return np.asarray(res[0]["feats"], dtype=np.float32)

    def frame_logits(self, feats: np.ndarray) -> np.ndarray:
        """The model's own head on each frame: (T, D) -> (T, outputs) logits in the model's order."""
        assert self._weight is not None
        logits = feats.astype(np.float64) @ self._weight.T + self._bias
        logits[:, self._unused] = -np.inf
        return np.asarray(logits)

    def _to_labels(self, probs_model: np.ndarray) -> np.ndarray:
        assert self._perm is not None
        out = np.zeros((*probs_model.shape[:-1], N_LABELS))
        have = self._perm >= 0
        out[..., have] = probs_model[..., self._perm[have]]
        return out

    def _curves(self, feats: np.ndarray) -> FrameCurves:
        width = max(1, round(self.cfg.frame_smoothing_ms / 1000 * FRAME_RATE))
        logits = smooth_frames(self.frame_logits(feats), width)
        probs = self._to_labels(softmax(logits))
        return FrameCurves(probs=probs.astype(np.float32), frame_rate=FRAME_RATE, features=feats)

    def analyze(self, audio: FloatArray, encoder: FloatArray | None = None) -> tuple[EmotionEstimate, FrameCurves]:
        feats = self._features(audio)
        utter_logits = self.frame_logits(feats).mean(axis=0)  # == proj(mean(feats)): the head is linear
        scores = self._to_labels(softmax(utter_logits))
        est = EmotionEstimate(
            scores=scores / scores.sum(), backend=self.description, embedding=feats.mean(axis=0).astype(np.float32)
        )
        return est, self._curves(feats)

    def frames(self, audio: FloatArray, encoder: FloatArray | None = None) -> FrameCurves:
        return self._curves(self._features(audio))

    @property
    def funasr_model(self) -> Any:
        return self._model
