"""Hard edges of the configuration: ranges, non-finite numbers, closed sets, files named by settings,
config-path errors, and a property test that the loader only ever raises ConfigError."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import math
import os
import string
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from voiceassist.alerts.pin import hash_pin
from voiceassist.config import Config, ConfigError, load_config, parse_override


def _as_file(overrides: list[str], path: Path | None) -> tuple[list[str], Path | None]:
    """[alerts] is the caregiver's: no override may set it, so its values go through a config file."""
    caregiver = [o for o in overrides if o.strip().startswith("alerts.")]
    if not caregiver:
        return overrides, path
    import tempfile

    import tomlkit

    doc = tomlkit.document()
    for o in caregiver:
        keys, value = parse_override(o)
        table: Any = doc
        for k in keys[:-1]:
            if k not in table:
                table[k] = tomlkit.table()
            table = table[k]
        table[keys[-1]] = value
    f = Path(tempfile.mkdtemp()) / "config.toml"
    f.write_text(tomlkit.dumps(doc), encoding="utf-8")
    return [o for o in overrides if o not in caregiver], f


def _load(path: Path | None, overrides: list[str], **kw: Any) -> Config:
    overrides, path = _as_file(overrides, path)
    return load_config(path, overrides, **kw)


def _error(overrides: list[str], path: Path | None = None, **kw: Any) -> str:
    with pytest.raises(ConfigError) as e:
        _load(path, overrides, **kw)
    return str(e.value)


@pytest.mark.parametrize(
    "override",
    [
        "alerts.enabled=false",
        'alerts.pin_hash=""',
        'alerts.channels=["banner"]',
        "alerts.enter=1000",
        'alerts.webhook.url="http://x"',
        "alerts.include_transcript=true",
    ],
)
def test_the_caregiver_settings_cannot_be_overridden(override: str):
    with pytest.raises(ConfigError, match="caregiver PIN: --set cannot change it"):
        load_config(None, [override])


@pytest.mark.parametrize(
    ("override", "needle"),
    [
        ("asr.cpu_threads=100000", "asr.cpu_threads"),  # CTranslate2 segfaults on this
        ("asr.cpu_threads=-1", "asr.cpu_threads"),  # ...and raises on this
        ("asr.logprob_threshold=5", "asr.logprob_threshold"),
        ("asr.max_compression_ratio=0", "asr.max_compression_ratio"),
        ("audio.queue_seconds=0", "audio.queue_seconds"),
        ("audio.queue_seconds=1e12", "audio.queue_seconds"),
        ("audio.no_data_timeout_s=-1", "audio.no_data_timeout_s"),
        ("audio.no_data_timeout_s=100000", "audio.no_data_timeout_s"),
        ("vad.hangover_ms=999999999", "vad.hangover_ms"),
        ("vad.min_speech_ms=-5", "vad.min_speech_ms"),
        ("vad.start_window_ms=100000", "vad.start_window_ms"),
        ("alerts.email.port=0", "alerts.email.port"),
        ("alerts.email.port=70000", "alerts.email.port"),
        ("alerts.email.timeout_s=0", "alerts.email.timeout_s"),
        ("alerts.email.timeout_s=1e9", "alerts.email.timeout_s"),
        ("alerts.webhook.timeout_s=-3", "alerts.webhook.timeout_s"),
        ("alerts.debounce_n=0", "alerts.debounce_n"),
        ("alerts.debounce_n=10000000", "alerts.debounce_n"),
        ("alerts.cooldown_s=1e15", "alerts.cooldown_s"),
        ("alerts.crisis_cooldown_s=-1", "alerts.crisis_cooldown_s"),
        ("alerts.retry_max_s=1e12", "alerts.retry_max_s"),
        ("alerts.exit=-1", "alerts.exit/enter/warning"),
        ("alerts.warning=1e9", "alerts.exit/enter/warning"),
        ("mood.baseline_min=100000000", "mood.baseline_min"),
        ("mood.window=1", "mood.window"),
        ("emotion.speech_weight=1e6", "emotion.speech_weight"),
        ("reply.low_mood_valence=-3", "reply.low_mood_valence"),
        ("reply.low_mood_turns=0", "reply.low_mood_turns"),
        ("reply.seed=-2", "reply.seed"),
        ("reply.seed=99999999999999", "reply.seed"),
        ("store.retention_days=-1", "store.retention_days"),
        ("store.retention_days=1e9", "store.retention_days"),
    ],
)
def test_numbers_out_of_range_are_refused(override: str, needle: str):
    assert needle in _error([override])


@pytest.mark.parametrize(
    "override",
    [
        "asr.cpu_threads=0",
        "asr.cpu_threads=64",
        "alerts.email.port=465",
        "alerts.email.port=65535",
        "store.retention_days=30",
        "reply.seed=0",
        "reply.seed=4294967295",
        "audio.no_data_timeout_s=60",
    ],
)
def test_edges_of_the_ranges_are_allowed(override: str):
    _load(None, [override])


@pytest.mark.parametrize("value", ["inf", "-inf", "nan", "+inf", "-nan"])
@pytest.mark.parametrize(
    "key",
    [
        "emotion.text_weight",
        "vad.max_segment_s",
        "store.retention_days",
        "alerts.email.timeout_s",
        "asr.gate_rms_floor_dbfs",
    ],
)
def test_non_finite_numbers_are_refused_naming_the_key(key: str, value: str):
    msg = _error([f"{key}={value}"])
    assert key in msg and "finite" in msg


def test_non_finite_numbers_in_the_file_are_refused(tmp_path: Path):
    f = tmp_path / "config.toml"
    f.write_text("[quality]\nclip_ratio = nan\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"quality\.clip_ratio must be a finite number"):
        load_config(f)
    f.write_text("[audio]\nqueue_seconds = " + "9" * 400 + "\n", encoding="utf-8")  # an int beyond any float
    with pytest.raises(ConfigError, match=r"audio\.queue_seconds must be a finite number"):
        load_config(f)


@pytest.mark.parametrize(
    ("override", "needle"),
    [
        ("asr.compute_type=bogus", "asr.compute_type"),
        ("asr.compute_type=INT8", "asr.compute_type"),
        ('asr.languages=["xx"]', "'xx'"),
        ('asr.languages=["zh", "english"]', "'english'"),
        ("asr.backend=nope", "asr.backend"),
    ],
)
def test_closed_sets_are_checked(override: str, needle: str):
    assert needle in _error([override])


@pytest.mark.parametrize(
    "compute_type",
    [
        "default",
        "auto",
        "int8",
        "int8_float16",
        "int8_float32",
        "int8_bfloat16",
        "int16",
        "float16",
        "bfloat16",
        "float32",
    ],
)
def test_every_ctranslate2_compute_type_is_allowed(compute_type: str):
    assert load_config(None, [f"asr.compute_type={compute_type}"]).asr.compute_type == compute_type


def test_whisper_languages_are_allowed():
    cfg = load_config(None, ['asr.languages=["zh", "en", "yue", "ja"]', "asr.backend=faster-whisper"])
    assert cfg.asr.languages == ["zh", "en", "yue", "ja"]


@pytest.mark.parametrize("key", ["emotion.lexicon_overlay", "alerts.crisis_phrases"])
def test_files_named_by_settings_are_checked(tmp_path: Path, key: str):
    assert "/etc/passwd is not a .toml file" in _error([f"{key}=/etc/passwd"])
    assert "does not exist" in _error([f'{key}="{tmp_path / "nope.toml"}"'])
    folder = tmp_path / "dir.toml"
    folder.mkdir()
    assert "is a folder" in _error([f'{key}="{folder}"'])
    broken = tmp_path / "broken.toml"
    broken.write_text("[en.words\n", encoding="utf-8")
    msg = _error([f'{key}="{broken}"'])
    assert key in msg and "not valid TOML" in msg
    latin1 = tmp_path / "latin1.toml"
    latin1.write_bytes(b'[x]\nen = ["caf\xe9"]\n')
    assert "not UTF-8" in _error([f'{key}="{latin1}"'])
    assert key in _error([f'{key}="a\\u0000b.toml"'])  # a NUL in the name: refused, no ValueError from os.stat


def test_lexicon_and_phrase_files_of_the_wrong_shape_are_refused(tmp_path: Path):
    f = tmp_path / "shape.toml"
    f.write_text('en = "sad"\n', encoding="utf-8")
    assert "emotion.lexicon_overlay" in _error([f'emotion.lexicon_overlay="{f}"'])
    f.write_text('[self_harm]\nen = "hurt myself"\n', encoding="utf-8")
    assert "alerts.crisis_phrases" in _error([f'alerts.crisis_phrases="{f}"'])


def test_good_lexicon_and_phrase_files_are_accepted(tmp_path: Path):
    lexicon = tmp_path / "Lexicon.TOML"  # the suffix in any case
    lexicon.write_text('[en.words]\nsad = "sad"\ndown = { sad = 0.5 }\n[zh.words]\n"难过" = "sad"\n', encoding="utf-8")
    phrases = tmp_path / "phrases.toml"
    phrases.write_text('[self_harm]\nen = ["hurt myself"]\nzh = ["自残"]\nexcept = []\n', encoding="utf-8")
    cfg = _load(None, [f'emotion.lexicon_overlay="{lexicon}"', f'alerts.crisis_phrases="{phrases}"'])
    assert cfg.emotion.lexicon_overlay == str(lexicon) and cfg.alerts.crisis_phrases == str(phrases)


@pytest.mark.parametrize(
    "bad",
    [
        "abc",
        "pbkdf2_sha256$200000$zz$" + "0" * 64,
        "pbkdf2_sha256$200000$0011$" + "0" * 63,
        "md5$1$00$" + "0" * 64,
        "pbkdf2_sha256$$0011$" + "0" * 64,
        "pbkdf2_sha256$0$0011$" + "0" * 64,
        "pbkdf2_sha256$99999999999$0011$" + "0" * 64,
        "pbkdf2_sha256$200000$001$" + "0" * 64,
        "pbkdf2_sha256$200000$0011$" + "0" * 64 + "$extra",
    ],
)
def test_malformed_pin_hash_is_a_config_error(bad: str):
    # (check_pin would later raise ValueError from bytes.fromhex / int() / pbkdf2_hmac on several of these)
    assert "alerts.pin_hash" in _error([f"alerts.pin_hash={json.dumps(bad)}"])


def test_pin_hash_the_hasher_writes_is_accepted():
    h = hash_pin("246813", time_cost=1, memory_cost=64)
    assert _load(None, [f"alerts.pin_hash={json.dumps(h)}"]).alerts.pin_hash == h


@pytest.mark.parametrize("override", ["=false", " =1", ".=1", "vad.=3", ".aggressiveness=3", "vad..x=1"])
def test_empty_setting_name(override: str):
    assert _error([override]) == f"empty setting name in override {override!r}"


def test_missing_explicit_config_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(tmp_path)
    assert _error([], Path("typo.toml"), explicit=True) == "config file typo.toml does not exist"
    assert load_config(Path("typo.toml"), []).vad.aggressiveness == 2  # the default path may be missing
    assert load_config(Path("typo.toml")).asr.model == "base"  # the old signature still works


def test_folder_as_config(tmp_path: Path):
    for explicit in (False, True):
        assert "is a folder" in _error([], tmp_path, explicit=explicit)


def test_device_as_config():
    assert "not a regular file" in _error([], Path("/dev/zero"), explicit=True)  # would never end reading


def test_huge_config(tmp_path: Path):
    f = tmp_path / "big.toml"
    f.write_bytes(b"#" * (2 << 20))
    assert "too big" in _error([], f)


def test_unreadable_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    f = tmp_path / "config.toml"
    f.write_text("[vad]\naggressiveness = 1\n", encoding="utf-8")
    f.chmod(0)
    try:
        if os.access(f, os.R_OK):  # root reads anything: make the read fail the way it fails for a user

            def deny(self: Path, *a: Any, **kw: Any) -> str:
                raise PermissionError(13, "Permission denied", str(self))

            monkeypatch.setattr(Path, "read_text", deny)
        msg = _error([], f, explicit=True)
    finally:
        f.chmod(0o644)
    assert msg == f"cannot read config file {f}: permission denied"


def test_non_utf8_config(tmp_path: Path):
    f = tmp_path / "config.toml"
    f.write_bytes('[tts]\nvoice_zh = "普通话"\n'.encode("gb18030"))
    msg = _error([], f)
    assert "not UTF-8" in msg and str(f) in msg and "Traceback" not in msg


def test_byte_order_mark_is_fine(tmp_path: Path):
    f = tmp_path / "config.toml"
    f.write_bytes("\ufeff[vad]\naggressiveness = 1\n".encode())
    assert load_config(f).vad.aggressiveness == 1


# --- property test: the loader raises ConfigError or gives a config of finite numbers ---------------------------


def _leaf_keys(obj: Any, prefix: str = "") -> list[tuple[str, Any]]:
    out = []
    for f in dataclasses.fields(obj):
        value = getattr(obj, f.name)
        path = f"{prefix}{f.name}"
        out += _leaf_keys(value, path + ".") if dataclasses.is_dataclass(value) else [(path, value)]
    return out


LEAVES = _leaf_keys(Config())
KEYS = [k for k, _ in LEAVES]


def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return "nan" if math.isnan(v) else ("inf" if v > 0 else "-inf") if math.isinf(v) else repr(v)
    if isinstance(v, int):
        return str(v)
    if isinstance(v, list):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    return json.dumps(v, ensure_ascii=False)


scalars = st.one_of(
    st.booleans(),
    st.integers(),
    st.integers(-(10**30), 10**30),
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(-5, 70000),
    st.floats(-100, 100),
    st.text(max_size=12),
    st.sampled_from(["auto", "zh", "en", "cpu", "cuda", "xx", "int8", "faster-whisper", "/etc/passwd", "", "."]),
)
values = st.one_of(scalars, st.lists(scalars, max_size=3))
raw_values = st.one_of(values.map(_toml_value), st.text(max_size=20), st.text(alphabet=string.printable, max_size=20))
keys = st.one_of(
    st.sampled_from(KEYS),
    st.text(max_size=10),
    st.builds(lambda a, b: f"{a}.{b}", st.sampled_from(KEYS), st.text(max_size=5)),
)
overrides = st.lists(st.one_of(st.builds(lambda k, v: f"{k}={v}", keys, raw_values), st.text(max_size=30)), max_size=4)


@st.composite
def documents(draw: st.DrawFn) -> str:
    if draw(st.integers(0, 9)) == 0:
        return draw(st.text(max_size=200))  # not even TOML, mostly
    lines: dict[str, list[str]] = {}
    for key in draw(st.lists(keys, max_size=6)):
        section, _, name = key.rpartition(".")
        if not name:
            continue
        lines.setdefault(section, []).append(f"{json.dumps(name, ensure_ascii=False)} = {draw(raw_values)}")
    parts = ["\n".join(lines.pop("", []))]
    parts += [f"[{section}]\n" + "\n".join(body) for section, body in lines.items()]
    return "\n".join(parts) + "\n"


def _check_finite(cfg: Config) -> None:
    for key, value in _leaf_keys(cfg):
        if isinstance(value, float):
            assert math.isfinite(value), (key, value)


PROPERTY_SETTINGS = settings(
    max_examples=300,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@PROPERTY_SETTINGS
@given(items=overrides)
def test_property_overrides_raise_only_config_error(items: list[str]):
    for item in items:
        with contextlib.suppress(ConfigError):
            assert all(parse_override(item)[0])  # no empty key part ever reaches the config tree
    try:
        cfg = load_config(None, items)
    except ConfigError:
        return
    _check_finite(cfg)


@PROPERTY_SETTINGS
@given(doc=documents(), items=overrides, explicit=st.booleans())
def test_property_documents_raise_only_config_error(tmp_path: Path, doc: str, items: list[str], explicit: bool):
    f = tmp_path / "config.toml"
    f.write_text(doc, encoding="utf-8")
    try:
        cfg = load_config(f, items, explicit=explicit)
    except ConfigError:
        return
    _check_finite(cfg)


def test_a_hand_written_config_holding_a_secret_is_made_private(tmp_path, caplog):
    """config.toml may hold the SMTP password, the webhook token and the PIN hash: one that others can read
    is tightened to 0600 with a one-line notice; one without a secret is left as the person made it."""
    import logging
    import os
    import stat

    from voiceassist.config import load_config

    secret = tmp_path / "secret.toml"
    secret.write_text('[alerts.webhook]\nurl = "https://example.org/h"\ntoken = "tok-123"\n', encoding="utf-8")
    plain = tmp_path / "plain.toml"
    plain.write_text("[vad]\naggressiveness = 3\n", encoding="utf-8")
    for p in (secret, plain):
        os.chmod(p, 0o644)
    with caplog.at_level(logging.WARNING, logger="voiceassist.config"):
        assert load_config(secret).alerts.webhook.token == "tok-123"  # used as is
        load_config(plain)
    assert stat.S_IMODE(secret.stat().st_mode) == 0o600 and stat.S_IMODE(plain.stat().st_mode) == 0o644
    notes = [r.getMessage() for r in caplog.records]
    assert len(notes) == 1 and "alerts.webhook.token" in notes[0] and "tok-123" not in notes[0]
