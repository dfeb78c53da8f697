"""Random-weight emotion2vec checkpoints built with FunASR's own ``Emotion2vec`` class.

No Emotion2Vec+ weights can be had on machines without a model hub, yet the real loading and inference
code must run in CI and its speed must be measured. This writes a model folder laid out like the released
ones (``config.yaml`` + ``model.pt`` + ``tokens.txt``) whose weights are random:

- ``size="tiny"``: a 0.3 MB model with the real 320x conv stride (50 frames/s) for tests;
- ``size="base"``: the real base architecture (768-d, 8 blocks, 12 heads, 512-channel conv stack; about
  93 M parameters), i.e. the compute of ``emotion2vec_plus_base``, for benchmarks.

Its outputs mean nothing; only shapes, timing and the code path are real.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

TOKENS = [
    "生气/angry",
    "厌恶/disgusted",
    "恐惧/fearful",
    "开心/happy",
    "中立/neutral",
    "其他/other",
    "难过/sad",
    "吃惊/surprised",
    "<unk>",
]

_BASE_CONF: dict[str, Any] = {
    "loss_beta": 0.0,
    "loss_scale": None,
    "depth": 8,
    "start_drop_path_rate": 0.0,
    "end_drop_path_rate": 0.0,
    "num_heads": 12,
    "norm_eps": 1e-05,
    "norm_affine": True,
    "encoder_dropout": 0.1,
    "post_mlp_drop": 0.1,
    "attention_dropout": 0.1,
    "activation_dropout": 0.0,
    "dropout_input": 0.0,
    "layerdrop": 0.05,
    "embed_dim": 768,
    "mlp_ratio": 4.0,
    "layer_norm_first": False,
    "average_top_k_layers": 8,
    "end_of_block_targets": False,
    "clone_batch": 8,
    "normalize": True,
    "modalities": {
        "audio": {
            "type": "AUDIO",
            "prenet_depth": 4,
            "prenet_layerdrop": 0.05,
            "prenet_dropout": 0.1,
            "start_drop_path_rate": 0.0,
            "end_drop_path_rate": 0.0,
            "num_extra_tokens": 10,
            "init_extra_token_zero": True,
            "mask_noise_std": 0.01,
            "mask_prob_min": None,
            "inverse_mask": False,
            "mask_prob": 0.5,
            "mask_prob_adjust": 0.05,
            "keep_masked_pct": 0.0,
            "mask_length": 5,
            "add_masks": False,
            "remove_masks": False,
            "mask_dropout": 0.0,
            "encoder_zero_mask": True,
            "mask_channel_prob": 0.0,
            "mask_channel_length": 64,
            "ema_local_encoder": False,
            "local_grad_mult": 1.0,
            "use_alibi_encoder": True,
            "alibi_scale": 1.0,
            "learned_alibi": False,
            "alibi_max_pos": None,
            "learned_alibi_scale": True,
            "learned_alibi_scale_per_head": True,
            "learned_alibi_scale_per_layer": False,
            "num_alibi_heads": 12,
            "model_depth": 8,
            "decoder": None,
            "extractor_mode": "layer_norm",
            "feature_encoder_spec": "[(512, 10, 5)] + [(512, 3, 2)] * 4 + [(512,2,2)] + [(512,2,2)]",
            "conv_pos_width": 95,
            "conv_pos_groups": 16,
            "conv_pos_depth": 5,
            "conv_pos_pre_ln": False,
        }
    },
}


def model_conf(size: str = "tiny") -> dict[str, Any]:
    conf = copy.deepcopy(_BASE_CONF)
    if size == "base":
        return conf
    if size != "tiny":
        raise ValueError(f"size must be 'tiny' or 'base', not {size!r}")
    conf.update(embed_dim=32, depth=2, num_heads=2)
    audio = conf["modalities"]["audio"]
    audio.update(
        prenet_depth=1,
        num_alibi_heads=2,
        model_depth=2,
        conv_pos_groups=4,
        num_extra_tokens=2,
        feature_encoder_spec="[(32, 10, 5)] + [(32, 3, 2)] * 4 + [(32, 2, 2)] * 2",
    )
    return conf


def build_random_checkpoint(folder: Path, size: str = "tiny", seed: int = 0, tokens: list[str] | None = None) -> Path:
    """Write config.yaml, model.pt and tokens.txt for a random Emotion2vec into ``folder``."""
    import torch
    import yaml  # FunASR depends on PyYAML (through hydra/omegaconf)

    from voiceassist.emotion.emotion2vec import import_funasr

    import_funasr()
    from funasr.models.emotion2vec.model import Emotion2vec

    tokens = list(tokens or TOKENS)
    conf = model_conf(size)
    torch.manual_seed(seed)
    model = Emotion2vec(model_conf=conf, vocab_size=len(tokens)).eval()
    folder.mkdir(parents=True, exist_ok=True)
    torch.save(model.state_dict(), folder / "model.pt")
    config = {
        "model": "Emotion2vec",
        "model_conf": conf,
        "tokenizer": "CharTokenizer",
        "tokenizer_conf": {"unk_symbol": "<unk>", "split_with_space": True},
    }
    (folder / "config.yaml").write_text(yaml.safe_dump(config, allow_unicode=True, sort_keys=False), encoding="utf-8")
    (folder / "tokens.txt").write_text("\n".join(tokens) + "\n", encoding="utf-8")
    return folder
