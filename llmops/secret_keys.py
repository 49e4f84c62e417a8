"""The app's secret keys: checked in production, generated once and kept in the instance folder
otherwise.

* production profile (``GENERATE_SECRET_KEY = False``): ``SECRET_KEY`` must be set, at least
  ``SECRET_KEY_MIN_LENGTH`` characters and not the development default older versions shipped;
  ``JWT_SECRET_KEY`` / ``DATA_ENCRYPTION_KEY``, when set, obey the same rule. Else the app does not
  start (``InsecureSecretKeyError`` naming the variable).
* embedded and testing profiles: an unset ``SECRET_KEY`` is read from ``<instance>/secret_key``,
  which the first process to start creates (64 random hex characters, mode 0600, created
  atomically so the api, worker and beat processes agree on it).

``JWT_SECRET_KEY`` and ``DATA_ENCRYPTION_KEY`` default to ``SECRET_KEY``. Data encrypted before the
key was generated (with the old default) stays readable: that default is kept as a decryption-only
fallback (``DATA_DECRYPTION_FALLBACK_KEYS``) when the encryption key was derived, not chosen.
"""

from __future__ import annotations

import os
import secrets
import time
from pathlib import Path

from flask import Flask

# The fixed key earlier versions used when SECRET_KEY was unset: public, so never accepted again
# for signing; kept only to read data encrypted with it.
LEGACY_DEFAULT_SECRET_KEY = "dev-secret-change-me-in-production-0123456789"
KEY_FILE = "secret_key"


class InsecureSecretKeyError(RuntimeError):
    """The production profile was given no, a short, or the public default secret key."""


def configure(app: Flask) -> None:
    """Fill ``SECRET_KEY``, ``JWT_SECRET_KEY``, ``DATA_ENCRYPTION_KEY`` (and the decryption
    fallbacks) in ``app.config``; raises ``InsecureSecretKeyError`` in production."""
    config = app.config
    minimum = int(config.get("SECRET_KEY_MIN_LENGTH", 32))
    if not config.get("GENERATE_SECRET_KEY", True):
        for name in ("SECRET_KEY", "JWT_SECRET_KEY", "DATA_ENCRYPTION_KEY"):
            value = config.get(name)
            if value is None and name != "SECRET_KEY":
                continue
            _check(name, value, minimum)
    elif not config.get("SECRET_KEY") or config["SECRET_KEY"] == LEGACY_DEFAULT_SECRET_KEY:
        config["SECRET_KEY"] = instance_secret(Path(config.get("INSTANCE_DIR") or app.instance_path))
    derived_encryption_key = not config.get("DATA_ENCRYPTION_KEY")
    config["JWT_SECRET_KEY"] = config.get("JWT_SECRET_KEY") or config["SECRET_KEY"]
    config["DATA_ENCRYPTION_KEY"] = config.get("DATA_ENCRYPTION_KEY") or config["SECRET_KEY"]
    fallbacks = list(config.get("DATA_DECRYPTION_FALLBACK_KEYS") or [])
    if derived_encryption_key and config.get("GENERATE_SECRET_KEY", True) and LEGACY_DEFAULT_SECRET_KEY not in fallbacks:
        fallbacks.append(LEGACY_DEFAULT_SECRET_KEY)
    config["DATA_DECRYPTION_FALLBACK_KEYS"] = fallbacks


def _check(name: str, value: str | None, minimum: int) -> None:
    if not value:
        raise InsecureSecretKeyError(f"{name} is not set: the production profile needs a random string of at least "
                                     f"{minimum} characters (e.g. `python -c 'import secrets; "
                                     f"print(secrets.token_hex(32))'`)")
    if value == LEGACY_DEFAULT_SECRET_KEY:
        raise InsecureSecretKeyError(f"{name} is the public development default: set a random string of at least "
                                     f"{minimum} characters")
    if len(value) < minimum:
        raise InsecureSecretKeyError(f"{name} is too short ({len(value)} characters): the production profile needs "
                                     f"at least {minimum}")


def instance_secret(folder: Path) -> str:
    """The key kept in ``folder/secret_key``, created (0600, atomically) when missing."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / KEY_FILE
    for _ in range(50):
        try:
            value = path.read_text().strip()
        except FileNotFoundError:
            value = ""
        if value:
            return value
        if not path.exists():
            tmp = folder / f".{KEY_FILE}.{os.getpid()}.{secrets.token_hex(4)}"
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as handle:
                handle.write(secrets.token_hex(32) + "\n")
                handle.flush()
                os.fsync(handle.fileno())
            try:
                os.link(tmp, path)  # fails if another process created it first: theirs wins
            except FileExistsError:
                pass
            finally:
                tmp.unlink(missing_ok=True)
            continue
        time.sleep(0.05)
    raise InsecureSecretKeyError(f"{path} is empty: delete it or set SECRET_KEY")
