"""An MJPEG camera on 127.0.0.1: ``multipart/x-mixed-replace`` JPEG frames, like cheap IP cameras send.

Frames come from a list (looped) at ``fps``. Two switchable misbehaviours
simulate a camera that goes away: ``stall()`` keeps the connection open but
sends nothing (the reader blocks in ``read()``), ``drop()`` closes every open
stream and refuses new ones until ``resume()``.
"""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np

BOUNDARY = b"frame"


class MjpegServer:
    def __init__(self, frames: list[np.ndarray], fps: float = 20.0, path: str = "/stream.mjpg"):
        import cv2

        self.jpegs = [cv2.imencode(".jpg", f)[1].tobytes() for f in frames]
        self.fps = fps
        self.path = path
        self.sent = 0
        self._up = threading.Event()
        self._up.set()
        self._stalled = threading.Event()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):  # noqa: N802 - http.server's naming
                if self.path != server.path or not server._up.is_set():
                    self.send_error(404 if self.path != server.path else 503)
                    return
                self.send_response(200)
                self.send_header("Content-Type", f"multipart/x-mixed-replace; boundary={BOUNDARY.decode()}")
                self.end_headers()
                i = 0
                try:
                    while server._up.is_set() and not server._closing:
                        if server._stalled.is_set():
                            time.sleep(0.05)
                            continue
                        jpg = server.jpegs[i % len(server.jpegs)]
                        self.wfile.write(b"--" + BOUNDARY + b"\r\nContent-Type: image/jpeg\r\n"
                                         + f"Content-Length: {len(jpg)}\r\n\r\n".encode() + jpg + b"\r\n")
                        self.wfile.flush()
                        server.sent += 1
                        i += 1
                        time.sleep(1.0 / server.fps)
                except OSError:  # the client went away
                    pass

        self._closing = False
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}{path}"
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self._thread.start()

    def stall(self) -> None:
        self._stalled.set()

    def drop(self) -> None:
        self._up.clear()

    def resume(self) -> None:
        self._stalled.clear()
        self._up.set()

    def close(self) -> None:
        self._closing = True
        self.httpd.shutdown()
        self.httpd.server_close()
