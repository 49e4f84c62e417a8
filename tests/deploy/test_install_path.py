"""One install path: the production images (Dockerfile) install the runtime requirement files that
``make install`` installs, with the same constraints; what only tests and benchmarks need stays out
of them. Read from the files themselves (no Docker engine here)."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

from tests.conftest import ROOT

RUNTIME = {"requirements.txt", "requirements-rag.txt"}
# Installed by `make install` only: tests/lint/benchmarks, and the embedded profile's local model.
MAKE_ONLY = {"requirements-dev.txt", "requirements-llm.txt"}
DEV_ONLY_MODULES = ("pytest", "ruff", "aiohttp", "psutil", "moto", "jsonschema", "langchain_openai")


def _joined_lines(text: str) -> list[str]:
    return text.replace("\\\n", " ").splitlines()


def pip_installs(text: str, prefix: str) -> list[tuple[set, set]]:
    """Every ``pip install`` command of a Makefile recipe or a Dockerfile RUN → [(-r files, -c files)]."""
    found = []
    for line in _joined_lines(text):
        if line.lstrip().startswith("#"):
            continue
        for command in re.split(r"&&|;|\|\|", line):
            if "pip install" not in command:
                continue
            words = shlex.split(command.replace("$(BIN)/", ""))
            if prefix and words[:1] == [prefix]:
                words = words[1:]
            while words and re.match(r"^[A-Z_]+=", words[0]):  # VAR=value before the command
                words = words[1:]
            if len(words) > 1 and words[0] == "pip" and words[1] == "install":
                requirements = {words[i + 1] for i, w in enumerate(words[:-1]) if w == "-r"}
                constraints = {words[i + 1] for i, w in enumerate(words[:-1]) if w == "-c"}
                found.append((requirements, constraints))
    return found


def dockerfile() -> str:
    return (ROOT / "Dockerfile").read_text(encoding="utf-8")


def makefile() -> str:
    return (ROOT / "Makefile").read_text(encoding="utf-8")


def test_dockerfile_installs_the_makefiles_runtime_files_with_its_constraints():
    docker = pip_installs(dockerfile(), "RUN")
    make = pip_installs(makefile(), "")
    docker_files = set().union(*(r for r, _ in docker))
    make_files = set().union(*(r for r, _ in make))
    assert docker_files == RUNTIME, docker_files
    assert make_files == RUNTIME | MAKE_ONLY, make_files
    # the same constraints file on every install that reads requirement files
    assert {frozenset(c) for r, c in docker + make if r} == {frozenset({"constraints.txt"})}
    # the runtime files are installed together (one resolution), in both
    assert any(r == RUNTIME for r, _ in docker)
    assert any(r >= RUNTIME for r, _ in make)


def test_dockerfile_copies_what_the_requirement_files_read():
    text = dockerfile()
    copied = set()
    for line in _joined_lines(text):
        words = line.split()
        if words[:1] == ["COPY"] and not any(w.startswith("--from") for w in words):
            copied.update(w.rstrip("/") for w in words[1:-1] if not w.startswith("--"))
    for name in RUNTIME:
        assert name in copied, f"{name} is installed but not copied before"
        for requirement in (ROOT / name).read_text(encoding="utf-8").splitlines():
            requirement = requirement.split("#")[0].strip()
            if requirement.startswith(("./", "../")):  # a local project, read at install time
                assert requirement.removeprefix("./").rstrip("/") in copied, requirement
    assert "constraints.txt" in copied


def test_both_remove_torchvision_after_installing():
    assert re.search(r"pip uninstall -y( -q)? torchvision", makefile())
    assert re.search(r"pip uninstall -y( -q)? torchvision", dockerfile())


def _names(path: Path) -> set[str]:
    names = set()
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.split("#")[0].strip()
        if line and not line.startswith(("-", ".")):
            names.add(re.split(r"[\[<>=!~; ]", line, maxsplit=1)[0].lower().replace("_", "-"))
    return names


def test_runtime_files_hold_nothing_only_tests_need_and_the_product_imports_none_of_it():
    runtime = set().union(*(_names(ROOT / name) for name in RUNTIME))
    dev = _names(ROOT / "requirements-dev.txt")
    assert {"pytest", "ruff", "moto", "jsonschema"} <= dev
    assert not runtime & dev, runtime & dev
    product = [*(ROOT / "llmops").rglob("*.py"), ROOT / "config.py", ROOT / "wsgi.py", ROOT / "celery_app.py",
               *(ROOT / "workers").glob("*.py")]
    pattern = re.compile(rf"^\s*(?:from|import)\s+({'|'.join(DEV_ONLY_MODULES)})\b", re.M)
    offenders = [str(p.relative_to(ROOT)) for p in product if pattern.search(p.read_text(encoding="utf-8"))]
    assert not offenders, offenders


def test_new_dependencies_are_pinned():
    pins = {line.split("==")[0].strip().lower() for line in (ROOT / "constraints.txt").read_text().splitlines()
            if "==" in line and not line.startswith("#")}
    assert {"boto3", "moto", "jsonschema"} <= pins
