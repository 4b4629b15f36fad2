"""A small HTTP file server on 127.0.0.1 whose faults tests choose: it drops connections
mid-file, ignores Range requests, and logs every request's Range header."""

from __future__ import annotations

import hashlib
import http.server
import re
import socket
import struct
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field


@dataclass
class Faults:
    """What the server does wrong, per file name."""

    #: how many of the next responses stop after ``cut`` of their body, then close
    drops: int = 0
    #: fraction of a response's body sent before a drop
    cut: float = 0.4
    #: close with a TCP reset instead of a normal close
    reset: bool = False
    #: answer every request with the whole file (200), whatever its Range header says
    ignore_range: bool = False


@dataclass
class Served:
    base: str
    files: dict[str, bytes]
    faults: dict[str, Faults] = field(default_factory=dict)
    #: (file name, Range header or None, status sent) per request
    log: list[tuple[str, str | None, int]] = field(default_factory=list)

    def url(self, name: str) -> str:
        return f"{self.base}/{name}"

    def ranges(self, name: str) -> list[str | None]:
        return [r for n, r, _ in self.log if n == name]


class _Handler(http.server.BaseHTTPRequestHandler):
    served: Served

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        name = self.path.lstrip("/")
        data = self.served.files.get(name)
        rng = self.headers.get("Range")
        if data is None:
            self.served.log.append((name, rng, 404))
            self.send_error(404)
            return
        faults = self.served.faults.get(name, Faults())
        start = 0
        m = re.fullmatch(r"bytes=(\d+)-", rng or "")
        if m and not faults.ignore_range:
            start = int(m.group(1))
            if start >= len(data):
                self.served.log.append((name, rng, 416))
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{len(data)}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
            self.served.log.append((name, rng, 206))
        else:
            self.send_response(200)
            self.served.log.append((name, rng, 200))
        body = data[start:]
        self.send_header("Content-Length", str(len(body)))
        self.send_header("ETag", f"\"{hashlib.md5(data).hexdigest()[:16]}\"")
        self.end_headers()
        if faults.drops > 0:
            faults.drops -= 1
            self.wfile.write(body[: int(len(body) * faults.cut)])
            self.wfile.flush()
            if faults.reset:  # RST instead of FIN: the client's read raises
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                           struct.pack("ii", 1, 0))
            self.close_connection = True
            return
        self.wfile.write(body)


@contextmanager
def serve(files: dict[str, bytes]) -> Iterator[Served]:
    """Serve ``files`` (name -> bytes) from a thread until the block ends."""
    served = Served("", files)
    handler = type("Handler", (_Handler,), {"served": served})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    served.base = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield served
    finally:
        server.shutdown()
        server.server_close()
