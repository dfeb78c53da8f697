"""Random-weight SenseVoice-Small and Paraformer folders built with FunASR's own model classes.

No FunASR recogniser weights can be had on machines without a model hub, yet the real loading and
inference code of ``voiceassist.asr.funasr_asr`` must run in CI. This writes model folders laid out like the
released ones, with every file FunASR's ``AutoModel`` reads, and random weights:

- SenseVoice-Small (``build_sensevoice``): ``config.yaml``, ``configuration.json``, ``model.pt``, ``am.mvn``
  and ``chn_jpn_yue_eng_ko_spectok.bpe.model``: a sentencepiece BPE model trained here on a few sentences,
  then laid out with the real vocabulary's size (25,055 pieces) and its special tokens at the ids the
  model code hard-codes (``lid_int_dict``, ``emo_dict``, ``textnorm_int_dict``: ``<|zh|>`` 24884,
  ``<|HAPPY|>`` 25001, ``<|withitn|>`` 25016...) or a published vocabulary fixes (``<|nospeech|>`` 24992,
  ``<|EMO_UNKNOWN|>`` 25009, ``<|Event_UNK|>`` 25019). The other tags (FEARFUL, DISGUSTED, SURPRISED, the
  events) sit in free slots of the same range: nothing reads them by number. The rest of the pieces are
  CJK, kana and Hangul characters, so random output decodes to random text.
- Paraformer (``build_paraformer``): ``config.yaml``, ``configuration.json``, ``model.pt``, ``am.mvn``,
  ``tokens.json`` (``<blank>``, ``<s>``, ``</s>``, characters, English pieces, ``<unk>`` last, as in the
  real 8,404-token list) and ``seg_dict``.

``size="tiny"``: 16-wide, 2-block models that load and decode in milliseconds. ``size="full"``: the released
architectures (512-wide; SenseVoice 50+20 encoder blocks; Paraformer-large 50 encoder, 16 decoder blocks),
i.e. the compute of the real models, for benchmarks (about 0.9 GB each on disk). Outputs mean nothing.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

SENSEVOICE_BPE = "chn_jpn_yue_eng_ko_spectok.bpe.model"
SENSEVOICE_VOCAB = 25055
N_FEATS = 560  # 80 mel bands x 7 stacked frames (low frame rate: 7 frames every 6, 60 ms)

# id -> piece: the ids the model code or a published vocabulary fixes, then free slots for the other tags
SENSEVOICE_TAGS: dict[int, str] = {
    24884: "<|zh|>",
    24885: "<|en|>",
    24888: "<|yue|>",
    24892: "<|ja|>",
    24896: "<|ko|>",
    24992: "<|nospeech|>",
    25001: "<|HAPPY|>",
    25002: "<|SAD|>",
    25003: "<|ANGRY|>",
    25004: "<|NEUTRAL|>",
    25009: "<|EMO_UNKNOWN|>",
    25016: "<|withitn|>",
    25017: "<|woitn|>",
    25019: "<|Event_UNK|>",
}
_FREE_SLOT_TAGS = ["<|FEARFUL|>", "<|DISGUSTED|>", "<|SURPRISED|>", "<|Speech|>", "<|BGM|>", "<|Applause|>"]
_FREE_SLOT_TAGS += ["<|Laughter|>", "<|Cry|>", "<|Sneeze|>", "<|Breath|>", "<|Cough|>", "<|Sing|>"]
_FREE_SLOT_TAGS += ["<|Speech_Noise|>", "<|GBG|>"]
_FREE_SLOTS = [25005, 25006, 25007, 24993, 24994, 24995, 24996, 24997, 24998, 24999, 25000, 25010, 25011, 25012]
SENSEVOICE_TAGS.update(zip(_FREE_SLOTS, _FREE_SLOT_TAGS, strict=True))

CORPUS = [
    "今天天气真好，我们去公园散步吧。",
    "我有点累，但是没关系。",
    "明天早上记得给妹妹打电话。",
    "你好，很高兴认识你。",
    "could you please remind me to call my sister tomorrow morning",
    "i feel a bit tired but i am fine",
    "good morning how are you today",
]

_FRONTEND = {
    "fs": 16000,
    "window": "hamming",
    "n_mels": 80,
    "frame_length": 25,
    "frame_shift": 10,
    "lfr_m": 7,
    "lfr_n": 6,
}


def _sanm(width: int, heads: int, blocks: int) -> dict[str, Any]:
    return {
        "output_size": width,
        "attention_heads": heads,
        "linear_units": width * 4,
        "num_blocks": blocks,
        "dropout_rate": 0.1,
        "positional_dropout_rate": 0.1,
        "attention_dropout_rate": 0.1,
        "input_layer": "pe",
        "pos_enc_class": "SinusoidalPositionEncoder",
        "normalize_before": True,
        "kernel_size": 11,
        "sanm_shfit": 0,
        "selfattention_layer_type": "sanm",
    }


def _dims(size: str) -> tuple[int, int, int]:
    """(width, heads, blocks) of a size; "full" is the released models' 512 wide, 4 heads."""
    if size not in ("tiny", "full"):
        raise ValueError(f"size must be 'tiny' or 'full', not {size!r}")
    return (16, 2, 2) if size == "tiny" else (512, 4, 50)


def sensevoice_config(size: str = "tiny") -> dict[str, Any]:
    width, heads, blocks = _dims(size)
    encoder = _sanm(width, heads, blocks) | {"tp_blocks": 1 if size == "tiny" else 20}
    if size == "full":
        encoder["linear_units"] = 2048
    return {
        "encoder": "SenseVoiceEncoderSmall",
        "encoder_conf": encoder,
        "model": "SenseVoiceSmall",
        "model_conf": {"length_normalized_loss": True, "sos": 1, "eos": 2, "ignore_id": -1},
        "tokenizer": "SentencepiecesTokenizer",
        "tokenizer_conf": {"bpemodel": None, "unk_symbol": "<unk>", "split_with_space": True},
        "frontend": "WavFrontend",
        "frontend_conf": {**_FRONTEND, "cmvn_file": None},
    }


def paraformer_config(size: str = "tiny") -> dict[str, Any]:
    width, heads, blocks = _dims(size)
    encoder = _sanm(width, heads, blocks)
    dec_blocks = 2 if size == "tiny" else 16
    if size == "full":
        encoder["linear_units"] = 2048
    decoder = {k: encoder[k] for k in ("attention_heads", "linear_units", "dropout_rate", "positional_dropout_rate")}
    decoder.update(num_blocks=dec_blocks, att_layer_num=dec_blocks, kernel_size=11, sanm_shfit=0)
    decoder.update(self_attention_dropout_rate=0.1, src_attention_dropout_rate=0.1)
    return {
        "model": "Paraformer",
        "model_conf": {"ctc_weight": 0.0, "lsm_weight": 0.1, "length_normalized_loss": True, "predictor_weight": 1.0}
        | {"predictor_bias": 1, "sampling_ratio": 0.75},
        "encoder": "SANMEncoder",
        "encoder_conf": encoder,
        "decoder": "ParaformerSANMDecoder",
        "decoder_conf": decoder,
        "predictor": "CifPredictorV2",
        "predictor_conf": {"idim": width, "threshold": 1.0, "l_order": 1, "r_order": 1, "tail_threshold": 0.45},
        "tokenizer": "CharTokenizer",
        "tokenizer_conf": {"unk_symbol": "<unk>", "split_with_space": True},
        "frontend": "WavFrontend",
        "frontend_conf": {**_FRONTEND, "cmvn_file": None},
    }


def write_cmvn(path: Path, dim: int = N_FEATS, shift: float = -8.0, scale: float = 0.25) -> Path:
    """A Kaldi nnet-style global CMVN (``am.mvn``): <AddShift> means, <Rescale> 1/std, after LFR.
    The real file holds measured statistics; these placeholders put log-mel features near zero."""
    row = " ".join([f"{shift:g}"] * dim)
    scale_row = " ".join([f"{scale:g}"] * dim)
    text = (
        f"<Nnet>\n<Splice> {dim} {dim}\n[ 0 ]\n<AddShift> {dim} {dim}\n<LearnRateCoef> 0 [ {row} ]\n"
        f"<Rescale> {dim} {dim}\n<LearnRateCoef> 0 [ {scale_row} ]\n</Nnet>\n"
    )
    path.write_text(text, encoding="utf-8")
    return path


def write_sensevoice_bpe(path: Path, vocab: int = SENSEVOICE_VOCAB) -> Path:
    """Train a tiny sentencepiece BPE model, then lay it out like SenseVoice's: ``vocab`` pieces, <unk>
    <s> </s> first, the tags as user-defined pieces at their ids, characters everywhere else."""
    import importlib

    import sentencepiece as spm

    pb: Any = importlib.import_module("sentencepiece.sentencepiece_model_pb2")  # generated protobuf code

    buf = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(CORPUS),
        model_writer=buf,
        vocab_size=120,
        model_type="bpe",
        character_coverage=1.0,
        unk_id=0,
        bos_id=1,
        eos_id=2,
        pad_id=-1,
        hard_vocab_limit=False,
        minloglevel=2,
    )
    trained = pb.ModelProto()
    trained.ParseFromString(buf.getvalue())
    learned = [(p.piece, p.score) for p in trained.pieces if p.type == pb.ModelProto.SentencePiece.NORMAL]
    Piece = pb.ModelProto.SentencePiece
    slots: dict[int, tuple[str, float, int]] = {0: ("<unk>", 0.0, Piece.UNKNOWN)}
    slots.update({1: ("<s>", 0.0, Piece.CONTROL), 2: ("</s>", 0.0, Piece.CONTROL)})
    slots.update({i: (tag, 0.0, Piece.USER_DEFINED) for i, tag in SENSEVOICE_TAGS.items()})
    slots.update({3 + i: (piece, score, Piece.NORMAL) for i, (piece, score) in enumerate(learned)})
    used = {s[0] for s in slots.values()}
    low = min(score for _, score in learned) - 1.0
    ranges = [(0x4E00, 0x9FFF), (0x3041, 0x3096), (0x30A1, 0x30FA), (0xAC00, 0xD7A3)]
    filler = (c for lo, hi in ranges for c in map(chr, range(lo, hi + 1)) if c not in used)
    for i in range(vocab):
        if i not in slots:
            slots[i] = (next(filler), low - i * 1e-4, Piece.NORMAL)
    del trained.pieces[:]
    for i in range(vocab):
        piece, score, kind = slots[i]
        trained.pieces.add(piece=piece, score=score, type=kind)
    trained.trainer_spec.vocab_size = vocab
    path.write_bytes(trained.SerializeToString())
    return path


def paraformer_tokens(vocab: int = 0) -> list[str]:
    """``<blank>`` ``<s>`` ``</s>``, characters, English pieces, ``<unk>``: padded with CJK characters to
    ``vocab`` tokens when asked (the real list has 8,404)."""
    chars = sorted({c for line in CORPUS for c in line if not c.isascii() and c not in "，。"})
    pieces = ["hel@@", "lo", "i", "am", "fine", "good", "morning", "how", "are", "you", "today", "，", "。", "？"]
    tokens = ["<blank>", "<s>", "</s>", *chars, *pieces]
    more = (c for c in map(chr, range(0x4E00, 0x9FFF)) if c not in chars)
    return tokens + [next(more) for _ in range(vocab - len(tokens) - 1)] + ["<unk>"]


def _configuration(metas: dict[str, Any]) -> str:
    doc = {
        "framework": "pytorch",
        "task": "auto-speech-recognition",
        "model": {"type": "funasr"},
        "pipeline": {"type": "funasr-pipeline"},
        "model_name_in_hub": {"ms": "", "hf": ""},
        "file_path_metas": {"init_param": "model.pt", "config": "config.yaml", **metas},
    }
    return json.dumps(doc, indent=2)


def _save(folder: Path, model: Any, config: dict[str, Any], metas: dict[str, Any]) -> None:
    import torch
    import yaml  # FunASR depends on PyYAML (through hydra/omegaconf)

    torch.save(model.state_dict(), folder / "model.pt")
    (folder / "config.yaml").write_text(yaml.safe_dump(config, allow_unicode=True, sort_keys=False), encoding="utf-8")
    (folder / "configuration.json").write_text(_configuration(metas), encoding="utf-8")
    write_cmvn(folder / "am.mvn")


def build_sensevoice(folder: Path, size: str = "tiny", seed: int = 0) -> Path:
    """A SenseVoice-Small folder (random weights) at ``folder``."""
    import torch

    from voiceassist.emotion.emotion2vec import import_funasr

    import_funasr()
    from funasr.models.sense_voice.model import SenseVoiceSmall

    folder.mkdir(parents=True, exist_ok=True)
    write_sensevoice_bpe(folder / SENSEVOICE_BPE)
    config = sensevoice_config(size)
    torch.manual_seed(seed)
    model = SenseVoiceSmall(
        encoder=config["encoder"],
        encoder_conf=config["encoder_conf"],
        input_size=N_FEATS,
        vocab_size=SENSEVOICE_VOCAB,
        **config["model_conf"],
    ).eval()
    metas = {"tokenizer_conf": {"bpemodel": SENSEVOICE_BPE}, "frontend_conf": {"cmvn_file": "am.mvn"}}
    _save(folder, model, config, metas)
    return folder


def build_paraformer(folder: Path, size: str = "tiny", seed: int = 0) -> Path:
    """A Paraformer folder (random weights) at ``folder``."""
    import torch

    from voiceassist.emotion.emotion2vec import import_funasr

    import_funasr()
    from funasr.models.paraformer.model import Paraformer

    folder.mkdir(parents=True, exist_ok=True)
    tokens = paraformer_tokens(8404 if size == "full" else 0)
    (folder / "tokens.json").write_text(json.dumps(tokens, ensure_ascii=False), encoding="utf-8")
    (folder / "seg_dict").write_text("hello hel@@ lo\ngood good\n", encoding="utf-8")
    config = paraformer_config(size)
    torch.manual_seed(seed)
    parts = {k: config[k] for k in ("encoder", "encoder_conf", "decoder", "decoder_conf", "predictor")}
    model = Paraformer(
        **parts,
        predictor_conf=config["predictor_conf"],
        input_size=N_FEATS,
        vocab_size=len(tokens),
        **config["model_conf"],
    ).eval()
    metas = {
        "tokenizer_conf": {"token_list": "tokens.json", "seg_dict_file": "seg_dict"},
        "frontend_conf": {"cmvn_file": "am.mvn"},
    }
    _save(folder, model, config, metas)
    return folder
