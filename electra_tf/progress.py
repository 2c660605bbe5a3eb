"""Progress lines with rate and ETA for long jobs (data building, training)."""

from __future__ import annotations

import time
from collections.abc import Callable


def format_duration(seconds: float) -> str:
    """3725 → '1h02m05s'; 65 → '1m05s'; 5.2 → '5s'."""
    seconds = int(round(max(seconds, 0)))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes:02d}m{secs:02d}s"
    if minutes:
        return f"{minutes}m{secs:02d}s"
    return f"{secs}s"


class ProgressMeter:
    """Tracks work done out of `total` and logs a line at most every `every_seconds`.

    The ETA extrapolates the average rate so far: (total − done) · elapsed / done.
    """

    def __init__(
        self,
        total: float,
        log: Callable[[str], None] = print,
        every_seconds: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.total = total
        self.done = 0.0
        self.log = log
        self.every_seconds = every_seconds
        self.clock = clock
        self.start = clock()
        self._last_log = self.start

    def elapsed(self) -> float:
        return self.clock() - self.start

    def eta(self) -> float | None:
        """Seconds left at the average rate so far (None before any progress)."""
        if self.done <= 0:
            return None
        return max(self.total - self.done, 0) * self.elapsed() / self.done

    def advance(self, amount: float, detail: str = "", rate_of: tuple[str, float] | None = None) -> None:
        """Adds `amount` of work; logs when due. `rate_of` = (name, running count) for a rate."""
        self.done += amount
        now = self.clock()
        if now - self._last_log < self.every_seconds and self.done < self.total:
            return
        self._last_log = now
        elapsed = max(now - self.start, 1e-9)
        parts = [f"{100.0 * self.done / max(self.total, 1e-9):5.1f}%"]
        if detail:
            parts.append(detail)
        if rate_of:
            parts.append(f"{rate_of[1] / elapsed:,.0f} {rate_of[0]}/s")
        eta = self.eta()
        parts.append(f"elapsed {format_duration(elapsed)}, ETA {format_duration(eta or 0)}")
        self.log(" | ".join(parts))
