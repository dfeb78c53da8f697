"""Optional generative replies: a causal language model through transformers, from a local folder.

The prompt carries the fused emotion, the tone strategy and a short history; generation is bounded in
tokens and in time (``max_time``). Any error, a timeout, or output the content filter rejects returns
None, and the caller says the strategy reply instead. Crisis replies never come from here.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from voiceassist.reply.planner import content_filter

log = logging.getLogger(__name__)

_SENTENCE = re.compile(r"[.!?。！？…]+[\"'”’）)]*\s*")

GUIDANCE = {
    "calm": "Stay calm, acknowledge the frustration, offer help or a human.",
    "empathetic": "Show empathy and invite them to talk.",
    "reassuring": "Reassure them and say you are here.",
    "cheerful": "Share their joy.",
    "gentle": "Be warm but not exuberant; they have been low lately.",
    "curious": "Be curious about what happened.",
    "neutral": "Carry on helpfully.",
}


class GenerativeReplier:
    def __init__(self, folder: Path, max_new_tokens: int = 60, timeout_s: float = 3.0) -> None:
        self.folder = Path(folder)
        self.max_new_tokens = max_new_tokens
        self.timeout_s = timeout_s
        self.description = f"generative ({self.folder.name})"
        self._tok: Any = None
        self._model: Any = None
        self.last_error: str | None = None
        self.last_new_tokens = 0

    def load(self) -> None:
        from transformers import AutoModelForCausalLM, AutoTokenizer

        self._tok = AutoTokenizer.from_pretrained(self.folder, local_files_only=True)
        self._model = AutoModelForCausalLM.from_pretrained(self.folder, local_files_only=True)
        self._model.eval()
        if self._tok.pad_token_id is None:
            self._tok.pad_token = self._tok.eos_token

    def prompt(self, text: str, label: str, tone: str, language: str, history: list[tuple[str, str]]) -> str:
        lang = "Mandarin Chinese (simplified)" if language == "zh" else "English"
        lines = [
            f"You are a kind voice assistant. The person sounds {label}. {GUIDANCE.get(tone, '')} "
            f"Answer in {lang}, in one or two short sentences. No diagnosis, no medical advice, "
            "no pet names."
        ]
        for user, bot in history[-3:]:
            lines += [f"Person: {user}", f"Assistant: {bot}"]
        lines += [f"Person: {text}", "Assistant:"]
        return "\n".join(lines)

    def generate(
        self, text: str, label: str, tone: str, language: str, history: list[tuple[str, str]] | None = None
    ) -> str | None:
        """A filtered reply, or None (then use the strategy reply); ``last_error`` says why."""
        import torch

        self.last_error = None
        if self._model is None:
            self.last_error = "not loaded"
            return None
        prompt = self.prompt(text, label, tone, language, history or [])
        t0 = time.monotonic()
        try:
            enc = self._tok(prompt, return_tensors="pt", truncation=True, max_length=512)
            with torch.inference_mode():
                out = self._model.generate(
                    **enc,
                    max_new_tokens=self.max_new_tokens,
                    max_time=self.timeout_s,
                    do_sample=False,
                    pad_token_id=self._tok.pad_token_id,
                )
        except Exception as e:
            self.last_error = f"{type(e).__name__}: {e}"
            log.warning("generative reply failed: %s", self.last_error)
            return None
        elapsed = time.monotonic() - t0
        if elapsed > self.timeout_s:
            self.last_error = f"timed out after {elapsed:.1f} s"
            return None
        new_tokens = out[0, enc["input_ids"].shape[1] :]
        self.last_new_tokens = len(new_tokens)
        reply = self._tok.decode(new_tokens, skip_special_tokens=True)
        reply = reply.split("\nPerson:")[0].strip()
        reason = content_filter(reply)
        if reason is not None:
            self.last_error = f"filtered ({reason})"
            return None
        return str(reply)

    def stream(
        self, text: str, label: str, tone: str, language: str, history: list[tuple[str, str]] | None = None
    ) -> Iterator[str]:
        """The reply as it is generated, a sentence at a time. Each sentence is said only once it and
        everything before it pass the content filter; generation stops at the first that does not, at the
        token or time bound, or where the model starts the person's next turn. Nothing yielded: use the
        strategy reply (``last_error`` says why)."""
        import torch
        from transformers import StoppingCriteria, StoppingCriteriaList, TextIteratorStreamer

        self.last_error = None
        if self._model is None:
            self.last_error = "not loaded"
            return
        enc = self._tok(
            self.prompt(text, label, tone, language, history or []),
            return_tensors="pt",
            truncation=True,
            max_length=512,
        )
        streamer = TextIteratorStreamer(
            self._tok, skip_prompt=True, skip_special_tokens=True, timeout=self.timeout_s + 5
        )
        halt = threading.Event()

        class Halt(StoppingCriteria):
            def __call__(self, input_ids: Any, scores: Any, **kw: Any) -> bool:
                return halt.is_set()

        failed: list[str] = []

        def run() -> None:
            try:
                with torch.inference_mode():
                    self._model.generate(
                        **enc,
                        max_new_tokens=self.max_new_tokens,
                        max_time=self.timeout_s,
                        do_sample=False,
                        pad_token_id=self._tok.pad_token_id,
                        streamer=streamer,
                        stopping_criteria=StoppingCriteriaList([Halt()]),
                    )
            except Exception as e:
                failed.append(f"{type(e).__name__}: {e}")
                streamer.end()  # type: ignore[no-untyped-call]

        worker = threading.Thread(target=run, name="voiceassist-generate", daemon=True)
        worker.start()
        said, pending = "", ""
        try:
            for piece in streamer:
                pending += piece
                turn = pending.find("\nPerson:")
                if turn >= 0:  # the model started the person's next turn: the reply ends before it
                    pending, halt_now = pending[:turn], True
                else:
                    halt_now = False
                while (m := _SENTENCE.search(pending)) is not None:
                    sentence, pending = pending[: m.end()], pending[m.end() :]
                    if not self._may_say(said + sentence):
                        return
                    said += sentence
                    yield sentence
                if halt_now:
                    break
            if pending.strip() and self._may_say(said + pending):
                yield pending
        finally:
            halt.set()
            worker.join(self.timeout_s + 5)
            if failed:
                self.last_error = failed[0]
                log.warning("generative reply failed: %s", failed[0])

    def _may_say(self, text: str) -> bool:
        reason = content_filter(text.strip())
        if reason is not None:
            self.last_error = f"filtered ({reason})"
        return reason is None
