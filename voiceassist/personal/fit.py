"""Fitting a person's profile from their corrections, each stage gated by cross-validation (pure numpy).

The gate: a stage is switched on only if, predicting each correction from a stage fitted without it
(leave-one-out up to ``LOO_MAX`` corrections, ``K_FOLDS``-fold above), it gets more of them right than
what comes before it beyond chance (``gate``: an exact sign test on the corrections only one of the two
gets right, p < ``GATE_P``). A person the base model already reads well keeps the base.
The constants are set once, from the design, not tuned on any benchmark.
"""

from __future__ import annotations

import itertools
import math
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from voiceassist.emotion.labels import AROUSAL, INDEX, LABELS, N_LABELS, VALENCE
from voiceassist.personal.profile import (
    EPS,
    Array,
    Baseline,
    Profile,
    Stage1,
    Stage2,
    apply_stage1,
    apply_stage2,
    features,
)

STAGE1_MIN = 8
STAGE2_MIN_PER_CLASS = 5
LOO_MAX = 40
K_FOLDS = 10
BIAS_L2 = 0.05  # stage 1: pull of the per-class bias toward 0
TEMP_L2 = 0.05  # and of log(temperature) toward 0
PROBE_L2 = 0.05  # stage 2: pull of the probe toward the base (W, b to 0, the scale to 1)


@dataclass(frozen=True)
class Sample:
    """One corrected utterance: the base model's fused scores, the person's label, what stage 2 learns on."""

    scores: npt.NDArray[np.float64]
    label: str
    embedding: npt.NDArray[np.float32] | None = None
    text_scores: npt.NDArray[np.float64] | None = None

    @property
    def y(self) -> int:
        return INDEX[self.label]


GATE_P = 0.05  # a stage goes on only if its held-out gain is this unlikely to be chance


def gate(wins: int, losses: int, p: float = GATE_P) -> bool:
    """Whether a stage beats what comes before it on the person's held-out corrections, beyond chance: an
    exact one-sided sign (McNemar) test on the corrections where exactly one of the two is right. With few
    corrections this needs a clear record (5 wins and no loss at the least), so a lucky one or two cannot
    switch on a stage that makes things worse for a person the base model already reads well."""
    d = wins + losses
    if wins <= losses or d == 0:
        return False
    tail = sum(math.comb(d, k) for k in range(wins, d + 1)) / 2**d
    return bool(tail < p)


def baseline(embeddings: Sequence[npt.ArrayLike | None], scores: Sequence[npt.ArrayLike]) -> Baseline:
    """Stage 0 from all of the person's utterances (no labels needed)."""
    embs = [np.asarray(e, np.float64) for e in embeddings if e is not None]
    dims = Counter(e.shape for e in embs)
    mean = std = None
    if dims:
        shape = dims.most_common(1)[0][0]
        m = np.stack([e for e in embs if e.shape == shape])
        mean, std = m.mean(axis=0), m.std(axis=0) + 1e-3
    if scores:
        s = np.stack([np.asarray(x, np.float64) for x in scores])
        v, a = float((s @ VALENCE).mean()), float((s @ AROUSAL).mean())
    else:
        v = a = 0.0
    return Baseline(len(scores), mean, std, v, a)


# -- stage 1: temperature and per-class bias -----------------------------------------------------------
def fit_stage1(samples: Sequence[Sample], steps: int = 300, lr: float = 0.1) -> Stage1:
    logits = np.log(np.stack([s.scores for s in samples]) + EPS)
    y = np.zeros((len(samples), N_LABELS))
    y[np.arange(len(samples)), [s.y for s in samples]] = 1.0
    seen = y.sum(axis=0) > 0  # a class never corrected keeps bias 0 (it is not pushed down for being absent)
    b, log_t = np.zeros(N_LABELS), 0.0
    m_b, v_b, m_t, v_t = np.zeros(N_LABELS), np.zeros(N_LABELS), 0.0, 0.0
    for i in range(1, steps + 1):  # Adam on mean NLL + L2
        t = math.exp(log_t)
        z = logits / t + b
        z -= z.max(axis=1, keepdims=True)
        p = np.exp(z)
        p /= p.sum(axis=1, keepdims=True)
        g = (p - y) / len(samples)
        g_b = np.where(seen, g.sum(axis=0) + 2 * BIAS_L2 * b, 0.0)
        g_t = float((g * (-logits / t)).sum()) + 2 * TEMP_L2 * log_t
        m_b, v_b = 0.9 * m_b + 0.1 * g_b, 0.999 * v_b + 0.001 * g_b**2
        m_t, v_t = 0.9 * m_t + 0.1 * g_t, 0.999 * v_t + 0.001 * g_t**2
        b -= lr * (m_b / (1 - 0.9**i)) / (np.sqrt(v_b / (1 - 0.999**i)) + 1e-8)
        log_t -= lr * (m_t / (1 - 0.9**i)) / (math.sqrt(v_t / (1 - 0.999**i)) + 1e-8)
        log_t = float(np.clip(log_t, math.log(0.1), math.log(10.0)))
    return Stage1(True, math.exp(log_t), b)


# -- stage 2: a linear probe on the person-normalised embeddings, shrunk toward the base ----------------
def _adam(grad: Callable[[list[Array]], list[Array]], params: list[Array], steps: int, lr: float) -> list[Array]:
    m = [np.zeros_like(p) for p in params]
    v = [np.zeros_like(p) for p in params]
    for i in range(1, steps + 1):
        for j, g in enumerate(grad(params)):
            m[j] = 0.9 * m[j] + 0.1 * g
            v[j] = 0.999 * v[j] + 0.001 * g**2
            params[j] = params[j] - lr * (m[j] / (1 - 0.9**i)) / (np.sqrt(v[j] / (1 - 0.999**i)) + 1e-8)
    return params


def fit_stage2(
    samples: Sequence[Sample], base: Baseline, before: Callable[[Sample], Array] | None = None, steps: int = 300
) -> Stage2 | None:
    """``before``: the scores the probe corrects (stage 1's when it is on; default the base scores)."""
    rows: list[tuple[Array, Sample]] = []
    for s in samples:
        f = features(base, s.embedding, s.text_scores)
        if f is not None:
            rows.append((f, s))
    counts = Counter(s.label for _, s in rows)
    if sum(1 for n in counts.values() if n >= STAGE2_MIN_PER_CLASS) < 2:
        return None
    x = np.stack([f for f, _ in rows])
    prev = before or (lambda s: np.asarray(s.scores, np.float64))
    logp = np.log(np.stack([prev(s) for _, s in rows]) + EPS)
    y = np.zeros((len(rows), N_LABELS))
    y[np.arange(len(rows)), [s.y for _, s in rows]] = 1.0
    seen = (y.sum(axis=0) > 0).astype(float)
    n = len(rows)

    def grad(params: list[Array]) -> list[Array]:
        w, b, a = params
        z = a[0] * logp + x @ w.T + b
        z -= z.max(axis=1, keepdims=True)
        p = np.exp(z)
        p /= p.sum(axis=1, keepdims=True)
        g = (p - y) / n
        g_w = (g.T @ x + 2 * PROBE_L2 * w) * seen[:, None]
        g_b = (g.sum(axis=0) + 2 * PROBE_L2 * b) * seen
        g_a = np.array([float((g * logp).sum()) + 2 * PROBE_L2 * (a[0] - 1.0)])
        return [g_w, g_b, g_a]

    w, b, a = _adam(grad, [np.zeros((N_LABELS, x.shape[1])), np.zeros(N_LABELS), np.ones(1)], steps, 0.05)
    classes = tuple(c for c in LABELS if counts.get(c))
    return Stage2(True, classes, w, b, float(a[0]))


def stage2_ready(samples: Sequence[Sample]) -> bool:
    counts = Counter(s.label for s in samples if s.embedding is not None)
    return sum(1 for n in counts.values() if n >= STAGE2_MIN_PER_CLASS) >= 2


# -- cross-validation and the gate ---------------------------------------------------------------------
def folds(n: int) -> list[list[int]]:
    if n <= LOO_MAX:
        return [[i] for i in range(n)]
    return [list(range(k, n, K_FOLDS)) for k in range(K_FOLDS)]


def cv_correct(
    samples: Sequence[Sample],
    before: Callable[[Sample], Array],
    fit: Callable[[list[Sample]], Callable[[Sample], Array] | None],
) -> tuple[int, int, int, int]:
    """Held-out corrections right before and after the stage (each fold's stage fitted without it), and the
    corrections only the stage got right (wins) and only the one before got right (losses)."""
    ok_before = [bool(np.argmax(before(s)) == s.y) for s in samples]
    ok_after = list(ok_before)
    for held in folds(len(samples)):
        train = [s for i, s in enumerate(samples) if i not in held]
        predict = fit(train)
        for i in held:
            p = before(samples[i]) if predict is None else predict(samples[i])
            ok_after[i] = bool(np.argmax(p) == samples[i].y)
    wins = sum(a and not b for a, b in zip(ok_after, ok_before, strict=True))
    losses = sum(b and not a for a, b in zip(ok_after, ok_before, strict=True))
    return sum(ok_before), sum(ok_after), wins, losses


def fit_profile(
    person: str,
    samples: Sequence[Sample],
    base: Baseline | None = None,
    now: float | None = None,
) -> Profile:
    """The profile: stage 0 always; stage 1 and 2 fitted when there are enough corrections, on if they
    beat what comes before them in cross-validation."""
    samples = [s for s in samples if s.label in LABELS]
    n = len(samples)
    base = base or baseline([s.embedding for s in samples], [s.scores for s in samples])
    s1, s2 = Stage1(), Stage2()

    def plain(s: Sample) -> Array:
        return np.asarray(s.scores, np.float64)

    before: Callable[[Sample], Array] = plain
    if n >= STAGE1_MIN:

        def fit1(train: list[Sample]) -> Callable[[Sample], Array]:
            st = fit_stage1(train)
            return lambda s: apply_stage1(s.scores, st)

        r0, r1, won, lost = cv_correct(samples, plain, fit1)
        full = fit_stage1(samples)
        on = gate(won, lost)
        s1 = Stage1(on, full.temperature, full.bias, r0 / n, r1 / n)
        if on:
            stage1 = s1
            before = lambda s: apply_stage1(s.scores, stage1)  # noqa: E731
    if stage2_ready(samples):
        prev = before

        def fit2(train: list[Sample]) -> Callable[[Sample], Array] | None:
            st = fit_stage2(train, base, prev)
            if st is None:
                return None
            return lambda s: apply_stage2(prev(s), features(base, s.embedding, s.text_scores), st)

        r0, r2, won, lost = cv_correct(samples, prev, fit2)
        full2 = fit_stage2(samples, base, prev)
        if full2 is not None:
            on = gate(won, lost)
            s2 = Stage2(on, full2.classes, full2.weights, full2.bias, full2.scale, r0 / n, r2 / n)
    return Profile(person, n, base, s1, s2, time.time() if now is None else now)


def expected_calibration_error(probs: npt.ArrayLike, labels: Sequence[int], bins: int = 10) -> float:
    """ECE of the top class: |accuracy - confidence| per confidence bin, weighted by the bin's share."""
    p = np.asarray(probs, np.float64)
    conf, pred = p.max(axis=1), p.argmax(axis=1)
    right = pred == np.asarray(labels)
    edges = np.linspace(0, 1, bins + 1)
    ece = 0.0
    for lo, hi in itertools.pairwise(edges):
        m = (conf > lo) & (conf <= hi)
        if m.any():
            ece += m.mean() * abs(float(right[m].mean()) - float(conf[m].mean()))
    return float(ece)
