"""Jinja2 rendering with the request's language, the current user, formatting and flashes."""

from __future__ import annotations

import base64
import json
from functools import lru_cache
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape

from scheduler.deps import get_runtime
from scheduler.web import HERE, i18n, reasons
from scheduler.web import format as fmt
from scheduler.web.session import Viewer, can

FLASH_COOKIE = "wardcast_flash"


@lru_cache(maxsize=len(i18n.LANGUAGES))
def environment(lang: str) -> Environment:
    """One template environment per language, with gettext installed (`_`, `ngettext`)."""
    env = Environment(loader=FileSystemLoader(HERE / "templates"),
                      autoescape=select_autoescape(["html"]), extensions=["jinja2.ext.i18n"],
                      trim_blocks=True, lstrip_blocks=True)
    env.install_gettext_translations(i18n.translations(lang), newstyle=True)  # type: ignore[attr-defined]
    env.globals["ui_languages"] = i18n.LANGUAGES
    env.globals["duration"] = fmt.duration
    return env


def current_user(request: Request) -> Viewer | None:
    viewer: Viewer | None = getattr(request.state, "viewer", None)
    return viewer


def language(request: Request) -> str:
    """The user's chosen language, else the language cookie, else Vietnamese."""
    user = current_user(request)
    return i18n.pick(user.language if user else None, request.cookies.get(i18n.LANGUAGE_COOKIE))


def flash(response: Response, message: str, *, kind: str = "ok", **params: object) -> None:
    """Show a message on the next page; `message` is an untranslated msgid (mark it with N_)."""
    raw = json.dumps([kind, message, {k: str(v) for k, v in params.items()}])
    response.set_cookie(FLASH_COOKIE, base64.urlsafe_b64encode(raw.encode()).decode(),
                        max_age=60, httponly=True, samesite="strict", path="/")


def _flashes(request: Request, lang: str) -> list[tuple[str, str]]:
    raw = request.cookies.get(FLASH_COOKIE)
    if not raw:
        return []
    try:
        kind, message, params = json.loads(base64.urlsafe_b64decode(raw))
        text = i18n.gettext(lang, str(message)) % {k: str(v) for k, v in dict(params).items()}
    except (ValueError, TypeError, KeyError):
        return []
    return [(str(kind), text)]


def redirect(url: str, response: Response | None = None) -> RedirectResponse:
    """A 303 See Other after a form post, keeping cookies already set on `response`."""
    answer = RedirectResponse(url, status_code=303)
    if response is not None:
        for name, value in response.headers.items():
            if name == "set-cookie":
                answer.headers.append(name, value)
    return answer


def render(request: Request, template: str, *, status_code: int = 200,
           **context: Any) -> HTMLResponse:
    """Render a page in the request's language with the common context of base.html."""
    lang = language(request)
    zone = get_runtime(request).settings.timezone
    user = current_user(request)
    flashes = _flashes(request, lang)
    page = environment(lang).get_template(template).render(
        request=request, user=user, lang=lang, zone=zone, flashes=flashes,
        can=lambda action: can(user, action),
        # a time on another clock than the city's says whose it is
        when=lambda moment, tz=zone: fmt.zoned(fmt.when(moment, zone=tz, lang=lang), zone=tz,
                                               city=zone, lang=lang),
        short=lambda moment, tz=zone: fmt.zoned(fmt.short(moment, zone=tz, lang=lang), zone=tz,
                                                city=zone, lang=lang),
        minute=lambda moment, tz=zone: fmt.minute(moment, zone=tz),  # "21:05 07/12/2026"
        level=lambda value, unit="LUFS": fmt.level(value, lang=lang, unit=unit),
        message_for=lambda message: fmt.in_language(message, lang=lang),
        reason=lambda text, tz=zone: reasons.label(text, zone=tz, lang=lang),
        **context)
    response = HTMLResponse(page, status_code=status_code)
    if flashes:
        response.delete_cookie(FLASH_COOKIE, path="/")
    return response
