"""A city's year of broadcasting, written straight into PostgreSQL with INSERT … SELECT.

Stations in wards of 100; every day each station plays the city's bulletin of the day at
06:00 and its ward's bulletin of the week at 17:00 (local), so a station airs some 417
distinct bulletins a year and the city 365 + 53 a ward. Ward bulletins are in the ward's
language (Vietnamese in two wards of five, Ê Đê, M'nông or Jrai); categories rotate.
Outcomes follow a fixed hash: 95 % played, 1 % interrupted, 2 % missed, 1 % failed,
0.5 % skipped, 0.5 % cancelled; 1 % are emergencies. Every started playback has its
`started` event and its final one. Each station has a spell a week with an outage of up to
9 hours before it, and one station in a hundred a ten-day outage in March.

The tables' indexes are dropped during the load and made again after (as a restore would),
then the tables are vacuumed and analysed, as autovacuum would have done by report time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, Engine, text

ZONE = "Asia/Ho_Chi_Minh"
WARD_SIZE = 100
LOADED = ("playbacks", "playback_events", "station_spells")
REGISTERED_BEFORE = 30  # days: the stations are older than the data


@dataclass(frozen=True)
class Shape:
    stations: int
    first: date  # the first local day of the data
    days: int

    @property
    def wards(self) -> int:
        return max(self.stations // WARD_SIZE, 1)

    @property
    def weeks(self) -> int:
        return self.days // 7 + 1

    def at(self, day: int, hour: int) -> datetime:
        """A local hour of day `day` as a UTC instant."""
        local = datetime.combine(self.first + timedelta(days=day), time(hour), ZoneInfo(ZONE))
        return local.astimezone(ZoneInfo("UTC"))


def seed(engine: Engine, shape: Shape) -> int:
    """Write the stations, bulletins, playbacks, events and spells; return the playbacks."""
    with engine.begin() as conn:
        conn.execute(text("SET LOCAL maintenance_work_mem = '512MB'"))
        kept = _drop_indexes(conn)
        # a bulk load before anything is kept: the tallies' triggers have nothing to mark
        conn.execute(text("ALTER TABLE playbacks DISABLE TRIGGER USER"))
        params = {"n": shape.stations, "wards": shape.wards, "days": shape.days,
                  "weeks": shape.weeks, "morning": shape.at(0, 6), "evening": shape.at(0, 17),
                  "created": shape.at(0, 0) - timedelta(days=REGISTERED_BEFORE),
                  "spells": (REGISTERED_BEFORE + shape.days) // 7 + 1}
        for statement in (STATIONS, CITY_BULLETINS, WARD_BULLETINS, PLAYBACKS, STARTED, ENDED,
                          SPELLS, OUTAGE_CUT, OUTAGE_GAP):
            conn.execute(text(statement), params)
        for definition in kept:
            conn.execute(text(definition))
        conn.execute(text("ALTER TABLE playbacks ENABLE TRIGGER USER"))
        count = int(conn.execute(text("SELECT count(*) FROM playbacks")).scalar_one())
    with engine.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT")
        for table in ("stations", "bulletins", *LOADED):
            conn.execute(text(f"VACUUM ANALYZE {table}"))
    return count


def _drop_indexes(conn: Connection) -> list[str]:
    """Drop the loaded tables' indexes but those of constraints; return their definitions."""
    found = conn.execute(text(
        "SELECT i.indexname, i.indexdef FROM pg_indexes i WHERE i.tablename = ANY(:tables) "
        "AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)"),
        {"tables": list(LOADED)}).all()
    for name, _ in found:
        conn.execute(text(f'DROP INDEX "{name}"'))
    return [definition for _, definition in found]


STATIONS = """
INSERT INTO stations (name, ward, timezone, created_at, online, plan_revision)
SELECT 'Trạm ' || lpad(i::text, 5, '0'), 'Phường ' || lpad((i % :wards)::text, 3, '0'),
       'Asia/Ho_Chi_Minh', :created, false, 0
FROM generate_series(1, :n) i"""

_BULLETIN = """
INSERT INTO bulletins (title, language, category, status, duration_ms, sha256, size_bytes,
    loudness_lufs, true_peak_dbtp, source_loudness_lufs, source_duration_ms, source_format,
    normalization_type, original_sha256, original_filename, created_at)
SELECT {title}, {language}, (ARRAY['chu-truong-chinh-sach', 'y-te', 'an-ninh-trat-tu',
       'phong-chong-thien-tai', 'nong-thon-moi-do-thi-van-minh', NULL])[1 + k % 6],
       'approved', {duration}, md5(k::text || {title}) || md5({title}), 1, -16, -2, -20,
       {duration}, 'wav', 'linear', md5({title}) || md5(k::text), 'bench.wav', :created
FROM {source}"""
# ids 1 … days: the city's bulletin of each day, in Vietnamese, three minutes
CITY_BULLETINS = _BULLETIN.format(
    title="'Bản tin thành phố ' || k", language="'vi'", duration="180000",
    source="generate_series(1, :days) k")
# then wards × weeks: each ward's bulletin of the week, in its language, five minutes
WARD_BULLETINS = _BULLETIN.format(
    title="'Bản tin phường ' || w || ' tuần ' || k",
    language="(ARRAY['vi', 'rad', 'vi', 'cmo', 'jra'])[1 + w % 5]", duration="300000",
    source="generate_series(0, :wards - 1) w, generate_series(0, :weeks - 1) k "
           "ORDER BY w, k")

PLAYBACKS = """
INSERT INTO playbacks (station_id, bulletin_id, scheduled_at, priority, status, reason,
    started_at, finished_at, created_at, updated_at)
SELECT sid, bid, at, CASE WHEN e < 10 THEN 'emergency' ELSE 'normal' END,
  CASE WHEN h < 950 THEN 'played' WHEN h < 960 THEN 'interrupted' WHEN h < 980 THEN 'missed'
       WHEN h < 990 THEN 'failed' WHEN h < 995 THEN 'skipped' ELSE 'cancelled' END,
  CASE WHEN h < 950 THEN 'played to the end' WHEN h < 960 THEN 'preempted: emergency'
       WHEN h < 970 THEN 'no_start_reported: no start reported while the station was online'
       WHEN h < 975 THEN 'late: the slot passed'
       WHEN h < 980 THEN 'plan_not_delivered: the plan never reached the station; offline '
            || 'since ' || to_char(at - interval '3 days', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')
       WHEN h < 990 THEN 'decoder error: bad frame' WHEN h < 995 THEN 'conflict'
       ELSE 'timetable deleted' END,
  CASE WHEN h < 960 THEN at + (h % 50) * interval '1 ms' END,
  CASE WHEN h < 950 THEN at + (h % 50) * interval '1 ms' + dur
       WHEN h < 960 THEN at + (h % 50) * interval '1 ms' + (20 + h % 40) * interval '1 s'
       WHEN h >= 980 THEN at END,
  at - interval '2 days', at
FROM (SELECT s.id AS sid, d, slot,
        CASE WHEN slot = 0 THEN :morning ELSE :evening END + d * interval '1 day' AS at,
        CASE WHEN slot = 0 THEN 1 + d ELSE :days + 1 + (s.id % :wards) * :weeks + d / 7 END
          AS bid,
        CASE WHEN slot = 0 THEN interval '180 s' ELSE interval '300 s' END AS dur,
        (s.id::bigint * 2654435761 + (2 * d + slot) * 40503) % 1000 AS h,
        (s.id * 31 + (2 * d + slot) * 17) % 1000 AS e
      FROM stations s, generate_series(0, :days - 1) d, generate_series(0, 1) slot) g"""

STARTED = """
INSERT INTO playback_events (event_id, playback_id, station_id, type, at, received_at,
    clock_offset_ms, position_ms, boot_id, applied)
SELECT 'b' || id || 's', id, station_id, 'started', started_at, started_at, 3, 0, 'bench',
       true
FROM playbacks WHERE started_at IS NOT NULL"""

ENDED = """
INSERT INTO playback_events (event_id, playback_id, station_id, type, at, received_at,
    clock_offset_ms, position_ms, boot_id, reason, applied)
SELECT 'b' || id || 'e', id, station_id,
       CASE status WHEN 'played' THEN 'finished' ELSE status END, finished_at, finished_at, 3,
       0, 'bench', reason, true
FROM playbacks WHERE status IN ('played', 'interrupted', 'failed', 'skipped')"""

# from registration on, the last one still open
SPELLS = """
INSERT INTO station_spells (station_id, online_from, online_until)
SELECT s.id, :created + w * interval '1 week' + ((s.id * 7 + w * 13) % 10) * interval '1 hour',
       CASE WHEN w < :spells - 1 THEN :created + (w + 1) * interval '1 week' END
FROM stations s, generate_series(0, :spells - 1) w"""

# one station in a hundred: offline from the 76th day for ten days and until its next spell
OUTAGE_CUT = """
UPDATE station_spells SET online_until = :morning + interval '76 days'
WHERE station_id % 100 = 7 AND online_from < :morning + interval '76 days'
  AND (online_until IS NULL OR online_until > :morning + interval '76 days')"""
OUTAGE_GAP = """
DELETE FROM station_spells
WHERE station_id % 100 = 7 AND online_from >= :morning + interval '76 days'
  AND online_from < :morning + interval '86 days'"""
