"""A small HTTP/1.1 file server on 127.0.0.1 for download tests.

It speaks just enough HTTP to be realistic: Range requests (206, 416), and
the misbehaviours a downloader must survive, each switchable per test:
dropping the connection half way, ignoring Range, announcing a size it does
not send, sending no Content-Length (the body ends when the connection
closes), a 416 without ``Content-Range``, and sending slowly (so two clients
overlap).
"""

from __future__ import annotations

import socket
import ssl
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


class FileServer:
    """Serves ``files`` (URL path -> bytes) on a free port; records every request."""

    def __init__(self, files: dict[str, bytes], tls: tuple[Path, Path] | None = None):
        self.files = files
        self.scheme = "https" if tls else "http"
        self.requests: list[tuple[str, str | None, int]] = []  # (path, Range header, status)
        self.drop_once: dict[str, int] = {}  # path -> bytes sent before the connection is cut (once)
        self.ignore_range = False
        self.fake_length: int | None = None  # announce this Content-Length instead of the real one
        self.omit_length = False  # no Content-Length: the body is delimited by closing the connection
        self.bare_416 = False  # answer 416 without the Content-Range that says the file's size
        self.throttle_s = 0.0  # pause after each 16 kB sent
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_GET(self):  # noqa: N802 - http.server's naming
                rng = self.headers.get("Range")
                data = server.files.get(self.path)
                if data is None:
                    return self._status(404, rng)
                start = 0
                if rng and not server.ignore_range:
                    start = int(rng.removeprefix("bytes=").split("-")[0])
                    if start >= len(data):
                        self._status(416, rng, {} if server.bare_416 else {"Content-Range": f"bytes */{len(data)}"})
                        return
                body = data[start:]
                status = 206 if start else 200
                server.requests.append((self.path, rng, status))
                self.send_response(status)
                if server.omit_length:
                    self.send_header("Connection", "close")
                    self.close_connection = True
                else:
                    self.send_header("Content-Length", str(server.fake_length or len(body)))
                if status == 206:
                    self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
                self.end_headers()
                cut = server.drop_once.pop(self.path, None)
                if cut is not None:
                    self.wfile.write(body[:cut])
                    self.wfile.flush()
                    self.connection.shutdown(socket.SHUT_RDWR)
                    self.close_connection = True
                    return
                if server.fake_length is None:
                    for i in range(0, len(body), 1 << 14):
                        self.wfile.write(body[i:i + (1 << 14)])
                        if server.throttle_s:
                            self.wfile.flush()
                            time.sleep(server.throttle_s)

            def _status(self, code, rng, headers=None):
                server.requests.append((self.path, rng, code))
                self.send_response(code)
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        if tls:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(*tls)
            self.httpd.socket = ctx.wrap_socket(self.httpd.socket, server_side=True)
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def url(self, path: str) -> str:
        return f"{self.scheme}://127.0.0.1:{self.httpd.server_address[1]}{path}"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
