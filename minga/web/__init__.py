"""The web UI: server-rendered pages in Spanish, Portuguese and English (`install` mounts it)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fastapi import FastAPI


def install(app: FastAPI) -> None:
    """Mount the pages and their static files on the node's app."""
    from importlib import resources

    from fastapi.staticfiles import StaticFiles

    from minga.web import (
        account,
        actions,
        admin,
        auth,
        invite,
        pages,
        publish,
        render,
        signin,
        upload,
    )

    node = app.state.node
    app.state.web = render.build_state(auth.signing_key(node.settings))
    app.include_router(signin.router)
    app.include_router(invite.router)
    app.include_router(account.router)
    app.include_router(actions.router)
    app.include_router(pages.router)
    app.include_router(publish.router)
    app.include_router(admin.router)
    app.include_router(upload.router)
    from minga.federation import pages as federation_pages

    app.include_router(federation_pages.router)
    from minga.knowledge import pages as knowledge_pages

    app.include_router(knowledge_pages.router)
    from minga.assessments import pages_cmm, pages_csf, pages_report, pages_risk

    for assessment_pages in (pages_cmm, pages_csf, pages_risk, pages_report):
        app.include_router(assessment_pages.router)
    from minga.advisories import desk as advisories_desk
    from minga.advisories import pages as advisories_pages
    from minga.advisories import wellknown as advisories_wellknown

    app.include_router(advisories_desk.router)
    app.include_router(advisories_pages.router)
    app.include_router(advisories_wellknown.router)
    from minga.incidents import pages as incident_pages

    app.include_router(incident_pages.router)
    from minga.exercises import pages as exercise_pages

    app.include_router(exercise_pages.router)
    from minga.correlate import sighting_pages

    app.include_router(sighting_pages.router)
    from minga.correlate import feed_pages

    app.include_router(feed_pages.router)
    from minga.sensor import pages as sensor_pages

    app.include_router(sensor_pages.router)
    from minga.events import notify_pages

    app.include_router(notify_pages.router)
    from minga.events import pages as events_pages

    app.include_router(events_pages.router)
    static = resources.files("minga.web").joinpath("static")
    app.mount("/static", StaticFiles(directory=str(static)), name="static")
