"""Start and stop the real processes (local model, api, worker) for e2e tests and benchmarks.

Each process gets its own environment (URLs of the profile under test) and log file; ``Stack``
stops whatever it started. Not product code: ``make run`` uses honcho and workers/Procfile.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_http(url: str, timeout: float, process: subprocess.Popen | None = None, log: Path | None = None) -> None:
    """Poll ``url`` until it answers 200; raise with the log tail if it does not in ``timeout`` s."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if process is not None and process.poll() is not None:
            break
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    tail = log.read_text(errors="replace")[-3000:] if log and log.exists() else ""
    raise RuntimeError(f"{url} did not come up within {timeout} s\n{tail}")


class Stack:
    """The product's processes for one profile, rooted in ``workdir``."""

    def __init__(self, workdir: Path, env: dict[str, str]):
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        # Benchmarks hold one login for their whole run: an access token outliving it (default 15 min).
        self.env = {**os.environ, "LLMOPS_CONFIG": "default", "LLMOPS_INSTANCE_DIR": str(self.workdir / "instance"),
                    "PYTHONUNBUFFERED": "1", "JWT_ACCESS_TOKEN_EXPIRES": "86400", **env}
        self.processes: dict[str, subprocess.Popen] = {}
        self.llm_url = ""
        self.api_url = ""

    def _spawn(self, name: str, command: list[str], extra_env: dict | None = None) -> subprocess.Popen:
        log = open(self.workdir / f"{name}.log", "ab")  # noqa: SIM115 — owned by the child process
        process = subprocess.Popen(command, cwd=ROOT, env={**self.env, **(extra_env or {})}, stdout=log,
                                   stderr=subprocess.STDOUT, start_new_session=True)
        self.processes[name] = process
        return process

    def log(self, name: str) -> str:
        path = self.workdir / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def start_llm(self, port: int | None = None) -> str:
        """The real local model (llama.cpp server); returns its OpenAI base URL."""
        port = port or free_port()
        process = self._spawn("llm", [str(BIN / "python"), "-m", "llmops.providers.local_model", "--port", str(port)])
        self.llm_url = f"http://127.0.0.1:{port}/v1"
        self.env["LOCAL_LLM_BASE_URL"] = self.llm_url
        wait_http(f"{self.llm_url}/models", 120, process, self.workdir / "llm.log")
        return self.llm_url

    def migrate(self) -> None:
        subprocess.run([str(BIN / "flask"), "--app", "wsgi", "db", "upgrade"], cwd=ROOT, env=self.env, check=True,
                       capture_output=True, timeout=300)

    def start_api(self, port: int | None = None, workers: int = 1) -> str:
        port = port or free_port()
        process = self._spawn("api", [str(BIN / "gunicorn"), "-c", "workers/gunicorn.conf.py", "wsgi:app"],
                              {"API_PORT": str(port), "API_HOST": "127.0.0.1", "WEB_CONCURRENCY": str(workers)})
        self.api_url = f"http://127.0.0.1:{port}"
        wait_http(f"{self.api_url}/healthz", 90, process, self.workdir / "api.log")
        return self.api_url

    def start_worker(self, name: str = "worker", concurrency: int = 1, **extra_env) -> subprocess.Popen:
        process = self._spawn(name, [str(BIN / "celery"), "-A", "celery_app", "worker", "-Q", "indexing,memory,usage,maintenance",
                                     "--concurrency", str(concurrency), "--loglevel", "INFO", "-n", f"{name}-{time.time_ns()}@%h"],
                              {k: str(v) for k, v in extra_env.items()})
        deadline = time.time() + 90
        while time.time() < deadline and "ready." not in self.log(name):
            if process.poll() is not None:
                raise RuntimeError(f"worker exited:\n{self.log(name)[-3000:]}")
            time.sleep(0.2)
        if "ready." not in self.log(name):
            raise RuntimeError(f"worker not ready:\n{self.log(name)[-3000:]}")
        return process

    def kill(self, name: str, sig: int = signal.SIGKILL) -> None:
        process = self.processes.pop(name, None)
        if process and process.poll() is None:
            os.killpg(process.pid, sig)
            process.wait(timeout=30)

    def stop(self) -> None:
        for name in list(self.processes):
            process = self.processes[name]
            if process.poll() is None:
                try:
                    os.killpg(process.pid, signal.SIGTERM)
                    process.wait(timeout=15)
                except (subprocess.TimeoutExpired, ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
            self.processes.pop(name)


def replace_block(name: str, text: str) -> None:
    """Put ``text`` between the README's ``<!-- bench:NAME -->`` markers."""
    readme = ROOT / "README.md"
    content = readme.read_text(encoding="utf-8")
    head, rest = content.split(f"<!-- bench:{name} -->", 1)
    _, tail = rest.split(f"<!-- /bench:{name} -->", 1)
    readme.write_text(f"{head}<!-- bench:{name} -->\n{text}\n<!-- /bench:{name} -->{tail}", encoding="utf-8")


def report(name: str, result: dict, text: str, update_readme: bool) -> None:
    """Write ``bench/results/NAME.json``, print the table and, if asked, put it in the README."""
    out = ROOT / "bench" / "results" / f"{name}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2))
    print(text)
    if update_readme:
        replace_block(name, text)
