"""Knowledge bases: uploads, datasets, documents, hit testing (docs/api.md A)."""

from __future__ import annotations

import uuid

from flask import Blueprint, request
from flask_jwt_extended import jwt_required

from llmops.api.auth import current_account_id
from llmops.api.responses import json_body, ok, page, uploaded_file
from llmops.schemas.common import SearchPaginationQuerySchema
from llmops.schemas.dataset import (
    DatasetCreateSchema,
    DatasetUpdateSchema,
    DocumentCreateSchema,
    DocumentRenameSchema,
    EnabledSchema,
    HitTestingSchema,
    SegmentCreateSchema,
    SegmentUpdateSchema,
)
from llmops.services.knowledge import (
    dataset_service,
    document_service,
    rag_runtime,
    retrieval_service,
    segment_service,
    upload_service,
)

bp = Blueprint("datasets", __name__)
DOC = "/datasets/<uuid:dataset_id>/documents/<uuid:document_id>"


@bp.post("/upload-files")
@jwt_required()
def upload_file():
    """Upload a file for a dataset (kept until added as a document)."""
    return ok(upload_service.upload_file(current_account_id(), *uploaded_file("file")), "file uploaded", 201)


@bp.get("/embedding-models")
@jwt_required()
def embedding_models():
    """The embedding models datasets can use."""
    return ok(rag_runtime.list_embedding_models())


@bp.get("/datasets")
@jwt_required()
def list_datasets():
    """The account's datasets with document and hit counts, searchable (paginated)."""
    query = SearchPaginationQuerySchema().load(request.args)
    return page(*dataset_service.list_datasets(current_account_id(), **query))


@bp.post("/datasets")
@jwt_required()
def create_dataset():
    """Create a dataset (knowledge base)."""
    data = DatasetCreateSchema().load(json_body())
    dataset = dataset_service.create_dataset(current_account_id(), **data)
    return ok({"id": str(dataset.id)}, "dataset created", 201)


@bp.get("/datasets/<uuid:dataset_id>")
@jwt_required()
def get_dataset(dataset_id: uuid.UUID):
    """A dataset with its counts."""
    return ok(dataset_service.get_dataset(current_account_id(), dataset_id))


@bp.post("/datasets/<uuid:dataset_id>")
@jwt_required()
def update_dataset(dataset_id: uuid.UUID):
    """Change a dataset's name, icon or description."""
    data = DatasetUpdateSchema().load(json_body())
    return ok(dataset_service.update_dataset(current_account_id(), dataset_id, data), "dataset updated")


@bp.post("/datasets/<uuid:dataset_id>/delete")
@jwt_required()
def delete_dataset(dataset_id: uuid.UUID):
    """Delete a dataset with its documents, segments and vectors."""
    dataset_service.delete_dataset(current_account_id(), dataset_id)
    return ok(message="dataset deleted")


@bp.post("/datasets/<uuid:dataset_id>/hit")
@jwt_required()
def hit_testing(dataset_id: uuid.UUID):
    """Hit testing: a dataset's best segments for a query (semantic, full_text or hybrid) with scores."""
    data = HitTestingSchema().load(json_body())
    return ok(retrieval_service.hit_test(current_account_id(), dataset_id, data["query"], data["retrieval_strategy"],
                                         data["k"], data["score"]))


@bp.get("/datasets/<uuid:dataset_id>/queries")
@jwt_required()
def dataset_queries(dataset_id: uuid.UUID):
    """A dataset's recent queries."""
    return ok(dataset_service.list_queries(current_account_id(), dataset_id))


@bp.post("/datasets/<uuid:dataset_id>/documents")
@jwt_required()
def create_documents(dataset_id: uuid.UUID):
    """Add uploaded files to a dataset; indexing runs in the worker (answers a batch id)."""
    data = DocumentCreateSchema().load(json_body())
    return ok(document_service.create_documents(current_account_id(), dataset_id, **data), "documents queued", 201)


@bp.get("/datasets/<uuid:dataset_id>/documents")
@jwt_required()
def list_documents(dataset_id: uuid.UUID):
    """A dataset's documents with status and progress, searchable (paginated)."""
    query = SearchPaginationQuerySchema().load(request.args)
    return page(*document_service.list_documents(current_account_id(), dataset_id, **query))


@bp.get("/datasets/<uuid:dataset_id>/documents/batch/<string:batch>")
@jwt_required()
def batch_status(dataset_id: uuid.UUID, batch: str):
    """Progress of every document of an upload batch."""
    return ok(document_service.batch_status(current_account_id(), dataset_id, batch))


@bp.get(DOC)
@jwt_required()
def get_document(dataset_id: uuid.UUID, document_id: uuid.UUID):
    """A document with its status, progress and error."""
    return ok(document_service.get_document(current_account_id(), dataset_id, document_id))


@bp.post(DOC)
@jwt_required()
def rename_document(dataset_id: uuid.UUID, document_id: uuid.UUID):
    """Rename a document."""
    data = DocumentRenameSchema().load(json_body())
    return ok(document_service.rename_document(current_account_id(), dataset_id, document_id, data["name"]))


@bp.post(f"{DOC}/enabled")
@jwt_required()
def set_document_enabled(dataset_id: uuid.UUID, document_id: uuid.UUID):
    """Enable or disable a document for retrieval."""
    data = EnabledSchema().load(json_body())
    document_service.set_enabled(current_account_id(), dataset_id, document_id, data["enabled"])
    return ok(message="document updated")


@bp.post(f"{DOC}/delete")
@jwt_required()
def delete_document(dataset_id: uuid.UUID, document_id: uuid.UUID):
    """Delete a document with its segments and vectors."""
    document_service.delete_document(current_account_id(), dataset_id, document_id)
    return ok(message="document deleted")


@bp.post(f"{DOC}/pause")
@jwt_required()
def pause_document(dataset_id: uuid.UUID, document_id: uuid.UUID):
    """Pause a document's indexing."""
    document_service.pause_document(current_account_id(), dataset_id, document_id)
    return ok(message="document paused")


@bp.post(f"{DOC}/resume")
@jwt_required()
def resume_document(dataset_id: uuid.UUID, document_id: uuid.UUID):
    """Resume a paused document's indexing."""
    document_service.resume_document(current_account_id(), dataset_id, document_id)
    return ok(message="document resumed")


@bp.post(f"{DOC}/retry")
@jwt_required()
def retry_document(dataset_id: uuid.UUID, document_id: uuid.UUID):
    """Index a failed document again."""
    document_service.retry_document(current_account_id(), dataset_id, document_id)
    return ok(message="document queued again")


SEG = f"{DOC}/segments/<uuid:segment_id>"


@bp.get(f"{DOC}/segments")
@jwt_required()
def list_segments(dataset_id: uuid.UUID, document_id: uuid.UUID):
    """A document's segments, searchable (paginated)."""
    query = SearchPaginationQuerySchema().load(request.args)
    return page(*segment_service.list_segments(current_account_id(), dataset_id, document_id, **query))


@bp.post(f"{DOC}/segments")
@jwt_required()
def create_segment(dataset_id: uuid.UUID, document_id: uuid.UUID):
    """Add a segment to a document by hand (embedded at once)."""
    data = SegmentCreateSchema().load(json_body())
    return ok(segment_service.create_segment(current_account_id(), dataset_id, document_id, **data),
              "segment created", 201)


@bp.get(SEG)
@jwt_required()
def get_segment(dataset_id: uuid.UUID, document_id: uuid.UUID, segment_id: uuid.UUID):
    """A segment with its content, keywords and hit count."""
    return ok(segment_service.get_segment(current_account_id(), dataset_id, document_id, segment_id))


@bp.post(SEG)
@jwt_required()
def update_segment(dataset_id: uuid.UUID, document_id: uuid.UUID, segment_id: uuid.UUID):
    """Change a segment's content or keywords (re-embedded)."""
    data = SegmentUpdateSchema().load(json_body())
    return ok(segment_service.update_segment(current_account_id(), dataset_id, document_id, segment_id, data),
              "segment updated")


@bp.post(f"{SEG}/enabled")
@jwt_required()
def set_segment_enabled(dataset_id: uuid.UUID, document_id: uuid.UUID, segment_id: uuid.UUID):
    """Enable or disable a segment for retrieval."""
    data = EnabledSchema().load(json_body())
    segment_service.set_segment_enabled(current_account_id(), dataset_id, document_id, segment_id, data["enabled"])
    return ok(message="segment updated")


@bp.post(f"{SEG}/delete")
@jwt_required()
def delete_segment(dataset_id: uuid.UUID, document_id: uuid.UUID, segment_id: uuid.UUID):
    """Delete a segment."""
    segment_service.delete_segment(current_account_id(), dataset_id, document_id, segment_id)
    return ok(message="segment deleted")
