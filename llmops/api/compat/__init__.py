"""Compatibility surfaces: thin blueprints that keep each seed system's clients working."""
