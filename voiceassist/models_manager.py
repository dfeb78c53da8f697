"""The model manager: list, pull, verify and remove the models in the catalogue (resources/models.toml).

From Hugging Face, the repository's file list, sizes and sha256 come from the hub's API (huggingface_hub);
each file is then streamed (httpx, the hub's own URLs and headers) so that a download reports its progress
in bytes, can be cancelled between chunks, and resumes from what is on disk (an HTTP Range request, on a
dropped connection at once, or on the next run after a cancel). ModelScope downloads go through its own
client. What arrives is checked against the hub's metadata (every file's size, and the sha256 of large
files) before it is installed; the download happens in ``<models dir>/.partial/<folder>`` and is moved into
place in one rename, so a half-downloaded model is never used. The checked sizes and hashes are kept in the
model folder (``.voiceassist-manifest.json``) for ``models verify``.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import os
import shutil
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from voiceassist.paths import resources_dir

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

MANIFEST = ".voiceassist-manifest.json"


class ModelManagerError(RuntimeError):
    pass


class Cancelled(ModelManagerError):
    """The person cancelled a download; what arrived is kept, and the next pull resumes from it."""


Progress = Callable[[int, int], None]
"""(bytes so far, bytes in all) of a download."""


@dataclass(frozen=True)
class Entry:
    name: str
    kind: str
    folder: str
    hf: str | None
    ms: str | None
    size_mb: float
    required: tuple[str, ...]
    patterns: tuple[str, ...] = ()
    """Only these files of the repository (glob patterns), for repositories that hold many models."""
    license: str = ""
    """The model's licence, in words (shown before a download is agreed to)."""
    license_url: str = ""


def catalogue(path: Path | None = None) -> dict[str, Entry]:
    data = tomllib.loads((path or resources_dir() / "models.toml").read_text(encoding="utf-8"))
    return {
        name: Entry(
            name,
            e["kind"],
            e["folder"],
            e.get("hf"),
            e.get("ms"),
            float(e.get("size_mb", 0)),
            tuple(e.get("required", [])),
            tuple(e.get("patterns", [])),
            str(e.get("license", "")),
            str(e.get("license_url", "")),
        )
        for name, e in data.items()
    }


def installed(entry: Entry, models_dir: Path) -> bool:
    folder = models_dir / entry.folder
    return folder.is_dir() and all((folder / f).is_file() for f in entry.required)


def folder_size(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def manual_instructions(entry: Entry, models_dir: Path) -> str:
    where = [
        f"https://huggingface.co/{entry.hf}" if entry.hf else "",
        f"https://modelscope.cn/models/{entry.ms}" if entry.ms else "",
    ]
    return (
        f"download the files of {entry.name} ({', '.join(entry.required)} and the rest of the repository) "
        f"from {' or '.join(w for w in where if w)} and put them in {models_dir / entry.folder}"
    )


def hub_metadata(repo: str, endpoint: str | None) -> dict[str, dict[str, Any]]:
    """{file: {"size": n, "sha256": hex or None}} from the Hugging Face hub's repository info."""
    from huggingface_hub import HfApi

    info = HfApi(endpoint=endpoint).model_info(repo, files_metadata=True)
    out: dict[str, dict[str, Any]] = {}
    for s in info.siblings or []:
        lfs = getattr(s, "lfs", None)
        out[s.rfilename] = {"size": s.size, "sha256": getattr(lfs, "sha256", None) if lfs else None}
    return out


def check_files(folder: Path, expected: dict[str, dict[str, Any]]) -> list[str]:
    """Problems of ``folder`` against the expected sizes/hashes (empty: all good)."""
    problems = []
    for name, meta in expected.items():
        p = folder / name
        if not p.is_file():
            problems.append(f"{name}: missing")
            continue
        if meta.get("size") is not None and p.stat().st_size != meta["size"]:
            problems.append(f"{name}: {p.stat().st_size} bytes, expected {meta['size']}")
        elif meta.get("sha256") and _sha256(p) != meta["sha256"]:
            problems.append(f"{name}: sha256 does not match the hub's")
    return problems


def pull(
    name: str,
    models_dir: Path,
    hub: str = "hf",
    endpoint: str | None = None,
    cat: dict[str, Entry] | None = None,
    progress: Progress | None = None,
    cancel: threading.Event | None = None,
) -> Path:
    """Download, check and install ``name``; returns its folder. Errors say what to do. ``progress`` hears the
    bytes as they arrive (Hugging Face); setting ``cancel`` stops between chunks (Cancelled, resumable)."""
    cat = cat if cat is not None else catalogue()
    if name not in cat:
        raise ModelManagerError(f"unknown model {name!r}; see 'voiceassist models list'")
    entry = cat[name]
    final = models_dir / entry.folder
    partial = models_dir / ".partial" / entry.folder
    partial.mkdir(parents=True, exist_ok=True)
    try:
        if hub == "ms":
            if not entry.ms:
                raise ModelManagerError(f"{name} is not on ModelScope; use --hub hf")
            from modelscope import snapshot_download as ms_download

            ms_download(entry.ms, local_dir=str(partial))
            expected = {f: {"size": None, "sha256": None} for f in entry.required}
        else:
            if not entry.hf:
                raise ModelManagerError(f"{name} is not on Hugging Face; use --hub ms")
            expected = hub_metadata(entry.hf, endpoint)
            if entry.patterns:
                expected = {f: m for f, m in expected.items() if any(fnmatch.fnmatch(f, p) for p in entry.patterns)}
            _fetch(entry.hf, partial, expected, endpoint, progress, cancel)
    except ModelManagerError:
        raise
    except Exception as e:
        raise ModelManagerError(
            f"could not download {name} ({type(e).__name__}: {str(e).splitlines()[0][:160]}). What was already "
            f"downloaded is kept in {partial}: run the same command again to resume. Without a network: "
            + manual_instructions(entry, models_dir)
        ) from e
    problems = check_files(partial, expected) + [
        f"{f}: missing" for f in entry.required if not (partial / f).is_file() and f not in expected
    ]
    if problems:
        for name_ in expected:  # a damaged file must be fetched again, not resumed
            if any(p.startswith(f"{name_}:") for p in problems):
                (partial / name_).unlink(missing_ok=True)
        raise ModelManagerError(
            f"{name}: the download does not match the hub ({'; '.join(problems[:3])}); "
            "it was not installed. Run the command again."
        )
    (partial / MANIFEST).write_text(
        json.dumps({"name": name, "source": entry.hf if hub == "hf" else entry.ms, "files": expected}, indent=1),
        encoding="utf-8",
    )
    shutil.rmtree(partial / ".cache", ignore_errors=True)
    if final.exists():
        old = models_dir / ".partial" / f"{entry.folder}.old"
        shutil.rmtree(old, ignore_errors=True)
        os.replace(final, old)
        os.replace(partial, final)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(partial, final)
    return final


def _fetch(
    repo: str,
    partial: Path,
    expected: dict[str, dict[str, Any]],
    endpoint: str | None,
    progress: Progress | None,
    cancel: threading.Event | None,
) -> None:
    """Stream every file of ``expected`` into ``partial`` (``<file>.incomplete`` until whole), resuming."""
    import httpx
    from huggingface_hub import hf_hub_url
    from huggingface_hub.utils import build_hf_headers  # type: ignore[attr-defined]

    total = sum(int(m.get("size") or 0) for m in expected.values())
    done = 0
    for name, meta in expected.items():
        dest = partial / name
        size = meta.get("size")
        if dest.is_file() and (size is None or dest.stat().st_size == size):
            done += dest.stat().st_size
            continue
        dest.parent.mkdir(parents=True, exist_ok=True)
        part = dest.with_name(dest.name + ".incomplete")
        url = hf_hub_url(repo, name, endpoint=endpoint)
        before = done  # every other file's bytes
        for attempt in range(4):  # a dropped connection resumes from what arrived
            have = part.stat().st_size if part.exists() else 0
            headers = build_hf_headers()
            if have:
                headers["Range"] = f"bytes={have}-"
            try:
                with httpx.stream("GET", url, headers=headers, follow_redirects=True, timeout=30) as r:
                    if r.status_code == 416:  # already whole
                        break
                    r.raise_for_status()
                    written = have if have and r.status_code == 206 else 0
                    with open(part, "ab" if written else "wb") as f:
                        for chunk in r.iter_bytes(1 << 20):
                            if cancel is not None and cancel.is_set():
                                raise Cancelled(
                                    f"the download of {repo} was cancelled; what arrived is kept in {partial}: "
                                    "pull it again to resume"
                                )
                            f.write(chunk)
                            written += len(chunk)
                            if progress is not None:
                                progress(before + written, total)
                break
            except httpx.TransportError:
                if attempt == 3:
                    raise
        done = before + (part.stat().st_size if part.exists() else 0)
        os.replace(part, dest)


def recommended(cuda_memory_gb: float | None, cores: int) -> str:
    """The Emotion2Vec+ size for this machine: large on a GPU with 6 GB or more, base on a smaller GPU or a
    CPU with 8+ cores (it runs at about 0.15 of real time there), seed otherwise."""
    if cuda_memory_gb is not None:
        return "emotion2vec_plus_large" if cuda_memory_gb >= 6 else "emotion2vec_plus_base"
    return "emotion2vec_plus_base" if cores >= 8 else "emotion2vec_plus_seed"


def cuda_memory_gb() -> float | None:
    """The first NVIDIA GPU's memory in GB (from nvidia-smi: quick, and torch, hundreds of MB, is not
    imported for it), or None without one."""
    import subprocess

    smi = shutil.which("nvidia-smi")
    if smi is None:
        return None
    try:
        out = subprocess.run(
            [smi, "--query-gpu=memory.total", "--format=csv,noheader,nounits"],
            capture_output=True, text=True, timeout=3, check=True,
        ).stdout  # fmt: skip
        return float(out.split()[0]) / 1024
    except (OSError, subprocess.SubprocessError, ValueError, IndexError):
        return None


def verify(entry: Entry, models_dir: Path) -> list[str]:
    folder = models_dir / entry.folder
    if not installed(entry, models_dir):
        return [f"not installed ({manual_instructions(entry, models_dir)})"]
    manifest = folder / MANIFEST
    if not manifest.is_file():
        return []  # placed by hand: required files present is all we can check
    return check_files(folder, json.loads(manifest.read_text(encoding="utf-8"))["files"])


def remove(entry: Entry, models_dir: Path) -> bool:
    folder = models_dir / entry.folder
    if not folder.exists():
        return False
    shutil.rmtree(folder)
    return True


def gpu_report() -> str:
    lines = []
    try:
        import ctranslate2

        n = ctranslate2.get_cuda_device_count()
        lines.append(f"CTranslate2 (Whisper): {n} CUDA device(s)")
    except Exception as e:
        lines.append(f"CTranslate2: {e}")
    try:
        import torch

        if torch.cuda.is_available():
            for i in range(torch.cuda.device_count()):
                p = torch.cuda.get_device_properties(i)
                lines.append(f"torch (Emotion2Vec+, LLM): cuda:{i} {p.name}, {p.total_memory / 2**30:.1f} GiB")
        else:
            lines.append("torch (Emotion2Vec+, LLM): no CUDA device; CPU")
    except Exception as e:
        lines.append(f"torch: {e}")
    return "\n".join(lines)
