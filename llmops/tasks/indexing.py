"""Document indexing tasks (queue ``indexing``)."""

from __future__ import annotations

import uuid

from celery import shared_task

from llmops.services.knowledge import dataset_service, indexing_service


@shared_task(name="llmops.tasks.indexing.index_document")
def index_document(document_id: str) -> str:
    """Run or continue the pipeline of one document; failures are stored on the document."""
    return indexing_service.index_document(uuid.UUID(document_id))


@shared_task(name="llmops.tasks.indexing.delete_dataset_vectors")
def delete_dataset_vectors(dataset_id: str) -> None:
    """Drop a deleted dataset's vector collection."""
    dataset_service.drop_vectors(uuid.UUID(dataset_id))
