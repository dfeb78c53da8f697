"""``voiceassist train speech-emotion`` and ``eval speech-emotion``: the voice head on the recogniser's frames.

Training (on a manifest: voiceassist/train/speech_data.py):

1. Features of every clip through the app's own Whisper (the embedded base unless ``--whisper``), in both
   windows the app decodes in (English's short one, Mandarin's full one: their frames differ enough that a
   head trained on one loses about 5 points on the other), and with ``--augment`` six more copies of each
   clip in the short window (speed 0.9 and 1.1, noise, gain, level, reverb: speech_data.VARIANTS) and the two
   speed copies in the full one (its encoder costs seven times more). The head reads the frames'
   mean over the speech (``--pooling``) and ten prosody features: every one but the absolute loudness, which
   tells the corpus's recording level rather than the speaker (EmoDB's angry clips are quieter than its
   neutral ones).
2. Standardised on the training rows (or, with ``--speaker-norm``, each speaker on their own first; the
   saved statistics are then the mean over speakers of their statistics). Multinomial logistic regression,
   balanced class weights, ``C`` from ``--c`` (or chosen among ``C_GRID`` by leave-one-speaker-out macro-F1,
   the default), then a temperature fitted on the held-out predictions. The neutral clips' mean is kept:
   the app shifts each person's usual voice onto it (voiceassist/emotion/voice_head.py).
3. Figures a person can trust: **leave-one-speaker-out** (each speaker's clips scored by a model that never
   heard them, normalised with the training speakers' statistics only, as a new user's first utterance
   is), and each ``--eval`` manifest scored by the final model (**cross-corpus**). Accuracy, macro-F1, per
   class, per language, calm-versus-agitated (the sign of ``labels.AROUSAL``), confusion and calibration.

The folder (written atomically): model.json, head.npz, metrics.json, confusion.png, MODEL_CARD.md.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from voiceassist.emotion.labels import AROUSAL, INDEX, LABELS
from voiceassist.emotion.prosody import FEATURES as PROSODY_FEATURES
from voiceassist.emotion.voice_head import select
from voiceassist.train import TrainError
from voiceassist.train.metrics import classification_metrics, metrics_by_language
from voiceassist.train.speech_data import FULL_WINDOW_VARIANTS, VARIANTS, Clip, Featurizer, app_window, read_manifest

log = logging.getLogger(__name__)

C_GRID = (0.01, 0.03, 0.1, 0.3, 1.0)
WINDOWS = ("short", "full")
PROSODY = tuple(k for k in PROSODY_FEATURES if k != "energy_db")
Matrix = npt.NDArray[np.float64]


@dataclass
class SpeechTrainOptions:
    c: float | None = None
    """The regularisation (None: chosen by leave-one-speaker-out)."""
    pooling: tuple[str, ...] = ("mean",)
    prosody: tuple[str, ...] = PROSODY
    augment: bool = False
    speaker_norm: bool = False
    prior: float = 30.0
    """How many utterances the corpus statistics are worth in the person's running baseline."""
    whisper: str = "base"
    mapping: dict[str, str] = field(default_factory=dict)
    cache: Path | None = None
    sources: str = ""
    """Where the data came from and under which licence (for the model card)."""


def calm_agitated(gold: Sequence[str], probs: Matrix) -> float | None:
    """Share of clips whose predicted arousal side (calm: neutral, sad; agitated: the rest with
    ``labels.AROUSAL`` > 0) is the true one. None without any clip."""
    if not len(gold):
        return None
    pred = [LABELS[int(i)] for i in np.argmax(probs, axis=1)]
    return float(np.mean([(AROUSAL[INDEX[g]] > 0) == (AROUSAL[INDEX[p]] > 0) for g, p in zip(gold, pred, strict=True)]))


def report(clips: Sequence[Clip], probs9: Matrix) -> dict[str, Any]:
    gold = [c.emotion for c in clips]
    out = classification_metrics(gold, probs9)
    out["calm_vs_agitated"] = calm_agitated(gold, probs9)
    out["by_language"] = metrics_by_language(gold, [c.language or "?" for c in clips], probs9)
    return out


def _standardise(x: Matrix, groups: npt.NDArray[Any] | None) -> tuple[Matrix, Matrix, Matrix]:
    """(the rows normalised, mean, std): globally, or each group (speaker) on its own statistics."""
    if groups is None:
        m, s = x.mean(axis=0), x.std(axis=0)
        s = np.where(s > 1e-8, s, 1.0)
        return (x - m) / s, m, s
    z = np.empty_like(x)
    means, stds = [], []
    for g in np.unique(groups):
        sel = groups == g
        m, s = x[sel].mean(axis=0), x[sel].std(axis=0)
        s = np.where(s > 1e-8, s, 1.0)
        z[sel] = (x[sel] - m) / s
        means.append(m)
        stds.append(s)
    return z, np.mean(means, axis=0), np.mean(stds, axis=0)


def fit_linear(z: Matrix, y: npt.NDArray[np.int64], c: float, n_classes: int) -> tuple[Matrix, Matrix]:
    from sklearn.linear_model import LogisticRegression

    clf = LogisticRegression(C=c, class_weight="balanced", max_iter=3000)
    clf.fit(z, y)
    w = np.zeros((n_classes, z.shape[1]))
    b = np.full(n_classes, -30.0)  # a class absent from these rows is never predicted
    w[clf.classes_] = clf.coef_ if len(clf.classes_) > 2 else np.vstack([-clf.coef_, clf.coef_]) / 2
    b[clf.classes_] = clf.intercept_ if len(clf.classes_) > 2 else np.array([-clf.intercept_[0], clf.intercept_[0]]) / 2
    return w, b


def _softmax(logits: Matrix, t: float = 1.0) -> Matrix:
    lg = logits / t
    lg = lg - lg.max(axis=1, keepdims=True)
    p = np.exp(lg)
    return np.asarray(p / p.sum(axis=1, keepdims=True))


def _to9(p: Matrix, classes: Sequence[str]) -> Matrix:
    out = np.zeros((len(p), len(LABELS)))
    for i, c in enumerate(classes):
        out[:, INDEX[c]] = p[:, i]
    return out


@dataclass
class Prepared:
    clips: list[Clip]
    classes: tuple[str, ...]
    x: Matrix  # every training row (clip x window x variant)
    rows: list[tuple[int, str, str]]
    x_app: Matrix  # one row per clip: the window the app would use, no augmentation
    y_rows: npt.NDArray[np.int64]
    speakers: npt.NDArray[Any]


def prepare(clips: list[Clip], feats: Featurizer, opts: SpeechTrainOptions) -> Prepared:
    classes = tuple(label for label in LABELS if any(c.emotion == label for c in clips))
    if len(classes) < 2:
        raise TrainError(f"the manifest has one emotion only ({classes[0]}): nothing to tell apart")
    variants: dict[str, tuple[str, ...]] = {w: ("orig",) for w in WINDOWS}
    if opts.augment:
        variants = {"short": VARIANTS, "full": FULL_WINDOW_VARIANTS}
    full, rows = feats.matrix(clips, variants)
    x = select(full, _dim(full), opts.pooling, opts.prosody)
    app = [r for r, (i, w, v) in enumerate(rows) if v == "orig" and w == app_window(clips[i].language)]
    y = np.array([classes.index(clips[i].emotion) for i, _, _ in rows], dtype=np.int64)
    return Prepared(clips, classes, x, rows, x[app], y, np.array([clips[i].speaker for i, _, _ in rows]))


def _dim(full: Matrix) -> int:
    """The encoder's dimension from a cached row: [mean (D), std (D), 11 prosody features]."""
    return int((full.shape[-1] - len(PROSODY_FEATURES)) // 2)


def loso(p: Prepared, c: float, speaker_norm: bool) -> Matrix:
    """(n_clips, classes) probabilities, each clip from a model that never heard its speaker, normalised with
    the training speakers' statistics only."""
    clip_speakers = np.array([c_.speaker for c_ in p.clips])
    out = np.zeros((len(p.clips), len(p.classes)))
    for s in np.unique(clip_speakers):
        train = p.speakers != s
        z, m, sd = _standardise(p.x[train], p.speakers[train] if speaker_norm else None)
        w, b = fit_linear(z, p.y_rows[train], c, len(p.classes))
        held = clip_speakers == s
        out[held] = _softmax((p.x_app[held] - m) / sd @ w.T + b)
    return out


def fit_temperature(probs_logits: Matrix, gold: npt.NDArray[np.int64]) -> float:
    grid = np.logspace(np.log10(0.3), np.log10(5.0), 40)
    lg = np.log(np.clip(probs_logits, 1e-12, 1.0))
    nll = [-np.mean(np.log(np.clip(_softmax(lg, t)[np.arange(len(gold)), gold], 1e-12, 1))) for t in grid]
    return float(grid[int(np.argmin(nll))])


def train(
    manifest: Path, out: Path, opts: SpeechTrainOptions, evals: Sequence[Path] = (), asr: Any = None
) -> dict[str, Any]:
    """One training run into ``out`` (atomically); returns metrics.json's content."""
    from voiceassist.train.folder import staged_folder

    t0 = time.monotonic()
    clips = read_manifest(manifest, opts.mapping)
    eval_sets = [(Path(e), read_manifest(e, opts.mapping, training=False)) for e in evals]
    asr = asr or _whisper(opts.whisper)
    feats = Featurizer(asr, opts.cache)
    p = prepare(clips, feats, opts)
    gold_app = np.array([p.classes.index(c.emotion) for c in p.clips])
    tried: dict[float, float] = {}
    held: dict[float, Matrix] = {}
    for c in C_GRID if opts.c is None else (opts.c,):
        held[c] = loso(p, c, opts.speaker_norm)
        tried[c] = round(float(report(p.clips, _to9(held[c], p.classes))["macro_f1"]), 4)
    best_c = max(tried, key=lambda c: tried[c])
    held_out = held[best_c]
    temperature = fit_temperature(held_out, gold_app)
    loso_report = report(p.clips, _to9(_softmax(np.log(np.clip(held_out, 1e-12, 1)), temperature), p.classes))
    z, mean, std = _standardise(p.x, p.speakers if opts.speaker_norm else None)
    w, b = fit_linear(z, p.y_rows, best_c, len(p.classes))
    neutral_rows = p.y_rows == p.classes.index("neutral") if "neutral" in p.classes else None
    neutral = p.x[neutral_rows].mean(axis=0) if neutral_rows is not None and neutral_rows.any() else mean
    dim = (p.x.shape[1] - len(opts.prosody)) // len(opts.pooling)
    meta = {
        "kind": "voice-head",
        "id": f"voice-head-{time.strftime('%Y%m%d')}-{len(clips)}-c{best_c:g}",
        "whisper": {"name": feats.whisper, "dim": dim},
        "pooling": list(opts.pooling),
        "prosody": list(opts.prosody),
        "classes": list(p.classes),
        "baseline_prior": opts.prior,
        "temperature": round(temperature, 4),
        "trained": {
            "manifest": str(manifest),
            "clips": len(clips),
            "speakers": len({c.speaker for c in clips}),
            "languages": sorted({c.language or "?" for c in clips}),
            "corpora": sorted({c.corpus or "?" for c in clips}),
            "per_class": {k: sum(c.emotion == k for c in clips) for k in p.classes},
            "windows": list(WINDOWS),
            "augment": {"short": list(VARIANTS[1:]), "full": list(FULL_WINDOW_VARIANTS[1:])} if opts.augment else [],
            "speaker_norm": opts.speaker_norm,
            "C": best_c,
            "C_tried_loso_macro_f1": tried,
        },
    }
    metrics: dict[str, Any] = {"leave_one_speaker_out": loso_report}
    for path, eval_clips in eval_sets:
        metrics[f"cross_corpus:{path.name}"] = evaluate_arrays(eval_clips, feats, meta, w, b, mean, std)
    metrics["train_s"] = round(time.monotonic() - t0, 1)
    with staged_folder(out) as stage:
        np.savez(stage / "head.npz", W=w, b=b, mean=mean, std=std, neutral=neutral)
        (stage / "model.json").write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
        (stage / "metrics.json").write_text(json.dumps(metrics, indent=2, default=_json) + "\n", encoding="utf-8")
        _card(stage / "MODEL_CARD.md", meta, metrics, opts.sources)
        _plot(stage, metrics)
    return metrics


def evaluate_arrays(
    clips: Sequence[Clip], feats: Featurizer, meta: dict[str, Any], w: Matrix, b: Matrix, mean: Matrix, std: Matrix
) -> dict[str, Any]:
    """A head (its arrays) on clips, each analysed alone with the corpus statistics (a first utterance)."""
    full = np.vstack([feats.features(c, app_window(c.language)) for c in clips])
    x = select(full, _dim(full), tuple(meta["pooling"]), tuple(meta["prosody"]))
    if x.shape[1] != w.shape[1]:
        raise TrainError(
            f"the head reads {w.shape[1]} features (Whisper {meta['whisper']['name']}), these frames give "
            f"{x.shape[1]} (Whisper {feats.whisper}): evaluate it with the Whisper it was trained on"
        )
    probs = _softmax((x - mean) / std @ w.T + b, float(meta.get("temperature", 1.0)))
    return report(clips, _to9(probs, meta["classes"]))


def evaluate(folder: Path, manifest: Path, mapping: dict[str, str] | None = None, asr: Any = None) -> dict[str, Any]:
    """``eval speech-emotion``: a head folder on a manifest (each clip alone, the app's window)."""
    from voiceassist.emotion import EmotionModelError
    from voiceassist.emotion.voice_head import VoiceHead

    try:
        head = VoiceHead.load(folder)
    except EmotionModelError as e:
        raise TrainError(str(e)) from e
    clips = read_manifest(manifest, mapping, training=False)
    feats = Featurizer(asr or _whisper(head.whisper), None)
    return evaluate_arrays(clips, feats, head.meta, head.w, head.b, head.mean, head.std)


def _whisper(name: str) -> Any:
    from voiceassist.asr.whisper import FasterWhisperBackend
    from voiceassist.config import AsrConfig

    asr = FasterWhisperBackend(AsrConfig(model=name, device="cpu"))
    try:
        asr.load()
    except Exception as e:
        raise TrainError(f"Whisper {name!r} cannot be loaded for the features: {e}") from e
    return asr


def _json(v: Any) -> Any:
    if isinstance(v, np.generic):
        return v.item()
    if isinstance(v, np.ndarray):
        return v.tolist()
    raise TypeError(type(v).__name__)


def _plot(stage: Path, metrics: dict[str, Any]) -> None:
    try:
        from voiceassist.train.plots import confusion

        confusion({k: v for k, v in metrics.items() if isinstance(v, dict)}, stage / "confusion.png", "voice head")
    except ImportError:  # matplotlib is the train extra's; the figures are optional
        log.info("matplotlib missing: no confusion.png")


def _augmented(augment: Any) -> str:
    if not augment:
        return "none"
    return "; ".join(f"{window} window: {', '.join(v)}" for window, v in augment.items())


def _card(path: Path, meta: dict[str, Any], metrics: dict[str, Any], sources: str) -> None:
    t = meta["trained"]
    lines = [
        f"# Voice-emotion head `{meta['id']}`",
        "",
        f"A linear head on Whisper {meta['whisper']['name']}'s encoder frames ({' and '.join(meta['pooling'])} over",
        f"the speech) and {len(meta['prosody'])} prosody features ({', '.join(meta['prosody'])}), for VoiceAssist's",
        "voice side (voiceassist/emotion/voice_head.py).",
        f"Classes: {', '.join(meta['classes'])}. It reads how something is said, never the words.",
        "",
        "## Training data",
        "",
        f"{t['clips']} clips, {t['speakers']} speakers, languages {', '.join(t['languages'])}, corpora "
        f"{', '.join(t['corpora'])}; per class: {', '.join(f'{k} {v}' for k, v in t['per_class'].items())}.",
        f"Windows {', '.join(t['windows'])}; augmentation: {_augmented(t['augment'])}; C = {t['C']}.",
        "",
        sources.strip() or "(sources not given: pass --sources FILE)",
        "",
        "## Figures",
        "",
        "| set | clips | accuracy | macro-F1 | calm vs agitated | ECE |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for name, m in metrics.items():
        if isinstance(m, dict) and m.get("n"):
            lines.append(
                f"| {name} | {m['n']} | {m['accuracy']:.3f} | {m['macro_f1']:.3f} | "
                f"{(m.get('calm_vs_agitated') or 0):.3f} | {m['ece']:.3f} |"
            )
    lines += [
        "",
        "Leave-one-speaker-out: each speaker scored by a model that never heard them, with the training",
        "speakers' statistics (a new user's first utterance). Acted speech is clearer than daily life: expect",
        "less in real conversations, more once the running per-person baseline has settled.",
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
