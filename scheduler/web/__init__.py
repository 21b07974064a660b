"""Server-rendered web pages for ward staff: Vietnamese first, light, phone-friendly."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

HERE = Path(__file__).resolve().parent


def install(app: FastAPI) -> None:
    """Mount the pages at / and their static files at /static; pages answer errors in HTML."""
    from scheduler.web import pageerrors
    from scheduler.web.router import router

    app.include_router(router, include_in_schema=False)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    pageerrors.install(app)
