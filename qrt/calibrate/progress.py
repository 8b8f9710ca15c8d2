"""A plain progress bar on stderr (no dependency): ``calibrating [#####.....] 12/50 1.3s``."""

from __future__ import annotations

import sys
import time


class Progress:
    def __init__(self, label: str, total: int | None, enabled: bool = True, stream=None) -> None:
        self.label, self.total, self.enabled = label, total, enabled
        self.stream = stream if stream is not None else sys.stderr
        self.done = 0
        self.t0 = time.perf_counter()
        self._last = 0.0

    def _line(self) -> str:
        el = time.perf_counter() - self.t0
        if self.total:
            width = 30
            fill = int(width * min(self.done, self.total) / self.total)
            return f"{self.label} [{'#' * fill}{'.' * (width - fill)}] {self.done}/{self.total} batches {el:.1f}s"
        return f"{self.label} {self.done} batches {el:.1f}s"

    def step(self, n: int = 1) -> None:
        self.done += n
        if not self.enabled:
            return
        now = time.perf_counter()
        if now - self._last >= 0.5:
            self._last = now
            self.stream.write("\r" + self._line())
            self.stream.flush()

    def close(self) -> None:
        if self.enabled:
            self.stream.write("\r" + self._line() + "\n")
            self.stream.flush()
