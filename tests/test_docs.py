"""The repository's own documents: generated ones are current, and nothing points outside the repository."""

from __future__ import annotations

import re
import subprocess

from llmops import settings_doc
from tests.conftest import ROOT


def test_configuration_doc_is_generated_from_config_py():
    assert settings_doc.main(["--check"]) == 0, "run: python -m llmops.settings_doc"
    documented = {s.variable for s in settings_doc.collect()}
    read = set(re.findall(r'_env(?:_int|_float)?\("([A-Z0-9_]+)"', (ROOT / "config.py").read_text()))
    families = {variable for variable, _ in settings_doc.FAMILIES}
    assert read - documented <= families, read - documented  # REDIS_URL, LLMOPS_CONFIG: rows of their own
    assert all(s.comment for s in settings_doc.collect()), [s.variable for s in settings_doc.collect() if not s.comment]


def test_the_check_fails_on_a_stale_file(tmp_path, monkeypatch):
    stale = tmp_path / "configuration.md"
    stale.write_text(settings_doc.render().replace("| `SECRET_KEY` |", "| `OLD_NAME` |"))
    monkeypatch.setattr(settings_doc, "DOC_FILE", stale)
    assert settings_doc.main(["--check"]) == 1


def test_no_file_refers_to_documents_outside_the_repository():
    tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    pattern = re.compile(r"\.\./shared|\bshared/(?:spec|seeds|reference)|\b(?:API|OFFLINE|ARCHITECTURE|STYLE|BENCHMARKS)\.md")
    offenders = []
    for name in tracked:
        path = ROOT / name
        if path.suffix in {".py", ".md", ".txt", ".toml", ".yml", ".yaml", ".cfg", ".ini", ".sh", ""} and path.is_file():
            for number, line in enumerate(path.read_text(errors="ignore").splitlines(), 1):
                if pattern.search(line) and name != "tests/test_docs.py":
                    offenders.append(f"{name}:{number}: {line.strip()[:100]}")
    assert offenders == [], offenders
