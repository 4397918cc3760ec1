"""Wheels the tests make themselves, and a PEP 503 package index serving them on 127.0.0.1.

No internet: a robot's environment is built from these (a `find_links` folder, or the index as a
company mirror would serve it). The index counts what it served, can be slow (a wheel trickles out
over `delay` seconds) and can demand a password, like a private mirror.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import os
import threading
import time
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Optional


def make_wheel(folder: str, name: str, version: str, requires: tuple[str, ...] = ()) -> str:
    """A pure-Python wheel of package `name` whose module says its version (name.VERSION)."""
    module = name.replace("-", "_")
    dist = f"{module}-{version}"
    files = {
        f"{module}/__init__.py": f"VERSION = {version!r}\n",
        f"{dist}.dist-info/METADATA": "Metadata-Version: 2.1\n"
                                      f"Name: {name}\nVersion: {version}\n"
                                      + "".join(f"Requires-Dist: {r}\n" for r in requires),
        f"{dist}.dist-info/WHEEL": "Wheel-Version: 1.0\nGenerator: tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    record = []
    for path, text in files.items():
        data = text.encode()
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        record.append(f"{path},sha256={digest},{len(data)}")
    record.append(f"{dist}.dist-info/RECORD,,")
    files[f"{dist}.dist-info/RECORD"] = "\n".join(record) + "\n"
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, f"{dist}-py3-none-any.whl")
    with zipfile.ZipFile(path, "w") as wheel:
        for name_in_zip, text in files.items():
            wheel.writestr(name_in_zip, text)
    return path


class PackageIndex:
    """A PEP 503 simple index of the wheels in `folder`: /simple/<project>/ lists links to /files/<wheel>."""

    def __init__(self, folder: str, delay: float = 0.0, password: Optional[str] = None) -> None:
        self.folder, self.delay, self.password = folder, delay, password
        self.served: list[str] = []  # wheel file names, once per whole download (not per range request)
        self.lock = threading.Lock()
        index = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_args: object) -> None:
                pass

            def do_HEAD(self) -> None:  # uv asks before it downloads
                self.do_GET(head=True)

            def do_GET(self, head: bool = False) -> None:
                self.head = head
                if index.password is not None:
                    expected = "Basic " + base64.b64encode(f"robot:{index.password}".encode()).decode()
                    if self.headers.get("Authorization") != expected:
                        self.send_response(401)
                        self.send_header("WWW-Authenticate", 'Basic realm="index"')
                        self.send_header("Content-Length", "0")
                        self.end_headers()
                        return
                parts = [p for p in self.path.split("?")[0].split("/") if p]
                if len(parts) == 2 and parts[0] == "simple":
                    self.listing(parts[1])
                elif len(parts) == 2 and parts[0] == "files":
                    self.wheel(parts[1])
                else:
                    self.send_error(404)

            def listing(self, project: str) -> None:
                wanted = project.lower().replace("_", "-")
                links = [f'<a href="/files/{n}">{n}</a>' for n in sorted(os.listdir(index.folder))
                         if n.endswith(".whl") and n.split("-")[0].lower().replace("_", "-") == wanted]
                if not links:
                    self.send_error(404)
                    return
                body = ("<!DOCTYPE html><html><body>" + "<br>".join(links) + "</body></html>").encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def wheel(self, name: str) -> None:
                path = os.path.join(index.folder, os.path.basename(name))
                if not os.path.isfile(path):
                    self.send_error(404)
                    return
                with open(path, "rb") as f:
                    data = f.read()
                if self.head:
                    self.send_response(200)
                    self.send_header("Content-Type", "application/octet-stream")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    return
                if not self.headers.get("Range"):  # uv reads a wheel's metadata with a range request first
                    with index.lock:
                        index.served.append(name)
                self.send_response(200)
                self.send_header("Content-Type", "application/octet-stream")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                pieces = 10 if index.delay else 1
                step = -(-len(data) // pieces)
                with contextlib.suppress(OSError):  # the installer was killed, or read what it wanted
                    for i in range(0, len(data), step):  # trickles over `delay` seconds
                        time.sleep(index.delay / pieces)
                        self.wfile.write(data[i:i + step])
                        self.wfile.flush()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/simple"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def url_with_password(self) -> str:
        return self.url.replace("http://", f"http://robot:{self.password}@")

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
