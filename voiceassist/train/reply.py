"""One training run of the generative reply model, from two files of (text, emotion, response) rows to a
model folder the generative reply backend opens (``reply.backend = "generative"``, ``reply.model = FOLDER``).

A causal LM (GPT-2 style: ``--tiny``, or ``--base PATH_OR_ID``) is fine-tuned on the backend's own prompt
followed by the row's response (voiceassist/train/reply_model.py, reply_data.py). The folder, written
atomically (``folder.py``: an interrupted run leaves an existing FOLDER as it was), holds the transformers
files (config.json, generation_config.json, model.safetensors, tokenizer files) and ``model.json`` (what was
trained on what), ``metrics.json`` (dev loss and perplexity per epoch, and the reply figures on dev: the
folder just written, opened by ``GenerativeReplier`` and used as the backend uses it, so a folder that does
not load fails the run), ``dev_replies.jsonl`` (each dev reply beside its reference), ``train.log``,
``loss_curve.png`` and ``MODEL_CARD.md``.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from voiceassist import __version__
from voiceassist.config import ReplyConfig
from voiceassist.train import TrainError
from voiceassist.train.card import _data_table
from voiceassist.train.folder import staged_folder, train_log
from voiceassist.train.plots import Curve, loss_curve
from voiceassist.train.reply_data import ReplyData, emotion_tones, prompt_for, read_reply_data
from voiceassist.train.reply_eval import evaluate, quiet_transformers, replies_jsonl

log = logging.getLogger(__name__)


@dataclass
class ReplyTrainOptions:
    data: Path
    dev: Path
    output: Path
    base: str = ""
    tiny: bool = False
    epochs: int = 0  # 0: 3
    learning_rate: float = 0.0  # 0: 1e-3 (tiny), 5e-5 (a base model)
    batch_size: int = 16
    max_length: int = 256
    threads: int = 1
    """torch threads for training and the dev replies (0: torch's default)."""
    dev_replies: int = 0
    """Generate replies for at most this many dev rows, spread over the file (0: all)."""
    seed: int = 0


def read_inputs(opts: ReplyTrainOptions) -> tuple[ReplyData, ReplyData]:
    if not opts.tiny and not opts.base:
        raise TrainError("give --base PATH_OR_HUB_ID (a causal language model to fine-tune), or --tiny")
    if opts.tiny and opts.base:
        raise TrainError("--tiny and --base exclude each other")
    train = read_reply_data(opts.data, "training")
    dev = read_reply_data(opts.dev, "dev")
    if not train.rows:
        raise TrainError(f"{opts.data}: the training set is empty (no rows)")
    if not dev.rows:
        raise TrainError(f"{opts.dev}: the dev set is empty (no rows): the dev loss and replies are measured on it")
    if Path(opts.data).resolve() == Path(opts.dev).resolve():
        raise TrainError(f"{opts.dev}: the dev file is the training file; give a separate dev split")
    return train, dev


def _spread(data: ReplyData, n: int) -> ReplyData:
    if n <= 0 or n >= len(data.rows):
        return data
    step = len(data.rows) / n
    return ReplyData(data.data, [data.rows[int(k * step)] for k in range(n)])


def _model(train: ReplyData, prompts: list[str], opts: ReplyTrainOptions) -> tuple[Any, Any]:
    from voiceassist.train.reply_model import base_model, tiny_model

    if opts.tiny:
        return tiny_model([f"{p} {r.response}" for p, r in zip(prompts, train.rows, strict=True)])
    model, tok = base_model(opts.base)
    if tok.eos_token_id is None:
        raise TrainError(f"--base {opts.base}: its tokenizer has no end-of-text token (a reply must be able to end)")
    return model, tok


def _fit(train: ReplyData, dev: ReplyData, stage: Path, opts: ReplyTrainOptions) -> dict[str, Any]:
    """Tokenise, fine-tune, save into ``stage``; the parts of model.json this run decides."""
    import torch
    from transformers import set_seed

    from voiceassist.train.reply_model import FitOptions, encode, fit, save

    set_seed(opts.seed)
    tones = emotion_tones()
    prompts = [prompt_for(r, tones) for r in train.rows]
    with quiet_transformers():
        model, tok = _model(train, prompts, opts)
    enc = encode(tok, prompts, [r.response for r in train.rows], opts.max_length)
    dev_enc = encode(tok, [prompt_for(r, tones) for r in dev.rows], [r.response for r in dev.rows], opts.max_length)
    if not enc.ids or not dev_enc.ids:
        which = "training" if not enc.ids else "dev"
        raise TrainError(f"every {which} prompt is longer than --max-length {opts.max_length} tokens: raise it")
    log.info("%d training and %d dev response tokens", enc.response_tokens, dev_enc.response_tokens)
    epochs = opts.epochs or 3
    lr = opts.learning_rate or (1e-3 if opts.tiny else 5e-5)
    result = fit(model, tok, enc, dev_enc, FitOptions(epochs, lr, opts.batch_size, opts.seed))
    with quiet_transformers():
        save(model, tok, stage)
    return {
        "base": opts.base or "tiny random GPT-2 + byte-level BPE trained on the training rows",
        "architecture": type(model).__name__,
        "parameters": sum(p.numel() for p in model.parameters()),
        "epochs": epochs,
        "learning_rate": lr,
        "batch_size": opts.batch_size,
        "max_length": opts.max_length,
        "device": result.device,
        "torch": torch.__version__,
        "train_loss": result.train_loss,
        "dev_losses": result.dev_loss,
        "notes": _notes(train, dev, enc, dev_enc, opts.max_length),
    }


def train_reply(opts: ReplyTrainOptions) -> dict[str, Any]:
    """Train, measure on dev, write the folder; returns a summary (folder, dev figures, warnings)."""
    from voiceassist.train.reply_model import torch_threads

    train, dev = read_inputs(opts)
    target = Path(opts.output).absolute()
    t0 = time.monotonic()
    with staged_folder(target) as stage, train_log(stage / "train.log"), torch_threads(opts.threads):
        log.info("voiceassist %s: training a reply model (%s) into %s", __version__, opts.base or "tiny", target)
        log.info("train %s: %d rows; dev %s: %d rows", train.path, len(train.rows), dev.path, len(dev.rows))
        run = _fit(train, dev, stage, opts)
        report, replies = evaluate(str(stage), _spread(dev, opts.dev_replies), seed=opts.seed)
        report["model"], report["backend"] = str(target), f"generative ({target.name}), strategy replies as fallback"
        seconds = time.monotonic() - t0
        train_loss, dev_losses, notes = run.pop("train_loss"), run.pop("dev_losses"), run.pop("notes")
        final = dev_losses[-1]
        meta = {
            "kind": "generative-reply",
            **run,
            "prompt": "voiceassist.reply.generative.GenerativeReplier.prompt; tone from resources/replies/tones.toml",
            "loss": "mean NLL of the response tokens (prompt tokens masked)",
            "created": dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat(),
            "voiceassist_version": __version__,
            "training_data": {"train": _summary(train), "dev": _summary(dev)},
            "dev_loss": _finite(final),
            "dev_perplexity": _ppl(final),
        }
        (stage / "model.json").write_text(json.dumps(meta, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        xs = [float(e) for e in range(1, len(dev_losses) + 1)]
        note = "mean NLL per response token: each epoch's training mean, and on dev after it"
        curve = Curve("epoch", xs, train_loss, dev_losses, note=note)
        metrics = {
            "split": "dev",
            "data": dev.describe(),
            "train_data": train.describe(),
            "dev_loss": _finite(final),
            "dev_perplexity": _ppl(final),
            "reply": {k: v for k, v in report.items() if k not in ("data", "created")},
            "dev_replies": len(replies),
            "loss_curve": curve.to_json(),
            "options": {k: str(v) if isinstance(v, Path) else v for k, v in asdict(opts).items()},
            "warnings": notes,
            "train_seconds": round(seconds, 1),
        }
        text = json.dumps(metrics, ensure_ascii=False, indent=2, allow_nan=False)
        (stage / "metrics.json").write_text(text + "\n", encoding="utf-8")
        (stage / "dev_replies.jsonl").write_text(replies_jsonl(replies), encoding="utf-8")
        loss_curve(curve, stage / "loss_curve.png", "reply model: loss on the response tokens")
        write_card(stage / "MODEL_CARD.md", target, meta, train, dev, metrics, seconds)
        bleu = report["metrics"]["all"]["bleu"]
        log.info("dev loss %.4f, BLEU %.2f; %.0f s", final, bleu, time.monotonic() - t0)
    summary = {"folder": str(target), "dev_loss": _finite(final), "dev_perplexity": _ppl(final), "reply": report}
    return {**summary, "warnings": notes}


def _finite(v: float) -> float | None:
    return float(v) if math.isfinite(v) else None


def _ppl(loss: float) -> float | None:
    return round(math.exp(loss), 2) if math.isfinite(loss) and loss < 50 else None


def _summary(d: ReplyData) -> dict[str, Any]:
    return {"path": str(d.path), "sha256": d.data.sha256, "rows": len(d.rows)}


def _notes(train: ReplyData, dev: ReplyData, enc: Any, dev_enc: Any, max_length: int) -> list[str]:
    notes = []
    shared = {r.text for r in train.rows} & {r.text for r in dev.rows}
    if shared:
        notes.append(f"{len(shared)} dev texts are also in the training file: dev figures are optimistic")
    for name, e in (("training", enc), ("dev", dev_enc)):
        if e.dropped:
            notes.append(f"{e.dropped} {name} rows dropped: their prompt alone is over --max-length {max_length}")
        if e.cut:
            notes.append(f"{e.cut} {name} responses cut to fit --max-length {max_length}")
    for n in notes:
        log.warning(n)
    return notes


def _num(v: Any, digits: int = 3) -> str:
    return "-" if v is None else f"{v:.{digits}f}"


def write_card(path: Path, folder: Path, meta: dict[str, Any], train: ReplyData, dev: ReplyData,
               metrics: dict[str, Any], seconds: float) -> None:  # fmt: skip
    reply = metrics["reply"]
    rows = ["| scope | rows | BLEU | ROUGE-L | distinct-1 | distinct-2 | length | tone fit |",
            "|---|---:|---:|---:|---:|---:|---:|---:|"]  # fmt: skip
    for scope, m in reply["metrics"].items():
        if m.get("n"):
            rows.append(f"| {scope} | {m['n']} | {m['bleu']:.2f} | {_num(m['rouge_l'])} | {_num(m['distinct_1'])} | "
                        f"{_num(m['distinct_2'])} | {m['avg_len']:.1f} | {_num(m['tone_fit'])} |")  # fmt: skip
    tiny = meta["base"].startswith("tiny")
    cfg = ReplyConfig()
    lines = [
        "# Generative reply model",
        "",
        f"Trained {meta['created']} by `voiceassist train reply` (voiceassist {meta['voiceassist_version']}) in "
        f"{seconds:.0f} s on {meta['device']}.",
        "",
        "## What it is",
        "",
        f"{meta['architecture']} ({meta['parameters']:,} parameters), from {meta['base']}, fine-tuned for "
        f"{meta['epochs']} epochs (AdamW, learning rate {meta['learning_rate']:g}, batch {meta['batch_size']}, at "
        f"most {meta['max_length']} tokens per row) on the generative backend's prompt (the emotion, the tone's "
        "guidance, earlier turns, the person's words) followed by the row's reply; the loss is on the reply "
        "tokens only. The last epoch's weights are saved."
        + (
            " **A tiny random model: it exists so that the training code runs in tests and CI; its replies are "
            "poor. Do not use it.**"
            if tiny
            else ""
        ),
        "",
        "## Data",
        "",
        *_data_table(train.data, dev.data),
        "",
        "## Dev metrics",
        "",
        f"Dev loss {_num(metrics['dev_loss'])} nats per reply token (perplexity {_num(metrics['dev_perplexity'], 1)}). "
        f"Replies generated for {metrics['dev_replies']} dev rows the way the assistant would (greedy, at most "
        f"{reply.get('max_new_tokens', cfg.max_new_tokens)} new tokens and {reply.get('timeout_s', cfg.timeout_s)} s, "
        f"the safety filter, the strategy reply as fallback): {reply['generated']} generated and used, "
        f"{reply['filtered']} filtered, {reply['failed']} failed or timed out. Against the reference replies:",
        "",
        *rows,
        "",
        "BLEU: sacreBLEU ("
        + "; ".join(f"{s}: `{m['bleu_signature']}`" for s, m in reply["metrics"].items() if m.get("n"))
        + "). ROUGE-L: LCS F1, words (en) / characters (zh). "
        "Tone fit: the share of replies whose tone (a keyword heuristic for generated ones) is the one "
        "tones.toml gives the emotion. For honest figures run `voiceassist eval reply` on a held-out test file.",
        "",
        "## Figures",
        "",
        "- `loss_curve.png`: mean NLL per reply token, each epoch's training mean and the dev loss after it.",
        "- `dev_replies.jsonl`: each dev row's reply beside its reference (source, tone, why a reply fell back).",
        "",
        "## Limits",
        "",
        f"- Learned from {len(train.rows)} single replies; it knows what they cover, no more.",
        "- Chinese and English only. It writes replies, it does not know facts: it can be wrong or off-topic.",
        "- **The safety filter applies**: every generated reply goes through the backend's content filter "
        "(voiceassist/reply/planner.py: no diagnosis, no medication, no pet names, nothing about self-harm); "
        "a reply it rejects, an error or a timeout is replaced by the strategy reply. Crisis replies never "
        "come from this model.",
        "- Not a clinical tool; not a substitute for a person.",
        "",
        "## How to use",
        "",
        "```toml",
        "[reply]",
        'backend = "generative"',
        f'model = "{folder}"',
        "```",
        "",
        "Evaluate it:",
        "",
        "```sh",
        f"voiceassist eval reply --model {folder} --data TEST.jsonl -o REPORT_DIR",
        "```",
        "",
    ]
    path.write_text("\n".join(lines), encoding="utf-8")
