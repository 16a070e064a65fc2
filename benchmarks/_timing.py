"""The benchmarks' one timing rule: the median of repeated calls."""
from __future__ import annotations

import statistics
import time


def timed(function, repeat: int) -> float:
    """Median seconds of ``repeat`` calls of ``function``."""
    seconds = []
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        seconds.append(time.perf_counter() - start)
    return statistics.median(seconds)
