"""Access logs without secrets: redeem codes (``GET /api/redeem?code=…``), keys and tokens given
in a query string are replaced by ``***`` before a line is written.

``MaskingLogger`` is gunicorn's logger class (``workers/gunicorn.conf.py``: every access-log atom —
request line, query string, referer, environ values — is masked); ``MaskingFilter`` does the same
for a ``logging`` logger such as werkzeug's development server. No Flask imports.
"""

from __future__ import annotations

import logging
import re

from gunicorn.glogging import Logger

SECRET_PARAMETERS = ("code", "key", "api_key", "apikey", "token", "access_token", "refresh_token", "password",
                     "secret")
_SECRET = re.compile(r"((?:^|[?&;\s\"'])(?:" + "|".join(SECRET_PARAMETERS) + r")=)[^&;#\s\"']*", re.IGNORECASE)


def mask(text: str) -> str:
    """``text`` with the value of every secret query parameter replaced by ``***``."""
    return _SECRET.sub(r"\1***", text)


class MaskingLogger(Logger):
    """gunicorn's logger whose access-log atoms hold no secret query parameter."""

    def atoms(self, resp, req, environ, request_time):
        atoms = super().atoms(resp, req, environ, request_time)
        return {name: mask(value) if isinstance(value, str) else value for name, value in atoms.items()}


class MaskingFilter(logging.Filter):
    """A logging filter that masks secret query parameters in the formatted message."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = mask(message)
        if masked != message:
            record.msg, record.args = masked, ()
        return True
