"""Where the benchmark process spends its CPU: per thread, from the kernel's own accounting.

The suite, the receivers and the bench's publisher all run in one process, so "the deliverer is slow" and
"the SMTP sink is slow" look alike from outside. /proc/self/task/<tid>/stat holds each thread's user and
system time; Python's threads know their native ids, so each can be named. No sampling, no overhead.
Linux only; elsewhere the breakdown is empty.
"""

from __future__ import annotations

import os
import re
import threading
from collections import defaultdict
from pathlib import Path

_TASKS = Path("/proc/self/task")
_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
# "notifications-consumer-3", "Thread-12 (process_request_thread)", "ThreadPoolExecutor-0_5": one group each.
_NUMBER = re.compile(r"[-_]\d+(?=$|_| )|\s*\(.*\)$")


def _group(name: str) -> str:
    if "process_request_thread" in name:
        return "http receiver (per request)"
    if name.startswith("Thread-") and "(_run)" in name:
        return "smtp receiver (aiosmtpd)"
    return _NUMBER.sub("", name) or name


def sample() -> dict[int, float]:
    """CPU seconds (user + system) of each live thread, by native id."""
    seconds: dict[int, float] = {}
    if not _TASKS.is_dir():
        return seconds
    for task in _TASKS.iterdir():
        try:
            fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:  # the thread ended meanwhile
            continue
        # After the command name: state is field 3, utime 14 and stime 15 (1-based, man 5 proc).
        seconds[int(task.name)] = (int(fields[11]) + int(fields[12])) / _TICK
    return seconds


def names() -> dict[int, str]:
    return {t.native_id: t.name for t in threading.enumerate() if t.native_id is not None}


def breakdown(before: dict[int, float], after: dict[int, float], named: dict[int, str]) -> dict[str, float]:
    """CPU seconds spent between two samples, summed per thread group. Threads that ended between the samples
    are not counted (their time is gone from /proc)."""
    spent: defaultdict[str, float] = defaultdict(float)
    for tid, total in after.items():
        used = total - before.get(tid, 0.0)
        if used > 0:
            spent[_group(named.get(tid, "other (not a Python thread: gRPC core, libpq)"))] += used
    return dict(spent)
