"""Running a server or worker process on one CPU (``NOVELCREW_CPU_AFFINITY``).

A novelcrew process runs Python on one core at a time (the interpreter lock), yet its threads
(the event loop, crewAI's kickoff threads, the SQLite writer) are scheduled on every core, and
handing the lock between cores costs more CPU than the work it hands over. Pinned to one CPU
the same jobs cost far less (bench/README.md); a machine's cores are used by running one
process per CPU (one ``novelcrew worker`` per CPU, ``serve --workers N``), as uWSGI's
``cpu-affinity`` and nginx's ``worker_cpu_affinity`` do. Off unless set: pinning every
process of a shared host to the same CPU would be worse than not pinning at all.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Collection, Sequence

_PART = re.compile(r"^(\d+)(?:-(\d+))?$")


def parse_cpus(text: str) -> list[int]:
    """``"0-3,6"`` -> ``[0, 1, 2, 3, 6]`` (the ``taskset --cpu-list`` notation), in order,
    without repeats; ``ValueError`` saying what is wrong otherwise."""
    cpus: list[int] = []
    for part in (p.strip() for p in text.split(",")):
        match = _PART.match(part)
        if match is None:
            raise ValueError(f"{part!r} is not a CPU number or range (e.g. 0-3,6)")
        first, last = int(match[1]), int(match[2] or match[1])
        if last < first:
            raise ValueError(f"{part!r}: a range goes from the lower CPU to the higher")
        cpus += [cpu for cpu in range(first, last + 1) if cpu not in cpus]
    return cpus


def pin(cpus: Sequence[int], index: int = 0) -> int:
    """Run this process (its threads now, and those it starts later) on CPU
    ``cpus[index % len(cpus)]``: process ``index`` of a command that starts several takes the
    ``index``-th CPU of the list. Returns the CPU; ``RuntimeError`` if this system cannot pin or
    the CPU is not one this process may use."""
    if not hasattr(os, "sched_setaffinity"):
        raise RuntimeError("NOVELCREW_CPU_AFFINITY needs an OS with sched_setaffinity (Linux)")
    cpu = cpus[index % len(cpus)]
    allowed = os.sched_getaffinity(0)
    if cpu not in allowed:
        raise RuntimeError(f"NOVELCREW_CPU_AFFINITY names CPU {cpu}, but this process may "
                           f"only run on CPUs {','.join(map(str, sorted(allowed)))}")
    restrict({cpu})
    return cpu


def restrict(cpus: Collection[int]) -> None:
    """Let every thread of this process (and those it starts later) run on ``cpus`` only.
    Linux sets a thread's affinity, not a process's: a thread left out would stay where it
    was."""
    try:
        threads = [int(t) for t in os.listdir("/proc/self/task")]
    except OSError:
        threads = [0]
    for thread in threads:
        with contextlib.suppress(ProcessLookupError):  # it ended meanwhile
            os.sched_setaffinity(thread, cpus)
