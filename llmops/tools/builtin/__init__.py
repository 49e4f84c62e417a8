"""Builtin tool providers: described in ``providers.yaml`` (icons in ``icons/``), implemented in
``functions``; ``catalog`` loads and filters them."""
