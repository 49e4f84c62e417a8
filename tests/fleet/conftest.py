"""The fleet: three hosts made with network namespaces on this machine — ``api-1`` and ``api-2``
(gunicorn, the production profile) and ``worker`` (Celery: one worker for ``indexing``, one for
``memory,usage,maintenance``) — sharing, over a bridge, services that listen on the bridge's
address in the root namespace: PostgreSQL (this machine's, reached through a TCP forwarder the test
starts; its own configuration is left alone), a Redis and a Chroma server and an S3-protocol object
store (moto's ``moto_server``) that the test starts, and fake upstream models.

Each host has its own instance folder: nothing is shared through a disk. Needs root and iproute2;
when namespaces cannot be made the tests fail (they are never skipped for that). Teardown kills
every process and deletes the namespaces and the bridge, also after failures.
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import pytest

from tests.conftest import NETGUARD_DIR, ROOT, _fresh_postgres_database
from tests.fakes.upstream import FakeUpstream
from tests.fleet.netns import Network
from tests.servers import Server, free_port, start_chroma, start_moto, start_redis

BIN = Path(sys.executable).parent
HOSTS = ["api1", "api2", "worker"]
API_PORT = 5000
BUCKET = "fleet"


class Fleet:
    """The running fleet: ``api_url(host)``, ``env`` (every host's settings), ``logs``, ``kill``."""

    def __init__(self, workdir: Path, netguard_log: Path):
        self.workdir = workdir
        self.netguard_log = netguard_log
        self.network = Network(HOSTS)
        self.servers: list[Server] = []
        self.processes: dict[str, subprocess.Popen] = {}
        self.upstreams: list[FakeUpstream] = []
        self.env: dict[str, str] = {}
        self.direct_database_url = ""

    # --- set-up -------------------------------------------------------------------------------
    def start(self) -> Fleet:
        net = self.network.up()
        gateway = net.gateway
        os.environ["LLMOPS_NETGUARD_ALLOW"] = str(net.subnet)  # this process talks to the hosts too
        redis = self._server(start_redis(self.workdir / "redis", gateway))
        moto = self._server(start_moto(self.workdir / "moto", gateway))
        chroma = self._server(start_chroma(self.workdir / "chroma", gateway))
        postgres_port = self._forward_postgres(gateway)
        self.upstream = self._upstream(gateway)
        self.priced_upstream = self._upstream(gateway)
        self.priced_upstream.behaviour.first_chunk_delay_s = 1.0  # requests stay in flight together
        self.direct_database_url = _fresh_postgres_database("llmops_fleet")
        database = self.direct_database_url.rsplit("/", 1)[1]
        self.env = {
            **os.environ,
            "LLMOPS_CONFIG": "production",
            "SECRET_KEY": secrets.token_urlsafe(48),
            "REGISTRATION": "open",
            "DATABASE_URL": f"postgresql+psycopg://postgres@{gateway}:{postgres_port}/{database}",
            "REDIS_URL": f"{redis.url}/0",
            "RATELIMIT_STORAGE_URI": f"{redis.url}/1",
            "CHROMA_URL": chroma.url,
            "STORAGE_BACKEND": "s3",
            "S3_ENDPOINT_URL": moto.url,
            "S3_BUCKET": BUCKET,
            "S3_ACCESS_KEY_ID": "fleet",
            "S3_SECRET_ACCESS_KEY": "fleet-secret",
            "DEFAULT_LLM_PROVIDER": "local",
            "DEFAULT_LLM_MODEL": "smollm2-135m",
            "LOCAL_LLM_BASE_URL": self.upstream.base_url,
            "LLMOPS_BASE_URL_VLLM": self.priced_upstream.base_url,
            "VLLM_API_KEY": "sk-operator-vllm",
            "USAGE_FLUSH_INTERVAL_S": "0.5",
            # a call open this long (plus the grace) belonged to a dead process: the reconciliation
            # job settles it (tests/fleet kills api-1 outright)
            "LLM_TOTAL_TIMEOUT_S": "15",
            "USAGE_HOLD_GRACE_S": "1",
            "LOGIN_RATE_LIMIT": "1000 per minute",
            "WEB_CONCURRENCY": "1",
            "JWT_ACCESS_TOKEN_EXPIRES": "3600",
            "PYTHONPATH": f"{NETGUARD_DIR}:{ROOT}",
            "PYTHONUNBUFFERED": "1",
            "LLMOPS_NETGUARD_LOG": str(self.netguard_log),
            "LLMOPS_NETGUARD_ALLOW": str(net.subnet),
            "HF_HUB_OFFLINE": "1",
            "ANONYMIZED_TELEMETRY": "False",
        }
        for name in ("CELERY_BROKER_URL", "STATE_STORE_URL", "QUOTA_STORE_URL", "UPLOAD_FOLDER", "CHROMA_PATH"):
            self.env.pop(name, None)
        self.run_flask("db", "upgrade")
        for host in ("api1", "api2"):
            self._spawn(host, host, [str(BIN / "gunicorn"), "-c", "workers/gunicorn.conf.py", "wsgi:app"],
                        {"API_HOST": net.address(host), "API_PORT": str(API_PORT)})
        self._spawn("worker", "indexing", [str(BIN / "celery"), "-A", "celery_app", "worker", "-Q", "indexing",
                                           "-n", "indexing@worker", "--concurrency", "1", "--prefetch-multiplier", "1",
                                           "--loglevel", "INFO"])
        self._spawn("worker", "general", [str(BIN / "celery"), "-A", "celery_app", "worker", "-Q",
                                          "memory,usage,maintenance", "-n", "general@worker", "--concurrency", "1",
                                          "--loglevel", "INFO"])
        for host in ("api1", "api2"):
            self._wait_http(host, f"{self.api_url(host)}/healthz", 120)
        for name in ("indexing", "general"):
            self._wait_log(name, "ready.", 120)
        return self

    def _server(self, server: Server) -> Server:
        self.servers.append(server)
        return server

    def _upstream(self, host: str) -> FakeUpstream:
        upstream = FakeUpstream(host).start()
        self.upstreams.append(upstream)
        return upstream

    def _forward_postgres(self, gateway: str) -> int:
        port = free_port(gateway)
        log = self.workdir / "forward.log"
        with open(log, "wb") as out:
            process = subprocess.Popen([sys.executable, "-m", "tests.fleet.forward", gateway, str(port), "127.0.0.1",
                                        "5432"], cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        self.processes["postgres-forward"] = process
        deadline = time.time() + 30
        while "ready" not in log.read_text() and time.time() < deadline:
            if process.poll() is not None:
                break
            time.sleep(0.1)
        if "ready" not in log.read_text():
            raise RuntimeError(f"the PostgreSQL forwarder did not start: {log.read_text()[-2000:]}")
        return port

    def _spawn(self, host: str, name: str, command: list[str], extra: dict | None = None) -> None:
        folder = self.workdir / host
        (folder / "instance").mkdir(parents=True, exist_ok=True)
        env = {**self.env, "LLMOPS_INSTANCE_DIR": str(folder / "instance"), **(extra or {})}
        with open(self.workdir / f"{name}.log", "ab") as out:
            self.processes[name] = subprocess.Popen(self.network.exec_prefix(host) + command, cwd=ROOT, env=env,
                                                    stdout=out, stderr=subprocess.STDOUT, start_new_session=True)

    def _wait_http(self, name: str, url: str, timeout: float) -> None:
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.processes[name].poll() is not None:
                break
            try:
                if httpx.get(url, timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        raise RuntimeError(f"{name} did not answer {url} within {timeout} s\n{self.log(name)[-3000:]}")

    def _wait_log(self, name: str, text: str, timeout: float) -> None:
        deadline = time.time() + timeout
        while time.time() < deadline and text not in self.log(name):
            if self.processes[name].poll() is not None:
                break
            time.sleep(0.3)
        if text not in self.log(name):
            raise RuntimeError(f"{name} is not {text!r}\n{self.log(name)[-3000:]}")

    # --- use ----------------------------------------------------------------------------------
    def api_url(self, host: str) -> str:
        return f"http://{self.network.address(host)}:{API_PORT}"

    def client(self, host: str, **kwargs) -> httpx.Client:
        return httpx.Client(base_url=self.api_url(host), timeout=kwargs.pop("timeout", 60), **kwargs)

    def log(self, name: str) -> str:
        path = self.workdir / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def run_flask(self, *args: str) -> str:
        """``flask --app wsgi ARGS`` from the root namespace (the database reached directly)."""
        env = {**self.env, "DATABASE_URL": self.direct_database_url,
               "LLMOPS_INSTANCE_DIR": str(self.workdir / "cli")}
        done = subprocess.run([str(BIN / "flask"), "--app", "wsgi", *args], cwd=ROOT, env=env, capture_output=True,
                              text=True, timeout=300)
        if done.returncode != 0:
            raise RuntimeError(f"flask {' '.join(args)} failed:\n{done.stderr[-3000:]}")
        return done.stdout

    def sql(self, statement: str, **params):
        import sqlalchemy as sa

        engine = sa.create_engine(self.direct_database_url)
        try:
            with engine.begin() as conn:
                result = conn.execute(sa.text(statement), params)
                return result.all() if result.returns_rows else result.rowcount
        finally:
            engine.dispose()

    def stop_process(self, name: str, sig: int = signal.SIGTERM, timeout: float = 60) -> None:
        process = self.processes.get(name)
        if process is None or process.poll() is not None:
            return
        try:
            os.killpg(process.pid, sig)
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=30)
        except ProcessLookupError:
            pass

    # --- teardown -----------------------------------------------------------------------------
    def stop(self) -> None:
        for name in list(self.processes):
            try:
                self.stop_process(name, signal.SIGTERM, timeout=20)
            except Exception:  # noqa: BLE001 — keep tearing down
                pass
        for server in self.servers:
            try:
                server.stop()
            except Exception:  # noqa: BLE001
                pass
        for upstream in self.upstreams:
            upstream.stop()
        self.network.down()
        os.environ.pop("LLMOPS_NETGUARD_ALLOW", None)


@pytest.fixture(scope="session")
def fleet(profile, tmp_path_factory, netguard_log):
    if profile != "services":
        pytest.skip("the fleet is the production profile (PostgreSQL, Redis, Chroma server): --profile services")
    fleet = Fleet(tmp_path_factory.mktemp("fleet"), netguard_log)
    try:
        fleet.start()
        yield fleet
    finally:
        fleet.stop()


def register(client: httpx.Client, name: str = "Fleet") -> tuple[str, str]:
    """A new account registered through ``client`` → (e-mail, access token)."""
    email = f"fleet-{uuid.uuid4().hex[:10]}@example.com"
    response = client.post("/auth/register", json={"name": name, "email": email, "password": "secret123"})
    assert response.status_code == 201, response.text
    return email, response.json()["data"]["access_token"]
