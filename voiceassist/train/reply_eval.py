"""Scoring replies against the rows' reference responses: ``voiceassist eval reply``, the training run's dev
figures and bench/reply_eval.py.

A model is ``strategy`` (the reply planner, voiceassist/reply/planner.py, through its ``plan()`` only) or a
model folder, used as the generative backend uses it (voiceassist/responder.py): the planner plans the
reply; when the plan is a strategy or intent reply, the model writes one (``GenerativeReplier.generate``,
with the planner's tone, the backend's bounds in tokens and seconds, and its content filter); a reply the
filter rejects, or a failure or a timeout, falls back to the planner's text. The report counts each.

Every row is a first turn: a fresh planner (seeded) per row, and only the row's own ``history``. Each row
is given its label alone (no confidence, no voice), as if the emotion were certain. The figures are
voiceassist/train/reply_metrics.py's, per language and overall.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from voiceassist.config import ReplyConfig
from voiceassist.config_file import write_atomic
from voiceassist.paths import resources_dir
from voiceassist.reply.request import ReplyRequest
from voiceassist.train import TrainError, report_dir
from voiceassist.train.reply_data import ReplyData, ReplyRow, emotion_tones
from voiceassist.train.reply_metrics import Scored, classify_tone, format_scores, score_replies

STRATEGY = "strategy"
GENERATED_FROM = ("strategy", "intent")
"""Plan sources the generative backend replaces with a generated reply (never crisis or fallback)."""


@dataclass
class Generated:
    line: int
    lang: str
    emotion: str
    text: str
    reference: str
    reply: str
    source: str
    """"generative", or the plan's source: "strategy", "intent", "fallback", "crisis"."""
    tone: str
    expected_tone: str
    note: str | None = None
    """Why a generated reply was not used (the filter's reason, an error, a timeout)."""


@contextlib.contextmanager
def quiet_transformers() -> Iterator[None]:
    """No progress bars (loading weights) on the terminal."""
    try:
        from transformers.utils import logging as hf_logging_module
    except ImportError:
        yield
        return
    hf: Any = hf_logging_module
    bars = hf.is_progress_bar_enabled()
    hf.disable_progress_bar()
    try:
        yield
    finally:
        if bars:
            hf.enable_progress_bar()


def open_replier(spec: str, max_new_tokens: int, timeout_s: float) -> Any:
    """A loaded GenerativeReplier for a model folder (TrainError when it cannot be used)."""
    from voiceassist.reply.generative import GenerativeReplier
    from voiceassist.train.reply_model import check_model_folder

    folder = Path(spec).expanduser()
    if not folder.is_dir():
        raise TrainError(f"{spec}: no such model folder (give a folder from 'voiceassist train reply', or 'strategy')")
    check_model_folder(folder)
    replier = GenerativeReplier(folder, max_new_tokens=max_new_tokens, timeout_s=timeout_s)
    try:
        with quiet_transformers():
            replier.load()
    except ImportError:
        raise
    except Exception as e:  # transformers says OSError, ValueError, KeyError... for a broken folder
        raise TrainError(f"{folder}: cannot load it as a causal language model ({type(e).__name__}: {e})") from e
    return replier


def _planner(seed: int) -> Any:
    from voiceassist.reply.planner import ReplyPlanner

    try:
        return ReplyPlanner(resources_dir() / "replies", seed=seed)
    except ValueError as e:
        raise TrainError(str(e)) from e


def generate(rows: list[ReplyRow], replier: Any = None, seed: int = 0) -> list[Generated]:
    """One reply per row: the planner's (``replier`` None) or the model's, falling back as the backend does."""
    tones = emotion_tones()
    out = []
    for row in rows:
        plan = _planner(seed).plan(ReplyRequest(row.text, row.lang, row.label))
        reply, source, tone, note = plan.text, plan.source, plan.tone, None
        if replier is not None and plan.source in GENERATED_FROM:
            text = replier.generate(row.text, row.label, plan.tone, plan.language, list(row.history))
            if text:
                reply, source, tone = text, "generative", classify_tone(text, row.lang)
            else:
                note = replier.last_error or "no reply"
        out.append(Generated(row.line, row.lang, row.label, row.text, row.response, reply, source, tone,
                             tones[row.label], note))  # fmt: skip
    return out


def summarise(spec: str, description: str, data: ReplyData, replies: list[Generated], seconds: float) -> dict[str, Any]:
    scored = [Scored(g.lang, g.reply, g.reference, g.tone, g.expected_tone) for g in replies]
    notes = [g.note for g in replies if g.note]
    return {
        "model": spec,
        "backend": description,
        "data": data.describe(),
        "created": dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat(),
        "ms_per_reply": round(1000 * seconds / max(1, len(replies)), 1),
        "sources": dict(Counter(g.source for g in replies)),
        "generated": sum(g.source == "generative" for g in replies),
        "filtered": sum(n.startswith("filtered") for n in notes),
        "failed": sum(not n.startswith("filtered") for n in notes),
        "fallback_reasons": dict(Counter("timed out" if n.startswith("timed out") else n for n in notes)),
        "metrics": score_replies(scored),
    }


def evaluate(
    spec: str, data: ReplyData, *, max_new_tokens: int = 0, timeout_s: float = 0.0, seed: int = 0, threads: int = 0
) -> tuple[dict[str, Any], list[Generated]]:
    """The report and the replies of ``spec`` (``strategy`` or a model folder) on ``data``; ``threads``: torch
    threads while generating (0: as they are)."""
    if not data.rows:
        raise TrainError(f"{data.path}: no rows to evaluate on")
    defaults = ReplyConfig()
    t0 = time.perf_counter()
    if spec == STRATEGY:
        description = "strategy replies (resources/replies)"
        replier, replies = None, generate(data.rows, None, seed)
    else:
        from voiceassist.train.reply_model import torch_threads

        replier = open_replier(spec, max_new_tokens or defaults.max_new_tokens, timeout_s or defaults.timeout_s)
        description = f"{replier.description}, strategy replies as fallback"
        t0 = time.perf_counter()
        with torch_threads(threads):
            replies = generate(data.rows, replier, seed)
    report = summarise(spec, description, data, replies, time.perf_counter() - t0)
    if replier is not None:
        report["max_new_tokens"], report["timeout_s"] = replier.max_new_tokens, replier.timeout_s
    return report, replies


def format_report(report: dict[str, Any]) -> str:
    head = (
        f"{report['model']} ({report['backend']}) on {report['data']['path']}: {report['data']['rows']} rows, "
        f"{report['ms_per_reply']:.0f} ms per reply"
    )
    lines = [head, "sources: " + ", ".join(f"{k} {v}" for k, v in sorted(report["sources"].items()))]
    if report["model"] != STRATEGY:
        lines.append(
            f"generated and used: {report['generated']}; filtered by the safety filter: {report['filtered']}; "
            f"failed or timed out: {report['failed']} (each fell back to the strategy reply)"
        )
    return "\n".join([*lines, "", *format_scores(report["metrics"])])


def write_report(report: dict[str, Any], replies: list[Generated], out_dir: Path) -> list[Path]:
    """report.json and replies.jsonl (each row's reply beside its reference) in ``out_dir``."""
    report_dir(out_dir)
    paths = [out_dir / "report.json", out_dir / "replies.jsonl"]
    write_atomic(paths[0], json.dumps(report, ensure_ascii=False, indent=2, allow_nan=False) + "\n")
    write_atomic(paths[1], replies_jsonl(replies))
    return paths


def replies_jsonl(replies: list[Generated]) -> str:
    return "".join(json.dumps(asdict(g), ensure_ascii=False) + "\n" for g in replies)
