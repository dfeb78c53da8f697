"""What a training run is given (``TrainOptions``) and what each kind of model gives back (``FitResult``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from voiceassist.train.plots import Curve

KINDS = ("embedded", "transformers")


@dataclass
class TrainOptions:
    data: Path
    dev: Path
    output: Path
    kind: str = "embedded"
    # embedded
    head: str = "auto"  # auto (logistic regression, or the MLP when clearly better on dev), logreg, mlp
    prefix: str = "auto"  # auto (the better on dev), query, passage
    threads: int = 1
    # transformers
    base: str = ""
    tiny: bool = False
    epochs: int = 0  # 0: the kind's default (MLP: at most 200 with early stopping; transformers: 3)
    learning_rate: float = 0.0  # 0: the kind's default
    batch_size: int = 16
    max_length: int = 128
    seed: int = 0


@dataclass
class FitResult:
    dev_probs: npt.NDArray[np.float64]
    """(n_dev, 9) in LABELS order, computed the way the saved model computes them."""
    curve: Curve
    model_meta: dict[str, Any]
    """Kind-specific fields of model.json."""
    details: dict[str, Any] = field(default_factory=dict)
    """How the model was chosen (grid, scores), for metrics.json and the card."""
    summary: str = ""
    """One paragraph for the model card: what was trained, and what the loss curve shows."""
