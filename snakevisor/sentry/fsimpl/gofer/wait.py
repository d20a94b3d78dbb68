"""A Task waiting for the Gofer: runs a 9P client's steps (p9/client.py) from its coroutine.

A reply that has not come within GRACE is waited for like a pipe's data (on a
WaitQueue the client notifies), so other Tasks run meanwhile. As Linux's
regular-file I/O, the wait is not cut short by a catchable signal (it is
delivered after); SIGKILL ends the Task by closing its coroutine, and the
request's reply is then dropped on arrival.
"""
from snakevisor.sentry.vfs.waiter import WaitQueue, wait_killable

# How long the loop itself waits for a reply before the Task yields: a quick reply (most are,
# ~0.1 ms) then costs no wake-up of the loop; a slow Gofer holds the other Tasks this long at most.
GRACE = 0.001


def in_task(task, steps):
    """Run ``steps`` to its end from ``task`` (a generator: ``yield from`` it); its value."""
    try:
        p = steps.send(None)
        while True:
            client = p.client
            if client.loop is None:
                client.wait(p)   # a client no loop reads (unit tests' worlds): wait right here
            elif not client.wait_briefly(p, GRACE):
                queue = WaitQueue()
                client.wait_in_loop(p, queue)
                yield from wait_killable(task, queue, lambda: p.done)
            p = steps.send(None)
    except StopIteration as stop:
        return stop.value
    finally:
        steps.close()   # killed while waiting: the request is cancelled
