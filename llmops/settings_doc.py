"""``docs/configuration.md``, generated from ``config.py`` — the one module that reads the environment.

Every class attribute of ``Config`` whose value reads an environment variable (``_env``, ``_env_int``,
``_env_float``) becomes a row: the variable, its embedded default, the production profile's value
when ``ProductionConfig`` overrides it, and the comment written above the attribute in ``config.py``.
Variables read as families (``<PROVIDER>_API_KEY``, ``LLMOPS_BASE_URL_<PROVIDER>``) are listed too.

    python -m llmops.settings_doc            # rewrite docs/configuration.md
    python -m llmops.settings_doc --check    # exit 1 when the file is out of date (run by the tests)
"""

from __future__ import annotations

import argparse
import ast
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CONFIG_FILE = ROOT / "config.py"
DOC_FILE = ROOT / "docs" / "configuration.md"
READERS = {"_env": "text", "_env_int": "integer", "_env_float": "number"}

HEADER = """# Configuration

Generated from `config.py` by `python -m llmops.settings_doc` — edit the comments there, not this
file (a test fails when the two differ). `config.py` is the only module that reads the environment:
every setting below is an environment variable of that name. `LLMOPS_CONFIG` picks the profile:
`default` (embedded: SQLite, a SQLite-backed broker, Chroma on disk, the local model), `production`
(PostgreSQL, Redis, a Chroma server; it refuses to start without a `SECRET_KEY`) or `testing`.

Durations are in seconds (`_S` suffix or as stated), sizes in bytes, rate limits in the `limits`
library's notation (`10 per minute`), money in credits (1 credit = 1e-6 USD).

"""


@dataclass
class Setting:
    variable: str
    attribute: str
    kind: str
    default: str
    production: str | None
    comment: str
    section: str


def _outer_read(node: ast.AST) -> tuple[str, str] | None:
    """The environment read a value is made of: ``(variable, kind)`` of the outermost ``_env*`` call
    (a read nested in its default, such as ``REDIS_URL`` in ``STATE_STORE_URL``'s, is the fallback)."""
    for call in ast.walk(node):  # breadth first: the outermost call comes first
        if isinstance(call, ast.Call) and isinstance(call.func, ast.Name) and call.func.id in READERS \
                and call.args and isinstance(call.args[0], ast.Constant):
            return call.args[0].value, READERS[call.func.id]
    return None


def _comment_for(lines: list[str], lineno: int, env_lines: set[int]) -> str:
    """What ``config.py`` says of the setting on line ``lineno`` (1-based): its trailing comment,
    else the ``#`` block above it — or above the run of environment-reading assignments it ends
    (``JWT_ACCESS_TOKEN_EXPIRES`` and ``JWT_REFRESH_TOKEN_EXPIRES`` share one)."""
    if "  # " in lines[lineno - 1]:
        return lines[lineno - 1].split("  # ", 1)[1].strip()
    i = lineno - 2
    while i >= 0 and ((i + 1) in env_lines or lines[i].startswith("        ")):  # a sibling, a continuation
        i -= 1
    block = []
    while i >= 0 and lines[i].strip().startswith("#"):
        block.insert(0, lines[i].strip().lstrip("#").strip())
        i -= 1
    return " ".join(block)


def _class_settings(tree: ast.Module, name: str) -> dict[str, tuple[ast.AST, int]]:
    cls = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == name)
    return {stmt.targets[0].id: (stmt.value, stmt.lineno) for stmt in cls.body
            if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name)}


_VALUES = """
import json, config
from datetime import timedelta
from pathlib import Path
out = {}
for profile in ("default", "production"):
    cls = config.CONFIGS[profile]
    values = {}
    for name in dir(cls):
        if name.isupper():
            value = getattr(cls, name)
            if isinstance(value, timedelta):
                value = int(value.total_seconds())
            elif isinstance(value, Path):
                value = str(value)
            elif isinstance(value, (list, tuple)):
                value = ",".join(map(str, value))
            values[name] = value if isinstance(value, (str, int, float, bool, type(None))) else repr(value)
    out[profile] = values
print(json.dumps(out))
"""


def _values() -> dict[str, dict]:
    """Each profile's settings as a process with none of the variables set sees them (a clean
    environment, so the file does not depend on who generates it)."""
    import json
    import subprocess

    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", _VALUES], cwd=ROOT, env=env, capture_output=True, text=True,
                          check=True)
    return json.loads(done.stdout)


def _shown(value) -> str:
    if value is None:
        return "unset"
    if isinstance(value, bool):
        return "`true`" if value else "`false`"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:g}"
    text = str(value).replace(str(ROOT), "<repo>")
    return f"`{text}`" if text else "empty"


def collect() -> list[Setting]:
    source = CONFIG_FILE.read_text()
    lines = source.splitlines()
    tree = ast.parse(source)
    base = _class_settings(tree, "Config")
    values = _values()
    settings: list[Setting] = []
    env_lines = {lineno for value, lineno in base.values() if _outer_read(value)}
    for attribute, (value, lineno) in base.items():
        read = _outer_read(value)
        if read is None:
            continue
        variable, kind = read
        default = values["default"].get(attribute)
        production = values["production"].get(attribute)
        settings.append(Setting(variable, attribute, kind, _shown(default),
                                None if production == default else _shown(production),
                                _comment_for(lines, lineno, env_lines), ""))
    return settings


FAMILIES = [
    ("REDIS_URL", "the production profile's one Redis: unless set on their own, the Celery broker "
                  "(`CELERY_BROKER_URL`), the state store (`STATE_STORE_URL`), the quota ledger (`QUOTA_STORE_URL`) "
                  "and the rate-limit storage (`RATELIMIT_STORAGE_URI`) use it"),
    ("<PROVIDER>_API_KEY", "every variable ending in `_API_KEY` is offered to the model registry, which names a "
                           "provider's key by its variable (e.g. `OPENAI_API_KEY`, `DEEPSEEK_API_KEY`)"),
    ("LLMOPS_BASE_URL_<PROVIDER>", "overrides a provider's base URL (e.g. `LLMOPS_BASE_URL_OPENAI`)"),
    ("LLMOPS_CONFIG", "the profile: `default`, `production` or `testing`"),
]


def render() -> str:
    rows = ["| variable | embedded default | production | what it does |", "|---|---|---|---|"]
    for s in collect():
        comment = s.comment.replace("|", "\\|")
        rows.append(f"| `{s.variable}` | {s.default} | {s.production or 'same'} | {comment} |")
    families = ["| variable | what it does |", "|---|---|"] + [f"| `{v}` | {d} |" for v, d in FAMILIES]
    return (HEADER + "## Settings\n\n" + "\n".join(rows) + "\n\n## Variable families\n\n" + "\n".join(families)
            + "\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail when docs/configuration.md is out of date")
    args = parser.parse_args(argv)
    text = render()
    if args.check:
        if not DOC_FILE.exists() or DOC_FILE.read_text() != text or "|  |" in text:
            print("docs/configuration.md is out of date: run `python -m llmops.settings_doc`", file=sys.stderr)
            return 1
        return 0
    DOC_FILE.write_text(text)
    undocumented = [s.variable for s in collect() if not s.comment]
    if undocumented:
        print("no comment in config.py for: " + ", ".join(undocumented), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
