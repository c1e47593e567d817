"""A report's kernel: how the batch starts it, talks to it and stops it, through jupyter_client.

Kept apart from :mod:`analyse.reporting.runner` (one report in a batch worker) because each of these is a
departure from jupyter_client's defaults, measured on the batch, with its reason beside it: the command
(:func:`report_kernel_cmd`: no debugger, no history), Unix sockets instead of TCP ports, a client ready as
soon as IOPub says so (:func:`_kernel_client_class`), a killed kernel checked every few milliseconds, and,
in a batch worker, a kernel forked by the batch's zygote (:func:`_provisioner_class`,
:mod:`analyse.reporting.kernel_zygote`). Nothing here is imported before a worker needs it.
"""

from __future__ import annotations

import functools
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path

from analyse.reporting import kernel_zygote

KERNEL_NAME = "balises"


def kernel_name() -> str:
    """The project's named kernel if registered (make install does it), else this Python's."""
    from jupyter_client.kernelspec import KernelSpecManager

    specs = KernelSpecManager().find_kernel_specs()
    return KERNEL_NAME if KERNEL_NAME in specs else "python3"


LAUNCHER = "analyse.reporting.kernel_launcher"


def report_kernel_cmd(cmd: list[str]) -> list[str]:
    """The command of a report's kernel: this Python's ipykernel, through :mod:`analyse.reporting.kernel_launcher`
    (no debugger) and without IPython's history database; any other kernel's command is left as it is.

    A kernel start costs ≈ 0.4 s CPU, paid once per report; with two reports in parallel on two cores
    the starts of the next kernels compete with the reports, so the 0.1 s of debugger imports and the
    history's SQLite file (shared by every kernel of the user) are worth leaving out.
    """
    if not cmd or cmd[0] != sys.executable:
        return cmd
    # the interpreter's own options come first (``python -m ipykernel install`` writes -Xfrozen_modules=off)
    for i in range(1, len(cmd) - 1):
        if cmd[i:i + 2] == ["-m", "ipykernel_launcher"]:
            return [*cmd[:i], "-m", LAUNCHER, *cmd[i + 2:], "--HistoryManager.enabled=False"]
        if not cmd[i].startswith("-"):
            break
    return cmd


KILL_POLL_S = 0.005       # how often a killed kernel is checked for having exited
READY_SILENCE_S = 0.2     # jupyter_client's wait for IOPub: a message within it proves IOPub is connected


@functools.cache
def _kernel_client_class():
    from queue import Empty

    from jupyter_client.asynchronous import AsyncKernelClient
    from jupyter_core.utils import ensure_async

    class _Client(AsyncKernelClient):
        """Ready as soon as the kernel has answered ``kernel_info`` and IOPub says it is connected.

        jupyter_client's ``wait_for_ready`` ends by reading IOPub until it has been silent for 0.2 s:
        every report waited 0.2 s or more with nothing running (both cores idle when both workers were
        there, seen on a CPU trace of the batch). The kernel says when IOPub is connected: ipykernel 7
        sends ``iopub_welcome`` as the subscription arrives (JEP 65; what it published before is lost,
        what comes after is about requests nbclient tells apart by their parent), older kernels a
        ``status: idle`` whose parent is the request. The wait ends on either; after 0.2 s of silence
        it ends as jupyter_client's does, and a kernel whose IOPub said nothing is asked again.
        """

        async def wait_for_ready(self, timeout: float | None = None) -> None:
            deadline = time.time() + (float("inf") if timeout is None else timeout)
            while True:
                request = self.kernel_info()
                try:
                    reply = await ensure_async(self.shell_channel.get_msg(timeout=1))
                except Empty:
                    reply = None
                if reply is not None and reply["msg_type"] == "kernel_info_reply":
                    heard = False
                    while True:
                        try:
                            msg = await ensure_async(self.iopub_channel.get_msg(timeout=READY_SILENCE_S))
                        except Empty:
                            break
                        heard = True
                        if msg.get("msg_type") == "iopub_welcome" or (
                                msg.get("msg_type") == "status" and msg["content"].get("execution_state") == "idle"
                                and msg.get("parent_header", {}).get("msg_id") == request):
                            break
                    if heard:       # IOPub is connected (otherwise its first messages were lost: ask again)
                        self._handle_kernel_info_reply(reply)
                        return
                if not await self._async_is_alive():
                    raise RuntimeError("Kernel died before replying to kernel_info")
                if time.time() > deadline:
                    raise RuntimeError("Kernel didn't respond in %d seconds" % timeout)

    return _Client


@functools.cache
def _kernel_manager_class():
    from jupyter_client.manager import AsyncKernelManager
    from traitlets import CaselessStrEnum, default

    class _Manager(AsyncKernelManager):
        """Starts the kernel with :func:`report_kernel_cmd`, talking to it over Unix sockets where there are;
        remembers the clients made for its kernel, so that whoever started the kernel stops them too; its clients
        are ready without a fixed wait (:func:`_kernel_client_class`).

        Over TCP, jupyter_client picks five free ports, closes them, and the kernel binds them about half
        a second later, once imported: a kernel starting meanwhile (the other worker's, another user's) may
        be given one of them, and the report then waits for a kernel that never answers (the suspected cause
        of the batch that stalled, about one in forty, for the three minutes of the start timeout). Unix
        sockets are files with a name of their own: nothing to race for, and nothing on the network.
        """

        transport = CaselessStrEnum(["tcp", "ipc"], default_value="ipc" if os.name == "posix" else "tcp",
                                    config=True)

        @default("ip")
        def _ip_default(self):
            if self.transport == "ipc":
                # the sockets are <ip>-1 … <ip>-5, removed at shutdown; a socket's path is limited to about
                # 100 bytes, hence the temporary folder rather than Jupyter's runtime folder
                return str(Path(tempfile.gettempdir()) / f"balises-noyau-{uuid.uuid4().hex[:16]}")
            return super()._ip_default()

        @default("client_factory")
        def _client_factory_default(self):
            return _kernel_client_class()

        async def _async_pre_start_kernel(self, **kw):
            # in a batch worker, the kernel is forked by the batch's zygote (see _provisioner_class)
            if self.provisioner is None and _ZYGOTE:
                self.kernel_id = self.kernel_id or kw.pop("kernel_id", str(uuid.uuid4()))
                self.provisioner = _provisioner_class()(kernel_id=self.kernel_id, kernel_spec=self.kernel_spec,
                                                        parent=self)
            return await super()._async_pre_start_kernel(**kw)

        async def _async_wait(self, pollinterval: float = 0.1) -> None:
            # a killed kernel is gone within milliseconds; polling every 0.1 s left the worker idle about
            # 0.1 s at the end of every report (seen on a CPU trace of the batch)
            await super()._async_wait(pollinterval=min(pollinterval, KILL_POLL_S))

        def format_kernel_cmd(self, extra_arguments=None):
            return report_kernel_cmd(super().format_kernel_cmd(extra_arguments))

        def client(self, **kwargs):
            kc = super().client(**kwargs)
            self._balises_clients = [*getattr(self, "_balises_clients", []), kc]
            return kc

    return _Manager


# ---------------------------------------------------------------------------
# Kernels forked from the batch's zygote (analyse.reporting.kernel_zygote)
# ---------------------------------------------------------------------------

_ZYGOTE: list[str] = []    # in a batch worker: the socket of the batch's zygote


def _launcher_args(cmd: list[str]) -> list[str] | None:
    """The kernel's own arguments when ``cmd`` runs this Python's report launcher (what a fork can run)."""
    if not cmd or cmd[0] != sys.executable:
        return None
    for i in range(1, len(cmd) - 1):
        if cmd[i:i + 2] == ["-m", LAUNCHER]:
            return cmd[i + 2:]
    return None


@functools.cache
def _provisioner_class():
    from jupyter_client.provisioning import LocalProvisioner

    class _ForkedProvisioner(LocalProvisioner):
        """jupyter_client's local provisioner, whose kernel is forked by the batch's zygote when it can be."""

        async def launch_kernel(self, cmd, **kwargs):
            args = _launcher_args(cmd) if _ZYGOTE else None
            forked = None
            if args is not None:
                try:
                    forked = kernel_zygote.fork(_ZYGOTE[0], args, kwargs)
                except kernel_zygote.Unavailable:
                    _ZYGOTE.clear()     # this worker's next kernels start as commands at once
            if forked is None:
                return await super().launch_kernel(cmd, **kwargs)
            self.process = forked
            self.pid = self.pgid = forked.pid       # the child made itself a process group (setsid)
            self.cwd = kwargs.get("cwd", os.getcwd())
            return self.connection_info

    return _ForkedProvisioner
