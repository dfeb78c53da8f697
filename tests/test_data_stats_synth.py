"""The stats step (images and one HTML page, Chinese glyphs in the word cloud) and the synth step
(templates in both languages; an OpenAI-compatible endpoint, stubbed on 127.0.0.1; falling back to
templates when it fails; the API key never logged)."""

from __future__ import annotations

import argparse
import base64
import io
import json
import logging
import os
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest

from voiceassist.data import stats, synth
from voiceassist.data.records import MAIN_EMOTIONS, new_record
from voiceassist.data.step import OptionError
from voiceassist.emotion.labels import LABELS
from voiceassist.lang import has_cjk
from voiceassist.logs import redact


def parse(module, *argv: str, **extra) -> argparse.Namespace:
    p = argparse.ArgumentParser()
    module.add_arguments(p)
    args = p.parse_args(list(argv))
    for k, v in extra.items():
        setattr(args, k, v)
    return args


def numbered(rows):
    return list(enumerate(rows, start=1))


# -- synth: templates ----------------------------------------------------------------------------------


def test_templates_give_valid_rows_with_replies_in_both_languages():
    seed = [new_record("synth-000001", "en", "I feel great today.", "Glad to hear it!", "happy", ["great"], "seed")]
    result = synth.run(numbered(seed), parse(synth, "--per-class", "4", "--seed", "3"))
    assert result.kept[0] is seed[0]  # the seed first, untouched
    made = result.kept[1:]
    assert len(made) == 4 * 2 * len(MAIN_EMOTIONS)
    assert {(r["lang"], r["emotion"]) for r in made} == {(lg, e) for lg in ("zh", "en") for e in MAIN_EMOTIONS}
    ids = [r["dialogue_id"] for r in made]
    assert len(set(ids)) == len(ids) and "synth-000001" not in ids and all(i.startswith("synth-") for i in ids)
    for r in made:
        assert r["emotion"] in LABELS and r["source"] == "synth:template" and r["split"] == ""
        assert r["text"].strip() and r["response"].strip() and "{" not in r["text"] + r["response"]
        assert has_cjk(r["text"]) == has_cjk(r["response"]) == (r["lang"] == "zh")
        if r["lang"] == "en":
            assert r["text"][0].isupper() and r["response"][0].isupper()
        if r["emotion"] == "neutral":
            assert r["core_words"] == []
        else:
            assert len(r["core_words"]) == 1 and r["core_words"][0] in r["text"]
    assert len({r["text"] for r in made}) == len(made)
    assert result.report["generator"] == "templates only: no --endpoint given"
    assert result.report["by_source"] == {"synth:template": len(made)}
    assert result.report["by_class"]["zh/sad"] == 4


def test_top_up_only_new_and_option_errors():
    seed = [new_record(f"s{k}", "en", f"I am sad, reason number {k}.", "I'm sorry.", "sad") for k in range(3)]
    args = parse(synth, "--per-class", "5", "--top-up", "--only-new", "--langs", "en", "--emotions", "sad,happy")
    result = synth.run(numbered(seed), args)
    assert result.report["by_class"] == {"en/sad": 2, "en/happy": 5}
    assert all(r["source"] == "synth:template" for r in result.kept)
    with pytest.raises(OptionError, match="langs"):
        synth.run([], parse(synth, "--langs", "fr"))
    with pytest.raises(OptionError, match="--model"):
        synth.run([], parse(synth, "--endpoint", "http://127.0.0.1:1/v1"))
    with pytest.raises(OptionError, match="http"):
        synth.run([], parse(synth, "--endpoint", "file:///etc/passwd", "--model", "m"))


def test_replies_say_the_sentence_back_in_the_second_person():
    assert synth.second_person("took credit for my work", "en") == "took credit for your work"
    assert synth.second_person("I got the job I applied for", "en") == "you got the job you applied for"
    assert synth.second_person("my parents are proud of me", "en") == "your parents are proud of you"
    assert synth.second_person("我老板又抢了我的功劳", "zh") == "你老板又抢了你的功劳"
    assert synth.second_person("我们队拿了冠军", "zh") == "你们队拿了冠军"


def test_a_template_naming_an_unknown_slot_is_refused(tmp_path):
    bad = tmp_path / "t.toml"
    bad.write_text('[en.sad]\ntemplates = ["I feel {feeling} about {thing}."]\nreplies = ["Sorry."]\n'
                   '[en.sad.slots]\nfeeling = ["sad"]\n', encoding="utf-8")  # fmt: skip
    with pytest.raises(OptionError, match="thing"):
        synth.load_templates(bad)
    assert synth.load_templates()["zh"]["happy"]["templates"]  # the packaged file loads


def test_parse_items_finds_the_json_in_a_reply():
    item = {"text": "我好开心", "response": "太好了"}
    assert synth.parse_items(json.dumps({"items": [item]})) == [item]
    assert synth.parse_items("```json\n" + json.dumps([item]) + "\n```") == [item]
    assert synth.parse_items("Here you go:\n" + json.dumps({"sentences": [item]}) + "\nEnjoy!") == [item]
    with pytest.raises(synth.GeneratorError):
        synth.parse_items("Sorry, I cannot help with that.")


# -- synth: the chat endpoint, stubbed on loopback -----------------------------------------------------


class Stub:
    """A tiny OpenAI-compatible /v1/chat/completions server on 127.0.0.1 (a thread, for one test)."""

    def __init__(self, mode: str = "ok") -> None:
        self.mode, self.requests = mode, []
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = min(int(self.headers.get("Content-Length", "0")), 1_000_000)
                body = json.loads(self.rfile.read(length))
                stub.requests.append({"path": self.path, "auth": self.headers.get("Authorization"), "body": body})
                if stub.mode == "error":
                    self.send_error(500, "stub failure")
                    return
                content = "I would rather not." if stub.mode == "garbage" else stub.content(body)
                reply = {"choices": [{"message": {"role": "assistant", "content": content}}]}
                data = json.dumps(reply).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *a) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def content(self, body) -> str:
        prompt = body["messages"][-1]["content"]
        n, k = int(prompt.split()[1]), len(self.requests)
        if "Chinese" in prompt:
            items = [{"text": f"第{k}批第{i}句：我今天真的好开心！", "response": "太好了，为你高兴！",
                      "core_words": ["开心", "x"]} for i in range(n)]  # fmt: skip
            items.append({"text": "This one is English", "response": "wrong language"})  # refused for zh
        else:
            good = 1 if self.mode == "short" else n
            items = [{"text": f"Batch {k} line {i}: I'm so happy today!", "response": "That's great!",
                      "core_words": ["happy"]} for i in range(good)]  # fmt: skip
            items.append({"text": "no reply here"})  # refused: no response
        return "```json\n" + json.dumps({"items": items}, ensure_ascii=False) + "\n```"

    def __enter__(self) -> Stub:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


def test_the_generator_path_against_a_loopback_endpoint(monkeypatch, caplog):
    key = "sk-test-0123456789abcdef"
    monkeypatch.setenv("VA_TEST_KEY", key)
    caplog.set_level(logging.DEBUG)
    with Stub() as stub:
        args = parse(synth, "--per-class", "3", "--emotions", "happy", "--endpoint", stub.url, "--model", "stub-model",
                     "--api-key-env", "VA_TEST_KEY", "--batch", "10", "--timeout", "10")  # fmt: skip
        result = synth.run([], args)
    assert [r["path"] for r in stub.requests] == ["/v1/chat/completions"] * 2  # one per class
    assert all(r["auth"] == f"Bearer {key}" for r in stub.requests)
    assert stub.requests[0]["body"]["model"] == "stub-model"
    zh = [r for r in result.kept if r["lang"] == "zh"]
    en = [r for r in result.kept if r["lang"] == "en"]
    assert len(zh) == 3 and all(r["source"] == "synth:stub-model" and r["core_words"] == ["开心"] for r in zh)
    assert len(en) == 3 and all(r["source"] == "synth:stub-model" for r in en)
    assert all(r["emotion"] == "happy" and r["response"] for r in result.kept)
    assert result.report["generator"] == f"synth:stub-model ({stub.url}/chat/completions)"
    assert result.report["requests"] == 2
    assert key not in json.dumps(result.report) and key not in caplog.text
    assert redact(f"token {key}") == "token ***"  # registered as a secret


def test_rows_the_endpoint_does_not_give_are_filled_from_templates():
    with Stub("short") as stub:
        args = parse(synth, "--per-class", "4", "--langs", "en", "--emotions", "happy", "--endpoint", stub.url,
                     "--model", "stub-model", "--timeout", "10")  # fmt: skip
        result = synth.run([], args)
    assert len(stub.requests) == 3  # bounded: ceil(4 / batch) + 2 requests, one good row each
    assert [r["source"] for r in result.kept] == ["synth:stub-model"] * 3 + ["synth:template"]
    assert result.report["generator"].endswith("templates filled 1 rows it did not give")


@pytest.mark.parametrize("mode, why", [("closed", "cannot be reached"), ("error", "HTTP 500"),
                                       ("garbage", "no JSON list")])  # fmt: skip
def test_a_failing_endpoint_falls_back_to_templates_with_a_note(mode, why):
    if mode == "closed":
        with socket.socket() as s:  # a loopback port nothing listens on
            s.bind(("127.0.0.1", 0))
            url = f"http://127.0.0.1:{s.getsockname()[1]}/v1"
        stub = None
    else:
        stub = Stub(mode).__enter__()
        url = stub.url
    try:
        args = parse(synth, "--per-class", "2", "--langs", "en", "--emotions", "sad,angry", "--endpoint", url,
                     "--model", "m", "--timeout", "5")  # fmt: skip
        result = synth.run([], args)
    finally:
        if stub:
            stub.__exit__(None)
    assert result.report["generator"].startswith("templates only: ") and why in result.report["generator"]
    assert len(result.kept) == 4 and all(r["source"] == "synth:template" for r in result.kept)
    if stub:
        assert len(stub.requests) == 1  # no more requests after the first failure


# -- stats -------------------------------------------------------------------------------------------


def _default_font() -> str:
    import wordcloud

    return str(Path(wordcloud.__file__).parent / "DroidSansMono.ttf")


@pytest.fixture(scope="module")
def cjk_font() -> str:
    path, note = stats.find_cjk_font()
    if path is None:
        pytest.skip(f"no CJK font on this machine ({note})")
    return path


def test_the_glyph_check_tells_real_chinese_from_tofu(cjk_font):
    assert stats.renders_cjk(cjk_font)
    assert not stats.renders_cjk(_default_font())  # a Latin font draws the same box for every character
    one, other = ({"开心": 1}, {"难过": 1})
    real = [np.asarray(stats.word_cloud_image(f, cjk_font)) for f in (one, other)]
    tofu = [np.asarray(stats.word_cloud_image(f, _default_font())) for f in (one, other)]
    assert np.array_equal(tofu[0], tofu[1])  # boxes: two different words look the same
    assert not np.array_equal(real[0], real[1])
    assert (real[0] != 255).any(axis=2).sum() > 2000  # ink on the white background


def _png_ok(data: bytes) -> tuple[int, int]:
    from PIL import Image

    with Image.open(io.BytesIO(data)) as im:
        im.load()
        assert im.format == "PNG"
        return im.size


def test_stats_writes_charts_clouds_and_one_html_page(tmp_path, cjk_font):
    rows = synth.run([], parse(synth, "--per-class", "6")).kept
    for r in rows:
        if r["lang"] == "zh":
            r["core_words"] = []  # Chinese words come from jieba then
    rows.append(new_record("x1", "en", "What a day.", "Indeed.", "surprised"))
    result = stats.run(numbered(rows), parse(stats, output=str(tmp_path / "out")))
    out = tmp_path / "out"
    assert result.kept == rows and result.rejected == []
    report = result.report
    assert report["counts"]["zh"]["angry"] == 6 and report["counts"]["en"]["surprised"] == 7
    assert report["lengths"]["zh"]["unit"] == "characters" and report["lengths"]["en"]["unit"] == "words"
    assert report["words"]["en"]["source"] == "core_words"
    assert report["words"]["zh"]["source"].startswith("jieba")
    zh_top = [w for w, _ in report["words"]["zh"]["top"]]
    assert zh_top and all(len(w) > 1 and has_cjk(w) for w in zh_top) and not set(zh_top) & stats.ZH_STOPWORDS
    assert report["cjk_font"] == cjk_font
    page = (out / "stats.html").read_text(encoding="utf-8")
    for name in ("labels.png", "lengths.png", "wordcloud_en.png", "wordcloud_zh.png"):
        data = (out / name).read_bytes()
        width, height = _png_ok(data)
        assert width > 300 and height > 200
        assert base64.b64encode(data).decode() in page  # embedded, the page stands alone
    assert "<td>6</td>" in page and "surprised" in page and 'src="labels.png"' not in page
    from PIL import Image

    freqs, _ = stats.word_frequencies([r for r in rows if r["lang"] == "zh"], "zh")
    drawn = np.asarray(Image.open(out / "wordcloud_zh.png").convert("RGB"))
    assert np.array_equal(drawn, np.asarray(stats.word_cloud_image(dict(freqs), cjk_font)))  # drawn with it
    assert not np.array_equal(drawn, np.asarray(stats.word_cloud_image(dict(freqs), _default_font())))


def test_without_a_cjk_font_the_chinese_cloud_is_left_out_with_a_note(tmp_path, monkeypatch):
    monkeypatch.setattr(stats, "find_cjk_font", lambda preferred=None: (None, "no font with Chinese glyphs found"))
    rows = [new_record("a", "zh", "我今天很开心", "太好了", "happy", ["开心"]),
            new_record("b", "en", "I am happy", "Great", "happy", ["happy"])]  # fmt: skip
    result = stats.run(numbered(rows), parse(stats, output=str(tmp_path)))
    assert not (tmp_path / "wordcloud_zh.png").exists() and (tmp_path / "wordcloud_en.png").exists()
    assert result.report["notes"] == ["Chinese word cloud left out: no font with Chinese glyphs found"]
    assert "Chinese word cloud left out" in (tmp_path / "stats.html").read_text(encoding="utf-8")


def test_stats_needs_an_output_folder_and_handles_empty_input(tmp_path):
    with pytest.raises(OptionError):
        stats.run([], argparse.Namespace())
    result = stats.run([], parse(stats, output=str(tmp_path)))
    assert result.kept == [] and result.report["rows"] == 0 and (tmp_path / "stats.html").is_file()
    assert os.listdir(tmp_path) == ["stats.html"]
