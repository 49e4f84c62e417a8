"""File uploads for knowledge bases (docs/api.md A ``POST /upload-files``)."""

from __future__ import annotations

import hashlib
import mimetypes
import os
import re
import secrets
import tempfile
import uuid
from pathlib import Path
from typing import BinaryIO

from flask import current_app

from llmops.errors import AppError, NotFoundError, ValidateError
from llmops.extensions import db
from llmops.models import UploadFile
from llmops.models.base import unix
from llmops.rag.loaders import SUPPORTED_EXTENSIONS, sniff
from llmops.runtime import runtime
from llmops.services.common import get_owned
from llmops.services.knowledge import storage_quota


class PayloadTooLargeError(AppError):
    code, status, default_message = "fail", 413, "The file is too large"


class UnsupportedMediaError(AppError):
    code, status, default_message = "validate_error", 415, "Unsupported file type"


def upload_file(account_id: uuid.UUID, stream: BinaryIO | None, filename: str, mimetype: str = "") -> dict:
    """Store the file read from ``stream`` (its client-side ``filename`` and declared ``mimetype``;
    no stream: none was sent) → ``{id, name, size, extension, mime_type, hash}``.

    413 over ``UPLOAD_MAX_BYTES`` or past the account's ``ACCOUNT_STORAGE_BYTES``; 415 when the
    extension is not supported or the bytes do not match it (checked by content, not only by
    name); 422 when there is no file or it is empty.
    """
    if stream is None or not filename:
        raise ValidateError("a file is required", data={"file": ["a file is required"]})
    name = os.path.basename(filename.replace("\\", "/"))[:255]
    extension = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if extension not in SUPPORTED_EXTENSIONS:
        raise UnsupportedMediaError(f"file type .{extension or '?'} is not supported; use one of "
                                    f"{', '.join(SUPPORTED_EXTENSIONS)}", data={"file": ["unsupported file type"]})
    storage_quota.check(account_id)
    limit = current_app.config["UPLOAD_MAX_BYTES"]
    file_id = uuid.uuid4()
    key = f"{account_id}/{file_id}.{extension}"
    with tempfile.TemporaryDirectory(prefix="llmops-upload-") as folder:
        path = Path(folder) / f"upload.{extension}"
        digest, size = hashlib.sha256(), 0
        with open(path, "wb") as out:
            while chunk := stream.read(1024 * 1024):
                size += len(chunk)
                if size > limit:
                    raise PayloadTooLargeError(f"the file is larger than {limit // (1024 * 1024)} MB")
                digest.update(chunk)
                out.write(chunk)
        if size == 0:
            raise ValidateError("the file is empty", data={"file": ["the file is empty"]})
        storage_quota.check(account_id, size)
        reason = sniff(path, extension)
        if reason:
            raise UnsupportedMediaError(reason, data={"file": [reason]})
        runtime().storage.put_file(key, path)
    declared = mimetype if mimetype and mimetype != "application/octet-stream" else ""
    mime_type = declared or mimetypes.guess_type(name)[0] or f"text/{extension}"
    row = UploadFile(id=file_id, account_id=account_id, name=name, key=key, size=size, extension=extension,
                     mime_type=mime_type, hash=digest.hexdigest())
    db.session.add(row)
    db.session.commit()
    return upload_to_dict(row)


def get_owned_upload(account_id: uuid.UUID, upload_file_id: uuid.UUID) -> UploadFile:
    return get_owned(UploadFile, upload_file_id, account_id, f"upload file {upload_file_id}")


def storage_key(row: UploadFile) -> str:
    """The upload's key in ``llmops.storage`` ("" once its file was deleted with its last
    document). Rows written before the storage interface hold the absolute path of a file in the
    upload folder, whose layout was the key's: ``account/id.ext``."""
    return f"{row.account_id}/{row.id}.{row.extension}" if os.path.isabs(row.key) else row.key


def upload_to_dict(row: UploadFile) -> dict:
    """An upload: ``key`` is its storage key (``account/id.ext``)."""
    return {"id": str(row.id), "account_id": str(row.account_id), "name": row.name,
            "key": storage_key(row) or f"{row.account_id}/{row.id}.{row.extension}", "size": row.size, "extension": row.extension,
            "mime_type": row.mime_type, "hash": row.hash, "created_at": unix(row.created_at)}


# Image kinds accepted by ``upload_image``, recognised by their first bytes (the name and the
# declared Content-Type are not trusted): extension → (magic test, served Content-Type).
IMAGE_KINDS = {
    "png": (lambda head: head.startswith(b"\x89PNG\r\n\x1a\n"), "image/png"),
    "jpg": (lambda head: head.startswith(b"\xff\xd8\xff"), "image/jpeg"),
    "gif": (lambda head: head[:6] in (b"GIF87a", b"GIF89a"), "image/gif"),
    "webp": (lambda head: head[:4] == b"RIFF" and head[8:12] == b"WEBP", "image/webp"),
}
IMAGE_NAME = re.compile(r"^[A-Za-z0-9_-]{32}\.(png|jpg|gif|webp)$")


def upload_image(account_id: uuid.UUID, stream: BinaryIO | None, filename: str, mimetype: str = "") -> str:
    """Store an image read from ``stream`` (PNG, JPEG, GIF or WebP by content, ≤ ``UPLOAD_MAX_BYTES``;
    ``filename`` and ``mimetype`` are the client's and not trusted) under an unguessable name → that
    name (served by ``GET /upload-files/images/<name>``).

    422 without a file, 413 too large, 415 when the bytes are not one of those images (SVG is
    refused: it can carry scripts)."""
    if stream is None or not filename:
        raise ValidateError("an image file is required", data={"file": ["an image file is required"]})
    limit = current_app.config["UPLOAD_MAX_BYTES"]
    data = stream.read(limit + 1)
    if len(data) > limit:
        raise PayloadTooLargeError(f"the image is larger than {limit // (1024 * 1024)} MB")
    if not data:
        raise ValidateError("the file is empty", data={"file": ["the file is empty"]})
    extension = next((ext for ext, (matches, _) in IMAGE_KINDS.items() if matches(data[:16])), None)
    if extension is None:
        raise UnsupportedMediaError("the file is not a PNG, JPEG, GIF or WebP image",
                                    data={"file": ["not a PNG, JPEG, GIF or WebP image"]})
    name = f"{secrets.token_urlsafe(24)}.{extension}"
    runtime().storage.put_bytes(f"images/{name}", data)
    current_app.logger.info("account %s uploaded image %s (%d bytes)", account_id, name, len(data))
    return name


def image_bytes(name: str) -> tuple[bytes, str]:
    """The stored image ``name`` → (its bytes, Content-Type); ``NotFoundError`` for anything else."""
    if not IMAGE_NAME.match(name):
        raise NotFoundError("image not found")
    try:
        data = runtime().storage.get_bytes(f"images/{name}")
    except FileNotFoundError:
        raise NotFoundError("image not found") from None
    return data, IMAGE_KINDS[name.rsplit(".", 1)[1]][1]
