"""A loopback stand-in for the Hugging Face Hub API: enough for ``HfApi.create_repo`` and
``HfApi.create_commit`` (every file in "regular" upload mode, so its bytes travel
base64 in the commit's NDJSON body, no LFS). It records each call and the files
committed, so a test can check what the real ``huggingface_hub`` client sent.

Use: ``HF_ENDPOINT=hub.url`` in the environment of a fresh process (huggingface_hub
reads it at import) and any non-empty ``HF_TOKEN``.
"""

from __future__ import annotations

import base64
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def repo_of(path: str) -> str:
    """``ns/name`` of ``/api/datasets/ns/name/commit/rev``."""
    return "/".join(path.split("/")[3:5])


class HubStandIn:
    """``calls``: (method, path) in order; ``commits``: [{path: bytes}]; ``repos``: created;
    ``validated``: cards sent for YAML validation."""

    def __init__(self):
        self.calls: list[tuple[str, str]] = []
        self.commits: list[dict[str, bytes]] = []
        self.repos: list[dict] = []
        self.validated: list[dict] = []  # bodies of /api/validate-yaml (the card)
        hub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _body(self) -> bytes:
                if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                    data = b""
                    while True:
                        size = int(self.rfile.readline().strip().split(b";")[0], 16)
                        if size == 0:
                            self.rfile.readline()
                            return data
                        data += self.rfile.read(size)
                        self.rfile.readline()
                return self.rfile.read(int(self.headers.get("Content-Length") or 0))

            def _json(self, obj, status: int = 200) -> None:
                raw = json.dumps(obj).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def do_POST(self):
                path = self.path.split("?")[0]
                hub.calls.append(("POST", path))
                body = self._body()
                if path == "/api/repos/create":
                    info = json.loads(body)
                    hub.repos.append(info)
                    repo = (
                        info["name"]
                        if "/" in info["name"]
                        else f"{info.get('organization')}/{info['name']}"
                    )
                    return self._json({"url": f"{hub.url}/datasets/{repo}", "name": repo})
                if path == "/api/validate-yaml":
                    hub.validated.append(json.loads(body))
                    return self._json({"errors": [], "warnings": []})
                if "/preupload/" in path:
                    files = json.loads(body)["files"]
                    return self._json(
                        {
                            "files": [
                                {"path": f["path"], "uploadMode": "regular", "shouldIgnore": False}
                                for f in files
                            ]
                        }
                    )
                if "/commit/" in path:
                    files = {}
                    for line in body.decode().splitlines():
                        item = json.loads(line)
                        if item.get("key") == "file":
                            value = item["value"]
                            files[value["path"]] = base64.b64decode(value["content"])
                    hub.commits.append(files)
                    return self._json(
                        {
                            "commitUrl": f"{hub.url}/datasets/{repo_of(path)}/commit/{'1' * 40}",
                            "commitOid": "1" * 40,
                            "pullRequestUrl": None,
                        }
                    )
                return self._json({"error": f"stand-in does not know {path}"}, 404)

            def do_GET(self):
                hub.calls.append(("GET", self.path.split("?")[0]))
                return self._json({"error": "not found"}, 404)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
