"""marshmallow schemas for request validation (kept apart from the models)."""
