"""Shared benchmark helpers: the machine's name, a timing loop (best of N, after a warm-up) and a plate of
any size."""
from __future__ import annotations

import os
import platform
import statistics
import time
from typing import Callable

import numpy as np

from relit import data
from relit.colour import Image
from relit.io import read_image
from relit.upsample import resize


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


def plate(width: int, height: int) -> Image:
    """The bundled portrait, letterboxed into the frame (its face stays a face)."""
    photo = read_image(data.portrait()).to_working()
    scale = min(height / photo.height, width / photo.width)
    h, w = round(photo.height * scale), round(photo.width * scale)
    canvas = np.zeros((height, width, 3), np.float32)
    top, left = (height - h) // 2, (width - w) // 2
    canvas[top:top + h, left:left + w] = resize(photo.pixels[..., :3], h, w)
    return Image(canvas, photo.colourspace)
