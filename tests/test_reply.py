"""Replies: the strategy for each emotion and language, content intents, mood shaping, crisis and
fallback replies, no repeats, the content filter, and the generative backend on a tiny scripted model."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from voiceassist.paths import resources_dir
from voiceassist.reply.planner import ReplyPlanner, content_filter
from voiceassist.reply.request import ReplyRequest

REPLIES = resources_dir() / "replies"
CJK = re.compile(r"[\u4e00-\u9fff]")


@pytest.fixture
def planner() -> ReplyPlanner:
    return ReplyPlanner(REPLIES, seed=1)


@pytest.mark.parametrize(
    ("label", "tone"),
    [
        ("angry", "calm"),
        ("sad", "empathetic"),
        ("happy", "cheerful"),
        ("fearful", "reassuring"),
        ("surprised", "curious"),
        ("neutral", "neutral"),
        ("disgusted", "calm"),
    ],
)
@pytest.mark.parametrize("lang", ["en", "zh"])
def test_strategy_per_emotion_and_language(planner: ReplyPlanner, label: str, tone: str, lang: str):
    plan = planner.plan(ReplyRequest("hmm", lang, label))
    assert plan.tone == tone and plan.strategy == label and plan.source == "strategy"
    assert bool(CJK.search(plan.text)) == (lang == "zh")
    assert plan.text in planner.tones[label][lang]


def test_unknown_and_other_ask_to_repeat_or_clarify(planner: ReplyPlanner):
    plan = planner.plan(
        ReplyRequest("", "zh", "unknown", fallback_action="ask_to_repeat", suggested_response="能再说一遍吗？")
    )
    assert plan.source == "fallback" and plan.text == "能再说一遍吗？"


@pytest.mark.parametrize(
    ("text", "lang", "intent"),
    [
        ("I can't sleep at night", "en", "insomnia"),
        ("最近一直失眠", "zh", "insomnia"),
        ("I'm so stressed about my deadlines", "en", "work_stress"),
        ("天天加班，工作压力好大", "zh", "work_stress"),
        ("I've been feeling down lately", "en", "feeling_down"),
        ("我心情不好", "zh", "feeling_down"),
        ("Can you recommend a movie?", "en", "film"),
        ("推荐一部电影吧", "zh", "film"),
        ("Do you like cats or dogs?", "en", "pets"),
        ("你喜欢猫还是狗", "zh", "pets"),
        ("I want to get up early tomorrow", "en", "early_rising"),
        ("我想早起", "zh", "early_rising"),
    ],
)
def test_content_intents(planner: ReplyPlanner, text: str, lang: str, intent: str):
    plan = planner.plan(ReplyRequest(text, lang, "neutral"))
    assert plan.intent == intent and plan.source == "intent"
    assert bool(CJK.search(plan.text)) == (lang == "zh")


def test_intent_keeps_the_tone_opener_for_negative_emotions(planner: ReplyPlanner):
    plan = planner.plan(ReplyRequest("我最近一直失眠", "zh", "sad"))
    assert plan.intent == "insomnia" and plan.tone == "empathetic"
    assert plan.text.startswith(planner.tones["sad"]["opener_zh"])


def test_no_identical_reply_twice_in_a_row(planner: ReplyPlanner):
    last = None
    for _ in range(30):
        text = planner.plan(ReplyRequest("", "en", "sad")).text
        assert text != last
        last = text


def test_low_mood_is_not_answered_with_cheerfulness(planner: ReplyPlanner):
    assert planner.plan(ReplyRequest("", "en", "happy", mood_valence=-0.5, mood_turns=4)).tone == "gentle"
    assert (
        planner.plan(ReplyRequest("", "en", "happy", mood_valence=-0.5, mood_turns=1)).tone == "cheerful"
    )  # one sad turn
    assert planner.plan(ReplyRequest("", "en", "happy", mood_valence=0.2, mood_turns=5)).tone == "cheerful"


def test_crisis_gets_the_fixed_reply_in_the_person_language(planner: ReplyPlanner):
    en = planner.plan(ReplyRequest("I want to die", "en", "sad", crisis=True))
    zh = planner.plan(ReplyRequest("我不想活了", "zh", "happy", crisis=True))
    assert en.source == zh.source == "crisis" and en.tone == "calm"
    assert "988" in en.text and "12356" in zh.text


def test_every_reply_in_the_data_respects_the_boundaries():
    p = ReplyPlanner(REPLIES)
    texts = [t for sec in p.tones.values() for lang in ("en", "zh") for t in sec[lang]]
    texts += [t for sec in p.intents.values() for lang in ("en", "zh") for t in sec[lang]]
    assert len(texts) > 50
    for t in texts:
        assert content_filter(t) is None, t


@pytest.mark.parametrize(
    "text",
    [
        "You have depression, you should take antidepressants.",
        "Don't worry honey, I love you.",
        "你得了抑郁症",
        "亲爱的别难过",
        "Maybe you should hurt yourself",
        "x" * 500,
        "   ",
        "ok \ufffd\ufffd",
    ],
)
def test_content_filter_blocks(text: str):
    assert content_filter(text) is not None


# -- generative backend ------------------------------------------------------------------------------
SAYABLE = "I hear you, tell me more."
PET_NAME = "Okay darling."  # the content filter rejects it


def _scripted_lm(folder: Path, reply: str) -> Path:
    """A tiny GPT-2 (byte-level BPE tokenizer trained here on our reply texts, no download) whose greedy
    output is always ``reply`` then end-of-text, whatever the prompt: the blocks add nothing to the residual,
    positions are zero, so the next token depends on the last token only, and the untied output layer maps
    each token of ``reply`` to the next (any other token to the first). Generation is real; its result is
    known."""
    import torch
    from tokenizers import ByteLevelBPETokenizer
    from transformers import GPT2Config, GPT2LMHeadModel, PreTrainedTokenizerFast

    p = ReplyPlanner(REPLIES)
    corpus = [t for sec in p.tones.values() for lang in ("en", "zh") for t in sec[lang]]
    bpe = ByteLevelBPETokenizer()
    bpe.train_from_iterator(corpus, vocab_size=400, special_tokens=["<|endoftext|>"])
    tok = PreTrainedTokenizerFast(
        tokenizer_object=bpe._tokenizer, eos_token="<|endoftext|>", bos_token="<|endoftext|>", unk_token="<|endoftext|>"
    )
    n = 64
    cfg = GPT2Config(
        vocab_size=len(tok),
        n_positions=1024,
        n_embd=n,
        n_layer=2,
        n_head=2,
        bos_token_id=tok.eos_token_id,
        eos_token_id=tok.eos_token_id,
        tie_word_embeddings=False,
    )
    model = GPT2LMHeadModel(cfg)
    chain = tok.encode(" " + reply)
    assert len(set(chain)) == len(chain) and tok.eos_token_id not in chain and 2 * (len(chain) + 1) <= n

    def direction(k: int) -> torch.Tensor:  # zero mean: layer norm keeps it, scaled
        v = torch.zeros(n)
        v[2 * k], v[2 * k + 1] = 1.0, -1.0
        return v

    with torch.no_grad():
        for name, prm in model.named_parameters():
            if name.endswith(("attn.c_proj.weight", "attn.c_proj.bias", "mlp.c_proj.weight", "mlp.c_proj.bias")):
                prm.zero_()
        model.transformer.wpe.weight.zero_()
        wte, head = model.transformer.wte.weight, model.lm_head.weight
        other = direction(len(chain))
        wte[:] = other
        head.zero_()
        head[chain[0]] += 10 * other
        for k, t in enumerate(chain):
            wte[t] = direction(k)
            head[chain[k + 1] if k + 1 < len(chain) else tok.eos_token_id] += 10 * direction(k)
    model.save_pretrained(folder)
    tok.save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def tiny_lm(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _scripted_lm(tmp_path_factory.mktemp("lm") / "tiny-gpt2", SAYABLE)


@pytest.fixture(scope="module")
def pet_name_lm(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _scripted_lm(tmp_path_factory.mktemp("lm") / "tiny-gpt2-pet-names", PET_NAME)


def test_generative_reply_is_bounded_and_filtered(tiny_lm: Path, pet_name_lm: Path):
    from voiceassist.reply.generative import GenerativeReplier

    g = GenerativeReplier(tiny_lm, max_new_tokens=12, timeout_s=20)
    g.load()
    prompt = g.prompt("I feel sad", "sad", "empathetic", "en", [("hi", "hello")])
    assert "sounds sad" in prompt and "empathy" in prompt and "Person: hi" in prompt
    out = g.generate("I feel sad", "sad", "empathetic", "en", [("hi", "hello")])
    assert out == SAYABLE and g.last_error is None and 0 < g.last_new_tokens <= 12
    short = GenerativeReplier(tiny_lm, max_new_tokens=3, timeout_s=20)  # bounded in tokens
    short.load()
    assert short.generate("I feel sad", "sad", "empathetic", "en") == "I hear you"
    assert short.last_new_tokens == 3
    bad = GenerativeReplier(pet_name_lm, max_new_tokens=12, timeout_s=20)  # filtered
    bad.load()
    assert bad.generate("I feel sad", "sad", "empathetic", "en") is None
    assert (bad.last_error or "").startswith("filtered (blocked:") and "darling" in bad.last_error


def test_generative_timeout_falls_back(tiny_lm: Path):
    from voiceassist.reply.generative import GenerativeReplier

    g = GenerativeReplier(tiny_lm, max_new_tokens=400, timeout_s=0.001)
    g.load()
    assert g.generate("hello there", "neutral", "neutral", "en") is None
    assert "timed out" in (g.last_error or "")


def test_generative_error_falls_back(tmp_path: Path):
    from voiceassist.reply.generative import GenerativeReplier

    g = GenerativeReplier(tmp_path)
    assert g.generate("hi", "neutral", "neutral", "en") is None and g.last_error == "not loaded"


def test_pipeline_uses_the_generative_backend_and_falls_back(tiny_lm: Path, pet_name_lm: Path, two_utterances):
    import json

    from tests.test_pipeline_emotion import ScriptedAsr, run
    from voiceassist.config import load_config
    from voiceassist.events import Reply, StageReady

    path, _ = two_utterances
    cfg = load_config(
        None,
        [
            "reply.backend=generative",
            f"reply.model={json.dumps(str(tiny_lm))}",
            "reply.max_new_tokens=16",
            "reply.timeout_s=30",
        ],
    )
    c = run(path, ScriptedAsr([("I feel a bit sad today", "en"), ("I want to die", "en")]), cfg)
    ready = {e.stage: e for e in c.of(StageReady)}["reply"]
    assert "tiny-gpt2" in ready.description and not ready.embedded
    first, second = c.of(Reply)
    # a 30 s timeout for 16 tokens of a tiny model: generation finishes, and this model's reply passes the filter
    assert (first.source, first.text, first.note) == ("generative", SAYABLE, None)
    assert second.source == "crisis" and "988" in second.text  # never generated
    # a generated reply the filter rejects: the strategy reply is said, and the note says why
    cfg = load_config(
        None,
        [
            "reply.backend=generative",
            f"reply.model={json.dumps(str(pet_name_lm))}",
            "reply.max_new_tokens=16",
            "reply.timeout_s=30",
        ],
    )
    replies = run(path, ScriptedAsr([("I feel a bit sad today", "en")]), cfg).of(Reply)  # both utterances
    assert len(replies) == 2, replies
    for reply in replies:
        assert reply.source == "strategy" and "darling" not in reply.text, reply
        assert (reply.note or "").startswith("generated reply not used: filtered (blocked:"), reply.note
    cfg = load_config(None, ["reply.backend=generative", "reply.model=no-such-model"])
    c = run(path, ScriptedAsr([("hello", "en")]), cfg)
    ready = {e.stage: e for e in c.of(StageReady)}["reply"]
    assert ready.embedded and "unavailable" in (ready.note or "")
    assert all(r.source in ("strategy", "intent", "fallback") for r in c.of(Reply))


def test_one_list_of_tones_for_data_voice_and_generation():
    from voiceassist.paths import resources_dir
    from voiceassist.reply.generative import GUIDANCE
    from voiceassist.reply.planner import ReplyPlanner
    from voiceassist.reply.tones import TONE_NAMES
    from voiceassist.tts import TONES

    assert set(TONES) == set(TONE_NAMES) == set(GUIDANCE)
    planner = ReplyPlanner(resources_dir() / "replies")
    assert {planner.tone_for(label) for label in planner.tones} <= set(TONE_NAMES)
    assert planner.tone_for("sad") == "empathetic" and planner.tone_for("angry") == "calm"
