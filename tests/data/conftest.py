"""Fixtures of the data area: the generated sample, extracted raw folders, a local HTTP server.

Other areas can build on the same path::

    manifest = write_sample(tmp / "sample")
    download_source(name, from_path=tmp / "sample", raw_dir=tmp / "raw", progress=False)
"""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from hqseg.data.download import download_source
from hqseg.sample import write_sample


@pytest.fixture(scope="session")
def sample(tmp_path_factory) -> tuple[Path, dict]:
    """(folder, manifest) of ``write_sample`` with seed 0, written once per session."""
    out = tmp_path_factory.mktemp("sample")
    return out, write_sample(out, seed=0)


@pytest.fixture(scope="session")
def raw(sample, tmp_path_factory):
    """``raw(origin)`` -> a folder with every source of that origin extracted from the sample."""
    folder, manifest = sample
    done: dict[str, Path] = {}

    def extracted(origin: str) -> Path:
        if origin not in done:
            raw_dir = tmp_path_factory.mktemp(f"raw_{origin}")
            from_path = folder if origin == "original" else folder / "repack"
            for name in manifest["pairs"][origin]:
                download_source(
                    name,
                    origin=origin,
                    from_path=from_path,
                    raw_dir=raw_dir,
                    progress=False,
                    log=lambda _msg: None,
                )
            done[origin] = raw_dir
        return done[origin]

    return extracted


class FileServer:
    """A loopback HTTP server for ``files`` (name -> bytes) with Range support.

    ``cut`` names files whose next full (non-Range) response is cut after half the
    bytes, the connection closed mid-body. ``no_range`` names files served whole
    (200) even to a Range request; ``refuse_range`` names files whose Range requests
    get 416. ``requests`` logs (path, Range header).
    """

    def __init__(self):
        self.files: dict[str, bytes] = {}
        self.cut: set[str] = set()
        self.no_range: set[str] = set()
        self.refuse_range: set[str] = set()
        self.requests: list[tuple[str, str | None]] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep pytest output clean
                pass

            def do_GET(self):
                name = self.path.lstrip("/")
                rng = self.headers.get("Range")
                server.requests.append((name, rng))
                data = server.files.get(name)
                if data is None:
                    self.send_error(404)
                    return
                if rng and name in server.refuse_range:
                    self.send_error(416)
                    return
                if name in server.no_range:
                    rng = None
                start = int(rng.split("=")[1].split("-")[0]) if rng else 0
                self.send_response(206 if rng else 200)
                self.send_header("Content-Type", "application/zip")
                self.send_header("Accept-Ranges", "bytes")
                self.send_header("Content-Length", str(len(data) - start))
                if rng:
                    self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
                self.end_headers()
                if not rng and name in server.cut:
                    server.cut.discard(name)
                    self.wfile.write(data[: len(data) // 2])
                    self.wfile.flush()
                    self.close_connection = True
                    return
                self.wfile.write(data[start:])

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/"
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.thread.start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def http_server():
    server = FileServer()
    yield server
    server.close()
