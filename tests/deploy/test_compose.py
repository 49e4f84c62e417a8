"""docker-compose.yml against the Compose Specification's JSON schema (vendored in
``vendor/compose-spec``: there is no Docker engine or compose plugin here), and the fleet it
describes: api replicas behind the proxy, a worker service per queue, beat once, and the shared
services every host reaches over the network."""

from __future__ import annotations

import json
import re

import jsonschema
import pytest
import yaml

from config import celery_settings
from tests.conftest import ROOT

QUEUES = ("indexing", "memory", "usage", "maintenance")


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def schema() -> dict:
    return json.loads((ROOT / "vendor" / "compose-spec" / "compose-spec.json").read_text(encoding="utf-8"))


def test_compose_file_is_valid_against_the_compose_specification(compose, schema):
    validator = jsonschema.validators.validator_for(schema)(schema)
    errors = sorted(validator.iter_errors(compose), key=lambda e: list(e.absolute_path))
    assert not errors, [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in errors]


def test_the_schema_check_can_fail(compose, schema):
    broken = json.loads(json.dumps(compose))
    broken["services"]["api"]["deploy"]["replicas"] = [2]
    broken["services"]["beat"]["restart_policy"] = "always"  # not a service key
    errors = list(jsonschema.validators.validator_for(schema)(schema).iter_errors(broken))
    assert len(errors) >= 2


def _command(service: dict) -> list[str]:
    command = service.get("command", [])
    return command.split() if isinstance(command, str) else command


def test_api_replicas_behind_the_proxy(compose):
    services = compose["services"]
    assert services["api"]["deploy"]["replicas"] >= 2
    assert services["api"]["build"]["target"] == "api"
    assert "ports" not in services["api"]  # reached through the proxy only
    assert services["api"]["environment"]["TRUSTED_PROXY_HOPS"] == "1"
    proxy = services["proxy"]
    mount = next(v for v in proxy["volumes"] if "nginx.conf" in v)
    conf = (ROOT / mount.split(":")[0]).read_text(encoding="utf-8")
    assert re.search(r"upstream api\s*{[^}]*server api:5000", conf)
    assert "proxy_pass http://api;" in conf and "proxy_buffering off;" in conf
    assert "X-Forwarded-For $proxy_add_x_forwarded_for" in conf


def test_a_worker_service_per_queue_and_one_beat(compose):
    services = compose["services"]
    routed = {route["queue"] for route in celery_settings("redis://x", 60)["task_routes"].values()}
    assert routed == set(QUEUES)
    served = {}
    for name, service in services.items():
        words = _command(service)
        if words[:4] == ["celery", "-A", "celery_app", "worker"]:
            assert service["build"]["target"] == "worker"
            queues = words[words.index("-Q") + 1].split(",")
            for queue in queues:
                served.setdefault(queue, []).append(name)
            assert "--concurrency" in words and "--prefetch-multiplier" in words
    assert {q: len(names) for q, names in served.items()} == dict.fromkeys(QUEUES, 1)
    indexing = _command(services[served["indexing"][0]])
    assert indexing[indexing.index("--prefetch-multiplier") + 1] == "1"
    beats = [n for n, s in services.items() if _command(s)[3:4] == ["beat"]]
    assert beats == ["beat"] and services["beat"]["deploy"]["replicas"] == 1


def test_shared_services_are_reached_over_the_network(compose):
    services = compose["services"]
    env = services["api"]["environment"]
    assert env["STORAGE_BACKEND"] == "s3" and env["S3_ENDPOINT_URL"] == "http://minio:9000"
    assert env["DATABASE_URL"].startswith("postgresql+psycopg://") and "@postgres:5432/" in env["DATABASE_URL"]
    assert env["REDIS_URL"].startswith("redis://redis:") and env["CHROMA_URL"] == "http://chroma:8000"
    for name in ("postgres", "redis", "chroma", "minio"):
        assert name in services
    for name, service in services.items():
        if service.get("build"):
            assert service["environment"]["STORAGE_BACKEND"] == "s3", name
            # no host folder shared between app containers: files go through the object store
            assert not [v for v in service.get("volumes", []) if not str(v).startswith("./deploy/")], name


def test_dockerfile_has_the_targets_compose_builds(compose):
    targets = set(re.findall(r"^FROM\s+\S+\s+AS\s+(\S+)", (ROOT / "Dockerfile").read_text(), re.M | re.I))
    wanted = {s["build"]["target"] for s in compose["services"].values() if s.get("build")}
    assert wanted == {"api", "worker"} and wanted <= targets


def test_tasks_are_routed_to_their_queues_and_make_run_serves_all(app):
    router = app.extensions["celery"].amqp.router
    expected = {
        "llmops.tasks.indexing.index_document": "indexing",
        "llmops.tasks.indexing.delete_dataset_vectors": "indexing",
        "llmops.tasks.memory.fold": "memory",
        "llmops.tasks.conversations.name": "memory",
        "llmops.tasks.usage.write_usage": "usage",
        "llmops.tasks.usage.purge_usage_logs": "maintenance",
        "llmops.tasks.usage.reconcile_usage": "maintenance",
        "llmops.tasks.maintenance.sweep_orphan_files": "maintenance",
        "llmops.tasks.maintenance.redispatch_stuck_documents": "maintenance",
    }
    assert {name: router.route({}, name)["queue"].name for name in expected} == expected
    schedule = app.config["CELERY"]["beat_schedule"]
    assert "llmops.tasks.maintenance.sweep_orphan_files" in {job["task"] for job in schedule.values()}
    procfile = (ROOT / "workers" / "Procfile").read_text(encoding="utf-8")
    worker = next(line for line in procfile.splitlines() if line.startswith("worker:")).split()
    assert set(worker[worker.index("-Q") + 1].split(",")) == set(QUEUES)
