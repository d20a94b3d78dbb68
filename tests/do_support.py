"""Looking at a running `snakevisor do` from the host: its sandbox process (the Sentry) and the
host tasks in the sandbox's PID namespace."""
import os


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
