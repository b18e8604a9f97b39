"""Talking to a tracking URI: fail fast when a server is down, and keep retries short.

MLflow retries an HTTP request up to 7 times with exponential back-off (minutes in all). A job whose
server died mid-way should save its results locally and end, not hang, so the defaults here are
short; a user's own ``MLFLOW_HTTP_REQUEST_*`` environment variables still win.
"""

from __future__ import annotations

import operator
import os
import time

import requests
from tenacity import Retrying, retry_if_result, stop_after_attempt, wait_exponential, wait_fixed

from jpegai_fd.errors import UserError

os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "2")
os.environ.setdefault("MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR", "1")
os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", "30")
os.environ.setdefault("MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT", "true")

BACKOFF = wait_exponential(max=30)  # 1, 2, 4 ... 30 s between tries of a server that does not answer
START_HINT = "start one with `python -m jpegai_fd.cli.server --port {port}` or log to a local file with tracking.uri=sqlite:///mlflow.db"


# MLflow 3 stores: a server, or a database through SQLAlchemy (the file store './mlruns' only raises).
TRACKING_SCHEMES = ("http", "https", "sqlite", "postgresql", "mysql", "mssql")


def check_scheme(
    key: str,
    uri,
    schemes: tuple[str, ...] = TRACKING_SCHEMES,
    hint: str = " (e.g. http://127.0.0.1:5000 or sqlite:///mlflow.db)",
) -> None:
    """UserError naming ``key`` unless ``uri`` starts with one of ``schemes`` (``+driver`` allowed) and ``://``."""
    scheme, sep, _ = str(uri).partition("://")
    if not isinstance(uri, str) or not sep or scheme.partition("+")[0] not in schemes:
        raise UserError(
            f"invalid value for '{key}': {uri!r}; allowed schemes: {', '.join(s + '://' for s in schemes)}{hint}"
        )


def is_http(uri: str) -> bool:
    return uri.startswith(("http://", "https://"))


def server_healthy(uri: str, timeout: float = 3.0) -> bool:
    """True when ``GET {uri}/health`` answers 200."""
    try:
        return requests.get(uri.rstrip("/") + "/health", timeout=timeout).status_code == 200
    except requests.RequestException:
        return False


def check_tracking_uri(uri: str, attempts: int = 2) -> None:
    """Raise UserError (one line: the URI and how to start a server) when an HTTP tracking URI does not
    answer. Other URIs (sqlite, postgresql) are opened by MLflow itself and need no server."""
    if not is_http(uri):
        return
    if _poll(uri, stop_after_attempt(attempts), wait_fixed(1.0)):
        return
    port = requests.utils.urlparse(uri).port or 5000
    raise UserError(
        f"cannot reach the MLflow tracking server at {uri} (tracking.uri or MLFLOW_TRACKING_URI); "
        + START_HINT.format(port=port)
    )


def wait_for_server(uri: str, retry_s: float) -> bool:
    """True once ``uri`` answers; polls with back-off (1, 2, 4 ... 30 s) for up to ``retry_s`` seconds."""
    deadline = time.monotonic() + retry_s
    return _poll(uri, lambda _: time.monotonic() >= deadline, until(deadline))


def until(deadline: float):
    """:data:`BACKOFF`, its last wait cut to end at ``deadline`` (tenacity's stop_after_delay may sleep past it)."""
    return lambda state: min(BACKOFF(state), max(0.0, deadline - time.monotonic()))


def _poll(uri: str, stop, wait) -> bool:
    """Whether ``uri`` answers, asked again (tenacity ``stop`` and ``wait``) while it does not."""
    polls = Retrying(stop=stop, wait=wait, retry=retry_if_result(operator.not_), retry_error_callback=lambda _: False)
    return polls(server_healthy, uri)
