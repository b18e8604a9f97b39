"""Talking to a tracking URI: fail fast when a server is down. MLflow retries an HTTP request 7 times with
back-off (minutes); a job whose server died should save its results and end, so the defaults here are short."""

import operator
import os
import time

import requests
from tenacity import Retrying, retry_if_result, stop_after_attempt, wait_exponential, wait_fixed

from jpegai_fd.errors import UserError
from jpegai_fd.tracking.settings import TRACKING_SCHEMES, scheme_rule

os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "2")
os.environ.setdefault("MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR", "1")
os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", "30")
os.environ.setdefault("MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT", "true")

BACKOFF = wait_exponential(max=30)  # 1, 2, 4 ... 30 s between tries of a server that does not answer


def check_scheme(key: str, uri: str) -> None:
    try:
        scheme_rule(uri, TRACKING_SCHEMES, "http://127.0.0.1:5000 or sqlite:///mlflow.db")
    except ValueError as exc:
        raise UserError(f"invalid value for '{key}': {uri!r}; {exc}") from None


def add_tracking_uri(parser, help: str = "default: $MLFLOW_TRACKING_URI, else sqlite:///mlflow.db") -> None:
    default = os.environ.get("MLFLOW_TRACKING_URI", "sqlite:///mlflow.db")
    parser.add_argument("--tracking-uri", default=default, help=help)


def is_http(uri: str) -> bool:
    return uri.startswith(("http://", "https://"))


def server_healthy(uri: str, timeout: float = 3.0) -> bool:  # GET {uri}/health answers 200
    try:
        return requests.get(uri.rstrip("/") + "/health", timeout=timeout).status_code == 200
    except requests.RequestException:
        return False


def check_tracking_uri(uri: str) -> None:
    """UserError (the URI and how to start a server) when an HTTP tracking URI does not answer."""
    if not is_http(uri) or _poll(uri, stop_after_attempt(2), wait_fixed(1.0)):
        return
    port = requests.utils.urlparse(uri).port or 5000
    raise UserError(
        f"cannot reach the MLflow tracking server at {uri} (tracking.uri or MLFLOW_TRACKING_URI); start one with "
        f"`python -m jpegai_fd.cli.server --port {port}` or log to a local file with tracking.uri=sqlite:///mlflow.db"
    )


def wait_for_server(uri: str, retry_s: float) -> bool:
    """True once ``uri`` answers; polls with back-off (1, 2, 4 ... 30 s) for up to ``retry_s`` seconds."""
    deadline = time.monotonic() + retry_s
    return _poll(uri, lambda _: time.monotonic() >= deadline, until(deadline))


def until(deadline: float):
    """:data:`BACKOFF`, its last wait cut to end at ``deadline`` (tenacity's stop_after_delay may sleep past it)."""
    return lambda state: min(BACKOFF(state), max(0.0, deadline - time.monotonic()))


def _poll(uri: str, stop, wait) -> bool:
    polls = Retrying(stop=stop, wait=wait, retry=retry_if_result(operator.not_), retry_error_callback=lambda _: False)
    return polls(server_healthy, uri)
