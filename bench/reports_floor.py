"""The floor of the activity report: the same aggregates as one hand-written SQL statement.

Every figure the report shows comes out of this one statement (PostgreSQL), part by part:
a station's playbacks by state (with emergencies and seconds) and those not played by
reason, its seconds on air by language and category, its distinct bulletins, each ward's
and the city's distinct bulletins, and each station's online seconds, last spell end and
longest gap. What it leaves out is what wardcast adds around it: putting the parts together
into stations, wards and the city, the previous period, and writing the file. Shapes tried
for it that came out slower are in docs/benchmarks.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, text

FLOOR = """
WITH ward_bulletins AS (
  SELECT DISTINCT s.ward, p.bulletin_id FROM playbacks p JOIN stations s ON s.id = p.station_id
  WHERE p.scheduled_at >= :start AND p.scheduled_at < :end
    AND p.status IN ('played', 'interrupted')),
spells AS (
  SELECT sp.station_id, GREATEST(sp.online_from, GREATEST(st.created_at, :start)) AS f,
         LEAST(COALESCE(sp.online_until, :now), :wend) AS t,
         GREATEST(st.created_at, :start) AS first,
         lag(COALESCE(sp.online_until, :now)) OVER (PARTITION BY sp.station_id
                                                    ORDER BY sp.online_from) AS prev
  FROM station_spells sp JOIN stations st ON st.id = sp.station_id
  WHERE sp.online_from < :wend
    AND COALESCE(sp.online_until, :now) > GREATEST(st.created_at, :start)),
gaps AS (
  SELECT station_id, COALESCE(prev, first) AS gap_from, f AS gap_to,
         row_number() OVER (PARTITION BY station_id
                            ORDER BY f - COALESCE(prev, first) DESC) AS rank
  FROM spells)
SELECT 'state', station_id, status, NULL, count(*),
       sum(CASE WHEN priority = 'emergency' THEN 1 ELSE 0 END),
       sum(date_part('epoch', finished_at - started_at)), NULL::timestamptz, NULL::timestamptz
FROM playbacks WHERE scheduled_at >= :start AND scheduled_at < :end
GROUP BY station_id, status
UNION ALL
SELECT 'reason', station_id, NULL, reason, count(*), NULL, NULL, NULL, NULL
FROM playbacks WHERE scheduled_at >= :start AND scheduled_at < :end
  AND status IN ('missed', 'failed')
GROUP BY station_id, reason
UNION ALL
SELECT 'on air', p.station_id, b.language, COALESCE(b.category, ''), NULL, NULL,
       sum(date_part('epoch', p.finished_at - p.started_at)), NULL, NULL
FROM playbacks p JOIN bulletins b ON b.id = p.bulletin_id
WHERE p.scheduled_at >= :start AND p.scheduled_at < :end
  AND p.status IN ('played', 'interrupted')
GROUP BY p.station_id, b.language, 4
UNION ALL
SELECT 'station bulletins', s.id, NULL, NULL,
       (SELECT count(DISTINCT bulletin_id) FROM playbacks
        WHERE station_id = s.id AND scheduled_at >= :start AND scheduled_at < :end
          AND status IN ('played', 'interrupted')), NULL, NULL, NULL, NULL
FROM stations s
UNION ALL
SELECT 'ward bulletins', NULL, ward, NULL, count(*), NULL, NULL, NULL, NULL
FROM ward_bulletins GROUP BY ward
UNION ALL
SELECT 'city bulletins', NULL, NULL, NULL, count(DISTINCT bulletin_id), NULL, NULL, NULL, NULL
FROM ward_bulletins
UNION ALL
SELECT 'online', station_id, NULL, NULL, NULL, NULL, sum(date_part('epoch', t - f)), max(t),
       NULL
FROM spells GROUP BY station_id
UNION ALL
SELECT 'gap', station_id, NULL, NULL, NULL, NULL, NULL, gap_from, gap_to
FROM gaps WHERE rank = 1 AND gap_to > gap_from
"""


@dataclass(frozen=True)
class Totals:
    """The city's figures the floor and the report must agree on."""

    played: int
    on_air_seconds: float
    bulletins: int
    online_seconds: float


def run(conn: Connection, *, start: datetime, end: datetime, now: datetime) -> Totals:
    """Run the floor once, fetch every row, and add up the city's figures from them."""
    conn.execute(text("SET LOCAL work_mem = '64MB'"))  # what the report's transaction sets
    conn.execute(text("SET LOCAL jit = off"))
    rows = conn.execute(text(FLOOR), {"start": start, "end": end, "now": now,
                                      "wend": min(end, now)}).all()
    return Totals(
        played=sum(int(r[4]) for r in rows if r[0] == "state" and r[2] == "played"),
        on_air_seconds=sum(float(r[6] or 0) for r in rows if r[0] == "on air"),
        bulletins=next(int(r[4]) for r in rows if r[0] == "city bulletins"),
        online_seconds=sum(float(r[6] or 0) for r in rows if r[0] == "online"))
