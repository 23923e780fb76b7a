"""Everything the TAXII package mounts on the node: the TAXII server, collection admin, and the
scheduled pulls that run in the background while the node serves."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, nullcontext

from fastapi import APIRouter, FastAPI

from minga.taxii import admin, views
from minga.taxii.puller import scheduler


@asynccontextmanager
async def scheduled_pulls(app: FastAPI) -> AsyncIterator[None]:
    check = app.state.node.settings.taxii_pull_check_seconds
    with scheduler(app.state.node.sessions, check) if check > 0 else nullcontext():
        yield


router = APIRouter(lifespan=scheduled_pulls)
router.include_router(views.router)
router.include_router(admin.router)
