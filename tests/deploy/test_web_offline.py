"""The console installs and builds with no network at all (issue "A web console": ``npm ci && npm
run build`` works offline from the lock file): a copy of ``web/`` — sources, ``package.json`` and
``package-lock.json``, no ``node_modules`` or ``dist`` — is installed with ``npm ci --offline`` and
built inside a network namespace that has only a loopback interface (``unshare --net``), so any
download by npm, a package's install script or the build fails the test. Packages come from npm's
cache, which ``make test``'s online ``npm ci`` (``make web``) filled from the same lock file."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import ROOT

WEB = ROOT / "web"
COPIED = ("src", "e2e", "public", "index.html", "package.json", "package-lock.json", "tsconfig.json",
          "vite.config.ts")


def test_the_console_installs_and_builds_without_a_network(profile, tmp_path: Path):
    if profile != "embedded":
        pytest.skip("one offline build per make test is enough (the embedded run)")
    for tool in ("npm", "unshare"):
        if shutil.which(tool) is None:
            pytest.fail(f"{tool} is needed (make test installs node and npm; unshare is util-linux's)")
    web = tmp_path / "web"
    web.mkdir()
    for name in COPIED:
        source = WEB / name
        if source.is_dir():
            shutil.copytree(source, web / name)
        elif source.exists():
            shutil.copy2(source, web / name)
    isolated = ["unshare", "--net", "sh", "-c",
                "npm ci --offline --no-audit --no-fund && npm run build"]
    env = {**os.environ, "npm_config_update_notifier": "false"}
    done = subprocess.run(isolated, cwd=web, capture_output=True, text=True, timeout=900, env=env)
    assert done.returncode == 0, f"offline install or build failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    index = (web / "dist" / "index.html").read_text()
    assert '<div id="root">' in index and "/assets/" in index
    assert any((web / "dist" / "assets").glob("*.js"))


def test_the_offline_check_can_fail(profile, tmp_path: Path):
    """The same isolation refuses a package that is not in the cache (npm cannot reach a registry)."""
    if profile != "embedded":
        pytest.skip("runs with the offline build")
    (tmp_path / "package.json").write_text('{"name": "probe", "version": "0.0.0", "private": true, '
                                           '"dependencies": {"llmops-not-a-cached-package": "1.0.0"}}')
    done = subprocess.run(["unshare", "--net", "npm", "install", "--no-audit", "--no-fund", "--fetch-retries=0"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode != 0
