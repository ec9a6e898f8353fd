"""Hosts on one machine: network namespaces plugged into a bridge, and faults between them.

Each host is a network namespace with one interface (``eth0``) on a private subnet; its
other end sits in a bridge in a *switch* namespace of its own, so nothing in the
machine's own namespace changes (its routes, interfaces and firewall stay as they were)
and two runs at once do not meet. Processes run on a host through ``ip netns exec``;
the test itself reaches a host from threads that entered its namespace
(:class:`HostThreads`: a network namespace is per thread in Linux).

Faults act on the cable: :meth:`Lab.cut` takes the switch's port down (the host is cut
off, its processes still run; a lost host is a cut one whose processes and data are
gone), :meth:`Lab.throttle_towards` makes one direction of it slow. (``tc netem`` would
give delay and loss, but it is not in every kernel -- not in the CI machine's -- so the
shaping is ``htb``.) Names are unique per run and :meth:`Lab.destroy` removes every
namespace it made, whatever state they are in.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import shutil
import subprocess
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TypeVar

T = TypeVar("T")

CLONE_NEWNET = 0x40000000
SUBNET = "10.77.0"


def cannot_build_namespaces() -> str | None:
    """Why this machine cannot run the multi-host suite, or ``None`` when it can."""
    if os.geteuid() != 0:
        return "needs root (network namespaces, veth links, tc)"
    for tool in ("ip", "tc"):
        if shutil.which(tool) is None:
            return f"no `{tool}` command (install iproute2)"
    lab = Lab(run_id=f"probe-{uuid.uuid4().hex[:6]}")
    try:
        lab.build()
        host = lab.add_host("probe", 2)
        lab.throttle_towards(host, f"{SUBNET}.3", "8mbit")
        lab.cut(host)
    except RuntimeError as error:
        return f"cannot build the lab: {error}"
    finally:
        lab.destroy()
    return None


def _run(*argv: str) -> None:
    done = subprocess.run(list(argv), capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)}: {done.stderr.strip()}")


@dataclass(frozen=True)
class Host:
    """One machine: its namespace, address and the switch's end of its cable."""

    name: str
    namespace: str
    ip: str
    switch_port: str

    def argv(self, argv: Sequence[str]) -> list[str]:
        """``argv`` run on this host."""
        return ["ip", "netns", "exec", self.namespace, *argv]


@dataclass
class Lab:
    """A switch and the hosts plugged into it; faults on their cables."""

    run_id: str = field(default_factory=lambda: uuid.uuid4().hex[:6])
    hosts: dict[str, Host] = field(default_factory=dict)
    _namespaces: list[str] = field(default_factory=list)

    @property
    def switch(self) -> str:
        return f"sfgw-{self.run_id}-switch"

    def build(self) -> Lab:
        self._add_namespace(self.switch)
        _run("ip", "-n", self.switch, "link", "add", "br0", "type", "bridge")
        _run("ip", "-n", self.switch, "link", "set", "br0", "up")
        return self

    def _add_namespace(self, name: str) -> None:
        _run("ip", "netns", "add", name)
        self._namespaces.append(name)
        _run("ip", "-n", name, "link", "set", "lo", "up")

    def add_host(self, name: str, number: int) -> Host:
        """Host ``name`` at ``<subnet>.<number>``, cabled to the switch."""
        host = Host(
            name=name,
            namespace=f"sfgw-{self.run_id}-{name}",
            ip=f"{SUBNET}.{number}",
            switch_port=f"p{number}",
        )
        self._add_namespace(host.namespace)
        _run("ip", "-n", self.switch, "link", "add", host.switch_port, "type", "veth",
             "peer", "name", "eth0", "netns", host.namespace)  # fmt: skip
        _run("ip", "-n", self.switch, "link", "set", host.switch_port, "master", "br0", "up")
        _run("ip", "-n", host.namespace, "addr", "add", f"{host.ip}/24", "dev", "eth0")
        _run("ip", "-n", host.namespace, "link", "set", "eth0", "up")
        self.hosts[name] = host
        return host

    # -- faults on a host's cable ------------------------------------------------------
    def cut(self, host: Host) -> None:
        """The switch's port goes down: nothing reaches ``host`` and nothing leaves it
        (silently: senders time out), while its processes keep running."""
        _run("ip", "-n", self.switch, "link", "set", host.switch_port, "down")

    def throttle_towards(self, host: Host, destination: str, rate: str) -> None:
        """What ``host`` sends to ``destination`` leaves at ``rate`` (``8mbit``), queued
        on the host (and lost with it); everything else is unshaped (``htb``, whose
        unclassified traffic goes out directly)."""
        ns = ["tc", "-n", host.namespace]
        _run(*ns, "qdisc", "replace", "dev", "eth0", "root", "handle", "1:", "htb")
        _run(*ns, "class", "add", "dev", "eth0", "parent", "1:", "classid", "1:10", "htb",
             "rate", rate, "ceil", rate)  # fmt: skip
        _run(*ns, "filter", "add", "dev", "eth0", "protocol", "ip", "parent", "1:", "prio",
             "1", "u32", "match", "ip", "dst", f"{destination}/32", "flowid", "1:10")  # fmt: skip

    def heal(self, host: Host) -> None:
        """The cable works normally again: port up, no shaping."""
        _run("ip", "-n", self.switch, "link", "set", host.switch_port, "up")
        subprocess.run(["tc", "-n", host.namespace, "qdisc", "del", "dev", "eth0", "root"],
                       capture_output=True)  # fmt: skip

    def destroy(self) -> None:
        """Remove every namespace of this run (their cables go with them)."""
        for name in reversed(self._namespaces):
            subprocess.run(["ip", "netns", "delete", name], capture_output=True)
        self._namespaces.clear()


def _enter(namespace: str) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    fd = os.open(f"/run/netns/{namespace}", os.O_RDONLY)
    try:
        if libc.setns(fd, CLONE_NEWNET) != 0:
            error = ctypes.get_errno()
            raise OSError(error, f"setns into {namespace}: {os.strerror(error)}")
    finally:
        os.close(fd)


class HostThreads:
    """Threads that live on a host: what they open (sockets, HTTP, Redis) is opened there.

    ``call(fn, ...)`` runs ``fn`` on one of them and returns its result. The threads
    enter the namespace once, when they start, and never leave it.
    """

    def __init__(self, host: Host, threads: int = 4) -> None:
        self.host = host
        self._pool = ThreadPoolExecutor(
            threads, thread_name_prefix=f"on-{host.name}", initializer=_enter,
            initargs=(host.namespace,),
        )  # fmt: skip

    def call(self, fn: Callable[..., T], *args: object, **kwargs: object) -> T:
        return self._pool.submit(fn, *args, **kwargs).result()

    def submit(self, fn: Callable[..., T], *args: object, **kwargs: object) -> Future[T]:
        return self._pool.submit(fn, *args, **kwargs)

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self._pool.shutdown(wait=False, cancel_futures=True)


if __name__ == "__main__":  # scripts/test asks whether the suite can run here
    reason = cannot_build_namespaces()
    print(reason or "")
