"""The batch's report kernels, forked from one process that has imported what they need.

Every report runs in a new kernel (nothing carries over from one report to the next), and every new
kernel used to pay its imports again: ipykernel's start (≈ 0.2 s CPU) and, in its first cell, pandas
and the library (≈ 0.35 s CPU), seven times on the bundled corpus, once per territory at scale. This
process (the *zygote*) imports them once, then forks one child per kernel: each child is a fresh
ipykernel that starts with those modules already imported, its own sockets, environment, folder and
log, and no state of any other report. No library does this for Jupyter kernels (ipykernel's own fork
support was never merged): it is written here, small, with the plain start as fallback
(:mod:`analyse.reporting.kernels` falls back to starting the kernel as a command whenever this process
cannot serve).

Protocol, over a Unix socket whose path is given on the command line: a client sends one JSON line
(``argv``: the kernel's arguments, ``cwd``, ``env``) with three file descriptors (stdin, stdout,
stderr) attached; the zygote forks and answers ``{"pid": …}``. It reaps its children, kills those
still running when it stops, and stops when its standard input closes (the batch that started it
ended, however it ended).

Both sides are here: the server (:func:`serve`, run as ``python -m analyse.reporting.kernel_zygote
SOCKET``), and what the batch uses: :func:`start` and :meth:`Zygote.stop` in the batch's parent,
:func:`fork` in its workers (through the kernel provisioner of :mod:`analyse.reporting.kernels`),
which follows each kernel by a pidfd (:class:`Forked`).
"""

from __future__ import annotations

import importlib
import json
import os
import select
import selectors
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

# What the reports' kernels import: ipykernel's own start, and the first cell of the bundled notebooks.
# matplotlib is left out on purpose: its backend is chosen from the environment at import, and the
# kernel sets it (the inline backend) only once started.
PRELOAD = ["ipykernel.kernelapp", "ipykernel.ipkernel", "IPython.display", "pandas",
           "analyse.reporting.context", "analyse.reporting.headlines", "analyse.analysis.profile"]
MODULE = "analyse.reporting.kernel_zygote"
MAX_REQUEST = 1 << 20
MAX_SOCKET_PATH = 100      # bytes: the limit of a Unix socket's path is 104 to 108, by system
ANSWER_TIMEOUT_S = 60      # the zygote answers once its imports are done (≈ 1 s; more on a loaded machine)
CONNECT_S = 10             # …and binds its socket first, as soon as Python has started


# ---------------------------------------------------------------------------------------------- server

def preload(modules: list[str] = PRELOAD) -> list[str]:
    """Import ``modules``; the ones that cannot be imported are left to the kernels (returned)."""
    sys.modules.setdefault("debugpy", None)     # as analyse.reporting.kernel_launcher: no debugger in reports
    missing = []
    for name in modules:
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001 - a kernel imports it itself, as it always did
            missing.append(name)
    return missing


def _child(request: dict, fds: list[int], closing: list) -> None:
    """In the forked child: become the kernel the request describes; never returns."""
    code = 1
    try:
        for obj in closing:
            obj.close()
        os.setsid()             # its own process group: the kernel manager signals and kills the group
        # onto 0, 1, 2: sys.stdin, sys.stdout and sys.stderr now read and write the kernel's own files
        for target, fd in zip((0, 1, 2), fds):
            os.dup2(fd, target)
        for fd in fds:
            os.close(fd)
        for sig in (signal.SIGCHLD, signal.SIGTERM, signal.SIGPIPE):
            signal.signal(sig, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        cwd = request.get("cwd") or os.getcwd()
        os.chdir(cwd)
        if sys.path and sys.path[0] == _START_DIR:     # ``python -m`` puts the start folder first
            sys.path[0] = cwd
        os.environ.clear()
        os.environ.update(request.get("env") or {})
        # ipykernel read JPY_PARENT_PID when the zygote imported it: given again, so that the kernel exits if
        # this process goes away (and does not print the banner of a kernel started by hand)
        os.environ["JPY_PARENT_PID"] = str(os.getppid())
        sys.argv = [sys.executable, *request["argv"], f"--IPKernelApp.parent_handle={os.getppid()}"]
        if "numpy" in sys.modules:      # its global generator was seeded once, in the zygote
            sys.modules["numpy"].random.seed()
        from ipykernel import kernelapp

        kernelapp.launch_new_instance()
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 0
    except BaseException:  # noqa: BLE001 - the kernel's own error goes to its log, then the child exits
        import traceback

        traceback.print_exc()
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code)


def _serve_one(conn: socket.socket, server: socket.socket, selector, children: set[int]) -> None:
    fds: list[int] = []
    try:
        data, fds, _flags, _addr = socket.recv_fds(conn, MAX_REQUEST, 3)
        while not data.endswith(b"\n"):
            more = conn.recv(MAX_REQUEST)
            if not more:
                raise ValueError("incomplete request")
            data += more
        request = json.loads(data)
        if len(fds) != 3 or not isinstance(request.get("argv"), list):
            raise ValueError("bad request")
        pid = os.fork()
        if pid == 0:
            _child(request, fds, [conn, server, selector])
        children.add(pid)
        try:
            conn.sendall(json.dumps({"pid": pid}).encode() + b"\n")
        except OSError:         # the client gave up meanwhile: nobody will use this kernel
            os.kill(pid, signal.SIGKILL)
    except Exception as exc:  # noqa: BLE001 - the client falls back to starting the kernel itself
        try:
            conn.sendall(json.dumps({"error": f"{type(exc).__name__}: {exc}"}).encode() + b"\n")
        except OSError:
            pass
    finally:
        for fd in fds:
            os.close(fd)


def _reap(children: set[int]) -> None:
    for pid in list(children):
        try:
            done, _status = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            done = pid
        if done:
            children.discard(pid)


def _stop_children(children: set[int]) -> None:
    for pid in children:
        try:
            os.killpg(pid, signal.SIGKILL)
        except OSError:
            pass
    for pid in children:
        try:
            os.waitpid(pid, 0)      # reaped: their CPU time is counted with the batch that started us
        except ChildProcessError:
            pass


_START_DIR = os.getcwd()


def serve(path: str) -> None:
    """Listen on ``path`` first (clients queue while the imports run), import, then fork on request."""
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(path)
    server.listen(16)
    preload()
    children: set[int] = set()
    sel = selectors.DefaultSelector()
    sel.register(server, selectors.EVENT_READ, "client")
    sel.register(sys.stdin, selectors.EVENT_READ, "parent")
    try:
        while True:
            for key, _ in sel.select(timeout=1.0):
                if key.data == "parent":
                    if not os.read(sys.stdin.fileno(), 4096):      # the batch closed our stdin, or ended
                        return
                    continue
                conn, _ = server.accept()
                with conn:
                    conn.settimeout(10)
                    _serve_one(conn, server, sel, children)
            _reap(children)
    finally:
        _stop_children(children)
        server.close()
        try:
            os.unlink(path)
        except OSError:
            pass


# ---------------------------------------------------------------------------------------------- client

class Unavailable(Exception):
    """The zygote cannot serve (it never bound its socket, or this system has no pidfd): stop asking it."""


@dataclass
class Zygote:
    """A running zygote, as the batch's parent holds it."""

    process: subprocess.Popen
    socket_path: Path

    def close(self) -> None:
        """Tell it to stop (it kills the kernels still running, then exits), without waiting."""
        if not self.process.stdin.closed:
            try:
                self.process.stdin.close()
            except OSError:
                pass

    def stop(self) -> None:
        """Tell it to stop and wait for it (its CPU time, and its kernels', is then counted with ours)."""
        self.close()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        shutil.rmtree(self.socket_path.parent, ignore_errors=True)


def start(cwd: str | Path | None = None) -> Zygote | None:
    """Start a zygote; its socket goes in a private temporary folder. None where it cannot work (no fork,
    pidfd or descriptor passing): kernels then start as commands, as jupyter_client does."""
    if not (hasattr(os, "fork") and hasattr(os, "pidfd_open") and hasattr(socket, "send_fds")):
        return None
    folder = Path(tempfile.mkdtemp(prefix="balises-zygote-"))
    path = folder / "z.sock"
    if len(os.fsencode(path)) > MAX_SOCKET_PATH:     # a long TMPDIR: the zygote could not bind it
        shutil.rmtree(folder, ignore_errors=True)
        return None
    try:
        proc = subprocess.Popen([sys.executable, "-m", MODULE, str(path)], stdin=subprocess.PIPE,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=str(cwd) if cwd else None)
    except OSError:
        shutil.rmtree(folder, ignore_errors=True)
        return None
    return Zygote(proc, path)


class Forked:
    """What jupyter_client's local provisioner asks of a ``Popen``, for a kernel the zygote forked: followed
    through a pidfd, which names that process and no other (its parent, the zygote, reaps it; the exit
    status stays there, so a finished kernel reports 0)."""

    stdin = stdout = stderr = None

    def __init__(self, pid: int, fd: int | None):
        self.pid = pid
        self._fd = fd
        self.returncode = None if fd is not None else 0     # no pidfd: it ended at once

    def poll(self):
        if self.returncode is None and select.select([self._fd], [], [], 0)[0]:
            self._finish()
        return self.returncode

    def wait(self, timeout: float | None = None):
        if self.returncode is None:
            if not select.select([self._fd], [], [], timeout)[0]:
                raise subprocess.TimeoutExpired(str(self.pid), timeout)
            self._finish()
        return self.returncode

    def _finish(self) -> None:
        self.returncode = 0
        os.close(self._fd)
        self._fd = None

    def send_signal(self, sig: int) -> None:
        if self.returncode is None:
            try:
                signal.pidfd_send_signal(self._fd, sig)
            except ProcessLookupError:
                pass

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)

    def __del__(self):
        if getattr(self, "_fd", None) is not None:
            os.close(self._fd)


def _fileno(stream, default: int) -> int | None:
    if stream is None:
        return default
    if isinstance(stream, int):
        return stream if stream >= 0 else None      # subprocess.PIPE, DEVNULL: left to Popen
    try:
        return stream.fileno()
    except (AttributeError, OSError, ValueError):
        return None


def _connect(sock: socket.socket, path: str) -> bool:
    """Connect to the zygote, which binds its socket a moment after it starts (≈ 0.1 s) and takes
    requests once its imports are done."""
    deadline = time.monotonic() + CONNECT_S
    while True:
        try:
            sock.connect(path)
            return True
        except (FileNotFoundError, ConnectionRefusedError):
            if time.monotonic() > deadline:
                return False
            time.sleep(0.02)


def fork(path: str, argv: list[str], popen_kwargs: dict) -> Forked | None:
    """Ask the zygote at ``path`` for a kernel run with ``argv`` and what jupyter_client would give ``Popen``
    (``cwd``, ``env``, ``stdout``, ``stderr``). None if this kernel should start as a command; raises
    :class:`Unavailable` if no kernel should be asked of this zygote any more."""
    out, err = _fileno(popen_kwargs.get("stdout"), 1), _fileno(popen_kwargs.get("stderr"), 2)
    if out is None or err is None or popen_kwargs.get("stdin") is not None:
        return None
    request = {"argv": argv, "cwd": str(popen_kwargs.get("cwd") or os.getcwd()),
               "env": {str(k): str(v) for k, v in (popen_kwargs.get("env") or os.environ).items()}}
    stdin = os.open(os.devnull, os.O_RDONLY)
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(ANSWER_TIMEOUT_S)
            if not _connect(sock, path):
                raise Unavailable(path)
            socket.send_fds(sock, [json.dumps(request).encode() + b"\n"], [stdin, out, err])
            reply = b""
            while not reply.endswith(b"\n"):
                chunk = sock.recv(4096)
                if not chunk:
                    return None
                reply += chunk
        pid = json.loads(reply).get("pid")
    except TimeoutError:        # it stopped answering: do not wait for it again
        raise Unavailable(path) from None
    except (OSError, ValueError):
        return None
    finally:
        os.close(stdin)
    if not isinstance(pid, int):
        return None
    try:
        return Forked(pid, os.pidfd_open(pid))
    except ProcessLookupError:
        return Forked(pid, None)
    except OSError:         # no pidfd here: this kernel could not be followed
        os.kill(pid, signal.SIGKILL)
        raise Unavailable("pidfd") from None


if __name__ == "__main__":
    serve(sys.argv[1])
    # no interpreter teardown: freeing what pandas and IPython built took ≈ 0.2 s CPU at the end of every batch
    os._exit(0)
