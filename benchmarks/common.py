"""Shared benchmark helpers: the machine's name and a timing loop (best of N, after a warm-up)."""
from __future__ import annotations

import os
import platform
import statistics
import time
from typing import Callable


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}"


def best_of(fn: Callable[[], object], repeat: int = 5) -> float:
    return timings(fn, repeat)[0]


def timings(fn: Callable[[], object], repeat: int = 5) -> tuple[float, float]:
    """Best and median of ``repeat`` timed calls after a warm-up: this machine's speed swings from
    run to run, so both are reported."""
    fn()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times), statistics.median(times)
