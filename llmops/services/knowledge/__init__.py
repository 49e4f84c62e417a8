"""Knowledge bases: datasets, documents, segments, the indexing pipeline, retrieval (hit testing) and uploads."""
