"""Topic, source and language API shapes (a topic and a source have the same shape)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from scheduler.catalogue.models import CODE_LENGTH, NAME_LENGTH
from wardcast.protocol import DB_INT


class EntryRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    code: str
    name_vi: str
    name_en: str
    position: int
    active: bool


class EntryList(BaseModel):
    items: list[EntryRead]
    total: int


class EntryCreate(BaseModel):
    code: str | None = Field(default=None, max_length=CODE_LENGTH,
                             description="lower-case words joined by '-'; made from name_vi "
                                         "when left out")
    # blank names are refused by the service, in Vietnamese and English
    name_vi: str = Field(max_length=NAME_LENGTH)
    name_en: str | None = Field(default=None, max_length=NAME_LENGTH,
                                description="name_vi when left out")
    position: int | None = Field(default=None, ge=0, le=DB_INT,
                                 description="list order; after the others when left out")


class EntryUpdate(BaseModel):
    """Rename, move or (de)activate an entry; its code never changes (bulletins hold it)."""

    name_vi: str | None = Field(default=None, max_length=NAME_LENGTH)
    name_en: str | None = Field(default=None, max_length=NAME_LENGTH)
    position: int | None = Field(default=None, ge=0, le=DB_INT)
    active: bool | None = None


class LanguageRead(BaseModel):
    code: str
    name_vi: str
    name_en: str


class LanguageList(BaseModel):
    items: list[LanguageRead]
    total: int
