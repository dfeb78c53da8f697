"""How close generated replies come to the reference replies, and whether their tone fits (offline: no
``evaluate.load``, nothing downloaded).

- BLEU: sacreBLEU's corpus BLEU, tokenizer ``13a`` for English and ``zh`` for Chinese (each Chinese
  character a token, the rest as 13a); "all" uses ``zh``, which tokenises English text as 13a does, so one
  corpus BLEU covers both languages. Each scope's signature is in the report.
- ROUGE-L: the F1 of the longest common subsequence of tokens, averaged over the rows. English tokens are
  rouge-score's (lowercase, runs of ``[a-z0-9]``, no stemming: the same figure as
  ``RougeScorer(["rougeL"])``); Chinese tokens are characters (plus ASCII runs as words). rouge-score itself
  is not used: its tokenizer drops everything outside ``[a-z0-9]``, so every Chinese pair scores 0.
- distinct-n: distinct n-grams over all n-grams of a scope's replies (same tokens; n-grams within a reply).
- length: mean tokens per reply (words for English, characters for Chinese; "all" mixes the two).
- tone fit: the share of replies whose tone is the tone tones.toml gives the row's emotion. A planner reply
  carries its tone (``plan.tone``); a generated one is read by ``classify_tone``, a keyword heuristic:
  cue phrases per tone (below), counted, the tone with most cues wins (ties: the order of ``CUES``), none:
  "neutral". It is crude; its figure on the reference replies (``reference_tone_fit``, the same heuristic on
  replies written to fit) shows how far to trust it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

_EN_TOKEN = re.compile(r"[a-z0-9]+")
_ZH_TOKEN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]|[a-z0-9]+")
SCOPES = ("en", "zh", "all")


def tokens(text: str, lang: str) -> list[str]:
    """Words (English, as rouge-score) or characters (Chinese) of ``text``; punctuation dropped."""
    return (_ZH_TOKEN if lang == "zh" else _EN_TOKEN).findall(text.lower())


def lcs_length(a: Sequence[str], b: Sequence[str]) -> int:
    if len(a) < len(b):
        a, b = b, a
    prev = [0] * (len(b) + 1)
    for x in a:
        cur = [0]
        for j, y in enumerate(b):
            cur.append(prev[j] + 1 if x == y else max(prev[j + 1], cur[j]))
        prev = cur
    return prev[-1]


def rouge_l(hypothesis: str, reference: str, lang: str) -> float:
    """ROUGE-L F1 of one pair (0 when either side has no tokens)."""
    h, r = tokens(hypothesis, lang), tokens(reference, lang)
    if not h or not r:
        return 0.0
    n = lcs_length(h, r)
    if n == 0:
        return 0.0
    p, rec = n / len(h), n / len(r)
    return 2 * p * rec / (p + rec)


def distinct(token_lists: Sequence[Sequence[str]], n: int) -> float:
    grams = [tuple(t[i : i + n]) for t in token_lists for i in range(len(t) - n + 1)]
    return len(set(grams)) / len(grams) if grams else 0.0


def bleu(hypotheses: list[str], references: list[str], tokenize: str) -> tuple[float, str]:
    """sacreBLEU corpus BLEU (0-100) and its signature."""
    from sacrebleu.metrics.bleu import BLEU

    metric = BLEU(tokenize=tokenize)
    score = metric.corpus_score(hypotheses, [references])
    return float(score.score), str(metric.get_signature())


# -- tone ------------------------------------------------------------------------------------------
CUES: dict[str, dict[str, str]] = {
    "cheerful": {
        "en": (
            r"congrat\w*|great news|good news|wonderful|fantastic|amazing|brilliant|awesome|lovely|"
            r"(how|so) exciting|well done|enjoy|celebrat\w*|happy for you|proud|treasure\w*|great memory|"
            r"what an? |adorable|relief|meaningful|achievement|earned it"
        ),
        "zh": (
            r"恭喜|太好了|太棒了|太厉害|真厉害|好厉害|值得庆祝|为你高兴|替你高兴|好消息|开心|贴心|"
            r"犒劳|好好享受|真不错|太值|幸福|暖|有意义|受欢迎|终于|运气真好"
        ),
    },
    "curious": {
        "en": (
            r"what happened|how did|how come|what did|did (they|he|she|it) say|really\?|no way|wow|"
            r"out of nowhere|unexpected\w*|surpris\w*|tell me more|who (was|is)|which (one|\w+ did)|"
            r"how did it come up|a secret"
        ),
        "zh": (r"真的吗|怎么回事|发生了什么|怎么会|居然|竟然|没想到|意外|离谱|哇|后来呢|是谁|出乎|太巧"),
    },
    "reassuring": {
        "en": (
            r"it's (okay|ok)\b(?! not)|you're safe|i'm here|(don't|try not to) worry|breath\w*|"
            r"one step at a time|it will be|you'll be|worr\w*|nervous|nerves|stressful|intimidating|"
            r"unsettling|scary|frighten\w*|anxious|unsafe|reassur\w*|remember|normal to|terrif\w*|"
            r"you've got this|stay calm|safe\w*|it makes sense"
        ),
        "zh": (
            r"别担心|不用担心|不要担心|别怕|别慌|先别|没事的|会好的|慢慢来|深呼吸|很正常|担心|害怕|"
            r"紧张|压力|不安|没底|报警|报案|发毛|一紧|安全|尽快|风险"
        ),
    },
    "empathetic": {
        "en": (
            r"sorry|painful|hurts?|heavy|lonely|loss|miss\w*|grie\w*|sad\w*|heartbr\w*|tough|hit hard|"
            r"how are you (taking|feeling|holding|doing)|someone with you|want to talk|here for you|"
            r"okay not to|must (be|feel)|(is|be|so|really) hard|is a lot"
        ),
        "zh": (
            r"难过|伤心|心疼|不容易|抱歉|舍不得|孤单|冷清|很累|那种累|陪你|感觉怎么样|你现在|想聊聊|"
            r"心里|难受|一定(很|特别)|打击|酸"
        ),
    },
    "calm": {
        "en": (
            r"frustrat\w*|madden\w*|annoy\w*|aggravat\w*|infuriat\w*|unfair|up the wall|slap in the face|"
            r"gross|disgust\w*|unpleasant|revolting|complain\w*|report|return it|fair enough|reasonable|rude|"
            r"out of line|understandabl\w*|exasperat\w*|furious|rough|sorted|enough to make anyone|sicken\w*|"
            r"awful|turn(ed)? (you )?off|nasty|yuck|vile|hygien\w*"
        ),
        "zh": (
            r"确实让人|心烦|窝火|恼火|生气|气人|不公平|不满|冤|反映|投诉|申请|恶心|受不了|过分|"
            r"寒心|残忍|反感|制止|气|愤怒|折腾|举报|要求|缺德|膈应|发指|没胃口"
        ),
    },
    "gentle": {
        "en": (r"glad to hear|good to hear|that's nice|a little"),
        "zh": (r"挺好|真好|还不错"),
    },
    "neutral": {
        "en": (
            r"timer|started|reminder|here's|here is|i'll let you know|want me to|would you like me to|"
            r"depends|usually|generally|typically"
        ),
        "zh": (r"好的|了解|一般|提醒|需要我|设置|建议"),
    },
}
"""Cue phrases per tone and language, as regular expressions (English: at a word start, any case)."""
_CUE_RES = {
    tone: {
        "en": re.compile(r"\b(?:" + by["en"] + r")", re.IGNORECASE),
        "zh": re.compile(by["zh"]),
    }
    for tone, by in CUES.items()
}


_EXCLAIM_ASK = re.compile(r"[!！][^?？]*[?？]")


def classify_tone(text: str, lang: str) -> str:
    """The tone a reply reads as (the keyword heuristic above)."""
    key = "zh" if lang == "zh" else "en"
    counts = {tone: len(res[key].findall(text)) for tone, res in _CUE_RES.items()}
    if _EXCLAIM_ASK.search(text):  # "Thirty rolls! Are you keeping them?": surprise, then a question
        counts["curious"] += 1
    elif "!" in text or "！" in text:
        counts["cheerful"] += 1
    best = max(counts.values())
    return "neutral" if best == 0 else next(t for t in CUES if counts[t] == best)


# -- per scope -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Scored:
    """One row to score: the reply said, the reference, the reply's tone and the tone its emotion asks for."""

    lang: str
    reply: str
    reference: str
    tone: str
    expected_tone: str


def _tokenizer(scope: str) -> str:
    return "13a" if scope == "en" else "zh"


def score_scope(items: list[Scored], scope: str) -> dict[str, Any]:
    if not items:
        return {"n": 0}
    hyp_tokens = [tokens(i.reply, i.lang) for i in items]
    ref_tokens = [tokens(i.reference, i.lang) for i in items]
    b, signature = bleu([i.reply for i in items], [i.reference for i in items], _tokenizer(scope))
    n = len(items)
    return {
        "n": n,
        "bleu": round(b, 2),
        "bleu_signature": signature,
        "rouge_l": round(sum(rouge_l(i.reply, i.reference, i.lang) for i in items) / n, 4),
        "distinct_1": round(distinct(hyp_tokens, 1), 4),
        "distinct_2": round(distinct(hyp_tokens, 2), 4),
        "avg_len": round(sum(map(len, hyp_tokens)) / n, 2),
        "reference_avg_len": round(sum(map(len, ref_tokens)) / n, 2),
        "tone_fit": round(sum(i.tone == i.expected_tone for i in items) / n, 4),
        "reference_tone_fit": round(sum(classify_tone(i.reference, i.lang) == i.expected_tone for i in items) / n, 4),
    }


def score_replies(items: list[Scored]) -> dict[str, dict[str, Any]]:
    """{scope: figures} for "en", "zh" and "all" (a language without rows: ``{"n": 0}``)."""
    return {s: score_scope([i for i in items if s in ("all", i.lang)], s) for s in SCOPES}


def format_scores(metrics: dict[str, dict[str, Any]]) -> list[str]:
    cols = ("n", "bleu", "rouge_l", "distinct_1", "distinct_2", "avg_len", "tone_fit", "reference_tone_fit")
    heads = ("rows", "BLEU", "ROUGE-L", "dist-1", "dist-2", "length", "tone fit", "ref tone fit")
    lines = [f"{'scope':6s}" + "".join(f"{h:>13s}" for h in heads)]
    for scope, m in metrics.items():
        if m.get("n"):
            cells = [f"{m[c]:.0f}" if c == "n" else f"{m[c]:.3f}" if c != "bleu" else f"{m[c]:.2f}" for c in cols]
            lines.append(f"{scope:6s}" + "".join(f"{c:>13s}" for c in cells))
    lines += [f"BLEU {s}: {m['bleu_signature']}" for s, m in metrics.items() if m.get("n")]
    return lines
