"""Real servers the tests start on an address of their choice: an S3-protocol server (moto's
standalone ``moto_server``), Redis and a Chroma server. Each returns a ``Server`` that stops its
process (and waits for it) on ``stop()``."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

BIN = Path(sys.executable).parent


@dataclass
class Server:
    name: str
    url: str
    process: subprocess.Popen
    log: Path
    extra: dict = field(default_factory=dict)

    def stop(self) -> None:
        if self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGTERM)
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=15)
            except ProcessLookupError:
                pass

    def tail(self) -> str:
        return self.log.read_text(errors="replace")[-3000:] if self.log.exists() else ""


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def _wait_tcp(host: str, port: int, process: subprocess.Popen, timeout: float, log: Path, name: str) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if process.poll() is not None:
            break
        try:
            with socket.create_connection((host, port), timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    tail = log.read_text(errors="replace")[-3000:] if log.exists() else ""
    process.kill()
    raise RuntimeError(f"{name} did not start on {host}:{port}\n{tail}")


def _spawn(command: list[str], log: Path, env: dict | None = None) -> subprocess.Popen:
    out = open(log, "ab")  # noqa: SIM115 — held by the child process
    try:
        return subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
                                env={**os.environ, **(env or {})})
    finally:
        out.close()


def start_moto(folder: Path, host: str = "127.0.0.1") -> Server:
    """moto's standalone S3-protocol server (in memory) → ``Server`` with ``url`` its endpoint."""
    folder.mkdir(parents=True, exist_ok=True)
    port, log = free_port(host), folder / "moto.log"
    process = _spawn([str(BIN / "moto_server"), "-H", host, "-p", str(port)], log)
    _wait_tcp(host, port, process, 60, log, "moto_server")
    return Server("moto", f"http://{host}:{port}", process, log)


def start_redis(folder: Path, host: str = "127.0.0.1") -> Server:
    """A private redis-server (nothing on disk) → ``Server`` with ``url`` redis://host:port."""
    folder.mkdir(parents=True, exist_ok=True)
    binary = shutil.which("redis-server")
    if binary is None:
        raise RuntimeError("redis-server is not installed (Debian package redis-server)")
    port, log = free_port(host), folder / "redis.log"
    process = _spawn([binary, "--bind", host, "--port", str(port), "--save", "", "--appendonly", "no",
                      "--dir", str(folder), "--protected-mode", "no"], log)
    _wait_tcp(host, port, process, 30, log, "redis-server")
    return Server("redis", f"redis://{host}:{port}", process, log)


def start_chroma(folder: Path, host: str = "127.0.0.1") -> Server:
    """A Chroma server (``chroma run`` from the chromadb package) → ``Server`` with its URL."""
    import httpx

    folder.mkdir(parents=True, exist_ok=True)
    port, log = free_port(host), folder / "chroma.log"
    process = _spawn([str(BIN / "chroma"), "run", "--path", str(folder / "data"), "--host", host, "--port", str(port)],
                     log, {"ANONYMIZED_TELEMETRY": "False"})
    url = f"http://{host}:{port}"
    deadline = time.time() + 90
    while time.time() < deadline and process.poll() is None:
        try:
            if httpx.get(f"{url}/api/v2/heartbeat", timeout=1).status_code == 200:
                return Server("chroma", url, process, log)
        except httpx.HTTPError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError(f"chroma did not start on {url}\n{log.read_text(errors='replace')[-3000:]}")
