"""File uploads for knowledge bases (API.md A ``POST /upload-files``)."""

from __future__ import annotations

import hashlib
import os
import uuid
from pathlib import Path

from flask import current_app
from werkzeug.datastructures import FileStorage

from llmops.errors import AppError, NotFoundError, ValidateError
from llmops.extensions import db
from llmops.models import UploadFile
from llmops.models.base import unix
from llmops.rag.loaders import SUPPORTED_EXTENSIONS, sniff


class PayloadTooLargeError(AppError):
    code, status, default_message = "fail", 413, "The file is too large"


class UnsupportedMediaError(AppError):
    code, status, default_message = "validate_error", 415, "Unsupported file type"


def upload_file(account_id: uuid.UUID, file: FileStorage | None) -> dict:
    """Store ``file`` → ``{id, name, size, extension, mime_type, hash}``.

    413 over ``UPLOAD_MAX_BYTES``; 415 when the extension is not supported or the bytes do not
    match it (checked by content, not only by name); 422 when there is no file or it is empty.
    """
    if file is None or not file.filename:
        raise ValidateError("a file is required", data={"file": ["a file is required"]})
    name = os.path.basename(file.filename.replace("\\", "/"))[:255]
    extension = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if extension not in SUPPORTED_EXTENSIONS:
        raise UnsupportedMediaError(f"file type .{extension or '?'} is not supported; use one of "
                                    f"{', '.join(SUPPORTED_EXTENSIONS)}", data={"file": ["unsupported file type"]})
    limit = current_app.config["UPLOAD_MAX_BYTES"]
    file_id = uuid.uuid4()
    folder = Path(current_app.config["UPLOAD_FOLDER"]) / str(account_id)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{file_id}.{extension}"
    digest, size = hashlib.sha256(), 0
    with open(path, "wb") as out:
        while chunk := file.stream.read(1024 * 1024):
            size += len(chunk)
            if size > limit:
                out.close()
                path.unlink(missing_ok=True)
                raise PayloadTooLargeError(f"the file is larger than {limit // (1024 * 1024)} MB")
            digest.update(chunk)
            out.write(chunk)
    if size == 0:
        path.unlink(missing_ok=True)
        raise ValidateError("the file is empty", data={"file": ["the file is empty"]})
    reason = sniff(path, extension)
    if reason:
        path.unlink(missing_ok=True)
        raise UnsupportedMediaError(reason, data={"file": [reason]})
    row = UploadFile(id=file_id, account_id=account_id, name=name, key=str(path), size=size, extension=extension,
                     mime_type=file.mimetype or "", hash=digest.hexdigest())
    db.session.add(row)
    db.session.commit()
    return upload_to_dict(row)


def get_owned_upload(account_id: uuid.UUID, upload_file_id: uuid.UUID) -> UploadFile:
    row = db.session.get(UploadFile, upload_file_id)
    if row is None or row.account_id != account_id:
        raise NotFoundError(f"upload file {upload_file_id} not found")
    return row


def upload_to_dict(row: UploadFile) -> dict:
    return {"id": str(row.id), "name": row.name, "size": row.size, "extension": row.extension,
            "mime_type": row.mime_type, "hash": row.hash, "created_at": unix(row.created_at)}
