"""Shared fixtures: speech synthesised with espeak-ng, WAV writers, the embedded ASR model, and a
PulseAudio null sink used as a real-time virtual microphone."""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import soxr

SR = 16000

# Tests never read the user's config or write the user's logs (the model cache is shared, it is read-only use).
_TEST_HOME = Path(os.environ.get("VOICEASSIST_TEST_HOME", "/tmp/voiceassist-test-home"))
os.environ["XDG_CONFIG_HOME"] = str(_TEST_HOME / "config")
os.environ["XDG_STATE_HOME"] = str(_TEST_HOME / "state")
os.environ["XDG_DATA_HOME"] = str(_TEST_HOME / "data")
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # Qt tests need no display
# ... nor the user's OS keyring: the data key goes to a key file in the test home (tests that need a keyring
# set one of their own)
os.environ["PYTHON_KEYRING_BACKEND"] = "keyring.backends.fail.Keyring"


def espeak(text: str, voice: str = "en-us", rate: int = 160, ssml: bool = False) -> np.ndarray:
    """Speech as 16 kHz mono int16, synthesised by espeak-ng (``ssml``: text has SSML, e.g. <break/>)."""
    if shutil.which("espeak-ng") is None:
        pytest.fail("espeak-ng is not installed (scripts/test installs it: apt-get install espeak-ng)")
    wav = subprocess.run(
        ["espeak-ng", "-v", voice, "-s", str(rate), *(["-m"] if ssml else []), "--stdout", text],
        check=True,
        capture_output=True,
    ).stdout
    data, rate_in = sf.read(io.BytesIO(wav), dtype="float32")
    data = soxr.resample(data, rate_in, SR)
    return np.clip(np.rint(data * 32767), -32768, 32767).astype(np.int16)


def wait_until(pred, timeout: float = 10.0, step: float = 0.05) -> bool:
    """Poll ``pred`` until it is true or ``timeout`` seconds have passed."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(step)
    return bool(pred())


def silence(seconds: float) -> np.ndarray:
    return np.zeros(int(seconds * SR), dtype=np.int16)


def write_wav(path: Path, samples: np.ndarray, rate: int = SR) -> Path:
    sf.write(str(path), samples, rate, subtype="PCM_16")
    return path


@pytest.fixture(scope="session")
def speech_en() -> np.ndarray:
    return espeak("Could you please remind me to call my sister tomorrow morning.")


@pytest.fixture(scope="session")
def two_utterances(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[tuple[float, float]]]:
    """1 s silence, sentence, 1.5 s silence, sentence, 1 s silence; and where the speech is."""
    a = espeak("Good morning, how are you today?")
    b = espeak("I feel a bit tired, but I am fine.")
    parts = [silence(1.0), a, silence(1.5), b, silence(1.0)]
    truth, t = [], 0.0
    for i, p in enumerate(parts):
        if i in (1, 3):
            truth.append((t, t + len(p) / SR))
        t += len(p) / SR
    path = write_wav(tmp_path_factory.mktemp("audio") / "two.wav", np.concatenate(parts))
    return path, truth


@pytest.fixture(scope="session")
def whisper_backend():
    """The embedded multilingual Whisper base model, loaded once for the session."""
    from voiceassist.asr import create_backend
    from voiceassist.config import AsrConfig

    backend = create_backend(AsrConfig(allow_download=False))
    backend.load()
    return backend


@pytest.fixture
def virtual_mic(tmp_path: Path):
    """A PulseAudio daemon with a null sink; its monitor is the default source. Playing a file into the
    sink (``play(path)``) is captured from the 'pulse' input device in real time."""
    if shutil.which("pulseaudio") is None:
        pytest.fail("pulseaudio is not installed (scripts/test installs it)")
    runtime = tmp_path / "pulse"
    runtime.mkdir()
    env = {**os.environ, "PULSE_RUNTIME_PATH": str(runtime), "XDG_RUNTIME_DIR": str(runtime), "HOME": str(tmp_path)}
    subprocess.run(
        [
            "pulseaudio",
            "-D",
            "--exit-idle-time=-1",
            "-n",
            "--use-pid-file=yes",
            "--disable-shm=yes",
            "--load=module-native-protocol-unix",
            "--load=module-null-sink sink_name=vsink",
            "--load=module-null-sink sink_name=vspeaker",
            "--load=module-always-sink",
        ],
        env=env,
        check=True,
        capture_output=True,
        timeout=20,
    )
    pid = int((runtime / "pid").read_text().strip())
    subprocess.run(["pactl", "set-default-source", "vsink.monitor"], env=env, check=True, timeout=10)
    # By default what is played goes into the sink the microphone hears (a laptop without echo
    # cancellation); ``speakers_apart()`` sends playback to a sink nobody listens to.
    subprocess.run(["pactl", "set-default-sink", "vsink"], env=env, check=True, timeout=10)
    saved = {k: os.environ.get(k) for k in ("PULSE_RUNTIME_PATH", "XDG_RUNTIME_DIR", "PULSE_SERVER")}
    os.environ.update(
        PULSE_RUNTIME_PATH=str(runtime), XDG_RUNTIME_DIR=str(runtime), PULSE_SERVER=f"unix:{runtime}/native"
    )
    import sounddevice as sd

    sd._terminate()  # PortAudio lists devices once at initialisation: list them again now
    sd._initialize()

    class Mic:
        def __init__(self) -> None:
            self.pid = pid
            self.env = env

        def play(self, path: Path) -> subprocess.Popen:
            return subprocess.Popen(["paplay", "--device=vsink", str(path)], env=env)

        def say(self, path: Path, timeout: float = 20.0) -> None:
            """Play ``path`` into the microphone's sink and wait until it has been played."""
            cmd = ["paplay", "--device=vsink", str(path)]
            done = subprocess.run(cmd, env=env, capture_output=True, timeout=timeout)
            assert done.returncode == 0, f"paplay failed ({done.returncode}): {done.stderr.decode(errors='replace')}"

        def speakers_apart(self) -> None:
            subprocess.run(["pactl", "set-default-sink", "vspeaker"], env=env, check=True, timeout=10)

        def kill(self) -> None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGKILL)

    mic = Mic()
    yield mic
    mic.kill()
    time.sleep(0.2)
    for k, v in saved.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v
    sd._terminate()
    sd._initialize()


@pytest.fixture(scope="session")
def tiny_e2v(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny random Emotion2Vec+ folder built with FunASR's own Emotion2vec class (config.yaml, model.pt,
    tokens.txt), named like the real one so model lookup finds it under a models dir."""
    from voiceassist.emotion.e2v_random import build_random_checkpoint

    return build_random_checkpoint(tmp_path_factory.mktemp("models") / "emotion2vec_plus_base", size="tiny")
