"""Migrations on a database that already holds data (an upgrade of a running installation), in
the profile's engine: SQLite (tables rebuilt in batch mode, foreign keys enforced by the app) or
PostgreSQL. Rows written at revision 0003 survive 0004 and 0005, down and up again."""

import datetime
import subprocess
import sys
import uuid

import pytest
import sqlalchemy as sa

from tests.conftest import ROOT, _fresh_postgres_database

BIN = f"{sys.prefix}/bin"


@pytest.fixture
def database_url(profile, tmp_path):
    if profile == "embedded":
        return f"sqlite:///{tmp_path / 'upgrade.db'}"
    return _fresh_postgres_database("llmops_upgrade")


def flask_db(url: str, tmp_path, *args: str) -> None:
    env = {"PATH": BIN, "DATABASE_URL": url, "LLMOPS_INSTANCE_DIR": str(tmp_path), "HOME": str(tmp_path)}
    done = subprocess.run([f"{BIN}/flask", "--app", "wsgi", "db", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]


def test_upgrade_and_downgrade_keep_existing_rows(database_url, tmp_path):
    flask_db(database_url, tmp_path, "upgrade", "0003")
    engine = sa.create_engine(database_url)
    sqlite = engine.dialect.name == "sqlite"

    def new_id():
        return uuid.uuid4().hex if sqlite else uuid.uuid4()

    metadata = sa.MetaData()
    metadata.reflect(engine)

    def insert(table: str, **given) -> dict:
        """A row of the 0003 schema: ``given`` values, a typed filler for other required columns."""
        values = dict(given)
        for column in metadata.tables[table].columns:
            if column.name in values or column.nullable or column.server_default is not None:
                continue
            kind = column.type
            if column.name == "id" or isinstance(kind, sa.Uuid) or str(kind).upper() in ("CHAR(32)", "UUID"):
                values[column.name] = new_id()
            elif isinstance(kind, sa.Boolean):
                values[column.name] = False
            elif isinstance(kind, sa.Integer):
                values[column.name] = 0
            elif isinstance(kind, sa.DateTime):
                values[column.name] = datetime.datetime(2026, 1, 1)
            elif isinstance(kind, sa.JSON):
                values[column.name] = {}
            else:
                values[column.name] = f"v{uuid.uuid4().hex[:8]}"
        with engine.begin() as c:
            c.execute(metadata.tables[table].insert().values(**values))
        return values

    account = insert("account")["id"]
    app = insert("app", account_id=account)["id"]
    conversation = insert("conversation", app_id=app, account_id=account)["id"]
    insert("message", app_id=app, conversation_id=conversation, account_id=account)
    engine.dispose()

    for step in (("upgrade",), ("downgrade", "0003"), ("upgrade",)):
        flask_db(database_url, tmp_path, *step)
        with engine.connect() as c:
            counts = [c.scalar(sa.text(f"SELECT count(*) FROM {t}")) for t in ("account", "app", "conversation", "message")]
            assert counts == [1, 1, 1, 1], step
            if sqlite:
                assert c.exec_driver_sql("PRAGMA foreign_key_check").fetchall() == []
                assert not c.scalar(sa.text("SELECT count(*) FROM sqlite_master WHERE name LIKE '_alembic_tmp%'"))
        engine.dispose()
