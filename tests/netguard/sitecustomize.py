"""Loaded by every Python process the tests start (PYTHONPATH): blocks and records any network
connection or DNS look-up to a host other than loopback, through CPython's audit hooks (so
gevent's sockets are covered too). ``LLMOPS_NETGUARD_ALLOW`` (comma-separated private networks)
adds the tests' own addresses: tests/fleet's hosts in network namespaces on this machine.
Violations go to ``$LLMOPS_NETGUARD_LOG``; the tests fail if that file is not empty."""

import ipaddress
import os
import sys

_LOCAL_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost", ""}


def _is_local(host) -> bool:
    if host is None:
        return True
    if isinstance(host, bytes):
        host = host.decode(errors="replace")
    host = str(host).strip("[]")
    if host.lower() in _LOCAL_NAMES:
        return True
    try:
        address = ipaddress.ip_address(host.split("%")[0])
    except ValueError:
        return False  # a name other than localhost: resolving it is outbound
    return address.is_loopback or address.is_unspecified or (address.is_private and any(address in n for n in _allowed()))


_allowed_cache: tuple = ("", ())


def _allowed() -> tuple:
    global _allowed_cache
    value = os.environ.get("LLMOPS_NETGUARD_ALLOW", "")
    if value != _allowed_cache[0]:
        _allowed_cache = (value, tuple(ipaddress.ip_network(n.strip()) for n in value.split(",") if n.strip()))
    return _allowed_cache[1]


def _record(what: str) -> None:
    log = os.environ.get("LLMOPS_NETGUARD_LOG")
    if log:
        with open(log, "a", encoding="utf-8") as fh:
            fh.write(f"{os.getpid()} {' '.join(sys.argv[:2])}: {what}\n")
    raise ConnectionRefusedError(f"outbound network access blocked by the test guard: {what}")


def _hook(event: str, args) -> None:
    if event == "socket.connect":
        address = args[1]
        if isinstance(address, tuple) and address and not _is_local(address[0]):
            _record(f"connect {address!r}")
    elif event == "socket.getaddrinfo" and not _is_local(args[0]):
        _record(f"getaddrinfo {args[0]!r}")


sys.addaudithook(_hook)
