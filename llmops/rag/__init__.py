"""Retrieval building blocks (no Flask, no models): loaders, splitters, vector store, retrievers."""
