"""Hosts on one machine: Linux network namespaces joined by veth pairs to a bridge in the root
namespace (``ip`` from iproute2; needs root). The root namespace holds the bridge address, where
the shared services listen; each host has its own address and sees nothing of the root namespace
but that bridge.

Names carry this process's id (``lf<pid>...``), so parallel runs never meet, and a later run
removes what a killed run left behind (its pid no longer alive).
"""

from __future__ import annotations

import ipaddress
import os
import re
import signal
import subprocess
import time

NAME = re.compile(r"^lf(\d+)-")


def ip(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    done = subprocess.run(["ip", *args], capture_output=True, text=True, timeout=30)
    if check and done.returncode != 0:
        raise RuntimeError(f"ip {' '.join(args)} failed ({done.returncode}): {done.stderr.strip()}")
    return done


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _kill_namespace_processes(namespace: str) -> None:
    pids = ip("netns", "pids", namespace, check=False).stdout.split()
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pid in pids:
            try:
                os.kill(int(pid), sig)
            except (ProcessLookupError, ValueError):
                pass
        deadline = time.time() + 10
        while time.time() < deadline and ip("netns", "pids", namespace, check=False).stdout.split():
            time.sleep(0.1)
        pids = ip("netns", "pids", namespace, check=False).stdout.split()
        if not pids:
            return


def remove_leftovers() -> None:
    """Delete namespaces and bridges of fleet runs whose process is gone."""
    for line in ip("netns", "list", check=False).stdout.splitlines():
        name = line.split()[0] if line.split() else ""
        match = NAME.match(name)
        if match and not _alive(int(match.group(1))):
            _kill_namespace_processes(name)
            ip("netns", "del", name, check=False)
    for line in ip("-o", "link", "show", "type", "bridge", check=False).stdout.splitlines():
        bridge = line.split(":")[1].strip().split("@")[0]
        match = re.match(r"^lfb(\d+)$", bridge)
        if match and not _alive(int(match.group(1))):
            ip("link", "del", bridge, check=False)


def _free_subnet() -> ipaddress.IPv4Network:
    used = [ipaddress.ip_interface(a).network for a in
            re.findall(r"inet (\S+)", ip("-4", "-o", "addr", "show", check=False).stdout)]
    start = os.getpid() % 200
    for offset in range(200):
        candidate = ipaddress.ip_network(f"10.231.{(start + offset) % 200 + 20}.0/24")
        if not any(candidate.overlaps(u) for u in used):
            return candidate
    raise RuntimeError("no free 10.231.x.0/24 subnet for the fleet's bridge")


class Network:
    """A bridge with ``hosts`` namespaces on it: ``address(host)``, ``gateway`` (the bridge)."""

    def __init__(self, hosts: list[str]):
        self.tag = str(os.getpid())
        self.bridge = f"lfb{self.tag}"
        self.subnet = _free_subnet()
        self.gateway = str(self.subnet.network_address + 1)
        self.hosts = {h: (f"lf{self.tag}-{h}", str(self.subnet.network_address + 11 + i), f"lf{self.tag}v{i}")
                      for i, h in enumerate(hosts)}
        self.created: list[tuple[str, str]] = []

    def namespace(self, host: str) -> str:
        return self.hosts[host][0]

    def address(self, host: str) -> str:
        return self.hosts[host][1]

    def up(self) -> Network:
        remove_leftovers()
        prefix = self.subnet.prefixlen
        ip("link", "add", self.bridge, "type", "bridge")
        self.created.append(("bridge", self.bridge))
        ip("addr", "add", f"{self.gateway}/{prefix}", "dev", self.bridge)
        ip("link", "set", self.bridge, "up")
        for namespace, address, veth in self.hosts.values():
            ip("netns", "add", namespace)
            self.created.append(("netns", namespace))
            peer = f"{veth}p"
            ip("link", "add", veth, "type", "veth", "peer", "name", peer)
            ip("link", "set", peer, "netns", namespace)
            ip("link", "set", veth, "master", self.bridge)
            ip("link", "set", veth, "up")
            ip("-n", namespace, "addr", "add", f"{address}/{prefix}", "dev", peer)
            ip("-n", namespace, "link", "set", peer, "up")
            ip("-n", namespace, "link", "set", "lo", "up")
        return self

    def exec_prefix(self, host: str) -> list[str]:
        """Prefix a command with this to run it on ``host``."""
        return ["ip", "netns", "exec", self.namespace(host)]

    def down(self) -> None:
        """Kill whatever still runs in the namespaces, delete them and the bridge (never raises)."""
        for kind, name in reversed(self.created):
            if kind == "netns":
                _kill_namespace_processes(name)
                ip("netns", "del", name, check=False)
            else:
                ip("link", "del", name, check=False)
        self.created.clear()
