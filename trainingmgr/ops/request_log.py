"""One log line per request on the logger ``trainingmgr.request``, as key=value pairs:

    method=GET route=/emargement/<token> status=200 duration_ms=12.3 endpoint=signing.page

The route rule is logged, never the raw path or the query string, so that the tokens of personal links
(/t/<token>, /emargement/<token>, /s/<token>…) do not end up in the logs. A request that matches no route
is logged with its path, every long segment (where a token would be) replaced by "…".
"""
from __future__ import annotations

import logging
import time

from flask import Flask, g, request

from ..core.request_paths import loggable_path, masked_path

logger = logging.getLogger("trainingmgr.request")

class MaskTokens(logging.Filter):
    """On werkzeug's development server log ("GET /emargement/<token> HTTP/1.1" 200): long path segments, where
    personal links carry their token, are masked like the request log's."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.args and isinstance(record.args, tuple):
            record.args = tuple(_mask_request_line(a) if isinstance(a, str) else a for a in record.args)
        return True


def _mask_request_line(value: str) -> str:
    return " ".join(masked_path(word) if word.startswith("/") else word for word in value.split(" "))


def _quoted(value: str) -> str:
    return value if value and " " not in value and '"' not in value else '"' + value.replace('"', "'") + '"'


def init_request_log(app: Flask) -> None:
    werkzeug_log = logging.getLogger("werkzeug")
    if not any(isinstance(f, MaskTokens) for f in werkzeug_log.filters):
        werkzeug_log.addFilter(MaskTokens())

    def _start():
        g._request_started = time.perf_counter()

    # First of the before_request functions, so that the duration covers them all.
    app.before_request_funcs.setdefault(None, []).insert(0, _start)

    @app.after_request
    def _log(response):
        started = g.get("_request_started")
        duration = (time.perf_counter() - started) * 1000 if started is not None else 0.0
        rule = loggable_path()
        logger.info("method=%s route=%s status=%d duration_ms=%.1f endpoint=%s", request.method, _quoted(rule),
                    response.status_code, duration, request.endpoint or "-")
        return response
