"""A real Taguette on loopback, driven over HTTP as its web client does (for the exchange tests).

Taguette is not a dependency of ours (it pins old bleach and SQLAlchemy): the
Makefile installs it into its own venv, ``.venv-taguette``, and the tests
find it through ``BALISES_TAGUETTE``, that venv, or the ``PATH``.
"""

from __future__ import annotations

import http.cookiejar
import json
import os
import re
import shutil
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from pathlib import Path

from lxml import html as lxml_html

ROOT = Path(__file__).resolve().parents[2]


def find_taguette() -> str | None:
    """The taguette executable, or None when it is not installed."""
    configured = os.environ.get("BALISES_TAGUETTE")
    if configured:
        # Set but wrong is a broken set-up, not a reason to skip.
        if not Path(configured).is_file():
            raise FileNotFoundError(f"BALISES_TAGUETTE={configured} does not exist")
        return configured
    local = ROOT / ".venv-taguette" / "bin" / "taguette"
    if local.is_file():
        return str(local)
    return shutil.which("taguette")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _multipart(fields: dict[str, str], files: dict[str, tuple[str, str, bytes]]) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    parts = []
    for name, value in fields.items():
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode()
                     + value.encode("utf-8") + b"\r\n")
    for name, (filename, ctype, data) in files.items():
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; '
                     f'filename="{filename}"\r\nContent-Type: {ctype}\r\n\r\n'.encode() + data + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


class TaguetteServer:
    """``taguette`` (single-user mode) with a temporary home and database, logged in."""

    def __init__(self, exe: str, workdir: Path, timeout: float = 60):
        self.workdir = workdir
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        home = workdir / "home"
        home.mkdir(parents=True)
        env = dict(os.environ, HOME=str(home), XDG_DATA_HOME=str(home / ".local" / "share"),
                   PYTHONUNBUFFERED="1")
        self.log = open(workdir / "taguette.log", "w+", encoding="utf-8")
        self.proc = subprocess.Popen(
            [exe, "--no-browser", "--bind", "127.0.0.1", "--port", str(self.port),
             "--database", str(workdir / "taguette.sqlite3")],
            stdout=subprocess.PIPE, stderr=self.log, text=True, env=env)
        self.cookies = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.cookies))
        try:
            self._login(self._wait_for_token(timeout))
        except Exception:
            self.stop()
            raise

    def _wait_for_token(self, timeout: float) -> str:
        found: list[str] = []

        def read() -> None:
            for line in self.proc.stdout:
                m = re.search(r"\?token=([0-9a-f]+)", line)
                if m and not found:
                    found.append(m.group(1))

        threading.Thread(target=read, daemon=True).start()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if found:
                return found[0]
            if self.proc.poll() is not None:
                raise RuntimeError(f"taguette exited with {self.proc.returncode}: {self.log_text()[-2000:]}")
            time.sleep(0.1)
        raise TimeoutError(f"taguette did not print its login link in {timeout} s: {self.log_text()[-2000:]}")

    def log_text(self) -> str:
        if not self.log.closed:
            self.log.flush()
        return (self.workdir / "taguette.log").read_text(encoding="utf-8", errors="replace")

    def _login(self, token: str) -> None:
        for _ in range(50):  # the link is printed just before the port accepts connections
            try:
                self.get(f"/?token={token}")
                break
            except urllib.error.URLError:
                time.sleep(0.1)
        page = self.get("/project/new").decode("utf-8")  # sets the _xsrf cookie
        if "name=\"name\"" not in page:
            raise RuntimeError("login with the single-user token failed")

    # ------------------------------------------------------------ HTTP
    def _xsrf(self) -> str:
        return next(c.value for c in self.cookies if c.name == "_xsrf")

    def request(self, path: str, data: bytes | None = None, ctype: str | None = None) -> tuple[str, bytes]:
        req = urllib.request.Request(self.base + path, data=data)
        if data is not None:
            req.add_header("X-XSRFToken", self._xsrf())
            req.add_header("Content-Type", ctype or "application/x-www-form-urlencoded")
        with self.opener.open(req, timeout=30) as resp:
            return resp.geturl(), resp.read()

    def get(self, path: str) -> bytes:
        return self.request(path)[1]

    def get_json(self, path: str) -> dict:
        return json.loads(self.get(path))

    def post_form(self, path: str, fields: dict[str, str]) -> tuple[str, bytes]:
        return self.request(path, urllib.parse.urlencode(fields).encode("utf-8"))

    def post_files(self, path: str, fields: dict[str, str], files: dict) -> tuple[str, bytes]:
        body, ctype = _multipart(fields, files)
        return self.request(path, body, ctype)

    def post_json(self, path: str, obj: dict) -> dict:
        return json.loads(self.request(path, json.dumps(obj).encode("utf-8"), "application/json")[1])

    # ------------------------------------------------------------ what a user does
    def create_project(self, name: str) -> int:
        url, _ = self.post_form("/project/new", {"name": name, "description": ""})
        m = re.search(r"/project/(\d+)$", url)
        if not m:
            raise RuntimeError(f"project not created (ended on {url})")
        return int(m.group(1))

    def import_codebook(self, project: int, csv_bytes: bytes) -> None:
        """Upload a codebook CSV, then confirm the tags Taguette proposes, as the web page does."""
        _, page = self.post_files(f"/project/{project}/import_codebook", {},
                                  {"file": ("codebook.csv", "text/csv", csv_bytes)})
        doc = lxml_html.fromstring(page)
        forms = [f for f in doc.forms if "import_codebook" in (f.action or "")]
        if not forms:
            errors = [e.text_content().strip() for e in doc.find_class("alert-danger")]
            raise RuntimeError(f"codebook refused: {errors or page[:500]!r}")
        fields = dict(forms[0].form_values())
        url, _ = self.post_form(f"/project/{project}/import_codebook", fields)
        if not url.rstrip("/").endswith(f"/project/{project}"):
            raise RuntimeError(f"codebook import not confirmed (ended on {url})")

    def tags(self, project: int) -> dict[str, int]:
        """``{tag path: tag id}``, read where the web client reads them: the project page."""
        page = self.get(f"/project/{project}").decode("utf-8")
        m = re.search(r"^\s*var tags = (.*);\s*$", page, re.M)
        if not m:
            raise RuntimeError("no tags in the project page")
        return {t["path"]: int(t["id"]) for t in json.loads(m.group(1)).values()}

    def add_document(self, project: int, name: str, page: str) -> int:
        _, body = self.post_files(f"/api/project/{project}/document/new",
                                  {"name": name, "description": ""},
                                  {"file": (f"{name}.html", "text/html", page.encode("utf-8"))})
        return int(json.loads(body)["created"])

    def contents(self, project: int, document: int) -> str:
        data = self.get_json(f"/api/project/{project}/document/{document}/contents")
        return "".join(chunk["contents"] for chunk in data["contents"])

    def add_highlight(self, project: int, document: int, start: int, end: int, tags: list[int]) -> int:
        return int(self.post_json(f"/api/project/{project}/document/{document}/highlight/new",
                                  {"start_offset": start, "end_offset": end, "tags": tags})["id"])

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
