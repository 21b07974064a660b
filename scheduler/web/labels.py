"""Words the pages show for stored values (statuses, roles, priorities), marked for translation.

Templates translate them at run time, e.g. `_(playback.status)`.
"""

from __future__ import annotations

from scheduler.web.i18n import N_

PLAYBACK_STATUSES = (N_("planned"), N_("delivered"), N_("ready"), N_("playing"), N_("played"),
                     N_("failed"), N_("missed"), N_("skipped"), N_("interrupted"),
                     N_("cancelled"))
BULLETIN_STATUSES = (N_("pending"), N_("approved"), N_("rejected"))
ROLES = (N_("admin"), N_("editor"), N_("approver"), N_("viewer"))
PRIORITIES = (N_("normal"), N_("priority"), N_("emergency"))
