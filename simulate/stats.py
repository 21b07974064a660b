"""What the simulator counts: events sent by type, and how far each start was from its slot."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from typing import NamedTuple


@dataclass
class Stats:
    """Shared by every simulated station; read by the periodic summary."""

    events: Counter[str] = field(default_factory=Counter)
    start_errors_ms: list[float] = field(default_factory=list)
    plans: int = 0  # plan messages applied
    urgent: int = 0  # group (or fleet) urgent messages received
    connects: int = 0  # MQTT sessions made, the first of each station included

    def start_error(self, milliseconds: float) -> None:
        self.start_errors_ms.append(milliseconds)

    def summary(self, *, stations: int, connected: int, downloads: int) -> str:
        """One line: connections, events by type, start-time error percentiles."""
        counted = " ".join(f"{kind}={n}" for kind, n in sorted(self.events.items())) or "none"
        return (f"stations connected {connected}/{stations}; connections made {self.connects}; "
                f"plans received {self.plans}; urgent messages received {self.urgent}; "
                f"media downloads {downloads}; events {counted}; "
                f"start error {describe(self.start_errors_ms)}")


def percentile(values: list[float], fraction: float) -> float:
    """Return the nearest-rank percentile of a non-empty list."""
    ordered = sorted(values)
    rank = max(1, round(fraction * len(ordered) + 0.5 - 1e-9))
    return ordered[min(rank, len(ordered)) - 1]


def describe(errors_ms: list[float]) -> str:
    """Describe |start − slot| in ms as p50/p99/max, or say there were no starts."""
    if not errors_ms:
        return "n/a (no starts yet)"
    absolute = [abs(e) for e in errors_ms]
    return (f"p50 {percentile(absolute, 0.5):.1f} ms, p99 {percentile(absolute, 0.99):.1f} ms, "
            f"max {max(absolute):.1f} ms over {len(absolute)} start(s)")


class Counts(NamedTuple):
    """What one summary line counted (tests and benchmarks read the simulator's log)."""

    connected: int = 0
    connects: int = 0
    plans: int = 0
    urgent: int = 0
    downloads: int = 0


_COUNTS = re.compile(r"stations connected (\d+)/\d+; connections made (\d+); "
                     r"plans received (\d+); urgent messages received (\d+); "
                     r"media downloads (\d+)")


def last_counts(log_text: str) -> Counts | None:
    """Return the counts of the last summary in a simulator's log, if it wrote one yet."""
    found = _COUNTS.findall(log_text)
    return Counts(*map(int, found[-1])) if found else None
