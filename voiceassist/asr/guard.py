"""Guards against Whisper's hallucinations that hold on every CPU.

CTranslate2 picks its int8 kernels by instruction set (AVX2, AVX-512, AMX...), so the same audio decodes
to different text, with different ``no_speech_prob`` and ``avg_logprob``, on different machines. A guard
tuned to one machine's numbers fails on the next. So the decisions here lean on signals that do not
depend on the exact decode:

1. **Before decoding** (``gate``): audio quieter than a floor, or in which silero-vad finds (almost) no
   speech, is never sent to Whisper. Silence, noise and hum stop here, whatever the decoder would write.
2. **The shape of the text** (``find_loop``, ``compression_ratio``): a word or character (or a short
   phrase) repeated many times in a row is a decoding loop, in Chinese as in English.
3. **Known phantom phrases** for very short outputs, in both languages ("Thanks for watching!",
   "字幕由Amara.org社区提供"): subtitle credits and channel promotions are always dropped; words that are
   also real answers ("Thank you", "谢谢") only when another signal agrees.
4. **no_speech_prob alone for short outputs**: a one- or two-word output the decoder itself thinks is
   probably not speech is dropped, whatever avg_logprob says.

Real short answers ("yes", "no", "好的", "okay") pass: they have speech for the gate, no loop, no phantom
match and a low no_speech_prob. Pure functions: the ASR backend calls them; tests replay recorded decoder
outputs from several instruction sets through them (tests/data/asr_decodes.json).
"""

from __future__ import annotations

import re
import zlib
from dataclasses import dataclass

import numpy as np

from voiceassist.config import AsrConfig
from voiceassist.lang import CJK_RANGES

_CJK = CJK_RANGES
_UNIT = re.compile(rf"[{_CJK}]|[^\W{_CJK}]+", re.UNICODE)  # one CJK character, or one word
_IS_CJK = re.compile(rf"[{_CJK}]")

# Always dropped when they make up a short output: nobody says these to an assistant; Whisper writes
# them because its training data ends videos with them. Patterns match normalised text (see ``normalise``).
PHANTOM_ALWAYS = tuple(
    re.compile(p)
    for p in (
        r"(thanks?|thank you) (so much )?for watching",
        r"(please |dont forget to )?(like and )?subscribe",
        r"subtitles? (by|made by|provided by)",
        r"(captions?|transcription|translation|transcribed|translated) by",
        r"amara ?org",
        r"see you (in the )?next (video|time|episode)",
        r"字幕",
        r"订阅|訂閱",
        r"点赞|點贊|点点栏目|點點欄目",
        r"明镜|明鏡",
        r"打赏|打賞",
        r"转发|轉發",
        r"请不吝|請不吝",
        r"(谢谢|謝謝|感谢|感謝)(收看|观看|觀看)",
        r"独播剧场|獨播劇場",
        r"yoyo television",
        r"以下是普通话的句子|以下是普通話的句子",  # asr.initial_prompt_zh, echoed back on a near-silent input
    )
)
# Also real answers: dropped only when another signal says there was little or no speech.
PHANTOM_SUSPECT = frozenset(
    {
        "you",
        "thank you",
        "thanks",
        "thank you very much",
        "bye",
        "bye bye",
        "so",
        "the",
        "i",
        "a",
        "oh",
        "um",
        "uh",
        "hmm",
        "mm",
        "ah",
        "谢谢",
        "謝謝",
        "谢谢大家",
        "謝謝大家",
        "嗯",
        "啊",
        "哦",
        "呃",
        "唔",
    }
)
PHANTOM_MIN_SHARE = 0.4  # the always-list drops an output that is mostly phantom, not a sentence that has one
SUSPECT_NO_SPEECH = 0.3  # what "another signal agrees" means for the suspect list...
SUSPECT_SPEECH_S = 0.3  # ...or less speech than this for the gate
LOOP_MAX_N = 8  # longest repeated phrase, in units, that ``find_loop`` looks for


def normalise(text: str) -> str:
    """Lower case, punctuation dropped, words separated by one space, CJK characters not separated."""
    return _key(_UNIT.findall(text.lower()))


def _key(tokens: list[str]) -> str:
    """Units joined back: words with one space between them, CJK characters with none."""
    out: list[str] = []
    for t in tokens:
        if out and not (_IS_CJK.match(t) or _IS_CJK.match(out[-1][-1])):
            out.append(" ")
        out.append(t)
    return "".join(out)


def phantom_share(key: str) -> float:
    """Share of the (normalised) text covered by known phantom phrases."""
    if not key:
        return 0.0
    covered = np.zeros(len(key), dtype=bool)
    for p in PHANTOM_ALWAYS:
        for m in p.finditer(key):
            covered[m.start() : m.end()] = True
    return float(covered.sum()) / len(key.replace(" ", "")) if key.strip() else 0.0


def units(text: str) -> list[str]:
    """Words, and single CJK characters: what "repeated" and "short" are counted in."""
    return _UNIT.findall(text.lower())


def compression_ratio(text: str) -> float:
    """Whisper's own measure: length of the UTF-8 text over its zlib-compressed length."""
    data = text.encode("utf-8")
    return len(data) / len(zlib.compress(data)) if data else 0.0


@dataclass(frozen=True)
class Loop:
    start: int  # unit index where the repetition begins
    n: int  # length of the repeated phrase, in units
    repeats: int

    @property
    def end(self) -> int:
        return self.start + self.n * self.repeats


def find_loop(tokens: list[str], max_repeats: int) -> Loop | None:
    """The longest run (in units covered) of a phrase of 1..LOOP_MAX_N units repeated back to back more
    than ``max_repeats`` times; None when there is none. "傻 傻 傻 傻 傻 傻" is one, "哈哈哈" is not."""
    best: Loop | None = None
    for n in range(1, min(LOOP_MAX_N, len(tokens) // 2) + 1):
        i = 0
        while i + n <= len(tokens):
            k = 1
            while tokens[i + k * n : i + (k + 1) * n] == tokens[i : i + n]:
                k += 1
            # a longer phrase needs fewer repeats to be a loop ("and then and then and then")
            need = max_repeats if n == 1 else max(2, max_repeats - 1 if n == 2 else max_repeats - 2)
            if k > need and (best is None or k * n > best.n * best.repeats):
                best = Loop(i, n, k)
            i += max(1, (k - 1) * n) if k > 1 else 1
    return best


@dataclass(frozen=True)
class Verdict:
    keep: bool
    text: str  # what is kept (a loop cut down to one occurrence); "" when dropped
    reason: str | None  # why it was dropped or changed: loop, phantom, no_speech, low_logprob, ...


def judge(
    text: str, no_speech_prob: float, avg_logprob: float, cfg: AsrConfig, speech_s: float | None = None
) -> Verdict:
    """Keep, cut or drop one decoded piece of text. ``speech_s``: seconds of speech the gate heard in the
    audio (None when the gate did not run)."""
    tokens = units(text)
    if not tokens:
        return Verdict(False, "", "empty")
    loop = find_loop(tokens, cfg.max_loop_repeats)
    if loop is not None:
        covered = loop.n * loop.repeats
        if covered * 2 >= len(tokens):
            return Verdict(False, "", "loop")
        text = _cut_loop(text, tokens, loop)
        tokens = units(text)
    norm = _key(tokens)
    if phantom_share(norm) >= PHANTOM_MIN_SHARE:
        return Verdict(False, "", "phantom")
    little_speech = speech_s is not None and speech_s < SUSPECT_SPEECH_S
    if norm in PHANTOM_SUSPECT and (no_speech_prob > SUSPECT_NO_SPEECH or little_speech):
        return Verdict(False, "", "phantom")
    if len(tokens) <= cfg.short_output_units and no_speech_prob > cfg.short_no_speech_prob:
        return Verdict(False, "", "no_speech")
    if no_speech_prob > cfg.no_speech_threshold and avg_logprob < cfg.logprob_threshold:
        return Verdict(False, "", "no_speech")
    if avg_logprob < cfg.min_avg_logprob:
        return Verdict(False, "", "low_logprob")
    if compression_ratio(text) > cfg.max_compression_ratio:
        return Verdict(False, "", "repetitive")
    return Verdict(True, text, "loop_cut" if loop is not None else None)


def _cut_loop(text: str, tokens: list[str], loop: Loop) -> str:
    """The text with a loop reduced to one occurrence of its phrase (as units, joined back)."""
    return _key(tokens[: loop.start + loop.n] + tokens[loop.end :])


@dataclass(frozen=True)
class Gate:
    decode: bool
    rms_dbfs: float
    speech_s: float | None  # None: silero was not run (too quiet already, or the gate is off)
    reason: str | None  # too_quiet, no_speech


def gate(audio: np.ndarray, cfg: AsrConfig) -> Gate:
    """Decide before decoding: 16 kHz mono float32 audio in [-1, 1]."""
    x = np.asarray(audio, dtype=np.float32)
    rms = float(np.sqrt(np.mean(np.square(x, dtype=np.float64)))) if len(x) else 0.0
    rms_dbfs = 20.0 * float(np.log10(max(rms, 1e-10)))
    if not cfg.speech_gate:
        return Gate(True, rms_dbfs, None, None)
    if rms_dbfs < cfg.gate_rms_floor_dbfs:
        return Gate(False, rms_dbfs, None, "too_quiet")
    from voiceassist.audio.silero import silero_speech_seconds

    speech_s = silero_speech_seconds(x, min_speech_ms=min(cfg.gate_min_speech_ms, 250) or 1)
    if speech_s * 1000 < cfg.gate_min_speech_ms:
        return Gate(False, rms_dbfs, speech_s, "no_speech")
    return Gate(True, rms_dbfs, speech_s, None)


@dataclass(frozen=True)
class Decision:
    texts: list[str]  # the kept pieces, in order
    reasons: list[str]  # why pieces were dropped or cut
    produced: bool  # the decoder wrote any text at all


def decide(g: Gate, pieces: list[tuple[str, float, float]], cfg: AsrConfig) -> Decision:
    """What is kept of one utterance: the gate's verdict, then each decoded piece (text, no_speech_prob,
    avg_logprob) judged on its own. Used by the backend and, on recorded decoder outputs, by the tests."""
    if not g.decode:
        return Decision([], [g.reason or "gate"], False)
    texts, reasons, produced = [], [], False
    for text, no_speech_prob, avg_logprob in pieces:
        produced = produced or bool(text.strip())
        v = judge(text, no_speech_prob, avg_logprob, cfg, g.speech_s)
        if v.reason is not None:
            reasons.append(v.reason)
        if v.keep:
            texts.append(v.text.strip())
    return Decision(texts, reasons, produced)
