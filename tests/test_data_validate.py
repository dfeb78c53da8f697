"""``voiceassist data validate`` and its PII detectors (voiceassist/data/pii.py): each kind found and not
found, masking vs rejecting, and every reason code of the step."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random

import pytest

from voiceassist.data import pii, validate
from voiceassist.data.pii import find_pii, is_resident_id, luhn_ok, mask
from voiceassist.data.step import OptionError, read_rows


def resident_id(first17: str) -> str:
    """The GB 11643 check character, computed here independently of the code under test."""
    weights = [2 ** (17 - i) % 11 for i in range(17)]  # 7 9 10 5 8 4 2 1 6 3 7 9 10 5 8 4 2
    s = sum(int(c) * w for c, w in zip(first17, weights, strict=True))
    return first17 + "10X98765432"[s % 11]


def with_luhn(prefix: str) -> str:
    """``prefix`` plus the Luhn check digit (independent implementation)."""
    for d in "0123456789":
        digits = [int(c) for c in prefix + d][::-1]
        total = sum(x if i % 2 == 0 else (x * 2 - 9 if x * 2 > 9 else x * 2) for i, x in enumerate(digits))
        if total % 10 == 0:
            return prefix + d
    raise AssertionError


def kinds(text: str, lang: str = "en") -> list[tuple[str, str]]:
    return [(s.kind, s.text) for s in find_pii(text, lang)]


# -- resident identity numbers -----------------------------------------------------------------------


def test_the_standard_example_id_is_valid_and_one_digit_off_is_not():
    assert is_resident_id("11010519491231002X")  # the example of GB 11643-1999
    assert not is_resident_id("11010519491231003X")  # one digit off
    assert not is_resident_id("11010519491231002Y")


def test_id_checksum_and_date_are_both_needed():
    good = resident_id("32010619850615123")
    assert is_resident_id(good)
    assert is_resident_id(good.lower())  # a lower-case x check character is still one
    wrong_check = good[:17] + ("0" if good[17] != "0" else "1")
    assert not is_resident_id(wrong_check)
    assert not is_resident_id(resident_id("32010619850231123"))  # February 31st, checksum right
    assert not is_resident_id(resident_id("32010618500615123"))  # born 1850
    tomorrow = (dt.date.today() + dt.timedelta(days=1)).strftime("%Y%m%d")
    assert not is_resident_id(resident_id(f"320106{tomorrow}123"))
    assert not is_resident_id(resident_id("99010619850615123"))  # no province 99


def test_every_check_character_and_every_single_digit_change():
    rng = random.Random(7)
    checks = set()
    for _ in range(300):
        born = dt.date(1950, 1, 1) + dt.timedelta(days=rng.randrange(20000))
        good = resident_id(
            f"{rng.choice([11, 31, 44, 65])}{rng.randrange(10000):04d}{born:%Y%m%d}{rng.randrange(1000):03d}"
        )
        assert is_resident_id(good), good
        checks.add(good[17])
        pos = rng.randrange(17)
        changed = good[:pos] + str((int(good[pos]) + rng.randint(1, 9)) % 10) + good[pos + 1 :]
        assert not is_resident_id(changed), changed  # a single changed digit always breaks MOD 11-2
    assert checks == set("0123456789X")


def test_ids_in_text_are_found_and_masked():
    good = resident_id("44030519900307421")
    text = f"我的身份证号是{good}，请保密"
    assert kinds(text, "zh") == [("id", good)]
    assert mask(text, find_pii(text, "zh")) == "我的身份证号是[ID]，请保密"
    off = good[:10] + str((int(good[10]) + 1) % 10) + good[11:]  # one digit off: month 04 -> not an ID
    assert not any(k == "id" for k, _ in kinds(f"号码{off}。", "zh"))


# -- bank cards -------------------------------------------------------------------------------------------


def test_luhn():
    assert luhn_ok("4111111111111111") and luhn_ok("378282246310005") and luhn_ok("6011111111111117")
    assert not luhn_ok("4111111111111112") and not luhn_ok("378282246310006")


def test_luhn_on_random_numbers():
    rng = random.Random(3)
    for _ in range(300):
        good = with_luhn("".join(rng.choice("0123456789") for _ in range(rng.randint(12, 18))))
        assert luhn_ok(good), good
        bad = good[:-1] + str((int(good[-1]) + rng.randint(1, 9)) % 10)
        assert not luhn_ok(bad), bad


def test_cards_in_text_luhn_valid_vs_invalid():
    card19 = with_luhn("622202020011223344")
    assert kinds(f"卡号{card19}，谢谢", "zh") == [("card", card19)]
    assert kinds("my card is 4111 1111 1111 1111 thanks") == [("card", "4111 1111 1111 1111")]
    assert kinds("my card is 4111-1111-1111-1111.") == [("card", "4111-1111-1111-1111")]
    assert kinds("card 4111 1111 1111 1111 25 ok") == [("card", "4111 1111 1111 1111")]  # a number beside it
    assert kinds("my card is 4111 1111 1111 1112 thanks") == []  # Luhn fails
    assert kinds("order 123456789012 arrived") == []  # 12 digits: too short for a card


# -- phone numbers ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, number",
    [
        ("我的手机是13812345678，打给我", "13812345678"),
        ("我的手机是138 1234 5678。", "138 1234 5678"),
        ("电话 138-1234-5678 随时", "138-1234-5678"),
        ("+86 139 1234 5678 is my cell", "+86 139 1234 5678"),
    ],
)
def test_mainland_mobiles_with_and_without_separators(text, number):
    lang = "zh" if "我" in text or "电话" in text else "en"
    assert kinds(text, lang) == [("phone", number)]


@pytest.mark.parametrize(
    "text, number",
    [
        ("call me at (415) 555-2671 tonight", "(415) 555-2671"),
        ("my number is 212-555-0100, ring anytime", "212-555-0100"),
        ("call my office at +44 20 7946 0958 please", "+44 20 7946 0958"),
        ("in London dial 020 7946 0958 for me", "020 7946 0958"),  # national format, region GB
    ],
)
def test_english_phone_numbers_through_phonenumbers(text, number):
    assert kinds(text) == [("phone", number)]


@pytest.mark.parametrize(
    "text, lang",
    [
        ("I paid 1200 dollars on 12/03/2024 for it", "en"),
        ("my zip is 94103 and I am 35", "en"),
        ("room 555-1234 is on the left", "en"),
        ("1381234567 has a digit missing", "en"),
        ("编号12345678901不是手机号", "zh"),  # starts with 12: no mainland mobile
        ("订单号20230115已发货", "zh"),
        ("我考了98分，排名第3，花了12800元", "zh"),
    ],
)
def test_numbers_that_are_not_phones(text, lang):
    assert kinds(text, lang) == []


def test_chinese_landlines_in_chinese_rows():
    assert kinds("我的座机是010-62345678，白天打", "zh") == [("phone", "010-62345678")]


def test_phone_regions_decide_english_national_numbers():
    text = "in London dial 020 7946 0958 for me"
    assert [s.kind for s in find_pii(text, "en", ("GB",))] == ["phone"]
    assert find_pii(text, "en", ("US",)) == []


# -- e-mail and names -------------------------------------------------------------------------------------


def test_emails():
    assert kinds("write to li.wei+test@mail.example.cn now") == [("email", "li.wei+test@mail.example.cn")]
    assert kinds("邮箱是zhang_san@163.com，谢谢", "zh") == [("email", "zhang_san@163.com")]
    assert kinds("user@localhost has no domain") == []
    assert kinds("an @ sign alone, or a@b") == []


@pytest.mark.parametrize(
    "text, name, lang",
    [
        ("My name is John Smith and I feel sad", "John Smith", "en"),
        ("hi, my name's Mary", "Mary", "en"),
        ("I'm Alice from Boston", "Alice", "en"),
        ("this is David speaking", "David", "en"),
        ("我叫张伟，今年三十岁", "张伟", "zh"),
        ("我的名字是欧阳明。", "欧阳明", "zh"),
    ],
)
def test_names_in_self_introductions(text, name, lang):
    assert kinds(text, lang) == [("name", name)]


@pytest.mark.parametrize(
    "text, lang",
    [
        ("my name is not important", "en"),
        ("I am from Boston and I am tired", "en"),
        ("John Smith was rude to me today", "en"),  # no self-introduction: not found (see pii.py)
        ("我叫了外卖。", "zh"),
        ("我叫他快点走。", "zh"),
    ],
)
def test_no_name_without_an_explicit_pattern(text, lang):
    assert kinds(text, lang) == []


def test_mask_replaces_every_span_with_its_token():
    text = "I'm Bob from Leeds, mail bob@example.com or call (415) 555-2671"
    assert mask(text, find_pii(text, "en")) == "I'm [NAME] from Leeds, mail [EMAIL] or call [PHONE]"
    assert set(pii.MASKS) == set(pii.KINDS)


# -- the validate step ------------------------------------------------------------------------------------


def vargs(*argv: str) -> argparse.Namespace:
    p = argparse.ArgumentParser()
    validate.add_arguments(p)
    return p.parse_args(list(argv))


def row(did: str, text: str, lang: str = "en", **kw) -> dict:
    return {"dialogue_id": did, "lang": lang, "text": text, **kw}


def run(rows: list[dict], *argv: str):
    return validate.run(list(enumerate(rows, 1)), vargs(*argv))


def reasons(result) -> dict[int, str]:
    return {r.line: r.reason for r in result.rejected}


GOOD_EN = "I feel a little lonely tonight"
GOOD_ZH = "今天心情不错"


def test_good_rows_are_kept_unchanged():
    rows = [row("a", GOOD_EN, emotion="sad"), row("b", GOOD_ZH, "zh"), row("c", "tab\tand\nnewline are fine here")]
    result = run(rows)
    assert result.rejected == []
    assert result.kept == rows


def test_missing_fields_and_types():
    rows = [
        {"lang": "en", "text": GOOD_EN},
        {"dialogue_id": "b", "text": GOOD_EN},
        {"dialogue_id": "c", "lang": "en"},
        {"dialogue_id": "d", "lang": "en", "text": None},
        {"dialogue_id": "e", "lang": "en", "text": 42},
        {"dialogue_id": "f", "lang": "en", "text": GOOD_EN, "response": ["x"]},
        {"dialogue_id": "g", "lang": "en", "text": GOOD_EN},
    ]
    result = run(rows)
    assert reasons(result) == {i: "missing_field" for i in range(1, 7)}
    assert [r["dialogue_id"] for r in result.kept] == ["g"]
    assert reasons(run([row("h", GOOD_EN)], "--require", "emotion")) == {1: "missing_field"}


def test_empty_text():
    result = run([row("a", ""), row("b", "   \n "), row("c", GOOD_EN)])
    assert reasons(result) == {1: "empty_text", 2: "empty_text"}


@pytest.mark.parametrize("bad", ["\x00", "\x07", "\r", "\x7f", "\x85", "\x9f", "\ufffd", "\ud800", "\ue000"])
def test_bad_characters(bad):
    result = run([row("a", f"I feel {bad} a little lonely"), row("b", GOOD_EN, response=f"oh{bad}no")])
    assert reasons(result) == {1: "bad_chars", 2: "bad_chars"}
    assert f"U+{ord(bad):04X}" in result.rejected[0].detail


def test_labels():
    rows = [row("a", GOOD_EN, emotion="joy"), row("b", GOOD_EN, emotion="Happy"), row("c", GOOD_EN, emotion=3)]
    rows += [row("d", GOOD_EN, emotion="happy"), row("e", GOOD_EN, emotion=""), row("f", GOOD_EN)]
    result = run(rows)
    assert reasons(result) == {1: "bad_label", 2: "bad_label", 3: "bad_label"}
    assert len(result.kept) == 3


def test_language_mismatch():
    rows = [
        row("a", "hello there my friend", "zh"),
        row("b", "我今天很难过，不想说话", "en"),
        row("c", GOOD_EN, "fr"),
        row("d", "I love 北京 so much today", "en"),  # mostly Latin letters: fine
        row("e", "我在学 English", "zh"),
    ]
    assert reasons(run(rows)) == {1: "lang_mismatch", 2: "lang_mismatch", 3: "lang_mismatch"}


def test_length_limits_defaults_and_options():
    rows = [
        row("a", "好", "zh"),
        row("b", "好 啊", "zh"),  # 2 characters, the space not counted
        row("c", "好" * 200, "zh"),
        row("d", "好" * 201, "zh"),
        row("e", "so very sad", "en"),
        row("f", "so sad", "en"),
        row("g", " ".join(["word"] * 60), "en"),
        row("h", " ".join(["word"] * 61), "en"),
    ]
    assert reasons(run(rows)) == {1: "too_short", 4: "too_long", 6: "too_short", 8: "too_long"}
    assert reasons(run(rows, "--max-words", "5", "--min-chars", "3")) == {
        1: "too_short",
        2: "too_short",
        4: "too_long",
        6: "too_short",
        7: "too_long",
        8: "too_long",
    }
    with pytest.raises(OptionError):
        run(rows, "--min-words", "10", "--max-words", "5")


def test_duplicate_dialogue_ids_and_turns():
    rows = [
        row("a", GOOD_EN),
        row("a", "I am really scared of the dark"),
        row("t", GOOD_EN, turn=1),
        row("t", "I am really scared of the dark", turn=2),
        row("t", "I am really very happy now", turn=2),
        row("b", "", emotion="sad"),  # rejected: its id stays free
        row("b", GOOD_EN),
    ]
    result = run(rows)
    assert reasons(result) == {2: "duplicate_id", 5: "duplicate_id", 6: "empty_text"}
    assert "line 1" in result.rejected[0].detail
    assert [(r["dialogue_id"], r.get("turn")) for r in result.kept] == [("a", None), ("t", 1), ("t", 2), ("b", None)]


def test_pii_masked_by_default_and_counted():
    card = with_luhn("621700001234567890")
    rows = [
        row("a", "call me at (415) 555-2671, I am scared", response="mail me: help@example.org"),
        row("b", f"我叫李娜，卡号{card}，身份证{resident_id('11010519900307123')}", "zh"),
        row("c", GOOD_EN),
    ]
    result = run(rows)
    assert result.rejected == []
    assert result.kept[0]["text"] == "call me at [PHONE], I am scared"
    assert result.kept[0]["response"] == "mail me: [EMAIL]"
    assert result.kept[1]["text"] == "我叫[NAME]，卡号[CARD]，身份证[ID]"
    assert result.kept[2] == rows[2]
    assert rows[0]["text"].startswith("call me at (415)")  # the input rows are not changed in place
    report = result.report["pii"]
    assert report["found"] == {"phone": 1, "id": 1, "card": 1, "email": 1, "name": 1}
    assert report["rows_masked"] == 2 and report["rows_rejected"] == 0


def test_pii_reject_mode():
    rows = [row("a", "call me at (415) 555-2671, I am scared"), row("b", GOOD_EN)]
    result = run(rows, "--pii", "reject")
    assert reasons(result) == {1: "pii"}
    assert result.rejected[0].detail == "phone x1"
    assert result.rejected[0].row == rows[0]  # the row as read, unmasked, for the reviewer
    assert result.report["pii"]["rows_rejected"] == 1 and result.report["pii"]["found"]["phone"] == 1
    assert [r["dialogue_id"] for r in result.kept] == ["b"]


def test_bad_phone_region_is_an_option_error():
    with pytest.raises(OptionError):
        run([row("a", GOOD_EN)], "--phone-regions", "XX")


def test_malformed_json_reason_from_the_reader(tmp_path):
    f = tmp_path / "in.jsonl"
    f.write_text(json.dumps(row("a", GOOD_EN)) + "\n{oops\n[1, 2]\n" + '{"x": NaN}\n', encoding="utf-8")
    rows, bad = read_rows(f)
    assert [n for n, _ in rows] == [1]
    assert [(r.line, r.reason) for r in bad] == [(2, "malformed_json"), (3, "malformed_json"), (4, "malformed_json")]
