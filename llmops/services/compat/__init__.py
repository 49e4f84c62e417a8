"""Compatibility surfaces for the seed systems' existing clients (seed 000's model conversations, seed 001's voice engine)."""
