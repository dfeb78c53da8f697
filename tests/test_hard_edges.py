"""The CLI on every bad setting, config path and odd file of issue 19: the documented exit code, one clear
message, no traceback on the console, valid JSON whenever JSON is written."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import espeak, silence, write_wav

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def talk(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_wav(
        tmp_path_factory.mktemp("audio") / "talk.wav",
        np.concatenate([silence(0.4), espeak("I am a little tired today."), silence(0.6)]),
    )


def run(args: list[str], home: Path, timeout: float = 240) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / "cfg"),
        "XDG_DATA_HOME": str(home / "data"),
        "XDG_STATE_HOME": str(home / "state"),
    }
    return subprocess.run(
        [sys.executable, "-m", "voiceassist", *args], capture_output=True, text=True, env=env, timeout=timeout
    )


BAD_SETTINGS = {
    "cpu_threads huge": (["--set", "asr.cpu_threads=100000"], "asr.cpu_threads"),
    "cpu_threads negative": (["--set", "asr.cpu_threads=-1"], "asr.cpu_threads"),
    "model that does not exist": (["--model", "doesnotexist"], "doesnotexist"),
    "compute type": (["--set", 'asr.compute_type="bogus"'], "asr.compute_type"),
    "language": (["--set", 'asr.languages=["xx"]'], "asr.languages"),
    "backend": (["--set", "asr.backend=nope"], "asr.backend"),
    "lexicon overlay": (["--set", "emotion.lexicon_overlay=/etc/passwd"], "/etc/passwd"),
    "infinite weight": (["--set", "emotion.text_weight=inf"], "emotion.text_weight"),
    "nan weight": (["--set", "emotion.speech_weight=nan"], "emotion.speech_weight"),
    "empty key": (["--set", "=false"], "empty setting name"),
    "config is a folder": (["--config", "/tmp"], "folder"),
    "config missing": (["--config", "/nonexistent/typo.toml"], "does not exist"),
}


@pytest.mark.parametrize("case", list(BAD_SETTINGS), ids=list(BAD_SETTINGS))
def test_bad_settings_are_exit_3_with_a_message_before_any_audio(case: str, talk: Path, tmp_path: Path):
    extra, words = BAD_SETTINGS[case]
    out = tmp_path / "out.json"
    p = run(["analyze", str(talk), "-o", str(out), *extra], tmp_path)
    assert p.returncode == 3, (p.returncode, p.stderr[-2000:])
    assert words in p.stderr and "Traceback" not in p.stderr, p.stderr[-2000:]
    assert not out.exists()  # nothing was analysed


@pytest.mark.parametrize("command", [["alerts", "status"], ["say", "hello", "-o", "x.wav"]])
def test_config_path_errors_on_other_commands(command: list[str], tmp_path: Path):
    p = run([*command, "--config", "/tmp"], tmp_path)
    assert p.returncode == 3 and "folder" in p.stderr and "Traceback" not in p.stderr, p.stderr[-2000:]


def test_a_malformed_pin_hash_is_a_configuration_error(tmp_path: Path):
    cfg = tmp_path / "c.toml"
    cfg.write_text('[alerts]\npin_hash = "pbkdf2_sha256$200000$zz$nothex"\n', encoding="utf-8")
    p = run(["alerts", "off", "--pin", "1234", "--config", str(cfg)], tmp_path)
    assert p.returncode == 3 and "alerts.pin_hash" in p.stderr and "Traceback" not in p.stderr, p.stderr[-2000:]


def test_bad_files_are_exit_2_in_words(tmp_path: Path, talk: Path):
    rate_128 = tmp_path / "rate128.wav"
    data = bytearray(talk.read_bytes())
    data[24:28] = (128).to_bytes(4, "little")
    rate_128.write_bytes(bytes(data))
    garbage = tmp_path / "garbage.wav"
    garbage.write_bytes(os.urandom(5000))
    for path, words in (
        (rate_128, "sample rate 128 Hz"),
        (garbage, "not an audio file"),
        (tmp_path / "missing.wav", "no such file"),
    ):
        p = run(["analyze", str(path)], tmp_path)
        assert p.returncode == 2 and words in p.stderr, (path.name, p.stderr[-2000:])
        assert "Errno" not in p.stderr and "Traceback" not in p.stderr and "AudioStream" not in p.stderr


def test_a_truncated_file_gives_a_partial_result_and_says_so(tmp_path: Path, talk: Path):
    cut = tmp_path / "cut.wav"
    data = talk.read_bytes()
    cut.write_bytes(data[: 44 + (len(data) - 44) // 2])
    out = tmp_path / "cut.json"
    p = run(["analyze", str(cut), "-o", str(out)], tmp_path)
    assert p.returncode == 0, p.stderr[-2000:]
    assert "truncated" in p.stderr
    doc = json.loads(out.read_text(encoding="utf-8"))
    assert any("truncated" in w for w in doc["warnings"])


def test_a_file_damaged_from_its_first_frame_is_bad_input_everywhere(tmp_path: Path, talk: Path):
    """Nothing of it can be read: exit 2 from analyze (like any unreadable input), a failed item in a batch,
    a 400 from the API; never a 'result' with no segments and exit 0."""
    import soundfile as sf

    x, sr = sf.read(str(talk), dtype="int16")
    good = tmp_path / "good.flac"
    sf.write(str(good), x, sr)
    data = bytearray(good.read_bytes())
    first_frame = data.index(b"\xff\xf8")  # the FLAC frame sync after the metadata blocks
    for i in range(first_frame + 6, len(data)):  # the header survives, every audio frame is garbage
        data[i] = (data[i] * 7 + 13) % 256
    bad = tmp_path / "in" / "bad.flac"
    bad.parent.mkdir()
    bad.write_bytes(bytes(data))
    p = run(["analyze", str(bad)], tmp_path)
    assert p.returncode == 2 and "damaged" in p.stderr and p.stdout == "", p.stderr[-2000:]
    assert "Traceback" not in p.stderr
    p = run(["analyze-batch", str(bad.parent), "-o", str(tmp_path / "out")], tmp_path)
    assert p.returncode != 0 or "failed" in p.stdout + p.stderr
    journal = (tmp_path / "out").rglob("*.jsonl")
    assert any('"failed"' in j.read_text() and "damaged" in j.read_text() for j in journal)


def test_listen_json_stream_is_one_valid_object_per_line(tmp_path: Path, talk: Path):
    p = run(
        ["listen", "--file", str(talk), "--json", "--set", "tts.enabled=false", "--set", "store.enabled=false"],
        tmp_path,
    )
    assert p.returncode == 0, p.stderr[-2000:]
    events = [json.loads(line) for line in p.stdout.splitlines()]
    kinds = {e["event"] for e in events}
    assert {"SpeechEmotion", "TextEmotion", "FusedEmotion", "MoodUpdate", "Transcript", "Reply"} <= kinds, kinds
    assert "TypeError" not in p.stderr and "Traceback" not in p.stderr


def test_the_last_resort_handler_keeps_the_traceback_in_the_log(
    tmp_path: Path, talk: Path, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
):
    """An unexpected failure: exit 4, one line on the console, the traceback in the log file only."""
    import logging

    import voiceassist.cli.listen as listen
    from voiceassist.cli import main
    from voiceassist.paths import user_log_dir

    def boom(args, cfg):
        raise RuntimeError("something nobody expected")

    monkeypatch.setattr(listen, "cmd_listen", boom)
    root = logging.getLogger()
    saved_handlers, saved_level = list(root.handlers), root.level
    try:
        code = main(["listen", "--file", str(talk)])
        err = capfd.readouterr().err
    finally:
        for h in list(root.handlers):  # main() configured logging for a process: put the test's back
            h.flush()
            root.removeHandler(h)
            if h not in saved_handlers:
                h.close()
        for h in saved_handlers:
            root.addHandler(h)
        root.setLevel(saved_level)
    assert code == 4
    assert "listen failed: something nobody expected" in err and "Traceback" not in err, err
    log_text = (user_log_dir() / "voiceassist.log").read_text(encoding="utf-8")
    assert "Traceback" in log_text and "something nobody expected" in log_text
