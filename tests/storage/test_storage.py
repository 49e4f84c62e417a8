"""Shared file storage (llmops/storage.py): the local folder and an S3-compatible object store,
the latter against a real S3-protocol server on this machine (moto's standalone ``moto_server``).
Uploads, parsed text and images go through it; deleting a document or a dataset deletes its files;
the maintenance sweep deletes orphans; rows written before keys (absolute paths) still index."""

from __future__ import annotations

import io
import uuid

import pytest
import sqlalchemy as sa

from llmops.extensions import db
from llmops.models import Document, UploadFile
from llmops.services.knowledge import indexing_service, stored_files
from llmops.storage import LocalStorage, S3Storage, check_key
from tests.servers import start_moto

TEXT = (b"Tides are caused by the gravitational pull of the Moon and the Sun on the oceans.\n\n"
        b"Bees dance to tell other bees where the flowers are.")


@pytest.fixture(scope="module")
def moto(tmp_path_factory):
    server = start_moto(tmp_path_factory.mktemp("moto"))
    yield server
    server.stop()


def s3_storage(moto, bucket: str | None = None, prefix: str = "") -> S3Storage:
    return S3Storage(bucket or f"t-{uuid.uuid4().hex[:12]}", endpoint_url=moto.url, access_key_id="test",
                     secret_access_key="test", prefix=prefix)


@pytest.fixture(params=["local", "s3"])
def storage(request, tmp_path, moto):
    return LocalStorage(tmp_path / "files") if request.param == "local" else s3_storage(moto, prefix="pre")


@pytest.fixture
def s3_app(app, moto, monkeypatch):
    """The session app with its storage switched to a fresh bucket of the S3 server."""
    store = s3_storage(moto)
    monkeypatch.setattr(app.runtime, "storage", store)
    return store


def keys(store) -> set[str]:
    return {o.key for o in store.list()}


def upload(client, auth, name: str, data: bytes):
    return client.post("/upload-files", data={"file": (io.BytesIO(data), name)}, headers=auth,
                       content_type="multipart/form-data")


def new_dataset(client, auth) -> str:
    response = client.post("/datasets", json={"name": f"kb-{uuid.uuid4().hex[:8]}"}, headers=auth)
    assert response.status_code == 201, response.get_json()
    return response.get_json()["data"]["id"]


def add_documents(app, client, auth, dataset_id: str, upload_ids: list[str]) -> list[str]:
    created = client.post(f"/datasets/{dataset_id}/documents", json={"upload_file_ids": upload_ids}, headers=auth)
    assert created.status_code == 201, created.get_json()
    ids = [d["id"] for d in created.get_json()["data"]["documents"]]
    with app.app_context():
        for document_id in ids:
            assert indexing_service.index_document(uuid.UUID(document_id)) == "completed"
    return ids


def test_backends_store_read_list_and_delete(storage, tmp_path):
    storage.put_bytes("a/one.txt", b"one")
    source = tmp_path / "two.pdf"
    source.write_bytes(b"%PDF-1.4 two")
    storage.put_file("b/two.pdf", source)
    assert storage.get_bytes("a/one.txt") == b"one"
    assert storage.exists("b/two.pdf") and not storage.exists("b/none.pdf")
    with storage.local_path("b/two.pdf") as path:
        assert path.read_bytes() == b"%PDF-1.4 two" and path.suffix == ".pdf"
    listed = {o.key: o for o in storage.list()}
    assert set(listed) == {"a/one.txt", "b/two.pdf"} and listed["a/one.txt"].size == 3
    assert {o.key for o in storage.list("b/")} == {"b/two.pdf"}
    storage.delete(["a/one.txt", "a/never-stored.txt"])
    assert keys(storage) == {"b/two.pdf"}
    with pytest.raises(FileNotFoundError):
        storage.get_bytes("a/one.txt")
    with pytest.raises(FileNotFoundError), storage.local_path("a/one.txt"):
        pass


@pytest.mark.parametrize("key", ["", "/etc/passwd", "../x", "a/../../x", "a//b", "a\\b", "./a"])
def test_bad_keys_are_refused(key):
    with pytest.raises(ValueError):
        check_key(key)


def test_the_s3_prefix_keeps_objects_apart(moto):
    bucket = f"t-{uuid.uuid4().hex[:12]}"
    first, second = s3_storage(moto, bucket, prefix="one"), s3_storage(moto, bucket, prefix="two")
    first.put_bytes("k.txt", b"1")
    second.put_bytes("k.txt", b"2")
    assert first.get_bytes("k.txt") == b"1" and keys(second) == {"k.txt"}


def test_an_upload_is_indexed_and_its_files_deleted_with_its_document(app, client, auth, s3_app):
    uploaded = upload(client, auth, "tides.txt", TEXT)
    assert uploaded.status_code == 201, uploaded.get_json()
    data = uploaded.get_json()["data"]
    key = f"{data['account_id']}/{data['id']}.txt"
    assert data["key"] == key and s3_app.get_bytes(key) == TEXT
    with app.app_context():
        row = db.session.get(UploadFile, uuid.UUID(data["id"]))
        assert row.key == key  # a storage key, not a path of this host
    dataset_id = new_dataset(client, auth)
    [document_id] = add_documents(app, client, auth, dataset_id, [data["id"]])
    parsed = f"parsed/{document_id}.txt"
    assert "gravitational pull" in s3_app.get_bytes(parsed).decode()
    hits = client.post(f"/datasets/{dataset_id}/hit", json={"query": "what causes tides", "retrieval_strategy":
                                                            "full_text", "k": 2, "score": 0}, headers=auth)
    assert "Moon" in hits.get_json()["data"][0]["content"], hits.get_json()

    deleted = client.post(f"/datasets/{dataset_id}/documents/{document_id}/delete", headers=auth)
    assert deleted.status_code == 200
    assert not ({key, parsed} & keys(s3_app))
    with app.app_context():  # no longer stored: not counted in the account's storage
        assert db.session.get(UploadFile, uuid.UUID(data["id"])).key == ""
    again = client.post(f"/datasets/{dataset_id}/documents", json={"upload_file_ids": [data["id"]]}, headers=auth)
    assert again.status_code == 404 and data["id"] in again.get_json()["message"]


def test_an_upload_shared_by_two_documents_stays_until_the_last_goes(app, client, auth, s3_app):
    upload_id = upload(client, auth, "bees.txt", TEXT).get_json()["data"]["id"]
    first, second = new_dataset(client, auth), new_dataset(client, auth)
    [doc_a] = add_documents(app, client, auth, first, [upload_id])
    [doc_b] = add_documents(app, client, auth, second, [upload_id])
    with app.app_context():
        key = stored_files.storage_key(db.session.get(UploadFile, uuid.UUID(upload_id)))
    assert client.post(f"/datasets/{first}/documents/{doc_a}/delete", headers=auth).status_code == 200
    assert key in keys(s3_app) and f"parsed/{doc_a}.txt" not in keys(s3_app)
    # the dataset goes: its document's parsed text, the upload's file and its now unused row
    assert client.post(f"/datasets/{second}/delete", headers=auth).status_code == 200
    assert not ({key, f"parsed/{doc_b}.txt"} & keys(s3_app))
    with app.app_context():
        assert db.session.get(UploadFile, uuid.UUID(upload_id)) is not None  # doc_a (deleted) still points at it
        assert db.session.get(Document, uuid.UUID(doc_b)) is None


def test_orphan_sweep_deletes_only_what_no_record_needs(app, client, auth, s3_app):
    live_upload = upload(client, auth, "live.txt", TEXT).get_json()["data"]
    unused_upload = upload(client, auth, "unused.txt", TEXT).get_json()["data"]  # no document yet: kept
    dataset_id = new_dataset(client, auth)
    [live_doc] = add_documents(app, client, auth, dataset_id, [live_upload["id"]])
    gone_doc = add_documents(app, client, auth, dataset_id, [upload(client, auth, "gone.txt", TEXT)
                                                             .get_json()["data"]["id"]])[0]
    with app.app_context():  # a crash between the commit and the file removal leaves the files behind
        db.session.execute(sa.update(Document).where(Document.id == uuid.UUID(gone_doc)).values(is_deleted=True))
        db.session.commit()
        gone_upload = db.session.get(Document, uuid.UUID(gone_doc)).upload_file_id
    stray = f"{uuid.uuid4()}/{uuid.uuid4()}.txt"  # a file whose row was never committed
    for extra in (stray, f"parsed/{uuid.uuid4()}.txt", "images/" + "a" * 32 + ".png", "notes/readme.txt"):
        s3_app.put_bytes(extra, b"x")
    before = keys(s3_app)
    with app.app_context():
        assert stored_files.sweep_orphans(grace_s=3600) == 0  # everything is younger than the grace
        removed = stored_files.sweep_orphans(grace_s=0)
    after = keys(s3_app)
    gone = before - after
    assert removed == len(gone) == 4, gone
    assert stray in gone and f"parsed/{gone_doc}.txt" in gone
    assert any(k.endswith(f"/{gone_upload}.txt") for k in gone)
    for kept in (live_upload["key"], unused_upload["key"], f"parsed/{live_doc}.txt", "images/" + "a" * 32 + ".png",
                 "notes/readme.txt"):
        assert kept in after, kept


def test_images_are_served_from_the_shared_storage(client, auth, s3_app):
    png = b"\x89PNG\r\n\x1a\n" + b"\0" * 64
    response = client.post("/upload-files/image", data={"file": (io.BytesIO(png), "a.png")}, headers=auth,
                           content_type="multipart/form-data")
    url = response.get_json()["data"]["image_url"]
    name = url.rsplit("/", 1)[1]
    assert s3_app.get_bytes(f"images/{name}") == png
    served = client.get(f"/upload-files/images/{name}")
    assert served.status_code == 200 and served.data == png and served.mimetype == "image/png"
    assert client.get("/upload-files/images/" + "b" * 32 + ".png").status_code == 404


def test_rows_holding_an_absolute_path_still_index(app, client, auth, tmp_path, monkeypatch):
    """Uploads stored before storage keys hold the absolute path of a file in the upload folder."""
    monkeypatch.setattr(app.runtime, "storage", LocalStorage(tmp_path))
    data = upload(client, auth, "old.txt", TEXT).get_json()["data"]
    path = tmp_path / data["account_id"] / f"{data['id']}.txt"
    assert path.read_bytes() == TEXT
    with app.app_context():
        db.session.execute(sa.update(UploadFile).where(UploadFile.id == uuid.UUID(data["id"]))
                           .values(key=str(path)))
        db.session.commit()
    [document_id] = add_documents(app, client, auth, new_dataset(client, auth), [data["id"]])
    assert (tmp_path / "parsed" / f"{document_id}.txt").read_text().startswith("Tides")
