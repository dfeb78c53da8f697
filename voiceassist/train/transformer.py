"""The transformers kind: fine-tuning a sequence classifier with the transformers ``Trainer``.

``--base PATH_OR_ID``: a local folder or a hub id (downloading needs a network) of any model
``AutoModelForSequenceClassification`` can put a 9-way head on (the head is new: ``ignore_mismatched_sizes``).
``--tiny``: a small random BERT (2 layers, 32 wide) with a WordPiece tokenizer trained here on the training
texts (BERT's normaliser splits Chinese into characters): no download, seconds on a CPU, so tests run the
real training code. Training is plain cross-entropy (no class weights), AdamW, evaluated on dev after each
epoch; the final epoch's weights are saved. The folder is a standard transformers folder (config.json with
``id2label`` = the 9 labels, weights, tokenizer files), loadable by the transformers text backend
(voiceassist/emotion/text.py) and by ``AutoModelForSequenceClassification.from_pretrained``.
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path
from typing import Any

import numpy as np

from voiceassist.emotion.labels import INDEX, LABELS, N_LABELS
from voiceassist.train import TrainError
from voiceassist.train.dataset import Example
from voiceassist.train.fit import FitResult, TrainOptions
from voiceassist.train.plots import Curve

log = logging.getLogger(__name__)

SPECIAL = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


def tiny_model(texts: list[str], max_length: int) -> tuple[Any, Any]:
    """A random BertForSequenceClassification over the 9 labels and a WordPiece tokenizer trained on ``texts``."""
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors, trainers
    from transformers import BertConfig, BertForSequenceClassification, PreTrainedTokenizerFast

    tok = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer(lowercase=True, handle_chinese_chars=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.train_from_iterator(
        texts, trainers.WordPieceTrainer(vocab_size=2000, special_tokens=SPECIAL, show_progress=False)
    )
    cls, sep = tok.token_to_id("[CLS]"), tok.token_to_id("[SEP]")
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B [SEP]", special_tokens=[("[CLS]", cls), ("[SEP]", sep)]
    )
    tokenizer_class: Any = PreTrainedTokenizerFast  # (its constructor is untyped)
    fast = tokenizer_class(
        tokenizer_object=tok,
        unk_token="[UNK]",
        pad_token="[PAD]",
        cls_token="[CLS]",
        sep_token="[SEP]",
        mask_token="[MASK]",
        model_max_length=max_length,
    )
    config = BertConfig(
        vocab_size=fast.vocab_size,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=max(128, max_length + 2),
        **_label_config(),
    )
    return BertForSequenceClassification(config), fast


def _label_config() -> dict[str, Any]:
    return {
        "num_labels": N_LABELS,
        "id2label": dict(enumerate(LABELS)),
        "label2id": {name: i for i, name in enumerate(LABELS)},
    }


def base_model(base: str) -> tuple[Any, Any]:
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    try:
        tok = AutoTokenizer.from_pretrained(base)
        model = AutoModelForSequenceClassification.from_pretrained(
            base, ignore_mismatched_sizes=True, problem_type="single_label_classification", **_label_config()
        )
    except (OSError, ValueError) as e:
        raise TrainError(f"--base {base}: cannot load it as a transformers model ({e})") from e
    return model, tok


class _Rows:
    """A map-style dataset of tokenised rows (no ``datasets`` package needed)."""

    def __init__(self, tok: Any, examples: list[Example], max_length: int) -> None:
        enc = tok([e.text for e in examples], truncation=True, max_length=max_length)
        self.rows = [
            {"input_ids": enc["input_ids"][i], "attention_mask": enc["attention_mask"][i], "labels": INDEX[e.label]}
            for i, e in enumerate(examples)
        ]

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, i: int) -> dict[str, Any]:
        return self.rows[i]


def train_transformers(train: list[Example], dev: list[Example], stage: Path, opts: TrainOptions) -> FitResult:
    if not opts.tiny and not opts.base:
        raise TrainError("--kind transformers needs --base PATH_OR_HUB_ID (or --tiny for a small random model)")
    try:
        import torch  # noqa: F401
        from transformers.utils import logging as transformers_logging
    except ImportError as e:
        raise TrainError(f"--kind transformers needs torch, transformers and accelerate ({e})") from e
    hf_logging: Any = transformers_logging  # (untyped)
    bars = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()  # progress goes to train.log, not as bars to the terminal
    try:
        return _train(train, dev, stage, opts)
    finally:
        if bars:
            hf_logging.enable_progress_bar()


def _train(train: list[Example], dev: list[Example], stage: Path, opts: TrainOptions) -> FitResult:
    import torch
    from transformers import DataCollatorWithPadding, PrinterCallback, Trainer, TrainingArguments, set_seed

    set_seed(opts.seed)
    model, tok = tiny_model([e.text for e in train], opts.max_length) if opts.tiny else base_model(opts.base)
    epochs = opts.epochs or 3
    lr = opts.learning_rate or (1e-3 if opts.tiny else 3e-5)
    args = TrainingArguments(
        output_dir=str(stage / "_trainer"),
        num_train_epochs=epochs,
        learning_rate=lr,
        per_device_train_batch_size=opts.batch_size,
        per_device_eval_batch_size=max(opts.batch_size, 32),
        eval_strategy="epoch",
        logging_strategy="epoch",
        save_strategy="no",
        report_to=[],
        disable_tqdm=True,
        seed=opts.seed,
        dataloader_num_workers=0,
        dataloader_pin_memory=torch.cuda.is_available(),
    )
    train_rows: Any = _Rows(tok, train, opts.max_length)
    dev_rows: Any = _Rows(tok, dev, opts.max_length)
    trainer = Trainer(
        model=model,
        args=args,
        train_dataset=train_rows,
        eval_dataset=dev_rows,
        data_collator=DataCollatorWithPadding(tok),
        processing_class=tok,
    )
    trainer.remove_callback(PrinterCallback)  # its dicts on stdout; the epochs are logged below
    log.info("fine-tuning %s: %d epochs, learning rate %g, on %s", opts.base or "a tiny random BERT", epochs, lr,
             args.device)  # fmt: skip
    trainer.train()
    history = trainer.state.log_history
    train_loss = {round(h["epoch"], 6): float(h["loss"]) for h in history if "loss" in h and "epoch" in h}
    dev_loss = {round(h["epoch"], 6): float(h["eval_loss"]) for h in history if "eval_loss" in h}
    xs = sorted(set(train_loss) | set(dev_loss))
    for x in xs:
        log.info("epoch %g: train loss %.4f, dev loss %.4f", x, train_loss.get(x, np.nan), dev_loss.get(x, np.nan))
    logits = np.asarray(trainer.predict(dev_rows).predictions, dtype=np.float64)
    logits = logits - logits.max(axis=1, keepdims=True)
    probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    model.save_pretrained(stage)
    tok.save_pretrained(stage)
    shutil.rmtree(stage / "_trainer", ignore_errors=True)
    curve = Curve(
        "epoch",
        [float(x) for x in xs],
        [train_loss.get(x, float("nan")) for x in xs],
        [dev_loss.get(x, float("nan")) for x in xs],
        note="Trainer log: mean training loss of each epoch and the dev loss after it",
    )
    what = "a small random BERT (tiny: for tests, not for use)" if opts.tiny else opts.base
    meta = {
        "kind": "transformers",
        "base": "tiny random BERT + WordPiece trained on the training texts" if opts.tiny else opts.base,
        "labels": list(LABELS),
        "epochs": epochs,
        "learning_rate": lr,
        "batch_size": opts.batch_size,
        "max_length": opts.max_length,
        "device": str(args.device),
        "torch": torch.__version__,
    }
    summary = (
        f"Fine-tuned {what} as a 9-way sequence classifier with the transformers Trainer: {epochs} epochs, "
        f"learning rate {lr:g}, batch {opts.batch_size}, plain cross-entropy; the last epoch's weights are saved."
    )
    return FitResult(dev_probs=probs, curve=curve, model_meta=meta, details={"epochs": epochs}, summary=summary)
