"""GET /metrics: Prometheus exposition, off unless MINGA_METRICS_TOKEN is set, and then only
for a bearer of that token (a scraper), never for people's API tokens."""

from __future__ import annotations

import hmac

from fastapi import APIRouter, Request
from fastapi.responses import Response

from minga.errors import NotFound, Unauthenticated
from minga.ops import metrics

router = APIRouter()


@router.get("/metrics", include_in_schema=False)
def metrics_page(request: Request) -> Response:
    node = request.app.state.node
    expected = node.settings.metrics_token
    if not expected:  # off: the same answer as any unknown path
        raise NotFound("not found")
    sent = request.headers.get("authorization", "")
    scheme, _, token = sent.partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(token.encode(), expected.encode()):
        raise Unauthenticated("send Authorization: Bearer <MINGA_METRICS_TOKEN>")
    return Response(metrics.render(node.sessions), media_type=metrics.CONTENT_TYPE)
