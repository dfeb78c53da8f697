"""A loopback HTTP server with the Hugging Face hub's repository layout, for the model manager tests:
``GET /api/models/<repo>/revision/<rev>`` (repo info, with sizes and LFS sha256 when ``blobs=true``) and
``HEAD/GET /<repo>/resolve/<rev>/<file>`` (with ``X-Repo-Commit``, ``ETag``, ``Range``).
``fail_after[path] = n`` drops the connection after n bytes once (an interrupted download);
``corrupt.add(path)`` serves wrong bytes (a damaged transfer)."""

from __future__ import annotations

import hashlib
import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

COMMIT = "0123456789abcdef0123456789abcdef01234567"


class FakeHub:
    def __init__(self, repos: dict[str, dict[str, bytes]], lfs_min: int = 1024) -> None:
        self.repos = repos
        self.lfs_min = lfs_min
        self.fail_after: dict[str, int] = {}
        self.corrupt: set[str] = set()
        self.requests: list[tuple[str, str, str | None]] = []
        hub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def _info(self, repo: str, blobs: bool) -> None:
                files = hub.repos[repo]
                siblings = []
                for name, data in files.items():
                    s: dict = {"rfilename": name}
                    if blobs:
                        s["size"] = len(data)
                        s["blobId"] = hashlib.sha1(data).hexdigest()
                        if len(data) >= hub.lfs_min:
                            s["lfs"] = {
                                "sha256": hashlib.sha256(data).hexdigest(),
                                "size": len(data),
                                "pointerSize": 130,
                            }
                    siblings.append(s)
                body = json.dumps(
                    {
                        "id": repo,
                        "modelId": repo,
                        "sha": COMMIT,
                        "siblings": siblings,
                        "private": False,
                        "gated": False,
                        "disabled": False,
                        "tags": [],
                    }
                ).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _file(self, head: bool) -> None:
                m = re.match(r"^/(.+?/.+?)/resolve/([^/]+)/(.+)$", self.path.split("?")[0])
                if not m or m.group(1) not in hub.repos or m.group(3) not in hub.repos[m.group(1)]:
                    self.send_response(404)
                    self.send_header("X-Error-Code", "EntryNotFound")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                repo, name = m.group(1), m.group(3)
                data = hub.repos[repo][name]
                etag = hashlib.sha256(data).hexdigest() if len(data) >= hub.lfs_min else hashlib.sha1(data).hexdigest()
                if name in hub.corrupt:
                    data = bytes(b ^ 0xFF for b in data)
                start = 0
                rng = self.headers.get("Range")
                hub.requests.append(("HEAD" if head else "GET", name, rng))
                if rng and not head:
                    start = int(re.match(r"bytes=(\d+)-", rng).group(1))
                self.send_response(206 if start else 200)
                self.send_header("X-Repo-Commit", COMMIT)
                self.send_header("ETag", f'"{etag}"')
                if len(data) >= hub.lfs_min:
                    self.send_header("X-Linked-Etag", f'"{etag}"')
                    self.send_header("X-Linked-Size", str(len(data)))
                self.send_header("Content-Length", str(len(data) - start))
                if start:
                    self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
                self.send_header("Accept-Ranges", "bytes")
                self.end_headers()
                if head:
                    return
                payload = data[start:]
                cut = hub.fail_after.pop(name, None)
                if cut is not None:
                    self.wfile.write(payload[:cut])
                    self.wfile.flush()
                    self.close_connection = True
                    import socket

                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                self.wfile.write(payload)

            def do_HEAD(self):
                self._file(True)

            def _tree(self, repo: str) -> None:
                entries = []
                for name, data in hub.repos[repo].items():
                    e: dict = {"type": "file", "path": name, "size": len(data), "oid": hashlib.sha1(data).hexdigest()}
                    if len(data) >= hub.lfs_min:
                        e["lfs"] = {"oid": hashlib.sha256(data).hexdigest(), "size": len(data), "pointerSize": 130}
                    entries.append(e)
                body = json.dumps(entries).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self):
                path = self.path.split("?")[0]
                t = re.match(r"^/api/models/(.+?/.+?)/tree/[^/]+/?$", path)
                if t and t.group(1) in hub.repos:
                    return self._tree(t.group(1))
                m = re.match(r"^/api/models/(.+?/.+?)(?:/revision/([^/]+))?$", path)
                if m and m.group(1) in hub.repos:
                    return self._info(m.group(1), "blobs=true" in self.path or "expand" in self.path)
                self._file(False)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
