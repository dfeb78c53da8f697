"""The API server under load: ``/v1/audio/emotion`` on a 3 s clip with 1, 4 and 16 concurrent clients,
against the same analysis called in-process in the same run; then 4 realtime WebSocket sessions replayed
in real time, with their partial and final transcript lag.

Run:  .venv/bin/python bench/api_load.py [--requests 12] [--port 8799]

The server is ``voiceassist serve`` in its own process (as a user runs it; default settings: one analysis
worker, 32 may wait), with the embedded models. The in-process baseline is ``Engine.analyze`` on a
FileSource of the same clip in this process (the code path the endpoint runs, without HTTP, upload, temp
file, queue or JSON). The machine is shared and noisy: read the ratios, each measured in this one run.

Targets: server overhead at most 10 % at 1 client (p50 over in-process p50); no errors and bounded memory
at 16 clients (requests queued, not refused, up to api.max_queued).

Lag in the realtime part: time from sending the audio that ends where an event's audio ends (a partial's
``audio_end_s``, a final's ``end_s``) to receiving the event. A final waits for the VAD hangover
(``vad.hangover_ms`` of silence) before it can exist, so its lag includes that.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.conftest import espeak, silence, write_wav


def pct(values: list[float], p: float) -> float:
    return float(np.percentile(values, p)) if values else float("nan")


def rss_mb(pid: int, field: str = "VmRSS") -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def start_server(home: Path, port: int) -> tuple[subprocess.Popen[str], str, str]:
    env = {**os.environ, "XDG_CONFIG_HOME": str(home / "cfg"), "XDG_DATA_HOME": str(home / "data")}
    env["XDG_STATE_HOME"] = str(home / "state")
    cmd = [sys.executable, "-m", "voiceassist", "serve", "--port", str(port), "--set", "store.enabled=false"]
    token = subprocess.run([*cmd, "--show-token"], env=env, capture_output=True, text=True, check=True).stdout.strip()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    import httpx

    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(base + "/health", timeout=2).status_code == 200:
                return proc, base, token
        except httpx.TransportError:
            pass
        if proc.poll() is not None:
            raise SystemExit(f"the server did not start: {proc.stderr.read() if proc.stderr else ''}")
        time.sleep(0.3)
    raise SystemExit("the server did not answer within 120 s")


class InProcess:
    """The baseline: the endpoint's analysis (``Engine.analyze`` on a FileSource) called in this process."""

    def __init__(self, clip: Path) -> None:
        from voiceassist.api.engine import Engine
        from voiceassist.config import load_config

        self.clip = clip
        self.engine = Engine(load_config(None, ["store.enabled=false", "tts.enabled=false"]))
        self()

    def __call__(self) -> float:
        from voiceassist.audio.sources import FileSource

        t0 = time.perf_counter()
        src = FileSource(self.clip, chunk_ms=self.engine.cfg.audio.file_chunk_ms)
        src.open()
        doc = self.engine.analyze(src, self.clip.name)
        assert doc["segments"], "no speech found in the clip"
        return time.perf_counter() - t0


def interleaved(base: str, token: str, clip: Path, baseline: InProcess, n: int) -> tuple[list[float], list[float]]:
    """One client: a request to the server, then the same analysis in-process, n times (noise hits both)."""
    import httpx

    data = clip.read_bytes()
    server, local = [], []
    with httpx.Client(timeout=300) as c:
        for _ in range(n):
            t0 = time.perf_counter()
            r = c.post(
                base + "/v1/audio/emotion",
                headers={"Authorization": f"Bearer {token}"},
                files={"file": ("clip.wav", data, "audio/wav")},
            )
            server.append(time.perf_counter() - t0)
            assert r.status_code == 200, r.text
            local.append(baseline())
    return server, local


def load(base: str, token: str, clip: Path, clients: int, total: int, pid: int) -> dict[str, Any]:
    import httpx

    data = clip.read_bytes()
    latencies: list[float] = []
    errors: list[str] = []
    peak = [rss_mb(pid)]
    stop = threading.Event()

    def sample() -> None:
        while not stop.wait(0.2):
            peak.append(rss_mb(pid))

    def one(_: int) -> None:
        with httpx.Client(timeout=300) as c:
            t0 = time.perf_counter()
            r = c.post(
                base + "/v1/audio/emotion",
                headers={"Authorization": f"Bearer {token}"},
                files={"file": ("clip.wav", data, "audio/wav")},
            )
            dt = time.perf_counter() - t0
        if r.status_code == 200:
            latencies.append(dt)
        else:
            errors.append(f"{r.status_code} {r.text[:100]}")

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    t0 = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(one, range(total)))
    wall = time.perf_counter() - t0
    stop.set()
    sampler.join()
    return {
        "clients": clients,
        "requests": total,
        "errors": errors,
        "rps": len(latencies) / wall,
        "p50": pct(latencies, 50),
        "p95": pct(latencies, 95),
        "rss_before": peak[0],
        "rss_peak": max(peak),
        "rss_after": rss_mb(pid),
    }


def realtime(base: str, token: str, recording: np.ndarray, sessions: int) -> dict[str, Any]:
    from websockets.sync.client import connect

    url = base.replace("http://", "ws://") + "/v1/realtime"
    results: list[dict[str, Any]] = []
    lock = threading.Lock()

    def session() -> None:
        sent_at: list[float] = []  # monotonic send time of each 20 ms frame
        events: list[tuple[float, dict[str, Any]]] = []
        with connect(url, additional_headers={"Authorization": f"Bearer {token}"}, max_size=None) as ws:

            def reader() -> None:
                for message in ws:
                    events.append((time.monotonic(), json.loads(message)))

            t = threading.Thread(target=reader, daemon=True)
            t.start()
            ws.send(json.dumps({"type": "session.update", "session": {"language": "en"}}))
            t0 = time.monotonic()
            for i in range(0, len(recording), 320):
                ws.send(recording[i : i + 320].astype("<i2").tobytes())
                sent_at.append(time.monotonic())
                delay = t0 + (i + 320) / 16000 - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
            ws.send(json.dumps({"type": "input_audio_buffer.end"}))
            t.join(120)

        def sent(stream_s: float) -> float:
            return sent_at[min(len(sent_at) - 1, max(0, int(np.ceil(stream_s / 0.02)) - 1))]

        finals = [got - sent(e["end_s"]) for got, e in events if e["type"] == "transcript.final" and e["text"]]
        partials = [got - sent(e["audio_end_s"]) for got, e in events if e["type"] == "transcript.partial"]
        with lock:
            results.append({"finals": finals, "partials": partials, "ended": events[-1][1]["type"] == "session.ended"})

    threads = [threading.Thread(target=session) for _ in range(sessions)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(300)
    finals = [x for r in results for x in r["finals"]]
    partials = [x for r in results for x in r["partials"]]
    return {
        "sessions": sessions,
        "completed": sum(r["ended"] for r in results),
        "finals": len(finals),
        "final_p50": pct(finals, 50),
        "final_p95": pct(finals, 95),
        "partials": len(partials),
        "partial_p50": pct(partials, 50),
        "partial_p95": pct(partials, 95),
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--requests", type=int, default=12, help="requests per client count (at least the clients)")
    ap.add_argument("--port", type=int, default=8799)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="api-bench-"))
    speech = espeak("Please remind me to call my sister.")
    clip = write_wav(tmp / "clip.wav", np.concatenate([silence(0.2), speech, silence(3.0)])[: 3 * 16000])
    print(f"clip: {len(speech) / 16000:.2f} s of speech in a 3.0 s file")
    print(f"cores: {os.cpu_count()}, load average {os.getloadavg()[0]:.2f}")
    baseline = InProcess(clip)
    proc, base, token = start_server(tmp / "home", args.port)
    try:
        load(base, token, clip, 1, 2, proc.pid)  # warm up
        server, local = interleaved(base, token, clip, baseline, args.requests * 2)
        base_p50 = pct(local, 50)
        print(
            f"1 client, interleaved with the in-process call ({len(server)} each): server p50 {pct(server, 50):.3f} s "
            f"p95 {pct(server, 95):.3f} s; in-process p50 {base_p50:.3f} s p95 {pct(local, 95):.3f} s; "
            f"overhead {pct(server, 50) / base_p50 - 1:+.1%} (p50), "
            f"{statistics.mean(server) / statistics.mean(local) - 1:+.1%} (mean)"
        )
        print("clients  req  errors   req/s  p50 (s)  p95 (s)  p50/in-process  req/s / in-process  RSS MB s/p/e")
        for clients in (1, 4, 16):
            base_p50 = statistics.median(baseline() for _ in range(5))  # the baseline just before, for the ratios
            r = load(base, token, clip, clients, max(args.requests, clients) * (1 if clients == 1 else 2), proc.pid)
            print(
                f"{clients:7d} {r['requests']:4d} {len(r['errors']):7d} {r['rps']:7.2f} {r['p50']:8.3f} {r['p95']:8.3f}"
                f" {r['p50'] / base_p50:15.2f} {r['rps'] * base_p50:19.2f}"
                f"  {r['rss_before']:.0f}/{r['rss_peak']:.0f}/{r['rss_after']:.0f}"
            )
            for e in r["errors"][:3]:
                print("   error:", e)
        a = espeak("Good morning, how are you today?")
        b = espeak("I feel a bit tired, but I am fine.")
        recording = np.concatenate([silence(0.8), a, silence(1.5), b, silence(1.2)])
        rt = realtime(base, token, recording, 4)
        print(
            f"realtime: {rt['sessions']} sessions of {len(recording) / 16000:.1f} s in real time, "
            f"{rt['completed']} completed; finals {rt['finals']}: lag p50 {rt['final_p50']:.3f} s, "
            f"p95 {rt['final_p95']:.3f} s; partials {rt['partials']}: lag p50 {rt['partial_p50']:.3f} s, "
            f"p95 {rt['partial_p95']:.3f} s"
        )
        print(f"server RSS at the end: {rss_mb(proc.pid):.0f} MB (peak {rss_mb(proc.pid, 'VmHWM'):.0f} MB)")
    finally:
        proc.terminate()
        proc.wait(30)
        baseline.engine.close()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
