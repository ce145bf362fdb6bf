"""A one-line progress bar on standard error, for runs that take more than a moment.

Silent when disabled (``--quiet`` or output that is not a terminal) and during the first
half second, so quick runs print only their summary.
"""

from __future__ import annotations

import sys
import time

DELAY = 0.5
REFRESH = 0.1


class ProgressBar:
    def __init__(self, label: str, enabled: bool = True, width: int = 30, stream=None):
        self.label, self.enabled, self.width = label, enabled, width
        self.stream = stream or sys.stderr
        self.started = time.perf_counter()
        self.last_draw = 0.0
        self.drawn = False

    def __call__(self, done: int, total: int, loss: float | None = None) -> None:
        if not self.enabled:
            return
        now = time.perf_counter()
        elapsed = now - self.started
        if elapsed < DELAY or (now - self.last_draw < REFRESH and done < total):
            return
        self.last_draw = now
        filled = int(self.width * done / max(total, 1))
        remaining = elapsed / max(done, 1) * (total - done)
        loss_text = f"  loss {loss:.4g}" if loss is not None else ""
        self.stream.write(
            f"\r{self.label} [{'#' * filled}{'.' * (self.width - filled)}] "
            f"{done}/{total}{loss_text}  {remaining:5.1f} s left "
        )
        self.stream.flush()
        self.drawn = True

    def close(self) -> None:
        if self.drawn:
            self.stream.write("\r" + " " * (self.width + 80) + "\r")
            self.stream.flush()
