"""File storage shared by every process: uploads, parsed text and images, addressed by key.

A key is a relative, slash-separated name (``<account_id>/<upload_id>.<ext>``,
``parsed/<document_id>.txt``, ``images/<name>``); records in the database store keys, never
paths, so any api or worker host reads the same file.

* ``LocalStorage`` — a folder (``UPLOAD_FOLDER``): the embedded profile, one machine only;
* ``S3Storage`` — an S3-compatible object store (AWS S3, MinIO, Ceph, ...) through boto3: the
  production profile, where api and worker hosts share nothing but the network.

boto3 rather than fsspec/s3fs or OpenDAL: it is the reference S3 client, synchronous (so it works
unchanged under gevent and in Celery's prefork pool), thread-safe per client, and the only one of
the three whose retries and path-style addressing every S3-compatible server documents.

Missing keys raise ``FileNotFoundError`` on every backend; a bad key raises ``ValueError``.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath


@dataclass(frozen=True)
class StoredObject:
    """One stored file: its key, size in bytes and last change (Unix seconds)."""

    key: str
    size: int
    modified: float


def check_key(key: str) -> str:
    """``key`` if it is a relative slash-separated name without ``..``; else ``ValueError``."""
    parts = key.split("/")
    if not key or "\\" in key or any(p in ("", ".", "..") for p in parts):
        raise ValueError(f"invalid storage key {key!r}")
    return key


class Storage:
    """What every backend offers (keys as in the module docstring)."""

    def put_file(self, key: str, path: Path) -> None:
        """Store the file at ``path`` (which the call may move away) under ``key``."""
        raise NotImplementedError

    def put_bytes(self, key: str, data: bytes) -> None:
        raise NotImplementedError

    def get_bytes(self, key: str) -> bytes:
        raise NotImplementedError

    @contextmanager
    def local_path(self, key: str) -> Iterator[Path]:
        """A readable local file with the object's bytes for the ``with`` block (parsers need one)."""
        raise NotImplementedError
        yield Path()  # pragma: no cover

    def exists(self, key: str) -> bool:
        raise NotImplementedError

    def delete(self, keys: list[str]) -> None:
        """Delete these keys; a key already gone is not an error."""
        raise NotImplementedError

    def list(self, prefix: str = "") -> Iterator[StoredObject]:
        """Every object whose key starts with ``prefix``."""
        raise NotImplementedError


class LocalStorage(Storage):
    """A folder on this host; keys are paths under it."""

    def __init__(self, root: str | Path):
        self.root = Path(root)

    def _path(self, key: str) -> Path:
        return self.root / check_key(key)

    def put_file(self, key: str, path: Path) -> None:
        target = self._path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(path), target)

    def put_bytes(self, key: str, data: bytes) -> None:
        target = self._path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(f".{target.name}.{os.getpid()}.{threading.get_ident()}.part")
        partial.write_bytes(data)
        os.replace(partial, target)  # readers never see half a file

    def get_bytes(self, key: str) -> bytes:
        return self._path(key).read_bytes()

    @contextmanager
    def local_path(self, key: str) -> Iterator[Path]:
        path = self._path(key)
        if not path.is_file():
            raise FileNotFoundError(key)
        yield path

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def delete(self, keys: list[str]) -> None:
        for key in keys:
            self._path(key).unlink(missing_ok=True)

    def list(self, prefix: str = "") -> Iterator[StoredObject]:
        if not self.root.is_dir():
            return
        for folder, _dirs, files in os.walk(self.root):
            for name in files:
                if name.startswith(".") and name.endswith(".part"):
                    continue
                path = Path(folder) / name
                key = path.relative_to(self.root).as_posix()
                if key.startswith(prefix):
                    try:
                        stat = path.stat()
                    except FileNotFoundError:
                        continue
                    yield StoredObject(key, stat.st_size, stat.st_mtime)


class S3Storage(Storage):
    """A bucket of an S3-compatible store; keys are object names under ``prefix``.

    The boto3 client is made lazily in each process (never shared across a fork); the bucket is
    created on first use when it does not exist (MinIO and test servers start empty)."""

    def __init__(self, bucket: str, endpoint_url: str | None = None, region: str = "us-east-1",
                 access_key_id: str | None = None, secret_access_key: str | None = None, prefix: str = "",
                 connect_timeout_s: float = 5.0, read_timeout_s: float = 60.0):
        self.bucket, self.endpoint_url, self.region = bucket, endpoint_url, region
        self.access_key_id, self.secret_access_key = access_key_id, secret_access_key
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
        self.timeouts = (connect_timeout_s, read_timeout_s)
        self._client = None
        self._pid = 0
        self._lock = threading.Lock()

    @property
    def client(self):
        if self._client is None or self._pid != os.getpid():
            with self._lock:
                if self._client is None or self._pid != os.getpid():
                    import boto3
                    from botocore.config import Config as BotoConfig

                    client = boto3.session.Session().client(
                        "s3", endpoint_url=self.endpoint_url, region_name=self.region,
                        aws_access_key_id=self.access_key_id, aws_secret_access_key=self.secret_access_key,
                        config=BotoConfig(s3={"addressing_style": "path"}, connect_timeout=self.timeouts[0],
                                          read_timeout=self.timeouts[1], retries={"max_attempts": 3, "mode": "standard"},
                                          max_pool_connections=32))
                    self._ensure_bucket(client)
                    self._client, self._pid = client, os.getpid()
        return self._client

    def _ensure_bucket(self, client) -> None:
        from botocore.exceptions import ClientError

        try:
            client.head_bucket(Bucket=self.bucket)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") not in ("404", "NoSuchBucket", "NotFound"):
                raise
            try:
                if self.region == "us-east-1":
                    client.create_bucket(Bucket=self.bucket)
                else:
                    client.create_bucket(Bucket=self.bucket,
                                         CreateBucketConfiguration={"LocationConstraint": self.region})
            except ClientError as again:  # another process made it first
                if again.response.get("Error", {}).get("Code") not in ("BucketAlreadyOwnedByYou",
                                                                         "BucketAlreadyExists"):
                    raise

    def _name(self, key: str) -> str:
        return self.prefix + check_key(key)

    @staticmethod
    def _missing(exc) -> bool:
        return exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound")

    def put_file(self, key: str, path: Path) -> None:
        self.client.upload_file(str(path), self.bucket, self._name(key))

    def put_bytes(self, key: str, data: bytes) -> None:
        self.client.put_object(Bucket=self.bucket, Key=self._name(key), Body=data)

    def get_bytes(self, key: str) -> bytes:
        from botocore.exceptions import ClientError

        try:
            return self.client.get_object(Bucket=self.bucket, Key=self._name(key))["Body"].read()
        except ClientError as exc:
            if self._missing(exc):
                raise FileNotFoundError(key) from exc
            raise

    @contextmanager
    def local_path(self, key: str) -> Iterator[Path]:
        from botocore.exceptions import ClientError

        suffix = PurePosixPath(key).suffix
        with tempfile.TemporaryDirectory(prefix="llmops-storage-") as folder:
            path = Path(folder) / f"object{suffix}"
            try:
                self.client.download_file(self.bucket, self._name(key), str(path))
            except ClientError as exc:
                if self._missing(exc):
                    raise FileNotFoundError(key) from exc
                raise
            yield path

    def exists(self, key: str) -> bool:
        from botocore.exceptions import ClientError

        try:
            self.client.head_object(Bucket=self.bucket, Key=self._name(key))
            return True
        except ClientError as exc:
            if self._missing(exc):
                return False
            raise

    def delete(self, keys: list[str]) -> None:
        names = [self._name(k) for k in keys]
        for start in range(0, len(names), 1000):  # DeleteObjects takes at most 1000 keys
            self.client.delete_objects(Bucket=self.bucket, Delete={
                "Objects": [{"Key": n} for n in names[start:start + 1000]], "Quiet": True})

    def list(self, prefix: str = "") -> Iterator[StoredObject]:
        pages = self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=self.prefix + prefix)
        for page in pages:
            for item in page.get("Contents", []):
                yield StoredObject(item["Key"][len(self.prefix):], int(item["Size"]),
                                   item["LastModified"].timestamp())


def make_storage(config) -> Storage:
    """The backend named by ``STORAGE_BACKEND`` (``local`` or ``s3``) from a config mapping."""
    backend = (config.get("STORAGE_BACKEND") or "local").lower()
    if backend == "local":
        return LocalStorage(config["UPLOAD_FOLDER"])
    if backend == "s3":
        return S3Storage(config["S3_BUCKET"], endpoint_url=config.get("S3_ENDPOINT_URL"),
                         region=config.get("S3_REGION") or "us-east-1",
                         access_key_id=config.get("S3_ACCESS_KEY_ID"),
                         secret_access_key=config.get("S3_SECRET_ACCESS_KEY"), prefix=config.get("S3_PREFIX") or "")
    raise ValueError(f"STORAGE_BACKEND must be 'local' or 's3', not {backend!r}")
