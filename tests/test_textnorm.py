"""The normalised text the text stages read (voiceassist/textnorm.py): pure, no models."""

from __future__ import annotations

import pytest

from voiceassist.textnorm import normalize, numbers_to_chinese


@pytest.mark.parametrize(
    ("whisper_wrote", "stages_read"),
    [
        ("1234567890", "一二三四五六七八九零"),  # a counted or dialled run: digit by digit
        ("我吃了3个苹果", "我吃了三个苹果"),
        ("我等了25分钟", "我等了二十五分钟"),
        ("50%的人", "百分之五十的人"),
        ("2024年", "二零二四年"),
        ("走了3.5公里", "走了三点五公里"),
        ("电话0102", "电话零一零二"),
        ("我覺得很難過", "我觉得很难过"),  # traditional -> simplified
        ("你 好 世 界", "你好世界"),  # spaces between Chinese characters
        ("１２点了！", "十二点了!"),  # full-width digits and punctuation
        ("一了百了", "一了百了"),  # numerals stay numerals: idioms and lexicon words keep matching
        ("我今天 meeting 好多", "我今天 meeting 好多"),  # English words in Mandarin speech stay
        ("用了GPT4o", "用了GPT4o"),  # digits inside a Latin word are not numbers
    ],
)
def test_chinese_text_is_normalised_for_the_text_stages(whisper_wrote: str, stages_read: str) -> None:
    assert normalize(whisper_wrote, "zh") == stages_read


def test_one_and_1_match_alike() -> None:
    assert normalize("我有1个问题", "zh") == normalize("我有一个问题", "zh") == "我有一个问题"


def test_english_text_only_gets_the_width_fold() -> None:
    assert normalize("I have 3 cats", "en") == "I have 3 cats"
    assert normalize("ＯＫ！", "en") == "OK!"


def test_normalising_twice_changes_nothing() -> None:
    for text in ("我吃了3个苹果", "1234567890", "我覺得很難過", "50%的人"):
        once = normalize(text, "zh")
        assert normalize(once, "zh") == once


def test_numbers_without_chinese_context() -> None:
    assert numbers_to_chinese("10") == "十"
    assert numbers_to_chinese("007") == "零零七"
