"""Start time of the window, frozen build against the virtual environment, in the same run (alternating, so
both see the same machine load): process start until the window has been shown, drawn and grabbed
(``--no-start --screenshot F --quit-after 0.001``: the grab runs in the first turn of the event loop),
plus the exit. Each in a fresh temporary home. Before the first round, the files of the frozen folder and
of the venv's site-packages are dropped from the page cache (posix_fadvise DONTNEED, file by file: no
root needed, nothing else evicted), so the first round is a cold start from disk; the rest are warm.

    python packaging/measure_start.py DIST_FOLDER [ROUNDS]
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def once(cmd: list[str]) -> float:
    with tempfile.TemporaryDirectory(prefix="voiceassist-start-") as tmp:
        home = Path(tmp)
        env = {
            **os.environ,
            "QT_QPA_PLATFORM": "offscreen",
            "XDG_CONFIG_HOME": str(home / "config"),
            "XDG_DATA_HOME": str(home / "data"),
            "XDG_STATE_HOME": str(home / "state"),
            "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring",
            "VOICEASSIST_KEY_STORE": "file",
        }
        shot = home / "window.png"
        t0 = time.perf_counter()
        subprocess.run(
            [*cmd, "--no-start", "--screenshot", str(shot), "--quit-after", "0.001"],
            env=env,
            check=True,
            capture_output=True,
            timeout=120,
        )
        took = time.perf_counter() - t0
        if not shot.is_file() or shot.stat().st_size < 1000:
            raise SystemExit(f"{cmd[0]}: no window was drawn")
        return took


def evict(folder: Path) -> int:
    """Drop ``folder``'s files from the page cache (pages mapped by a running process stay)."""
    n = 0
    for path in folder.rglob("*"):
        if path.is_file() and not path.is_symlink():
            try:
                fd = os.open(path, os.O_RDONLY)
            except OSError:
                continue
            try:
                os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
                n += 1
            finally:
                os.close(fd)
    return n


def main() -> None:
    dist = Path(sys.argv[1])
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 4
    kinds = {
        "frozen": [str(dist / "voiceassist-app")],
        "venv": [str(ROOT / ".venv" / "bin" / "voiceassist"), "app"],
    }
    times: dict[str, list[float]] = {k: [] for k in kinds}
    site = next((ROOT / ".venv" / "lib").glob("python3*/site-packages"))
    print(f"evicted {evict(dist) + evict(site) + evict(ROOT / 'voiceassist')} files from the page cache")
    for _ in range(rounds):
        for kind, cmd in kinds.items():
            times[kind].append(once(cmd))
    for kind, ts in times.items():
        warm = ts[1:] or ts
        print(
            f"{kind:7s} first {ts[0]:.2f} s, then median {statistics.median(warm):.2f} s "
            f"(min {min(warm):.2f}, max {max(warm):.2f}; {len(warm)} runs)"
        )


if __name__ == "__main__":
    main()
