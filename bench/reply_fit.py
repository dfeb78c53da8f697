"""Do the replies fit what was said? The reply planner over tests/data/reply_fit_cases.jsonl, side by side
with the planner at git HEAD (its code and its resources/replies, from `git show`, in the same process).

Each case holds what the planner gets (text, language, fused label and confidence, keywords, each side's
label and confidence, mood, crisis) and, written down before the planner was changed, the acceptable kinds
of reply (a tone such as "calm" or "cheerful", "clarify_named" for a question naming what was heard,
"clarify" for a generic one, "crisis") and the topic the reply must address (or null). Figures, over one
run of all cases in order (one planner, so the history carries from case to case):

  fit      share of replies of an acceptable kind
  topic    share of the replies with an expected topic that mention it (MENTIONS below, not the planner's data)
  repeats  replies sharing a phrase of 4+ words (Chinese: 4+ characters) with one of the previous three
  doubled  replies with two sentences that start with the same two words (Chinese: characters)

The table is for one seed (the planners pick among variants at random); the last lines sum the counts and
average the shares over --seeds seeds.

Run:  .venv/bin/python bench/reply_fit.py [--show] [--seed N] [--seeds K]
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib.util
import json
import re
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from voiceassist.emotion.fusion import FALLBACK_RESPONSES  # noqa: E402
from voiceassist.reply.request import ReplyRequest  # noqa: E402

CASES = ROOT / "tests" / "data" / "reply_fit_cases.jsonl"
REPLIES = ROOT / "voiceassist" / "resources" / "replies"

# What counts as mentioning a topic: the measure's own words (English: word starts; Chinese: substrings).
MENTIONS: dict[str, dict[str, list[str]]] = {
    "work": {
        "en": ["work", "job", "boss", "office", "colleague", "coworker", "manager", "career", "deadline"],
        "zh": ["工作", "上班", "老板", "领导", "同事", "公司", "加班", "职场", "项目"],
    },
    "family": {
        "en": ["family", "mom", "mum", "dad", "parent", "brother", "sister", "kid", "child", "son", "daughter", "home"],
        "zh": ["家", "妈", "爸", "父母", "哥", "姐", "弟", "妹", "孩子", "儿子", "女儿"],
    },
    "health": {
        "en": ["health", "doctor", "hospital", "unwell", "ill", "sick", "medical", "body"],
        "zh": ["健康", "身体", "医院", "医生", "生病", "病", "体检", "检查"],
    },
    "sleep": {"en": ["sleep", "night", "awake", "rest", "bed"], "zh": ["睡", "失眠", "夜", "休息", "作息"]},
    "loneliness": {
        "en": ["lonely", "loneliness", "alone", "isolat", "company", "connected"],
        "zh": ["孤独", "孤单", "寂寞", "一个人", "陪"],
    },
    "money": {
        "en": ["money", "bill", "rent", "financ", "afford", "pay", "cost"],
        "zh": ["钱", "账单", "房租", "经济", "开销", "花销"],
    },
    "study": {
        "en": ["exam", "test", "school", "study", "studying", "grade", "class", "universit", "college", "learn"],
        "zh": ["考试", "学习", "成绩", "学校", "念书", "大学", "考", "读书"],
    },
    "loss": {
        "en": ["loss", "losing", "lost", "grie", "passed", "miss", "died", "death"],
        "zh": ["失去", "离开", "去世", "悲伤", "怀念", "离别"],
    },
    "relationships": {
        "en": ["relationship", "breakup", "break", "girlfriend", "boyfriend", "partner", "love", "someone you"],
        "zh": ["感情", "分手", "男朋友", "女朋友", "伴侣", "在乎的人", "分开"],
    },
    "pets": {
        "en": ["pet", "dog", "cat", "puppy", "kitten", "animal", "furry"],
        "zh": ["宠物", "狗", "猫", "小动物", "毛茸茸"],
    },
    "weather": {
        "en": ["weather", "rain", "storm", "sun", "wet", "grey", "fresh air", "outside"],
        "zh": ["天气", "雨", "风", "雷", "阳光", "晴", "透透气"],
    },
    "commute": {
        "en": ["commute", "traffic", "train", "bus", "trip", "delay", "journey", "stuck", "on the way"],
        "zh": ["路上", "通勤", "堵", "地铁", "公交", "出门", "等车", "晚点"],
    },
}

PLAN_ARGS = (
    "crisis",
    "fallback_action",
    "suggested_response",
    "mood_valence",
    "mood_turns",
    "confidence",
    "scores",
    "keywords",
    "speech_label",
    "speech_confidence",
    "text_label",
    "text_confidence",
)


def load_cases(path: Path = CASES) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def run(planner: Any, cases: list[dict[str, Any]]) -> list[Any]:
    """Every case through ``planner`` in order."""
    accepted = {f.name for f in dataclasses.fields(ReplyRequest)}
    plans = []
    for c in cases:
        kwargs = {k: c.get(k) for k in PLAN_ARGS if k in accepted and c.get(k) is not None}
        action = c.get("fallback_action")
        if action and "suggested_response" in accepted:
            kwargs["suggested_response"] = FALLBACK_RESPONSES[action][c["language"]]
        plans.append(planner.plan(ReplyRequest(c["text"], c["language"], c["label"], **kwargs)))
    return plans


def kind(plan: Any) -> str:
    if plan.source == "crisis":
        return "crisis"
    if plan.strategy == "clarify_named":
        return "clarify_named"
    if plan.source == "fallback":
        return "clarify"
    return str(plan.tone)


def mentions(text: str, topic: str, lang: str) -> bool:
    if lang == "zh":
        return any(w in text for w in MENTIONS[topic]["zh"])
    return any(re.search(r"(?<![a-z])" + re.escape(w), text.lower()) for w in MENTIONS[topic]["en"])


def phrases(text: str, lang: str, n: int = 4) -> set[tuple[str, ...]]:
    if lang == "zh":
        runs = re.findall(r"[\u4e00-\u9fff]+", text)
        return {tuple(r[i : i + n]) for r in runs for i in range(len(r) - n + 1)}
    w = re.findall(r"[a-z0-9']+", text.lower().replace("\u2019", "'"))
    return {tuple(w[i : i + n]) for i in range(len(w) - n + 1)}


def doubled(text: str, lang: str) -> bool:
    sentences = [s for s in re.split(r"[.!?。！？]+", text) if s.strip()]
    if lang == "zh":
        starts = [tuple("".join(re.findall(r"[\u4e00-\u9fff]", s))[:2]) for s in sentences]
    else:
        starts = [tuple(re.findall(r"[a-z0-9']+", s.lower().replace("\u2019", "'"))[:2]) for s in sentences]
    starts = [s for s in starts if len(s) == 2]
    return len(starts) != len(set(starts))


def figures(cases: list[dict[str, Any]], plans: list[Any], lang: str | None = None) -> dict[str, float]:
    idx = [i for i, c in enumerate(cases) if lang in (None, c["language"])]
    fit = sum(kind(plans[i]) in cases[i]["expect"] for i in idx)
    topical = [i for i in idx if cases[i]["topic"]]
    topic = sum(mentions(plans[i].text, cases[i]["topic"], cases[i]["language"]) for i in topical)
    repeats = 0
    for i in idx:
        p = phrases(plans[i].text, plans[i].language)
        if any(p & phrases(plans[j].text, plans[j].language) for j in range(max(0, i - 3), i)):
            repeats += 1
    return {
        "cases": len(idx),
        "fit": fit / max(1, len(idx)),
        "topic": topic / max(1, len(topical)),
        "repeats": repeats,
        "doubled": sum(doubled(plans[i].text, plans[i].language) for i in idx),
    }


def old_planner(seed: int, rev: str = "HEAD") -> tuple[Any, Path]:
    """The planner at ``rev`` with its resources, from git, as a temporary module (it is kept alive by the
    returned folder's lifetime: the caller removes it)."""
    tmp = Path(tempfile.mkdtemp(prefix="reply_fit_old_"))

    def show(path: str) -> str:
        return subprocess.run(
            ["git", "-C", str(ROOT), "show", f"{rev}:{path}"], check=True, capture_output=True, text=True
        ).stdout

    (tmp / "old_planner.py").write_text(show("voiceassist/reply/planner.py"), encoding="utf-8")
    replies = tmp / "replies"
    replies.mkdir()
    for name in ("tones.toml", "intents.toml", "crisis.toml"):
        (replies / name).write_text(show(f"voiceassist/resources/replies/{name}"), encoding="utf-8")
    spec = importlib.util.spec_from_file_location("reply_fit_old_planner", tmp / "old_planner.py")
    assert spec is not None and spec.loader is not None
    module: ModuleType = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module.ReplyPlanner(replies, seed=seed), tmp


def new_planner(seed: int) -> Any:
    from voiceassist.reply.planner import ReplyPlanner

    return ReplyPlanner(REPLIES, seed=seed)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--show", action="store_true", help="print every case's two replies")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--seeds", type=int, default=10, help="also run seeds 0..K-1 and summarise")
    ap.add_argument("--rev", default="HEAD", help="the git revision of the old planner")
    args = ap.parse_args()
    cases = load_cases()
    old, tmp = old_planner(args.seed, args.rev)
    try:
        runs: dict[str, list[Any]] = {"old": run(old, cases), "new": run(new_planner(args.seed), cases)}
        many: dict[str, list[dict[str, float]]] = {"old": [], "new": []}
        for seed in range(args.seeds):
            many["old"].append(figures(cases, run(type(old)(tmp / "replies", seed=seed), cases)))
            many["new"].append(figures(cases, run(new_planner(seed), cases)))
    finally:
        for f in sorted(tmp.rglob("*"), reverse=True):
            f.unlink() if f.is_file() else f.rmdir()
        tmp.rmdir()
    fmt: dict[str, Callable[[float], str]] = {
        "fit": lambda v: f"{v:.2f}",
        "topic": lambda v: f"{v:.2f}",
        "repeats": lambda v: f"{int(v)}",
        "doubled": lambda v: f"{int(v)}",
    }
    print(f"{len(cases)} cases ({CASES.relative_to(ROOT)}), seed {args.seed}")
    print(f"{'':8s} {'':>5s} " + " ".join(f"{k:>9s}" for k in fmt))
    for lang in (None, "en", "zh"):
        for name, plans in runs.items():
            f = figures(cases, plans, lang)
            print(f"{lang or 'all':8s} {name:>5s} " + " ".join(f"{fmt[k](f[k]):>9s}" for k in fmt))
    if args.seeds:
        print(f"\nover seeds 0..{args.seeds - 1}: mean shares, summed counts")
        for name, rows in many.items():
            mean = {k: sum(r[k] for r in rows) / len(rows) for k in ("fit", "topic")}
            total = {k: sum(r[k] for r in rows) for k in ("repeats", "doubled")}
            print(f"{'all':8s} {name:>5s} " + " ".join(f"{fmt[k]({**mean, **total}[k]):>9s}" for k in fmt))
    if args.show:
        for c, a, b in zip(cases, runs["old"], runs["new"], strict=True):
            print(f"\n{c['id']} [{c['label']} {c['confidence']}] {c['text']}  expect {c['expect']} {c['topic']}")
            print(f"  old {kind(a):13s} {a.text}")
            print(f"  new {kind(b):13s} {b.text}")


if __name__ == "__main__":
    main()
