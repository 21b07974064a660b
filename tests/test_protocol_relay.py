"""Relay items: a plan item names a bulletin's media or a stream, never both, within bounds."""

from __future__ import annotations

import json
from typing import Any

import pytest

from wardcast import protocol
from wardcast.protocol import ProtocolError

SHA = "ab" * 32
URL = "https://ward7:s3cret@radio.example.vn/vov1.mp3"
BULLETIN = {"playback_id": 7, "bulletin_id": 3, "scheduled_at": "2026-12-08T05:30:00.000Z",
            "duration_ms": 1000, "sha256": SHA, "media_path": f"/api/v1/media/{SHA}.opus"}
RELAY = {"playback_id": 8, "scheduled_at": "2026-12-08T05:30:00.000Z", "duration_ms": 1_800_000,
         "title": "VOV1 thời sự",
         "relay": {"url": URL,
                   "filler": {"sha256": SHA, "media_path": f"/api/v1/media/{SHA}.opus",
                              "duration_ms": 6000}}}


def plan(*items: dict[str, Any]) -> bytes:
    return json.dumps({"v": 1, "station_id": "ward-07", "generated_at": "2026-12-08T05:00:00Z",
                       "horizon_end": "2026-12-10T05:00:00Z", "items": list(items)}).encode()


def test_a_relay_item_round_trips_beside_a_bulletin() -> None:
    decoded = protocol.decode(protocol.Plan, plan(BULLETIN, RELAY))
    assert protocol.decode(protocol.Plan, protocol.encode(decoded)) == decoded
    bulletin, relay = decoded.items
    assert bulletin.relay is None and bulletin.wanted_media == (SHA, BULLETIN["media_path"])
    assert relay.relay is not None and relay.relay.url == URL
    assert (relay.bulletin_id, relay.sha256, relay.media_path) == (None, None, None)
    assert relay.wanted_media == (SHA, f"/api/v1/media/{SHA}.opus")  # its filler
    bare = {**RELAY, "relay": {"url": "http://127.0.0.1:8000/live"}}
    assert protocol.decode(protocol.Plan, plan(bare)).items[0].wanted_media is None


def test_an_old_payload_parses_as_before() -> None:
    """What an old scheduler sends is the same item; a bulletin item goes out as before."""
    item = protocol.decode(protocol.Plan, plan(BULLETIN)).items[0]
    assert (item.bulletin_id, item.sha256, item.media_path, item.relay) == (
        3, SHA, BULLETIN["media_path"], None)
    sent = json.loads(protocol.encode(item))
    assert {key: sent[key] for key in BULLETIN} == BULLETIN and "relay" not in sent


def relay_with(**fields: Any) -> dict[str, Any]:
    return {**RELAY, "relay": {**RELAY["relay"], **fields}}


@pytest.mark.parametrize("item", [
    {**RELAY, "sha256": SHA, "media_path": BULLETIN["media_path"], "bulletin_id": 3},  # both
    {**RELAY, "sha256": SHA},
    {**RELAY, "bulletin_id": 3},
    {**BULLETIN, "relay": RELAY["relay"]},
    {key: value for key, value in BULLETIN.items() if key != "sha256"},  # neither
    {key: value for key, value in BULLETIN.items() if key != "media_path"},
    {**BULLETIN, "bulletin_id": None},
    relay_with(url="file:///etc/passwd"),
    relay_with(url="concat:http://a/b|file:/etc/passwd"),
    relay_with(url="rtmp://radio.example.vn/live"),
    relay_with(url="http:///no-host"),
    relay_with(url="http://radio.example.vn/live stream"),
    relay_with(url="http://radio.example.vn/live\n-i"),
    relay_with(url="http://radio.example.vn/" + "a" * protocol.MAX_URL),
    relay_with(url=""),
    relay_with(url=5),
    relay_with(filler={"sha256": "xyz", "media_path": "/m", "duration_ms": 1}),
    relay_with(filler={"sha256": SHA, "media_path": "", "duration_ms": 1}),
    relay_with(filler={"sha256": SHA, "media_path": "/m" * 600, "duration_ms": 1}),
    relay_with(filler={"sha256": SHA, "media_path": "/m", "duration_ms": -1}),
    {**RELAY, "duration_ms": 0},
    {**RELAY, "duration_ms": protocol.MAX_RELAY_MS + 1},
])
def test_invalid_relay_items_are_refused(item: dict[str, Any]) -> None:
    with pytest.raises(ProtocolError):
        protocol.decode(protocol.Plan, plan(item))



def test_a_live_relay_asks_for_the_station_login() -> None:
    """A live session's item says `login: station`; a relay without one goes out as before,
    and a login this agent does not know is no login (the plan is not refused for it)."""
    live = relay_with(url="http://127.0.0.1:8010/live-3-ab12.ogg", login="station",
                      filler=None)
    item = protocol.decode(protocol.Plan, plan(live)).items[0]
    assert item.relay is not None and item.relay.station_login
    assert json.loads(protocol.encode(item))["relay"]["login"] == "station"
    assert protocol.decode(protocol.Plan, protocol.encode(
        protocol.decode(protocol.Plan, plan(live)))).items[0] == item
    old = protocol.decode(protocol.Plan, plan(RELAY)).items[0]
    assert old.relay is not None and old.relay.login is None and not old.relay.station_login
    assert "login" not in json.loads(protocol.encode(old))["relay"]
    future = protocol.decode(protocol.Plan, plan(relay_with(login="certificate"))).items[0]
    assert future.relay is not None and not future.relay.station_login
    with pytest.raises(ProtocolError):
        protocol.decode(protocol.Plan, plan(relay_with(login="x" * 33)))
