"""Browser tests: a real `wardcast serve`, headless system Chromium driven by Playwright.

`page_at(path, role=..., viewport=...)` opens a page logged in as a role, saves a screenshot
under test-artifacts/screenshots/ and checks that nothing scrolls sideways.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import (
    Browser,
    BrowserContext,
    Page,
    ViewportSize,
    expect,
    sync_playwright,
)

from tests.support.server import Server

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]
DESKTOP = ViewportSize(width=1366, height=768)
PHONE = ViewportSize(width=390, height=844)
VIEWPORTS = {"desktop": DESKTOP, "phone": PHONE}
PASSWORD = "mat-khau-123"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
ROLES = ("admin", "editor", "approver", "viewer")
expect.set_options(timeout=15_000)  # assertions wait this long on a busy machine


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests that use the browser get the `browser` marker."""
    for item in items:
        if "browser" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def web_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One real scheduler (embedded broker, SQLite) for all browser tests."""
    # short graces so that a slot of a station with no agent is `missed` within seconds
    server = Server(tmp_path_factory.mktemp("web")).setup(
        missed_grace_s="3", offline_grace_s="4", watchdog_interval_s="0.5").start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def accounts(web_server: Server) -> dict[str, str]:
    """A user name per role (all with PASSWORD), created through the API."""
    names: dict[str, str] = {}
    with web_server.api() as api:
        for role in ROLES:
            username = f"{role}-{uuid.uuid4().hex[:6]}"
            api.post("/users", json={"username": username, "password": PASSWORD,
                                     "role": role}).raise_for_status()
            names[role] = username
    return names


def new_user(server: Server, role: str) -> str:
    """Create a fresh user (for tests that change a user's own settings)."""
    username = f"{role}-{uuid.uuid4().hex[:6]}"
    with server.api() as api:
        api.post("/users", json={"username": username, "password": PASSWORD,
                                 "role": role}).raise_for_status()
    return username


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """Headless Debian Chromium (never a downloaded browser)."""
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


class Pages:
    """Open logged-in pages, take screenshots and check the layout."""

    def __init__(self, browser: Browser, server: Server, accounts: dict[str, str],
                 test_name: str) -> None:
        self.browser = browser
        self.server = server
        self.accounts = accounts
        self.test_name = re.sub(r"[^\w.-]+", "_", test_name)
        self.contexts: list[BrowserContext] = []

    def context(self, viewport: ViewportSize = DESKTOP) -> BrowserContext:
        context = self.browser.new_context(viewport=viewport, base_url=self.server.base,
                                           locale="vi-VN", timezone_id="Asia/Ho_Chi_Minh")
        # generous: CI machines are shared, and a timeout here only bounds a failure
        context.set_default_timeout(30_000)
        self.contexts.append(context)
        return context

    def login(self, role: str, *, viewport: ViewportSize = DESKTOP,
              username: str | None = None) -> Page:
        """Log in through the form as a role's user; return the page (on the home page)."""
        page = self.context(viewport).new_page()
        page.goto("/login")
        page.fill("input[name=username]", username or self.accounts[role])
        page.fill("input[name=password]", PASSWORD)
        page.click("form[action='/login'] button[type=submit]")
        page.wait_for_url(re.compile(r"^(?!.*/login)"))
        return page

    def shot(self, page: Page, name: str) -> Path:
        """Save a full-page screenshot and check that nothing scrolls sideways."""
        size = page.viewport_size or DESKTOP
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{self.test_name}-{name}-{size['width']}x{size['height']}.png"
        page.screenshot(path=str(path), full_page=True)
        assert_no_sideways_scroll(page)
        return path

    def at(self, path: str, *, role: str, viewport: ViewportSize = DESKTOP,
           name: str | None = None) -> Page:
        """Open a page as a role, screenshot it and check its width."""
        page = self.login(role, viewport=viewport)
        page.goto(path)
        self.shot(page, name or (path.strip("/").replace("/", "_") or "home"))
        return page

    def close(self) -> None:
        for context in self.contexts:
            context.close()


def assert_no_sideways_scroll(page: Page) -> None:
    """The page fits its viewport's width (no horizontal scrolling)."""
    widths: dict[str, Any] = page.evaluate(
        "() => ({scroll: document.documentElement.scrollWidth, inner: window.innerWidth})")
    assert widths["scroll"] <= widths["inner"], f"{page.url} scrolls sideways: {widths}"


@pytest.fixture
def pages(browser: Browser, web_server: Server, accounts: dict[str, str],
          request: pytest.FixtureRequest) -> Iterator[Pages]:
    helper = Pages(browser, web_server, accounts, request.node.name)
    yield helper
    helper.close()


@pytest.fixture
def page_at(pages: Pages) -> Callable[..., Page]:
    """`page_at("/log", role="viewer", viewport=PHONE)`: logged in, screenshot, width checked."""
    return pages.at


def api_as(server: Server, username: str) -> httpx.Client:
    """An API client logged in as one of the test users."""
    answer = httpx.post(f"{server.base}/api/v1/auth/token",
                        data={"username": username, "password": PASSWORD})
    answer.raise_for_status()
    return httpx.Client(base_url=f"{server.base}/api/v1", timeout=120, headers={
        "Authorization": f"Bearer {answer.json()['access_token']}"})


def upload_through_page(page: Page, audio: Path, *, title: str, language: str = "Tiếng Việt",
                        category: str = "", topic: str = "", source: str = "") -> int:
    """Upload a file with the upload form (XHR with progress), typing the language's name and
    choosing the topic and source by theirs; return the new bulletin's id."""
    page.goto("/bulletins/upload")
    page.set_input_files("input[name=file]", str(audio))
    page.fill("input[name=title]", title)
    page.fill("#language-name", language)
    page.fill("input[name=category]", category)
    if topic:
        page.select_option("select[name=topic]", label=topic)
    if source:
        page.select_option("select[name=source]", label=source)
    submit_upload(page)
    return int(page.url.rsplit("/", 1)[1])


def submit_upload(page: Page) -> None:
    """Send the upload form and wait for the new bulletin's page; the test audio is shared, so
    when the page warns that it is a duplicate, go on on purpose."""
    page.click("#upload-form button[type=submit]")
    finish_upload(page)


def finish_upload(page: Page) -> None:
    """Wait for the bulletin's page after an upload, going on past a duplicate warning."""
    done = re.compile(r"/bulletins/\d+$")
    warning = page.locator("#duplicate-warning")
    for _ in range(600):
        if done.search(page.url):
            return
        if warning.is_visible():
            page.click("#upload-anyway")
            break
        page.wait_for_timeout(100)
    page.wait_for_url(done, timeout=60_000)


def upload_through_api(server: Server, username: str, audio: Path, *, title: str,
                       language: str = "vi", category: str | None = None,
                       topic: str | None = None, source: str | None = None) -> dict[str, Any]:
    """Upload a file through the API as a user; return the bulletin."""
    given = {"category": category, "topic": topic, "source": source}
    data = {"title": title, "language": language} | {k: v for k, v in given.items() if v}
    with api_as(server, username) as api, audio.open("rb") as handle:
        answer = api.post("/bulletins", data=data, files={"file": (audio.name, handle)})
    answer.raise_for_status()
    bulletin: dict[str, Any] = answer.json()
    return bulletin


def approve_through_api(server: Server, username: str, bulletin_id: int) -> None:
    with api_as(server, username) as api:
        api.post(f"/bulletins/{bulletin_id}/approve").raise_for_status()


def register_station(server: Server, name: str) -> dict[str, Any]:
    """Register a station as the admin; the answer carries its token."""
    with server.api() as api:
        answer = api.post("/stations", json={"name": name, "ward": name})
    answer.raise_for_status()
    station: dict[str, Any] = answer.json()
    return station


def approve_through_page(page: Page, bulletin_id: int) -> None:
    """Open a bulletin as an approver, wait until the player has the audio, approve it."""
    page.goto(f"/bulletins/{bulletin_id}")
    page.wait_for_function("() => document.querySelector('#player').duration > 0")
    page.once("dialog", lambda dialog: dialog.accept())
    with page.expect_response(lambda r: r.url.endswith(f"/bulletins/{bulletin_id}/approve")
                              ) as answer:
        page.click("#approve")
    assert answer.value.status == 303, answer.value.status
    page.wait_for_url(re.compile(rf"/bulletins/{bulletin_id}$"))
