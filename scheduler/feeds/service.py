"""Make, list, revoke and read calendar feeds; each change is audited in its transaction."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from scheduler import security
from scheduler.audit import service as audit
from scheduler.audit.service import Actor
from scheduler.errors import Conflict, InvalidInput, NotAuthenticated, NotFound
from scheduler.feeds.models import CalendarFeed
from scheduler.stations import service as stations
from scheduler.stations.models import Station
from scheduler.users.models import Role, User
from wardcast.protocol import utcnow

TOKEN_PREFIX = "wcf"  # told apart from login (wcu_) and API (wca_) tokens at a glance
MAX_FEEDS_PER_USER = 100
# calendar apps poll every 15 minutes or so: note the use, not every request as a write
TOUCH_EVERY = timedelta(minutes=5)


class FeedNotFound(NotFound):
    code = "feed_not_found"


def create(*, session: Session, actor: Actor, user: User, station_id: int,
           name: str | None) -> tuple[CalendarFeed, str]:
    """Make a feed of a station the user may see; return it and its token (shown once)."""
    station = stations.get(session=session, station_id=station_id, user=user)
    name = (name or "").strip() or None
    if name is not None and len(name) > 120:
        raise InvalidInput("Tên lịch tối đa 120 ký tự — the name may have 120 characters at "
                           "most", field="name")
    owned = session.scalar(select(func.count()).where(CalendarFeed.user_id == user.id)) or 0
    if owned >= MAX_FEEDS_PER_USER:
        raise Conflict(f"Bạn đã có {owned} địa chỉ lịch; hãy thu hồi bớt — you have "
                       f"{MAX_FEEDS_PER_USER} calendar feeds already: revoke some first",
                       code="too_many_feeds")
    token = security.new_token(TOKEN_PREFIX)
    feed = CalendarFeed(token_hash=security.token_hash(token), user_id=user.id,
                        station_id=station.id, name=name, created_at=utcnow())
    session.add(feed)
    session.flush()
    audit.record(session=session, actor=actor, action="feed.create", target_type="calendar_feed",
                 target_id=feed.id, station_id=station.id, name=name)
    return feed, token


def _manages(user: User, feed: CalendarFeed) -> bool:
    """Its owner, or an admin of the station's ward."""
    return feed.user_id == user.id or (user.role_enum is Role.ADMIN
                                       and user.may_touch(feed.station.ward))


def listing(*, session: Session, user: User, station_id: int | None, limit: int,
            offset: int) -> tuple[list[CalendarFeed], int]:
    """The feeds a user manages (an admin: every feed of their wards), oldest first."""
    query = select(CalendarFeed)
    if station_id is not None:
        query = query.where(CalendarFeed.station_id == station_id)
    if user.role_enum is not Role.ADMIN:
        query = query.where(CalendarFeed.user_id == user.id)
    elif user.wards is not None:
        query = query.where(CalendarFeed.station.has(Station.ward.in_(sorted(user.wards))))
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(query.order_by(CalendarFeed.id).limit(limit).offset(offset))
    return list(rows), total


def revoke(*, session: Session, actor: Actor, user: User, feed_id: int) -> CalendarFeed:
    """Revoke a feed its owner or an admin of its ward names; its address stops at once."""
    feed = session.get(CalendarFeed, feed_id)
    if feed is None or not _manages(user, feed):
        raise FeedNotFound(f"Không tìm thấy địa chỉ lịch {feed_id} — calendar feed not found",
                           field="feed_id")
    session.delete(feed)
    audit.record(session=session, actor=actor, action="feed.revoke", target_type="calendar_feed",
                 target_id=feed.id, station_id=feed.station_id, owner=feed.user.username)
    return feed


def station_for(*, session: Session, token: str) -> Station:
    """Return the station a feed token reads, while its owner is active and may see it."""
    feed = session.scalar(select(CalendarFeed).where(
        CalendarFeed.token_hash == security.token_hash(token)))
    if feed is None or not feed.user.active:
        raise NotAuthenticated("Địa chỉ lịch không đúng hoặc đã bị thu hồi — unknown or revoked "
                               "calendar feed")
    stations.check_ward(feed.user, feed.station.ward)
    now = utcnow()
    if feed.last_used_at is None or now - feed.last_used_at > TOUCH_EVERY:
        feed.last_used_at = now
    return feed.station
