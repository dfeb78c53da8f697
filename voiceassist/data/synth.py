"""``synth``: grow a seed set with generated rows: templates, and optionally a chat model.

**Templates** (``voiceassist/resources/data/synth_templates.toml``, or ``--templates FILE``): per language
and emotion, sentences with slots filled from word lists, each with an empathetic reply that reuses the
sentence's values in the second person. **A chat model** (``--endpoint URL --model NAME``): any
OpenAI-compatible ``/v1/chat/completions`` endpoint (llama.cpp server, Ollama, vLLM, a hosted one) is
asked for user sentences with a given emotion and an empathetic reply, as JSON. The API key is read from
the environment variable named by ``--api-key-env`` (default OPENAI_API_KEY), sent as a bearer token and
never logged. With no endpoint, or when it fails (unreachable, an HTTP error, a reply without usable
JSON), synth goes on with templates alone and the report says so (``"generator": "templates only: ..."``).

Each (language, emotion) gets ``--per-class`` new rows (``--top-up``: counting the seed's rows of that
class). New rows get new dialogue ids (``--id-prefix``-000001, ... never one the seed uses), empty
``split`` and ``source`` "synth:template" or "synth:<model>". The output is the seed rows followed by
the new ones (``--only-new``: the new ones alone). A text already in the seed or generated before (after
dedup's normalisation) is not generated again, but **what synth generates must go through ``validate``
and ``dedup`` like any other data**: a chat model can mislabel, and templates make near-duplicates.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import random
import re
import string
import sys
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

from voiceassist.data.records import LANGS, MAIN_EMOTIONS, Record, new_record
from voiceassist.data.step import OptionError, StepResult
from voiceassist.emotion.labels import LABELS, LABELS_ZH
from voiceassist.lang import has_cjk
from voiceassist.logs import redact, register_secret
from voiceassist.paths import resources_dir

log = logging.getLogger(__name__)

MAX_REPLY_BYTES = 2_000_000
MAX_TEXT_CHARS = 300
TEMPLATE_SOURCE = "synth:template"
_LOOPBACK = ("127.0.0.1", "localhost", "::1")


class GeneratorError(Exception):
    """The chat endpoint did not give usable rows (the message is safe to show: no key in it)."""


def templates_path() -> Path:
    return resources_dir() / "data" / "synth_templates.toml"


def load_templates(path: Path | None = None) -> dict[str, Any]:
    """The templates file, checked: every template and reply names only slots that exist."""
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover
        import tomli as tomllib
    path = path or templates_path()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise OptionError(f"{path}: cannot read the synth templates ({e})") from e
    for lang, section in data.items():
        shared = section.get("slots", {})
        for emotion, spec in section.items():
            if emotion == "slots":
                continue
            if emotion not in LABELS:
                raise OptionError(f"{path}: [{lang}.{emotion}] is not one of the labels {', '.join(LABELS)}")
            slots = {**shared, **spec.get("slots", {})}
            for text in [*spec.get("templates", []), *spec.get("replies", [])]:
                missing = [s for s in _slots(text) if s not in slots]
                if missing:
                    raise OptionError(f"{path}: [{lang}.{emotion}] {text!r} names unknown slots {missing}")
            if not spec.get("templates") or not spec.get("replies"):
                raise OptionError(f"{path}: [{lang}.{emotion}] needs templates and replies")
    return data


def _slots(text: str) -> list[str]:
    return [name for _, name, _, _ in string.Formatter().parse(text) if name]


_EN_SECOND = {"i": "you", "me": "you", "my": "your", "mine": "yours", "myself": "yourself", "i'm": "you're",
              "i've": "you've", "i'd": "you'd", "i'll": "you'll", "am": "are"}  # fmt: skip
_EN_WORD = re.compile(r"\b(?:I'm|I've|I'd|I'll|I|me|my|mine|myself)\b", re.IGNORECASE)


def second_person(value: str, lang: str) -> str:
    """A slot value as the assistant says it back: "my boss" -> "your boss", 我妹妹 -> 你妹妹."""
    if lang == "zh":
        return value.replace("我们", "你们").replace("我", "你")
    return _EN_WORD.sub(lambda m: _EN_SECOND[m.group(0).lower()], value)


def _capitalise(text: str) -> str:
    return re.sub(r"(^|[.!?]\s+)([a-z])", lambda m: m.group(1) + m.group(2).upper(), text)


class TemplateFiller:
    """Fills templates; templates and slot values are dealt like cards (each once before any repeats), so
    a class's rows vary as much as its word lists allow."""

    def __init__(self, templates: dict[str, Any], rng: random.Random) -> None:
        self.templates = templates
        self.rng = rng
        self._decks: dict[tuple[str, ...], list[str]] = {}

    def _deal(self, key: tuple[str, ...], values: list[str]) -> str:
        deck = self._decks.setdefault(key, [])
        if not deck:
            deck += values
            self.rng.shuffle(deck)
        return deck.pop()

    def has(self, lang: str, emotion: str) -> bool:
        return emotion in self.templates.get(lang, {}) and emotion != "slots"

    def make(self, lang: str, emotion: str) -> tuple[str, str, list[str]]:
        """(text, reply, core words) from one template of that class."""
        section = self.templates[lang]
        spec = section[emotion]
        lists = {**section.get("slots", {}), **spec.get("slots", {})}
        template = self._deal((lang, emotion), spec["templates"])
        values = {name: self._deal((lang, emotion, name), lists[name]) for name in _slots(template)}
        fitting = [r for r in spec["replies"] if set(_slots(r)) <= set(values)]
        reply = self.rng.choice(fitting or spec["replies"])
        said_back = {k: second_person(v, lang) for k, v in values.items()}
        for name in _slots(reply):
            said_back.setdefault(name, second_person(self.rng.choice(lists[name]), lang))
        text, response = template.format(**values), reply.format(**said_back)
        if lang == "en":
            text, response = _capitalise(text), _capitalise(response)
        return text, response, [values["feeling"]] if "feeling" in values else []


class ChatGenerator:
    """One OpenAI-compatible chat endpoint, asked for rows of one class at a time."""

    def __init__(self, endpoint: str, model: str, api_key: str = "", timeout: float = 60.0, temperature: float = 0.9):
        parts = urllib.parse.urlsplit(endpoint)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise OptionError(f"--endpoint {endpoint!r}: give an http:// or https:// URL")
        path = parts.path.rstrip("/")
        if not path.endswith("/chat/completions"):
            path += "/chat/completions" if path.endswith("/v1") else "/v1/chat/completions"
        self.url = urllib.parse.urlunsplit((parts.scheme, parts.netloc, path, parts.query, ""))
        self.display = urllib.parse.urlunsplit((parts.scheme, parts.netloc.rpartition("@")[2], path, "", ""))
        self.model, self.api_key, self.timeout, self.temperature = model, api_key, timeout, temperature
        if api_key:
            register_secret(api_key)
        direct = parts.hostname in _LOOPBACK  # never send a local server's traffic through a proxy
        self._opener = urllib.request.build_opener(urllib.request.ProxyHandler({})) if direct else None

    def prompt(self, lang: str, emotion: str, n: int, examples: list[Record]) -> list[dict[str, str]]:
        language = "Simplified Chinese (简体中文)" if lang == "zh" else "English"
        shown = "".join(
            f"\n- {json.dumps({'text': r.get('text'), 'response': r.get('response')}, ensure_ascii=False)}"
            for r in examples
        )
        user = (
            f"Write {n} different things a person might say to a voice assistant, in {language}, each clearly "
            f"expressing the emotion '{emotion}' ({LABELS_ZH.get(emotion, emotion)}): one or two spoken sentences "
            "about an everyday situation, no real names. For each, write a short empathetic reply from the "
            f"assistant in the same language. Answer with JSON only: "
            '{"items": [{"text": "...", "response": "...", "core_words": ["words of the text that carry the '
            'emotion"]}]}' + (f"\nExamples of the style:{shown}" if shown else "")
        )
        system = "You write varied, natural training data for an emotion-aware voice assistant. Reply with JSON only."
        return [{"role": "system", "content": system}, {"role": "user", "content": user}]

    def ask(self, lang: str, emotion: str, n: int, examples: list[Record]) -> list[dict[str, Any]]:
        body = {"model": self.model, "messages": self.prompt(lang, emotion, n, examples),
                "temperature": self.temperature, "max_tokens": 200 * n + 200}  # fmt: skip
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        request = urllib.request.Request(self.url, json.dumps(body).encode(), headers, method="POST")
        try:
            with (self._opener.open if self._opener else urllib.request.urlopen)(request, timeout=self.timeout) as r:
                raw = r.read(MAX_REPLY_BYTES + 1)
        except urllib.error.HTTPError as e:
            raise GeneratorError(f"{self.display} answered HTTP {e.code} {redact(str(e.reason))}") from None
        except (urllib.error.URLError, OSError, ValueError) as e:
            reason = getattr(e, "reason", e)
            raise GeneratorError(f"{self.display} cannot be reached ({redact(str(reason))})") from None
        if len(raw) > MAX_REPLY_BYTES:
            raise GeneratorError(f"{self.display} sent a reply over {MAX_REPLY_BYTES} bytes")
        try:
            content = json.loads(raw)["choices"][0]["message"]["content"]
        except (ValueError, KeyError, IndexError, TypeError) as e:
            raise GeneratorError(f"{self.display} sent no chat completion ({type(e).__name__})") from None
        return parse_items(str(content))


def parse_items(content: str) -> list[dict[str, Any]]:
    """The list of items in a model's reply: bare JSON, in a ``` fence, or with words around it."""
    text = re.sub(r"^\s*```(?:json)?\s*|\s*```\s*$", "", content)
    data: Any = None
    for candidate in (text, text[min((i for i in (text.find("{"), text.find("[")) if i >= 0), default=0) :]):
        try:
            data, _ = json.JSONDecoder().raw_decode(candidate.strip())
            break
        except ValueError:
            continue
    if isinstance(data, dict):
        data = next((data[k] for k in ("items", "sentences", "data", "rows") if isinstance(data.get(k), list)), [data])
    if not isinstance(data, list):
        raise GeneratorError("the model's reply holds no JSON list of items")
    return [x for x in data if isinstance(x, dict)]


def accept_item(item: dict[str, Any], lang: str) -> tuple[str, str, list[str]] | None:
    """(text, response, core words) when the item is usable for that language, else None."""
    text, response = item.get("text") or item.get("user"), item.get("response") or item.get("reply")
    if not isinstance(text, str) or not isinstance(response, str):
        return None
    text, response = " ".join(text.split()), " ".join(response.split())
    if not (2 <= len(text) <= MAX_TEXT_CHARS and 2 <= len(response) <= MAX_TEXT_CHARS):
        return None
    if (lang == "zh") != has_cjk(text) or (lang == "zh" and not has_cjk(response)):
        return None
    words = item.get("core_words")
    core = (
        [w.strip() for w in words if isinstance(w, str) and w.strip() and w.strip() in text][:8]
        if isinstance(words, list)
        else []
    )
    return text, response, core


def add_arguments(parser: argparse.ArgumentParser) -> None:
    a = parser.add_argument
    a("--per-class", type=int, default=20, help="new rows per language and emotion (default %(default)s)")
    a("--top-up", action="store_true", help="count the seed's rows of a class toward --per-class")
    a("--langs", default="zh,en", help="languages, comma-separated (default %(default)s)")
    a("--emotions", default=",".join(MAIN_EMOTIONS), help="emotions, comma-separated (default: the 7 main ones)")
    a("--templates", type=Path, default=None, help="a templates TOML (default: the packaged one)")
    a("--seed", type=int, default=0, help="random seed of the templates (default %(default)s)")
    a("--id-prefix", default="synth", help="prefix of the new dialogue ids (default %(default)s)")
    a("--only-new", action="store_true", help="output the generated rows only, not the seed")
    a("--endpoint", default=None, help="OpenAI-compatible chat endpoint URL, e.g. http://127.0.0.1:8080/v1")
    a("--model", default=None, help="model name sent to the endpoint (needed with --endpoint)")
    a("--api-key-env", default="OPENAI_API_KEY", help="environment variable holding the API key (%(default)s)")
    a("--batch", type=int, default=10, help="sentences asked for per request (default %(default)s)")
    a("--timeout", type=float, default=60.0, help="seconds per request (default %(default)s)")
    a("--temperature", type=float, default=0.9, help="sampling temperature (default %(default)s)")


def _opt(args: argparse.Namespace, name: str, default: Any) -> Any:
    value = getattr(args, name, default)
    return default if value is None else value


def _choices(value: str, allowed: tuple[str, ...], what: str) -> list[str]:
    items = [x.strip() for x in str(value).split(",") if x.strip()]
    bad = [x for x in items if x not in allowed]
    if bad or not items:
        raise OptionError(f"--{what}: {', '.join(bad) or 'none given'}; choose from {', '.join(allowed)}")
    return items


def run(rows: list[tuple[int, Record]], args: argparse.Namespace) -> StepResult:
    from voiceassist.data.dedup import normalise

    per_class, batch = int(_opt(args, "per_class", 20)), max(1, min(int(_opt(args, "batch", 10)), 50))
    if per_class < 0:
        raise OptionError("--per-class must be >= 0")
    langs = _choices(_opt(args, "langs", "zh,en"), LANGS, "langs")
    emotions = _choices(_opt(args, "emotions", ",".join(MAIN_EMOTIONS)), LABELS, "emotions")
    filler = TemplateFiller(load_templates(_opt(args, "templates", None)), random.Random(int(_opt(args, "seed", 0))))
    generator, reason = None, "no --endpoint given"
    if _opt(args, "endpoint", None):
        if not _opt(args, "model", None):
            raise OptionError("--endpoint needs --model NAME")
        key = os.environ.get(str(_opt(args, "api_key_env", "OPENAI_API_KEY")), "")
        generator = ChatGenerator(args.endpoint, args.model, key, float(_opt(args, "timeout", 60.0)),
                                  float(_opt(args, "temperature", 0.9)))  # fmt: skip
    seed = [r for _, r in rows]
    seen = {normalise(r["text"]) for r in seed if isinstance(r.get("text"), str)}
    taken = {str(r.get("dialogue_id")) for r in seed}
    prefix, counter = str(_opt(args, "id_prefix", "synth")), 0
    made: list[Record] = []
    notes: list[str] = []
    by_source: dict[str, int] = {}
    requests = 0

    def add(lang: str, emotion: str, text: str, response: str, core: list[str], source: str) -> bool:
        nonlocal counter
        key = normalise(text)
        if key in seen:
            return False
        seen.add(key)
        counter += 1
        while f"{prefix}-{counter:06d}" in taken:
            counter += 1
        made.append(new_record(f"{prefix}-{counter:06d}", lang, text, response, emotion, core, source))
        by_source[source] = by_source.get(source, 0) + 1
        return True

    for lang in langs:
        for emotion in emotions:
            have = sum(1 for r in seed if r.get("lang") == lang and r.get("emotion") == emotion)
            need = max(0, per_class - (have if _opt(args, "top_up", False) else 0))
            got = 0
            if generator is not None and need:
                examples = [r for r in seed if r.get("lang") == lang and r.get("emotion") == emotion][:2]
                source = f"synth:{generator.model}"
                for _ in range(-(-need // batch) + 2):  # bounded: a few requests more than the minimum
                    if got >= need:
                        break
                    try:
                        items = generator.ask(lang, emotion, min(batch, need - got), examples)
                    except GeneratorError as e:
                        reason, generator = f"{e}", None
                        log.warning("synth: %s; going on with templates only", e)
                        break
                    requests += 1
                    for item in items:
                        ok = accept_item(item, lang)
                        if ok and got < need and add(lang, emotion, *ok, source):
                            got += 1
            if got < need and not filler.has(lang, emotion):
                notes.append(f"{lang}/{emotion}: no templates, {need - got} rows short")
                continue
            tries = 0
            while got < need and tries < 50 * need:
                tries += 1
                got += add(lang, emotion, *filler.make(lang, emotion), TEMPLATE_SOURCE)
            if got < need:
                notes.append(f"{lang}/{emotion}: the templates gave only {got} different rows of {need}")
    model_rows = sum(n for s, n in by_source.items() if s != TEMPLATE_SOURCE)
    if _opt(args, "endpoint", None) and generator is not None:
        described = f"synth:{generator.model} ({generator.display})"
        if by_source.get(TEMPLATE_SOURCE):
            described += f"; templates filled {by_source[TEMPLATE_SOURCE]} rows it did not give"
    elif model_rows:
        described = f"synth:{args.model} for {model_rows} rows, then templates only: {reason}"
    else:
        described = f"templates only: {reason}"
    report = {"generator": described, "generated": len(made), "by_source": by_source, "requests": requests,
              "by_class": _count(made), "notes": notes}  # fmt: skip
    return StepResult(kept=made if _opt(args, "only_new", False) else [*seed, *made], report=report)


def _count(rows: list[Record]) -> dict[str, int]:
    out: dict[str, int] = {}
    for r in rows:
        k = f"{r['lang']}/{r['emotion']}"
        out[k] = out.get(k, 0) + 1
    return out
