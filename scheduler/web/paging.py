"""Page through long lists with links that keep the current filters."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode


@dataclass(frozen=True)
class Pager:
    """Where a page of `limit` rows starting at `offset` sits among `total` rows."""

    path: str
    filters: dict[str, str]
    total: int
    offset: int
    limit: int

    @property
    def first(self) -> int:
        return min(self.offset + 1, self.total)

    @property
    def last(self) -> int:
        return min(self.offset + self.limit, self.total)

    def _url(self, offset: int) -> str:
        query = {k: v for k, v in self.filters.items() if v} | (
            {"offset": str(offset)} if offset else {})
        return f"{self.path}?{urlencode(query)}" if query else self.path

    @property
    def previous(self) -> str | None:
        return self._url(max(0, self.offset - self.limit)) if self.offset > 0 else None

    @property
    def next(self) -> str | None:
        return self._url(self.offset + self.limit) if self.last < self.total else None

    def query(self, **extra: str) -> str:
        """The current filters as a query string, plus extra parameters."""
        return urlencode({k: v for k, v in (self.filters | extra).items() if v})
