"""Mandarin-first speech recognition through FunASR: SenseVoice-Small or Paraformer-zh, from a local folder.

``asr.model``: ``sensevoice-small``, ``paraformer-zh``, ``auto`` (the first installed) or a folder, looked for
under the models dir and in the ModelScope and Hugging Face caches (never downloaded). SenseVoice's tags
(``<|zh|><|HAPPY|><|Speech|><|withitn|>今天天气真好。``) are stripped, and returned by ``transcribe_with_tags``;
Paraformer writes text only (no punctuation), Mandarin. FunASR is imported in ``load`` (it takes seconds)."""

from __future__ import annotations

import contextlib
import importlib.util
import logging
import math
import os
import re
import sys
import threading
import warnings
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, TypedDict

import numpy as np

from voiceassist.asr import guard
from voiceassist.asr.base import AsrResult
from voiceassist.asr.models import ModelNotFoundError
from voiceassist.config import AsrConfig
from voiceassist.emotion.base import EmotionModelError
from voiceassist.emotion.emotion2vec import import_funasr, read_checkpoint, verify_loaded
from voiceassist.events import Word
from voiceassist.lang import CJK_RANGES
from voiceassist.paths import models_dir

log = logging.getLogger(__name__)

_PARAFORMER_MS = "iic/speech_paraformer-large_asr_nat-zh-cn-16k-common-vocab8404-pytorch"
_SEACO_MS = "iic/speech_seaco_paraformer_large_asr_nat-zh-cn-16k-common-vocab8404-pytorch"  # FunASR's alias
# name -> (model class, folder under the models dir, Hugging Face repo, ModelScope repos)
MODELS: dict[str, tuple[str, str, str, tuple[str, ...]]] = {
    "sensevoice-small": ("SenseVoiceSmall", "SenseVoiceSmall", "FunAudioLLM/SenseVoiceSmall", ("iic/SenseVoiceSmall",)),
    "paraformer-zh": ("Paraformer", "paraformer-zh", "funasr/paraformer-zh", (_PARAFORMER_MS, _SEACO_MS)),
}
SENSEVOICE_BPE = "chn_jpn_yue_eng_ko_spectok.bpe.model"
# model class -> its tokenizer file (configuration.json is optional: the backend passes the paths itself)
TOKENIZER = {"SenseVoiceSmall": SENSEVOICE_BPE, "Paraformer": "tokens.json", "SeacoParaformer": "tokens.json"}
LANGUAGE_TAGS = {tag: tag for tag in ("zh", "en", "yue", "ja", "ko", "nospeech")}
EMOTION_TAGS = {"HAPPY": "happy", "SAD": "sad", "ANGRY": "angry", "NEUTRAL": "neutral", "FEARFUL": "fearful"}
EMOTION_TAGS |= {"DISGUSTED": "disgusted", "SURPRISED": "surprised", "EMO_UNKNOWN": "unknown"}
_TAG = re.compile(r"<\|([^|<>]*)\|>")
_CJK_SPACE = re.compile(rf"(?<=[{CJK_RANGES}]) +| +(?=[{CJK_RANGES}])")  # Paraformer spaces out timed tokens
MIN_SAMPLES = 1600  # 0.1 s: shorter input is padded with silence (the frontend needs whole frames)


class FunAsrModelError(ModelNotFoundError):
    """A FunASR model that is missing, incomplete, or whose weights do not match its config."""


class Tags(TypedDict):
    language: str | None  # SenseVoice's tag: zh, en, yue, ja, ko or nospeech (Paraformer: "zh"); None: none
    emotion: str | None  # a label of voiceassist/emotion/labels.py (EMO_UNKNOWN: "unknown"); None: no tag
    event: str | None  # Speech, BGM, Laughter, Applause, Cry, Sneeze, Breath, Cough...; None: none or Event_UNK
    emotion_scores: dict[str, float] | None  # the emotion position's probabilities over the tags, by label


def parse_tags(raw: str) -> tuple[str, Tags]:
    """SenseVoice's output -> (the text without any tag, the first tag of each kind)."""
    tags = Tags(language=None, emotion=None, event=None, emotion_scores=None)
    for name in _TAG.findall(raw):
        if name in LANGUAGE_TAGS:
            tags["language"] = tags["language"] or name
        elif name in EMOTION_TAGS:
            tags["emotion"] = tags["emotion"] or EMOTION_TAGS[name]
        elif name not in ("withitn", "woitn", "Event_UNK") and re.fullmatch(r"[A-Z][A-Za-z_]*", name):
            tags["event"] = tags["event"] or name
    return " ".join(_TAG.sub(" ", raw).split()), tags


def model_type(folder: Path) -> str:
    """The ``model:`` class named by the folder's config.yaml ("" when there is none to read)."""
    config = folder / "config.yaml"
    m = re.search(r"^model:\s*['\"]?([\w.-]+)", config.read_text("utf-8", "replace") if config.is_file() else "", re.M)
    return m.group(1) if m else ""


def missing_files(folder: Path, kind: str = "") -> list[str]:
    """The files FunASR reads that ``folder`` lacks; ``kind``: the model class, when config.yaml cannot say."""
    tokenizer = TOKENIZER.get(model_type(folder) or kind)
    if tokenizer == "tokens.json" and (folder / "tokens.txt").is_file():
        tokenizer = "tokens.txt"  # as older Paraformer folders have
    need = ["config.yaml", "model.pt", "am.mvn", *([tokenizer] if tokenizer else [])]
    return [f for f in need if not (folder / f).is_file()]


def _candidates(name: str, base: Path) -> list[Path]:
    _, folder, hf, ms = MODELS[name]
    ms_cache = Path(os.environ.get("MODELSCOPE_CACHE", Path.home() / ".cache" / "modelscope" / "hub"))
    out = [base / folder, base / hf]
    for repo in ms:
        out += [base / repo.split("/")[1], base / repo, ms_cache / "models" / repo, ms_cache / repo]
    with contextlib.suppress(Exception):  # the Hugging Face cache, if it has a copy
        out.append(Path(importlib.import_module("huggingface_hub").snapshot_download(hf, local_files_only=True)))
    return out


def find_model(name: str, models_dir: Path) -> Path:
    """The folder of ``name`` (a MODELS name, auto, a folder, a folder under ``models_dir``), or an error that
    says which files are missing and how to get them."""
    path = Path(name).expanduser()
    path = path if path.is_dir() or name in MODELS or name == "auto" else models_dir / name
    if path.is_dir():
        if missing := missing_files(path):
            raise FunAsrModelError(f"{path} is not a FunASR model folder: missing {', '.join(missing)}")
        return path
    names = list(MODELS) if name == "auto" else [name] if name in MODELS else []
    if not names:
        raise FunAsrModelError(f"unknown FunASR model {name!r}: use one of {', '.join(MODELS)}, auto, or a folder")
    incomplete: list[str] = []
    for n in names:
        for folder in _candidates(n, models_dir):
            if folder.is_dir() and not (missing := missing_files(folder, MODELS[n][0])):
                return folder
            incomplete += [f"{folder} lacks {', '.join(missing)}. "] if folder.is_dir() else []
    kind, home, hf, ms = MODELS[names[0]]
    pull = " or ".join(f"'voiceassist models pull {n}'" for n in names)
    raise FunAsrModelError(
        f"FunASR model {name!r} not found. {''.join(incomplete[:1])}Get it with {pull}, or put its files (config.yaml, "
        f"model.pt, am.mvn, {TOKENIZER[kind]}) in {models_dir / home}, from https://huggingface.co/{hf} or "
        f"https://modelscope.cn/models/{ms[0]}"
    )


@contextlib.contextmanager
def _quiet() -> Iterator[None]:  # no warnings (FunASR's are noise; tests make them errors); stdout kept clean
    with warnings.catch_warnings(), contextlib.redirect_stdout(sys.stderr):
        warnings.simplefilter("ignore")
        yield


class FunAsrBackend:
    name = "funasr"
    embedded = False

    def __init__(self, cfg: AsrConfig, models_dir_setting: str = "") -> None:
        self.cfg = cfg
        self.models_dir = models_dir(models_dir_setting)
        self.folder: Path | None = None
        self.kind = ""  # the model class: SenseVoiceSmall, Paraformer or SeacoParaformer
        self.device = "cpu"
        self._model: Any = None
        self._ids: dict[str, int] = {}  # SenseVoice tag name -> token id
        self._converter: Any = None
        self._lock = threading.RLock()  # one pass at a time: FunASR's generate and our hook are shared state

    @property
    def description(self) -> str:
        loaded = f"{self.kind} ({self.folder}, {self.device})" if self.folder else f"{self.cfg.model} (not loaded)"
        return f"FunASR {loaded}"

    def load(self) -> None:
        with self._lock:
            folder = find_model(self.cfg.model, self.models_dir)
            if (kind := model_type(folder)) not in TOKENIZER:
                raise FunAsrModelError(f"{folder} holds a {kind or 'unknown'} model, not one of {', '.join(TOKENIZER)}")
            if not any(importlib.util.find_spec(m) for m in ("torchaudio", "kaldi_native_fbank")):
                raise FunAsrModelError("FunASR's recognisers need filterbank features: pip install kaldi-native-fbank")
            torch = importlib.import_module("torch")
            AutoModel = import_funasr().AutoModel
            device = self.cfg.device if self.cfg.device != "auto" else "cuda" if torch.cuda.is_available() else "cpu"
            # the paths ourselves (configuration.json is optional); dither 0: no random noise in the features
            paths: dict[str, Any] = {"frontend_conf": {"cmvn_file": str(folder / "am.mvn"), "dither": 0.0}}
            paths["tokenizer_conf"] = {"bpemodel": str(folder / SENSEVOICE_BPE)} if kind == "SenseVoiceSmall" else {}
            threads = self.cfg.cpu_threads or torch.get_num_threads()  # AutoModel sets torch's (global) count
            try:
                state = read_checkpoint(folder / "model.pt")
                with _quiet():
                    model = AutoModel(
                        model=str(folder), init_param=str(folder / "model.pt"), disable_update=True, device=device,
                        ncpu=threads, disable_pbar=True, **paths,
                    )  # fmt: skip
                verify_loaded(model.model, folder / "model.pt", state)  # FunASR keeps random weights silently
            except EmotionModelError as e:
                raise FunAsrModelError(str(e)) from e
            except Exception as e:
                raise FunAsrModelError(f"FunASR could not load {folder}: {type(e).__name__}: {e}") from e
            if kind == "SenseVoiceSmall":
                sp = model.kwargs["tokenizer"].sp
                ids = {n: sp.piece_to_id(f"<|{n}|>") for n in (*LANGUAGE_TAGS, *EMOTION_TAGS)}
                self._ids = {n: i for n, i in ids.items() if i != sp.unk_id()}
            if self.cfg.hotwords and kind != "SeacoParaformer":
                log.info("asr.hotwords are not used by %s (only SeACo-Paraformer takes hotwords)", kind)
            conversion = {"simplified": "t2s", "traditional": "s2t"}.get(self.cfg.chinese_script)  # as-is: none
            self._converter = importlib.import_module("opencc").OpenCC(conversion) if conversion else None
            self._model, self.folder, self.kind, self.device = model, folder, kind, str(model.kwargs["device"])
            log.info("ASR ready: %s", self.description)

    def warmup(self) -> None:
        noise = np.random.default_rng(0).normal(0, 0.01, 8000).astype(np.float32)
        with self._lock:
            if self._model is None:
                self.load()
            self._decode(noise, "auto", False)  # directly: the gate would (rightly) skip it
        guard.gate(noise, self.cfg)

    def transcribe(self, audio: np.ndarray, language: str | None = None, words: bool = False) -> AsrResult:
        return self.transcribe_with_tags(audio, language, words)[0]

    def transcribe_with_tags(
        self, audio: np.ndarray, language: str | None = None, words: bool = False
    ) -> tuple[AsrResult, Tags]:
        """``transcribe``, and SenseVoice's tags of the same pass (``Tags``). The numbers come from the output
        layer in that pass (a hook): ``language_probability`` 1.0 when the language was asked for (and Paraformer),
        else SenseVoice's probability of the reported language among its language tags (low for one outside
        ``asr.languages``: the likeliest allowed one is reported, as with Whisper); ``no_speech_prob`` that of
        ``<|nospeech|>`` (Paraformer: 0.0 when it wrote tokens, else 1.0); ``avg_logprob`` the mean log-probability
        of the tokens written (0.0: none), not on Whisper's scale, so the guard gets 0.0. Speech gate first, the
        text-shape guards (loops, phantom phrases) after, as for Whisper; ``encoder`` None."""
        asked = self.cfg.language if language is None else language
        audio = np.ascontiguousarray(audio, dtype=np.float32)
        g = guard.gate(audio, self.cfg)
        if not g.decode:  # silence, noise, hum: the model never sees it
            known = asked if asked in self.cfg.languages else self.cfg.languages[0]
            return AsrResult("", known, 0.0, 1.0, -math.inf, False, g.reason), parse_tags("")[1]
        with self._lock:
            if self._model is None:
                self.load()
            res, logits = self._decode(audio, asked, words)
            return self._result(res, logits, asked, g, words)

    def _decode(self, audio: np.ndarray, asked: str, words: bool) -> tuple[dict[str, Any], np.ndarray | None]:
        """FunASR's result for ``audio``, and the logits of the output layer it ran (steps, vocabulary)."""
        audio = np.pad(audio, (0, max(0, MIN_SAMPLES - len(audio))))
        net, seen = self._model.model, []
        layer = net.ctc.ctc_lo if self.kind == "SenseVoiceSmall" else net.decoder
        hook = layer.register_forward_hook(lambda _m, _i, out: seen.append(out[0] if isinstance(out, tuple) else out))
        opts: dict[str, Any] = {"disable_pbar": True}
        if self.kind == "SenseVoiceSmall":
            opts.update(language=asked if asked in LANGUAGE_TAGS else "auto", use_itn=True, output_timestamp=words)
        else:
            opts.update(pred_timestamp=words)
            hot = [w for w in self.cfg.hotwords if not w.lower().startswith("http") and not w.endswith(".txt")]
            if self.kind == "SeacoParaformer" and hot:  # FunASR fetches a URL or reads a .txt path given here
                opts["hotword"] = " ".join(hot)
        try:
            with _quiet():
                out = self._model.generate(audio, **opts)
        finally:
            hook.remove()
        ok = seen and seen[0].dim() == 3 and seen[0].shape[-1] == net.vocab_size
        return (out[0] if out else {"text": ""}), (seen[0].detach().float().cpu().numpy()[0] if ok else None)

    def _result(
        self, res: dict[str, Any], logits: np.ndarray | None, asked: str, g: guard.Gate, words: bool
    ) -> tuple[AsrResult, Tags]:
        text, tags = parse_tags(str(res.get("text", "")))
        lp = None if logits is None else logits - np.logaddexp.reduce(logits, axis=-1, keepdims=True)
        probability, avg, nsp = 1.0, 0.0, 0.0 if text else 1.0
        if self.kind != "SenseVoiceSmall":
            text, tags["language"], language = _CJK_SPACE.sub("", text), "zh", "zh"
            avg = float(lp.max(axis=-1).mean()) if lp is not None and len(lp) else 0.0
        else:
            p_lang = self._softmax_over(lp, 0, LANGUAGE_TAGS)
            tags["emotion_scores"] = self._softmax_over(lp, 1, EMOTION_TAGS) or None
            nsp = p_lang.get("nospeech", nsp)
            # asked for; else the tag; else (nospeech, no tag, a language outside asr.languages) the likeliest allowed
            language = asked if asked in self.cfg.languages else str(tags["language"])
            if language not in self.cfg.languages:
                language = max(self.cfg.languages, key=lambda code: p_lang.get(code, 0.0))
            if asked not in self.cfg.languages:
                probability = p_lang.get(language, 1.0 if language == tags["language"] else 0.0)
            if lp is not None and len(lp) > 4:  # after the 4 tag positions; token id 0 is CTC's blank
                written = lp[4:].max(axis=-1)[lp[4:].argmax(axis=-1) != 0]
                avg = float(written.mean()) if len(written) else 0.0
        if language == "zh" and self._converter is not None:
            text = self._converter.convert(text)
        kept, reason = "", "no_speech" if text and tags["language"] == "nospeech" else None
        if text and reason is None:
            v = guard.judge(text, nsp, 0.0, self.cfg, g.speech_s)
            kept, reason = v.text.strip(), v.reason
        got = self._words(res, math.exp(avg)) if words and kept and reason is None else ()
        return AsrResult(kept, language, probability, nsp, avg, bool(text) and not kept, reason, words=got), tags

    def _softmax_over(self, lp: np.ndarray | None, row: int, names: Mapping[str, str]) -> dict[str, float]:
        """Probabilities of the tags ``names`` at output position ``row``, renormalised among them, by label."""
        have = [n for n in names if n in self._ids]
        if lp is None or len(lp) <= row or not have:
            return {}
        x = lp[row, [self._ids[n] for n in have]].astype(np.float64)
        p = np.exp(x - x.max())
        return {names[n]: float(v) for n, v in zip(have, p / p.sum(), strict=True)}

    def _words(self, res: dict[str, Any], conf: float) -> tuple[Word, ...]:
        """Word times (FunASR's in ms), when they line up; each word carries the utterance's confidence."""
        stamps = res.get("timestamp") or []
        units = [parse_tags(str(w))[0] for w in res.get("words") or str(res.get("text", "")).split()]
        if not stamps or len(stamps) != len(units) or not all(units):
            return ()
        conv = self._converter.convert if self._converter is not None else str
        return tuple(Word(conv(u), s / 1000, e / 1000, round(conf, 4)) for u, (s, e) in zip(units, stamps, strict=True))
