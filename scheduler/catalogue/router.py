"""Topic, source and language routes: everyone reads the lists, admins manage them."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response

from scheduler.catalogue import seeds, service
from scheduler.catalogue.models import CODE_LENGTH
from scheduler.catalogue.schemas import (
    EntryCreate,
    EntryList,
    EntryRead,
    EntryUpdate,
    LanguageList,
    LanguageRead,
)
from scheduler.catalogue.service import Kind
from scheduler.deps import AdminDep, SessionDep, UserDep, actor
from scheduler.ids import Offset

router = APIRouter(tags=["catalogue"])
Code = Annotated[str, Path(max_length=CODE_LENGTH)]


@router.get("/languages")
def languages(_user: UserDep) -> LanguageList:
    """The languages wardcast knows by name (bulletins store the code; any BCP 47 / ISO 639
    code is accepted)."""
    items = [LanguageRead(code=code, name_vi=vi, name_en=en)
             for code, (vi, en) in seeds.LANGUAGES.items()]
    return LanguageList(items=items, total=len(items))


def _entry_routes(kind: Kind) -> APIRouter:
    """The same five routes for each list."""
    routes = APIRouter(prefix=f"/{kind.value}")
    one = kind.field

    @routes.get("", summary=f"List the {kind.value}")
    def listing(session: SessionDep, _user: UserDep,
                active: Annotated[bool | None, Query(description="only those in use (true) or "
                                                                 "not (false)")] = None,
                limit: Annotated[int, Query(ge=1, le=1000)] = 1000,
                offset: Offset = 0) -> EntryList:
        """The list in its order, with the codes bulletins hold and both names."""
        rows, total = service.entries(session=session, kind=kind, active=active, limit=limit,
                                      offset=offset)
        return EntryList(items=[EntryRead.model_validate(r) for r in rows], total=total)

    @routes.get("/{code}", summary=f"One {one}")
    def read(code: Code, session: SessionDep, _user: UserDep) -> EntryRead:
        """One entry by its code."""
        return EntryRead.model_validate(service.get(session=session, kind=kind, code=code))

    @routes.post("", status_code=201, summary=f"Add a {one} (admins)")
    def create(body: EntryCreate, request: Request, session: SessionDep,
               user: AdminDep) -> EntryRead:
        """Add an entry; its code is made from its Vietnamese name unless given."""
        entry = service.create(session=session, kind=kind, data=body,
                               actor=actor(request, user))
        return EntryRead.model_validate(entry)

    @routes.patch("/{code}", summary=f"Rename, move or (de)activate a {one} (admins)")
    def update(code: Code, body: EntryUpdate, request: Request, session: SessionDep,
               user: AdminDep) -> EntryRead:
        """Rename, move, deactivate (no longer offered) or reactivate an entry."""
        entry = service.update(session=session, kind=kind, code=code, change=body,
                               actor=actor(request, user))
        return EntryRead.model_validate(entry)

    @routes.delete("/{code}", status_code=204, summary=f"Delete an unused {one} (admins)")
    def delete(code: Code, request: Request, session: SessionDep, user: AdminDep) -> Response:
        """Delete an entry no bulletin uses; one in use can only be deactivated (409)."""
        service.delete(session=session, kind=kind, code=code, actor=actor(request, user))
        return Response(status_code=204)

    return routes


for _kind in Kind:
    router.include_router(_entry_routes(_kind))
