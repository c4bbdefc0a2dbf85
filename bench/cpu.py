"""CPU time of processes from Linux's /proc, for the load run's "where does the time go": the
gunicorn workers' own CPU, and PostgreSQL's exited backends' (the postmaster's reaped children,
which at CONN_MAX_AGE=0 is one backend per request, but also every other database's backends
that ended meanwhile: the noisier figure). Nothing here sets Django up. Where /proc is missing or
unreadable, the readings are None and the load run leaves the CPU figures out."""

import os

TICKS_PER_SECOND = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _stat_fields(pid):
    """The fields of /proc/<pid>/stat after the command name (which may hold spaces), so that
    index 0 is the state; None when the process cannot be read."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            text = stat.read()
    except OSError:
        return None
    return text[text.rindex(")") + 2 :].split()


def own_cpu_seconds(pid):
    """User and system CPU the process has used itself, in seconds (None when unreadable)."""
    fields = _stat_fields(pid)
    if fields is None:
        return None
    return (int(fields[11]) + int(fields[12])) / TICKS_PER_SECOND


def reaped_children_cpu_seconds(pid):
    """CPU, in seconds, of the process's children that have exited and been waited for."""
    fields = _stat_fields(pid)
    if fields is None:
        return None
    return (int(fields[13]) + int(fields[14])) / TICKS_PER_SECOND


def parent_of(pid):
    fields = _stat_fields(pid)
    return None if fields is None else int(fields[1])


def children_of(pid):
    """The process ids of `pid`'s living children (empty when unreadable)."""
    children = []
    try:
        threads = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return children
    for thread in threads:
        try:
            with open(f"/proc/{pid}/task/{thread}/children") as listing:
                children += [int(child) for child in listing.read().split()]
        except OSError:
            continue
    return children


def workers_cpu_seconds(server_pid):
    """The CPU the server's living workers (its children) have used, summed; None when none of
    them can be read."""
    readings = [own_cpu_seconds(child) for child in children_of(server_pid)]
    readings = [seconds for seconds in readings if seconds is not None]
    return sum(readings) if readings else None
