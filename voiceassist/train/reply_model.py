"""The language model of ``voiceassist train reply``: a causal LM (GPT-2 style), fine-tuned on prompt +
response with the loss on the response tokens only.

``--tiny``: a small random GPT2LMHeadModel (2 layers, 96 wide, 1024 positions) with a byte-level BPE
tokenizer trained here on the training sequences (every byte is in its alphabet, so Chinese and anything
else round-trips; common Chinese characters and the prompt's fixed words become single tokens): no
download, seconds on a CPU, so tests run the real training code. ``--base``: a local folder or a hub id of
any model ``AutoModelForCausalLM`` opens (a hub id needs a network; without one, a clear message instead of
the hub client's minute of retries).

Each row is the prompt (``GenerativeReplier.prompt``, tokenised alone, exactly as at inference) followed
by ``" " + response`` and the end-of-text token; labels are -100 over the prompt, so the loss is the mean
negative log-likelihood of the response tokens. A row longer than ``max_length`` keeps its prompt whole
and loses the end of its response (a prompt that alone is too long is dropped, and counted). AdamW with a
linear warm-up and decay, gradients clipped at 1; after each epoch the dev loss (the same mean over the dev
responses' tokens). The last epoch's weights are saved.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import random
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from voiceassist.train import TrainError

log = logging.getLogger(__name__)

EOS = "<|endoftext|>"
WEIGHTS = ("model.safetensors", "model.safetensors.index.json", "pytorch_model.bin", "pytorch_model.bin.index.json")
TOKENIZER = ("tokenizer.json", "vocab.json", "tokenizer.model", "vocab.txt")


@contextlib.contextmanager
def torch_threads(n: int) -> Iterator[None]:
    """torch's intra-op threads set to ``n`` (0: as they are) for the block. One is the fastest on a busy
    2-core laptop: two threads spin against another busy process and run ten times slower."""
    import torch

    before = torch.get_num_threads()
    if n > 0:
        torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def check_model_folder(folder: Path) -> None:
    """TrainError naming what is missing when ``folder`` is not a complete transformers model folder."""
    if not folder.is_dir():
        raise TrainError(f"{folder}: no such model folder")
    missing = []
    if not (folder / "config.json").is_file():
        missing.append("config.json")
    if not any((folder / n).is_file() for n in WEIGHTS):
        missing.append("the weights (model.safetensors or pytorch_model.bin)")
    if not any((folder / n).is_file() for n in TOKENIZER):
        missing.append("the tokenizer (tokenizer.json, or vocab.json + merges.txt)")
    if missing:
        raise TrainError(f"{folder}: {', '.join(missing)} missing (the model folder is incomplete)")


def tiny_model(texts: list[str], vocab_size: int = 4000) -> tuple[Any, Any]:
    """A random GPT2LMHeadModel and a byte-level BPE tokenizer trained on ``texts``."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import GPT2Config, GPT2LMHeadModel, PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=[EOS],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(texts, trainer)
    tokenizer_class: Any = PreTrainedTokenizerFast  # (its constructor is untyped)
    fast = tokenizer_class(tokenizer_object=tok, bos_token=EOS, eos_token=EOS, unk_token=EOS, pad_token=EOS)
    eos = fast.eos_token_id
    config = GPT2Config(
        vocab_size=len(fast),
        n_positions=1024,
        n_embd=96,
        n_layer=2,
        n_head=2,
        bos_token_id=eos,
        eos_token_id=eos,
        pad_token_id=eos,
    )
    return GPT2LMHeadModel(config), fast


def _hub_reachable(timeout: float = 3.0) -> str | None:
    """None when the Hugging Face hub answers a TCP connection; else why not."""
    if os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on"):
        return "HF_HUB_OFFLINE is set"
    url = urlparse(os.environ.get("HF_ENDPOINT") or "https://huggingface.co")
    host, port = url.hostname or "huggingface.co", url.port or (80 if url.scheme == "http" else 443)
    try:
        socket.create_connection((host, port), timeout=timeout).close()
    except OSError as e:
        return f"{host} cannot be reached: {e.strerror or e}"
    return None


def base_model(base: str) -> tuple[Any, Any]:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    folder = Path(base).expanduser()
    local = folder.is_dir()
    if local:
        check_model_folder(folder)
    elif base.startswith((".", "/", "~")) or base.count("/") > 1:  # a path, not a hub id (owner/name)
        raise TrainError(f"--base {base}: no such folder")
    try:
        if local:
            return (AutoModelForCausalLM.from_pretrained(folder, local_files_only=True),
                    AutoTokenizer.from_pretrained(folder, local_files_only=True))  # fmt: skip
        try:  # already in the Hugging Face cache?
            return (AutoModelForCausalLM.from_pretrained(base, local_files_only=True),
                    AutoTokenizer.from_pretrained(base, local_files_only=True))  # fmt: skip
        except OSError:
            why = _hub_reachable()
            if why is not None:
                raise TrainError(
                    f"--base {base}: not a local folder, not in the Hugging Face cache, and the hub is unreachable "
                    f"({why}). Download it where there is a network (hf download {base} --local-dir "
                    "DIR) and give --base DIR"
                ) from None
            return AutoModelForCausalLM.from_pretrained(base), AutoTokenizer.from_pretrained(base)
    except (OSError, ValueError, KeyError) as e:
        raise TrainError(f"--base {base}: cannot load it as a causal language model ({e})") from e


@dataclass
class Encoded:
    ids: list[list[int]]
    labels: list[list[int]]
    dropped: int = 0
    """Rows whose prompt alone is longer than max_length."""
    cut: int = 0
    """Rows whose response was shortened to fit."""

    @property
    def response_tokens(self) -> int:
        return sum(sum(x != -100 for x in lab[1:]) for lab in self.labels)


def encode(tok: Any, prompts: list[str], responses: list[str], max_length: int) -> Encoded:
    eos = tok.eos_token_id
    out = Encoded([], [])
    for prompt, response in zip(prompts, responses, strict=True):
        p = list(tok(prompt)["input_ids"])
        r = [*tok(" " + response, add_special_tokens=False)["input_ids"], eos]
        room = max_length - len(p)
        if room < 2:
            out.dropped += 1
            continue
        if len(r) > room:
            r, out.cut = r[:room], out.cut + 1
        out.ids.append(p + r)
        out.labels.append([-100] * len(p) + r)
    return out


@dataclass
class FitOptions:
    epochs: int
    learning_rate: float
    batch_size: int
    seed: int = 0
    warmup: float = 0.1
    log_every: int = 50


@dataclass
class Fit:
    train_loss: list[float] = field(default_factory=list)
    dev_loss: list[float] = field(default_factory=list)
    device: str = "cpu"
    steps: int = 0


def _batches(data: Encoded, order: list[int], size: int, pad: int, device: Any) -> Any:
    import torch

    for k in range(0, len(order), size):
        idx = order[k : k + size]
        width = max(len(data.ids[i]) for i in idx)
        ids = torch.full((len(idx), width), pad, dtype=torch.long)
        labels = torch.full((len(idx), width), -100, dtype=torch.long)
        mask = torch.zeros((len(idx), width), dtype=torch.long)
        for row, i in enumerate(idx):
            n = len(data.ids[i])
            ids[row, :n] = torch.tensor(data.ids[i])
            labels[row, :n] = torch.tensor(data.labels[i])
            mask[row, :n] = 1
        yield ids.to(device), mask.to(device), labels.to(device)


def _nll(model: Any, ids: Any, mask: Any, labels: Any) -> tuple[Any, int]:
    """Summed negative log-likelihood of the response tokens, and how many there are. Logits are computed
    only from the first response position of the batch on (``logits_to_keep``): the prompt is most of a row."""
    import torch.nn.functional as F

    first = int((labels != -100).int().argmax(dim=1).min())
    keep = ids.shape[1] - max(first, 1) + 1
    try:
        logits = model(input_ids=ids, attention_mask=mask, logits_to_keep=keep).logits
    except TypeError:  # a model without logits_to_keep: all positions
        logits = model(input_ids=ids, attention_mask=mask).logits
    logits = logits[:, :-1].float()
    target = labels[:, ids.shape[1] - logits.shape[1] :]
    loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), target.reshape(-1), ignore_index=-100, reduction="sum")
    return loss, int((target != -100).sum())


def dev_loss(model: Any, data: Encoded, batch_size: int, pad: int, device: Any) -> float:
    import torch

    model.eval()
    total, count = 0.0, 0
    with torch.inference_mode():
        for ids, mask, labels in _batches(data, list(range(len(data.ids))), batch_size, pad, device):
            loss, n = _nll(model, ids, mask, labels)
            total, count = total + float(loss), count + n
    return total / count if count else float("nan")


def fit(model: Any, tok: Any, train: Encoded, dev: Encoded, opts: FitOptions) -> Fit:
    import torch
    import transformers

    schedule: Any = transformers.get_linear_schedule_with_warmup  # (untyped)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    torch.manual_seed(opts.seed)
    rng = random.Random(opts.seed)
    model.to(device)
    pad = tok.pad_token_id if tok.pad_token_id is not None else tok.eos_token_id
    per_epoch = math.ceil(len(train.ids) / opts.batch_size)
    total = per_epoch * opts.epochs
    optim = torch.optim.AdamW(model.parameters(), lr=opts.learning_rate, weight_decay=0.01)
    sched = schedule(optim, int(opts.warmup * total), total)
    result = Fit(device=str(device))
    for epoch in range(1, opts.epochs + 1):
        model.train()
        order = list(range(len(train.ids)))
        rng.shuffle(order)
        seen, count = 0.0, 0
        for ids, mask, labels in _batches(train, order, opts.batch_size, pad, device):
            loss, n = _nll(model, ids, mask, labels)
            if n == 0:
                continue
            optim.zero_grad(set_to_none=True)
            (loss / n).backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optim.step()
            sched.step()
            seen, count, result.steps = seen + float(loss.detach()), count + n, result.steps + 1
            if result.steps % opts.log_every == 0:
                log.info("step %d/%d: train loss %.4f", result.steps, total, seen / count)
        result.train_loss.append(seen / count if count else float("nan"))
        result.dev_loss.append(dev_loss(model, dev, opts.batch_size, pad, device))
        log.info("epoch %d: train loss %.4f, dev loss %.4f (perplexity %.1f)", epoch, result.train_loss[-1],
                 result.dev_loss[-1], math.exp(min(result.dev_loss[-1], 50)))  # fmt: skip
    model.to("cpu")
    model.eval()
    return result


def save(model: Any, tok: Any, folder: Path) -> None:
    """A folder GenerativeReplier (AutoModelForCausalLM / AutoTokenizer) opens: it stops at end-of-text."""
    gen = model.generation_config
    gen.eos_token_id = tok.eos_token_id
    gen.pad_token_id = tok.pad_token_id if tok.pad_token_id is not None else tok.eos_token_id
    if model.config.pad_token_id is None:
        model.config.pad_token_id = gen.pad_token_id
    model.save_pretrained(folder)
    tok.save_pretrained(folder)
