"""The page routes: log in and out, language, home; each area's pages come from its module."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import APIRouter, FastAPI, Form, Request
from fastapi.responses import HTMLResponse, Response
from fastapi.staticfiles import StaticFiles

from scheduler.deps import RuntimeDep, SessionDep, check_same_origin
from scheduler.errors import DomainError
from scheduler.http_errors import status_of
from scheduler.web import (
    HERE,
    bulletins,
    emergency,
    feeds,
    home,
    i18n,
    live,
    log,
    pageerrors,
    reports,
    station_page,
    stations,
    streams,
    timetables,
    topics,
    users,
)
from scheduler.web import format as fmt
from scheduler.web.preferences import set_language
from scheduler.web.session import OptionalUser, PageUser, log_in, log_out
from scheduler.web.templating import flash, language, redirect, render

AREAS = (home, bulletins, log, reports, stations, station_page, feeds, streams, timetables,
         emergency, live, topics, users)
router = APIRouter()
for area in AREAS:
    router.include_router(area.router)


def install(app: FastAPI) -> None:
    """Mount the pages at / and their static files at /static; pages answer errors in HTML."""
    app.include_router(router, include_in_schema=False)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    pageerrors.install(app)


def _safe_next(target: str | None) -> str:
    """Only follow a `next` that stays on this site (no open redirect)."""
    # browsers read /\host like //host: both would leave the site
    if not target or not target.startswith("/") or target[1:2] in ("/", "\\") or urlsplit(
            target).netloc:
        return "/"
    return target


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, user: OptionalUser, next: str | None = None) -> Response:
    """The log-in form (or home, when already logged in)."""
    if user is not None:
        return redirect(_safe_next(next))
    return render(request, "login.html", next=_safe_next(next), error=None, username="")


@router.post("/login", response_class=HTMLResponse)
def login(request: Request, session: SessionDep, runtime: RuntimeDep,
          username: Annotated[str, Form(max_length=64)],
          password: Annotated[str, Form(max_length=200)],
          next: Annotated[str, Form(max_length=2000)] = "/") -> Response:
    """Check the password, set the session cookie and go where the user was heading."""
    answer = redirect(_safe_next(next))
    try:
        check_same_origin(request)  # no logging people in from another site
        log_in(request=request, response=answer, session=session, username=username,
               password=password, ttl=timedelta(hours=runtime.settings.token_ttl_hours))
    except DomainError as exc:
        message = fmt.in_language(str(exc), lang=language(request))
        return render(request, "login.html", status_code=status_of(exc), next=_safe_next(next),
                      error=message, username=username)
    return answer


@router.post("/logout")
def logout(request: Request, session: SessionDep, _user: PageUser) -> Response:
    """End the session and go back to the log-in page."""
    answer = redirect("/login")
    log_out(request=request, response=answer, session=session)
    return answer


@router.post("/language")
def choose_language(request: Request, session: SessionDep, user: OptionalUser,
                    lang: Annotated[str, Form(max_length=8)],
                    back: Annotated[str, Form(max_length=2000)] = "/") -> Response:
    """Switch the page language; it is kept for the user (and in a cookie before log-in)."""
    chosen = i18n.pick(lang)
    if user is not None:
        set_language(request=request, session=session, user=user, lang=chosen)
    answer = redirect(_safe_next(back))
    answer.set_cookie(i18n.LANGUAGE_COOKIE, chosen, max_age=365 * 86400, httponly=True,
                      samesite="strict", path="/")
    flash(answer, i18n.N_("Language changed."))
    return answer
