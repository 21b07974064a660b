"""How the agent hands a stream to ffmpeg: credentials as a header, secrets never said."""

from __future__ import annotations

import base64

from agents.relay import public_url, redact, stream_command

URL = "https://ward7:p%40ss-Secret@radio.example.vn:8443/vov1.mp3?token=tok-Secret"


def test_credentials_go_as_a_header_not_in_the_url() -> None:
    argv = stream_command(URL)
    assert argv[argv.index("-i") + 1] == "https://radio.example.vn:8443/vov1.mp3?token=tok-Secret"
    header = argv[argv.index("-headers") + 1]
    assert header == f"Authorization: Basic {base64.b64encode(b'ward7:p@ss-Secret').decode()}\r\n"
    assert not any("p%40ss" in arg or "ward7" in arg for arg in argv)
    assert argv[argv.index("-protocol_whitelist") + 1] == "http,https,tcp,tls,crypto"
    assert "-headers" not in stream_command("http://127.0.0.1:8000/live")


def test_what_ffmpeg_says_is_said_without_secrets() -> None:
    said = ("https://radio.example.vn:8443/vov1.mp3?token=tok-Secret: Server returned 403; "
            f"{URL}: p%40ss-Secret token=tok-Secret")
    assert redact(said, URL) == (
        "https://radio.example.vn:8443/vov1.mp3: Server returned 403; "
        "https://radio.example.vn:8443/vov1.mp3: *** ***")
    assert public_url(URL) == "https://radio.example.vn:8443/vov1.mp3"


def test_a_live_session_is_heard_with_the_stations_login_and_little_probing() -> None:
    """`login: station`: the station's id and token as the header (the URL has none), and
    the least probing (a live voice's every kilobyte probed is latency)."""
    argv = stream_command("http://127.0.0.1:8010/live-3-ab12.ogg", login=("17", "wcs_Tok3n"),
                          live=True)
    header = argv[argv.index("-headers") + 1]
    assert header == f"Authorization: Basic {base64.b64encode(b'17:wcs_Tok3n').decode()}\r\n"
    assert argv[argv.index("-probesize") + 1] == "4096"
    assert argv[argv.index("-analyzeduration") + 1] == "0"
    assert argv[argv.index("-fflags") + 1] == "nobuffer"
    assert argv[argv.index("-i") + 1] == "http://127.0.0.1:8010/live-3-ab12.ogg"
    relay = stream_command(URL)  # a radio: probed as before, its own login
    assert relay[relay.index("-probesize") + 1] == "32768" and "-fflags" not in relay
    assert redact("401 for 17:wcs_Tok3n", URL, "wcs_Tok3n") == "401 for 17:***"
