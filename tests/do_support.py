"""Looking at a running `snakevisor do` from the host: its sandbox process (the Sentry) and the
host tasks in the sandbox's PID namespace."""
import os
import time


def status_of(pid):
    """/proc/PID/status as {field: value}."""
    with open(f"/proc/{pid}/status") as f:
        return {k: v.strip() for k, v in (line.split(":", 1) for line in f if ":" in line)}


def children_of(pid):
    out = []
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/children") as f:
                out += [int(p) for p in f.read().split()]
        except FileNotFoundError:
            pass
    return out


def sentry_of(do_pid):
    """The pid of the Sentry of the `snakevisor do` process ``do_pid``: its child that is init of
    a PID namespace of its own (None if there is none: the old, unconfined `do`)."""
    for child in children_of(do_pid):
        try:
            if status_of(child)["NSpid"].split()[-1] == "1":
                return child
        except (FileNotFoundError, KeyError):
            continue
    return None


def namespace_tasks(sentry_pid, exclude=()):
    """Host threads in the PID namespace whose init is ``sentry_pid``, outside the thread groups
    ``exclude`` (and the Sentry's own)."""
    ns = os.readlink(f"/proc/{sentry_pid}/ns/pid")
    count = 0
    for name in os.listdir("/proc"):
        if not name.isdigit() or int(name) == sentry_pid or int(name) in exclude:
            continue
        try:
            if os.readlink(f"/proc/{name}/ns/pid") == ns:
                count += len(os.listdir(f"/proc/{name}/task"))
        except OSError:   # gone meanwhile, or not ours to look at
            continue
    return count


def stat_of(pid):
    """(state, ppid, starttime) from /proc/PID/stat, or None if there is no such process."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
    except OSError:
        return None
    fields = stat[stat.rindex(b")") + 2:].split()
    return fields[0].decode(), int(fields[1]), int(fields[19])


def descendants_of(pid):
    """Every host process below ``pid`` (children, their children, ...), as far as /proc shows it now."""
    out, todo = [], [pid]
    while todo:
        try:
            kids = children_of(todo.pop())
        except OSError:   # gone meanwhile
            continue
        out += kids
        todo += kids
    return out


def comm_of(pid):
    """The process's name (/proc/PID/comm: "sv-gofer" for the Gofer), "" if it is gone."""
    try:
        with open(f"/proc/{pid}/comm") as f:
            return f.read().strip()
    except OSError:
        return ""


def cmdline_of(pid):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read()
    except OSError:
        return b""


def stubs_below(pid):
    """{stub pid: its start time} for the stub processes (named snakevisor-stub) below ``pid``. The
    start time tells the stub from a later process that got its pid."""
    found = {}
    for p in descendants_of(pid):
        if cmdline_of(p).startswith(b"snakevisor-stub"):
            st = stat_of(p)
            if st is not None:
                found[p] = st[2]
    return found


def still_running(stubs):
    """The stubs of ``stubs`` ({pid: start time}) that still run (neither gone, nor a zombie, nor
    a new process with the same pid)."""
    alive = []
    for pid, start in stubs.items():
        st = stat_of(pid)
        if st is not None and st[2] == start and st[0] not in ("Z", "X"):
            alive.append(pid)
    return alive


def wait_gone(stubs, timeout=30):
    """Poll until none of ``stubs`` ({pid: start time}) runs or ``timeout`` s pass; those still running."""
    end = time.monotonic() + timeout
    while True:
        alive = still_running(stubs)
        if not alive or time.monotonic() > end:
            return alive
        time.sleep(0.05)
