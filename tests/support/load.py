"""Load a running scheduler from a process of its own: concurrent API requests until killed.

    python -m tests.support.load --base http://127.0.0.1:8000 --token T --concurrency 32

Each worker reads the station list and the playback log over and over: routes that take a
database session and the thread pool, as the supervisors' pages do.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import sys

import httpx

PATHS = ("/api/v1/stations?limit=100", "/api/v1/playbacks?limit=200", "/healthz")


async def _worker(client: httpx.AsyncClient, offset: int) -> None:
    for path in itertools.islice(itertools.cycle(PATHS), offset, None):
        try:
            await client.get(path)
        except httpx.HTTPError:
            await asyncio.sleep(0.05)  # the server is busy: keep loading it, do not spin


async def _main(base: str, token: str, concurrency: int) -> None:
    limits = httpx.Limits(max_connections=concurrency)
    async with httpx.AsyncClient(base_url=base, timeout=30, limits=limits,
                                 headers={"Authorization": f"Bearer {token}"}) as client:
        await asyncio.gather(*(_worker(client, n) for n in range(concurrency)))


def cpu_hog() -> list[str]:
    """Return the command line of a process that keeps one core busy until killed."""
    return [sys.executable, "-c", "while True: pass"]


def command(base: str, token: str, concurrency: int) -> list[str]:
    """Return the command line that runs this load generator."""
    return [sys.executable, "-m", "tests.support.load", "--base", base, "--token", token,
            "--concurrency", str(concurrency)]


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--base", required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--concurrency", type=int, default=32)
    args = parser.parse_args()
    try:
        asyncio.run(_main(args.base, args.token, args.concurrency))
    except KeyboardInterrupt:
        sys.exit(0)
