"""The FastAPI application and its lifespan (database, broker, dispatcher, jobs)."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

from fastapi import APIRouter, FastAPI
from fastapi.responses import JSONResponse
from sqlalchemy import text
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from scheduler import accesslog, agent_api, deps, http_errors, jobs
from scheduler.agenda.router import router as agenda_router
from scheduler.audit.router import router as audit_router
from scheduler.broadcasts.router import router as broadcasts_router
from scheduler.bulletins.router import router as bulletins_router
from scheduler.bulletins.storage import open_store
from scheduler.catalogue.router import router as catalogue_router
from scheduler.config import Settings, get_settings
from scheduler.controls.router import router as controls_router
from scheduler.db import Database
from scheduler.feeds.router import router as feeds_router
from scheduler.groups.router import router as groups_router
from scheduler.limits import BodyLimit
from scheduler.live import control as live
from scheduler.live.auth import router as live_auth_router
from scheduler.live.icecast import start_live
from scheduler.live.router import router as live_router
from scheduler.messaging import start_messaging
from scheduler.migrations import upgrade
from scheduler.playbacks.router import router as playbacks_router
from scheduler.programmes.router import router as programmes_router
from scheduler.reports.drafts.router import router as drafts_router
from scheduler.reports.router import router as reports_router
from scheduler.runtime import Runtime
from scheduler.stations.router import router as stations_router
from scheduler.streams.router import router as streams_router
from scheduler.timetables.router import router as timetables_router
from scheduler.users.router import router as users_router
from scheduler.web import router as web_pages
from wardcast.private import private_dir
from wardcast.protocol import API

log = logging.getLogger(__name__)


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    runtime: Runtime = app.state.runtime
    accesslog.install()  # here, after the server configured its logging, before any request
    async with AsyncExitStack() as stack:
        upgrade(runtime.db.engine)
        stack.callback(runtime.db.dispose)
        runtime.store.scratch.open()  # made by create_app; again if an app is started twice
        stack.callback(runtime.store.scratch.close)
        await start_messaging(runtime, stack)
        runtime.live = await asyncio.to_thread(start_live, runtime.settings, runtime.api_url,
                                               stack)
        await asyncio.to_thread(live.recover, runtime)  # sessions a dead process left open
        # run before Icecast and the broker link stop: the sessions' stations are told
        stack.push_async_callback(asyncio.to_thread, live.shut_down, runtime)
        scheduler = jobs.start_jobs(runtime)
        stack.callback(jobs.stop_jobs, runtime, scheduler)
        log.info("wardcast scheduler ready")
        yield


def create_app(settings: Settings | None = None, *, api_url: str | None = None) -> FastAPI:
    """Build the app; long-lived parts start in the lifespan.

    api_url: where this machine reaches the app once served (`wardcast serve` says); without
    it there is no live voice (Icecast would have nowhere to check its listeners)."""
    settings = settings or get_settings()
    private_dir(settings.data_dir)  # the database, media, the broker's logins
    runtime = Runtime(settings=settings, db=Database(settings.sqlalchemy_url),
                      store=open_store(settings), api_url=api_url)
    app = FastAPI(title="wardcast", version="0.1.0", lifespan=lifespan,
                  description="Broadcast scheduling for ward loudspeaker stations")
    app.state.runtime = runtime
    http_errors.install(app)
    api = APIRouter(prefix=API, responses=http_errors.RESPONSES)
    for router in (users_router, bulletins_router, stations_router, timetables_router,
                   groups_router, agenda_router, broadcasts_router, controls_router,
                   playbacks_router, audit_router, programmes_router, feeds_router,
                   catalogue_router, reports_router, drafts_router, streams_router,
                   live_auth_router, live_router, agent_api.router):
        api.include_router(router)
    app.include_router(api)
    app.add_api_route("/healthz", _healthz(runtime), methods=["GET"], tags=["health"])
    # JSON and forms are small; only an upload may be large, and only a known user's is read
    app.add_middleware(BodyLimit, limit=settings.max_json_bytes,
                       uploads={f"{api.prefix}/bulletins": settings.max_upload_bytes,
                                "/emergency/confirm": settings.max_upload_bytes},
                       gate=deps.known_user_gate,
                       streamed=re.compile(rf"{re.escape(api.prefix)}/live/\d+/ingest"))
    if settings.trusted_proxy_list:
        # the one place a forwarded client address is believed (`serve` turns uvicorn's own
        # handling off: it trusted X-Forwarded-For from 127.0.0.1 by default)
        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=settings.trusted_proxy_list)
    app.add_middleware(agent_api.ReceiveStamp)  # added last: the outermost, so the earliest
    web_pages.install(app)  # the pages at / and /static
    return app


def _healthz(runtime: Runtime):  # type: ignore[no-untyped-def]
    def healthz() -> JSONResponse:
        """200 when the database and the broker connection are up."""
        checks = {"database": _db_ok(runtime), "broker": bool(
            runtime.dispatcher and runtime.dispatcher.connected)}
        return JSONResponse({"status": "ok" if all(checks.values()) else "degraded", **checks,
                             "leader": runtime.is_leader,
                             "replica": runtime.settings.replica_id,
                             "ingested": _ingested(runtime)},
                            status_code=200 if all(checks.values()) else 503)

    return healthz


def _ingested(runtime: Runtime) -> dict[str, int]:
    """What this replica took in (with shared subscriptions each replica sees a share)."""
    counters = runtime.dispatcher.counters if runtime.dispatcher else {}
    return {name: counters.get(name, 0)
            for name in ("events", "duplicates", "dropped", "foreign_events", "batch_retries")}


def _db_ok(runtime: Runtime) -> bool:
    try:
        with runtime.db.session() as session:
            session.execute(text("SELECT 1"))
        return True
    except Exception:  # any failure means "not healthy", reported, not raised
        log.exception("database health check failed")
        return False
