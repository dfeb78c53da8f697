"""The assessment stage: whatever order and thread the halves of utterances arrive on, fusion, mood,
alerts and reply requests come out once per utterance, in segment order, with the right contents."""

from __future__ import annotations

import itertools
import random
import threading

import numpy as np
import pytest

from voiceassist.bus import Collector, EventBus
from voiceassist.config import Config
from voiceassist.emotion import EmotionEstimate
from voiceassist.emotion.labels import INDEX, LABELS
from voiceassist.events import FusedEmotion, MoodUpdate, Transcript
from voiceassist.pipeline.assess import AssessmentStage, Opened, Part
from voiceassist.worker import Worker


def estimate(label: str, backend: str, conf: float = 0.8) -> EmotionEstimate:
    scores = np.full(len(LABELS), (1 - conf) / (len(LABELS) - 1), np.float64)
    scores[INDEX[label]] = conf
    return EmotionEstimate(
        scores=scores, backend=backend, embedding=np.random.default_rng(INDEX[label]).normal(size=8).astype(np.float32)
    )


def transcript(seg: int, text: str, lang: str = "en") -> Transcript:
    return Transcript(
        segment_id=seg,
        text=text,
        language=lang,
        language_probability=1.0,
        start_s=seg,
        end_s=seg + 0.8,
        backend="scripted",
        no_speech_prob=0.0,
        avg_logprob=-0.1,
    )


class Alerts:
    """Records what the assessment asks of the alert service, and from which thread."""

    channels = ("banner",)

    def __init__(self) -> None:
        self.calls: list[tuple[int, str]] = []
        self.threads: set[str] = set()

    def evaluate(self, t, segment_id, text, metric, evidence, crisis=None):
        self.calls.append((segment_id, text))
        self.threads.add(threading.current_thread().name)
        return []


# four utterances: (speech label, words or "" for an empty transcript, words label, language)
SCRIPT = {
    1: ("happy", "I am so happy today", "happy", "en"),
    2: ("sad", "", None, "en"),  # empty transcript: no text emotion will come
    3: ("angry", "我真的很生气", "angry", "zh"),
    4: (None, "I feel calm", "neutral", "en"),  # the voice estimate failed: a part with None
}


def parts_for(seg: int) -> list[Part]:
    speech_label, words, text_label, lang = SCRIPT[seg]
    out = [
        Part(seg, "transcript", transcript(seg, words, lang)),
        Part(seg, "speech", estimate(speech_label, "voice") if speech_label else None),
    ]
    if words:
        out.append(Part(seg, "text", estimate(text_label, "words")))
    return out


def run_stage(order: list[Part], threads: int, seed: int) -> tuple[Collector, Alerts, list]:
    cfg = Config()
    bus = EventBus()
    col = Collector()
    bus.subscribe(col)
    alerts = Alerts()
    replies: list = []
    stage = AssessmentStage(cfg, alerts=alerts, reply=replies.append)
    worker: Worker[Part] = Worker("assess", bus, stage.handle, maxsize=256)
    worker.start()
    for seg in SCRIPT:  # the capture thread opens the records in order
        worker.submit(Part(seg, "opened", Opened(float(seg), seg + 0.8, 0.0)))
    chunks = [order[i::threads] for i in range(threads)]
    rng = random.Random(seed)

    def deliver(chunk: list[Part]) -> None:
        for p in chunk:
            if rng.random() < 0.3:
                threading.Event().wait(0.001)
            worker.submit(p)

    ts = [threading.Thread(target=deliver, args=(c,)) for c in chunks]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert worker.drain(10)
    return col, alerts, replies


def check(col: Collector, alerts: Alerts, replies: list) -> None:
    fused = col.of(FusedEmotion)
    moods = col.of(MoodUpdate)
    assert [f.segment_id for f in fused] == [1, 2, 3, 4]
    assert [m.segment_id for m in moods] == [1, 2, 3, 4]
    assert [m.state.n for m in moods] == [1, 2, 3, 4]  # one tracker, fed in order
    assert [r.segment_id for r in replies] == [1, 2, 3, 4]
    assert [c[0] for c in alerts.calls] == [1, 2, 3, 4]
    assert alerts.threads == {"voiceassist-assess"}  # policies only ever run on the assessment thread
    by_seg = {f.segment_id: f for f in fused}
    assert by_seg[1].speech.label == "happy" and by_seg[1].text.label == "happy" and by_seg[1].language == "en"
    assert by_seg[2].speech.label == "sad" and by_seg[2].text is None  # empty transcript: voice alone
    assert by_seg[3].text.label == "angry" and by_seg[3].language == "zh"
    assert by_seg[4].speech is None and by_seg[4].text.label == "neutral"
    # the utterance's language is decided once: fusion and the reply agree
    assert [r.language for r in replies] == [by_seg[s].language for s in (1, 2, 3, 4)]
    assert [r.text for r in replies] == [SCRIPT[s][1] for s in (1, 2, 3, 4)]
    # each event follows the halves it was made from (they were all submitted before it)
    for f, m in zip(fused, moods, strict=True):
        assert col.events.index(f) < col.events.index(m)


@pytest.mark.parametrize("perm", list(itertools.permutations(range(3))))
def test_every_order_of_one_utterances_halves(perm: tuple[int, ...]):
    """All 6 orders of utterance 1's three halves, the other utterances' halves before and after them."""
    first = parts_for(1)
    order = [first[i] for i in perm] + parts_for(4) + parts_for(2) + parts_for(3)
    check(*run_stage(order, threads=1, seed=0))


@pytest.mark.parametrize("seed", range(12))
def test_random_orders_on_several_threads(seed: int):
    order = [p for seg in SCRIPT for p in parts_for(seg)]
    random.Random(seed).shuffle(order)
    check(*run_stage(order, threads=3, seed=seed))


def test_a_later_utterance_waits_for_an_earlier_slow_one():
    """Utterance 2's transcript is empty (ready at once) while utterance 1 is still in the text model:
    nothing of utterance 2 comes out before utterance 1."""
    p1, p2 = parts_for(1), parts_for(2)
    col, alerts, replies = run_stage(p2 + p1[:2] + [p1[2]] + parts_for(3) + parts_for(4), threads=1, seed=0)
    check(col, alerts, replies)


def test_duplicate_and_unknown_parts_are_ignored():
    cfg = Config()
    stage = AssessmentStage(cfg)
    out = list(stage.handle(Part(9, "speech", None)))  # never opened
    assert out == []
    list(stage.handle(Part(1, "opened", Opened(0.0, 1.0, 0.0))))
    list(stage.handle(Part(1, "transcript", transcript(1, ""))))
    events = list(stage.handle(Part(1, "speech", estimate("sad", "voice"))))
    assert [type(e) for e in events] == [FusedEmotion, MoodUpdate] and stage.pending == 0
    assert list(stage.handle(Part(1, "speech", estimate("happy", "voice")))) == []
