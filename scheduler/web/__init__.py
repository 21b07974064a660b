"""Server-rendered web pages for ward staff: Vietnamese first, light, phone-friendly.

The pages are mounted by `scheduler.web.router.install`; this package only says where its
templates and static files are, so that importing one page helper loads no page routes.
"""

from __future__ import annotations

from pathlib import Path

HERE = Path(__file__).resolve().parent
