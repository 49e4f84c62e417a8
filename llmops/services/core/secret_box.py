"""Secrets we must keep for a user and give back to an upstream (seed 000's per-conversation
``api_key``): encrypted at rest with Fernet (AES-128-CBC + HMAC-SHA256, from ``cryptography``),
never returned in plain text — only ``mask``'s hint.

The Fernet key is derived with HKDF-SHA256 from ``DATA_ENCRYPTION_KEY`` (default: ``SECRET_KEY``);
tokens made with one of ``DATA_DECRYPTION_FALLBACK_KEYS`` (e.g. the old default key) still decrypt.
"""

from __future__ import annotations

import base64
import functools

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app

from llmops.errors import FailError


@functools.lru_cache(maxsize=4)
def _fernet(secret: str) -> Fernet:
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"llmops secret box v1").derive(secret.encode())
    return Fernet(base64.urlsafe_b64encode(key))


def encrypt(plain: str) -> str:
    """→ a URL-safe token (ASCII) holding ``plain`` encrypted and authenticated."""
    return _fernet(current_app.config["DATA_ENCRYPTION_KEY"]).encrypt(plain.encode()).decode()


def decrypt(token: str) -> str:
    """The plain text of ``encrypt``'s token; ``FailError`` when the key changed or it was tampered with."""
    try:
        keys = [current_app.config["DATA_ENCRYPTION_KEY"], *current_app.config.get("DATA_DECRYPTION_FALLBACK_KEYS", ())]
        return MultiFernet([_fernet(k) for k in keys]).decrypt(token.encode()).decode()
    except InvalidToken as exc:
        raise FailError("the stored API key can no longer be read (the encryption key changed); "
                        "create the conversation again with its api_key") from exc


def mask(plain: str) -> str:
    """A display hint that does not reveal the secret: ``sk-a…wxyz`` for long keys, ``****`` otherwise."""
    if len(plain) < 12:
        return "****"
    return f"{plain[:4]}…{plain[-4:]}"
