"""``voiceassist train speech-emotion --data MANIFEST -o FOLDER`` and ``voiceassist eval speech-emotion --model
FOLDER --data MANIFEST``: the voice head on the recogniser's frames (voiceassist/train/speech_emotion.py).

Anyone holding CREMA-D, RAVDESS, ESD or their own recordings trains a better head with one command; the
folder is used with ``emotion.voice_model = FOLDER``. Exit codes as the other train/eval commands: 0 done,
3 bad input (the message names the rows: unknown labels, missing files, one speaker only), 4 failure.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from voiceassist.options import EXIT_CONFIG, EXIT_OK


def add_train_parser(models: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    s = models.add_parser(
        "speech-emotion",
        help="the voice-emotion head on Whisper's encoder frames + prosody",
        description="Train on a manifest (CSV: path,emotion,speaker[,language][,corpus], or JSONL with those keys; "
        "paths relative to it). Figures: leave-one-speaker-out on the manifest, and cross-corpus on each --eval. "
        "The folder gets model.json, head.npz, metrics.json, confusion.png and MODEL_CARD.md; use it with "
        "emotion.voice_model = FOLDER.",
    )
    s.add_argument("--data", type=Path, required=True, metavar="MANIFEST", help="the training clips")
    s.add_argument("-o", "--output", type=Path, required=True, metavar="FOLDER", help="the model folder to write")
    s.add_argument("--eval", type=Path, action="append", default=[], metavar="MANIFEST",
                   help="another corpus to score the final model on (repeatable)")  # fmt: skip
    s.add_argument("--c", default="auto", help="regularisation C, or 'auto' (chosen by leave-one-speaker-out)")
    s.add_argument("--augment", action="store_true",
                   help="six more copies of each clip: speed 0.9/1.1, noise, gain, level, reverb")  # fmt: skip
    s.add_argument("--pooling", default="mean", choices=["mean", "mean+std"], help="of the encoder frames (mean)")
    s.add_argument("--speaker-norm", action="store_true", help="normalise each training speaker on their own")
    s.add_argument("--map", action="append", default=[], metavar="NAME=LABEL", help="e.g. bored=sad (repeatable)")
    s.add_argument("--whisper", default="base", help="the Whisper whose frames it reads (the app's ASR model)")
    s.add_argument("--cache", type=Path, help="a folder for the clips' features (a second run takes seconds)")
    s.add_argument("--sources", type=Path, metavar="FILE", help="where the data came from, for the model card")
    s.add_argument("--prior", type=float, default=30.0,
                   help="utterances the corpus statistics are worth in a person's running baseline (30)")  # fmt: skip
    s.add_argument("-v", "--verbose", action="count", default=0)


def add_eval_parser(models: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    e = models.add_parser(
        "speech-emotion",
        help="accuracy, macro-F1, per class, calm-vs-agitated, calibration of a voice head on a manifest",
        description="Each clip analysed alone (a new user's first utterance), in the window the app decodes its "
        "language in.",
    )
    e.add_argument("--model", type=Path, required=True, metavar="FOLDER", help="a voice-head folder")
    e.add_argument("--data", type=Path, required=True, metavar="MANIFEST", help="the labelled clips")
    e.add_argument("--map", action="append", default=[], metavar="NAME=LABEL")
    e.add_argument("--json", action="store_true", help="print the JSON report instead of the table")
    e.add_argument("-v", "--verbose", action="count", default=0)


def _mapping(items: list[str]) -> dict[str, str] | None:
    from voiceassist.emotion.labels import LABELS

    out = {}
    for item in items:
        name, _, label = item.partition("=")
        if not name or label not in LABELS:
            print(f"voiceassist: --map {item!r}: NAME=LABEL with LABEL one of {', '.join(LABELS)}", file=sys.stderr)
            return None
        out[name.strip().lower()] = label
    return out


def run_train(args: argparse.Namespace, guarded: Any) -> int:
    from voiceassist.train.speech_emotion import SpeechTrainOptions, train

    mapping = _mapping(args.map)
    if mapping is None:
        return EXIT_CONFIG
    try:
        c = None if args.c == "auto" else float(args.c)
    except ValueError:
        c = -1.0
    if c is not None and c <= 0:
        print("voiceassist train: --c must be a positive number or 'auto'", file=sys.stderr)
        return EXIT_CONFIG
    sources = ""
    if args.sources:
        try:
            sources = args.sources.read_text(encoding="utf-8")
        except OSError as e:
            print(f"voiceassist train: cannot read {args.sources}: {e.strerror or e}", file=sys.stderr)
            return EXIT_CONFIG
    opts = SpeechTrainOptions(
        c=c,
        pooling=tuple(args.pooling.split("+")),
        augment=args.augment,
        speaker_norm=args.speaker_norm,
        prior=args.prior,
        whisper=args.whisper,
        mapping=mapping,
        cache=args.cache,
        sources=sources,
    )
    rc, metrics = guarded(lambda: train(args.data, args.output, opts, args.eval), args.output,
                          "scikit-learn matplotlib faster-whisper")  # fmt: skip
    if metrics is None:
        return int(rc)
    parts = [
        f"{name} accuracy {m['accuracy']:.3f} macro-F1 {m['macro_f1']:.3f} calm/agitated {m['calm_vs_agitated']:.3f}"
        for name, m in metrics.items()
        if isinstance(m, dict) and m.get("n")
    ]
    print(f"voiceassist train: {args.output} written ({'; '.join(parts)})", file=sys.stderr)
    return EXIT_OK


def run_eval(args: argparse.Namespace, report: Any) -> int:
    from voiceassist.train.metrics import format_table
    from voiceassist.train.speech_emotion import evaluate

    mapping = _mapping(args.map)
    if mapping is None:
        return EXIT_CONFIG

    def work() -> tuple[dict[str, Any], list[Path]]:
        return evaluate(args.model, args.data, mapping), []

    def fmt(r: dict[str, Any]) -> str:
        head = format_table({"all": r, **r.get("by_language", {})}, f"{args.model} on {args.data}")
        return f"{head}\ncalm vs agitated: {r['calm_vs_agitated']:.3f}"

    return int(report(args, work, fmt, " (pip install faster-whisper soundfile soxr)"))
