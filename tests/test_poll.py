"""poll/select/epoll/eventfd/timerfd: a differential C program, plus epoll behaviour checked directly."""

from harness import compile_c

from snakevisor.abi.errno import ELOOP, SyscallError
from snakevisor.abi.fs import O_NONBLOCK
from snakevisor.abi.poll import EPOLLET, EPOLLIN, EPOLLONESHOT, EPOLLOUT
from snakevisor.sentry.fsimpl.epollfs import new_epoll
from snakevisor.sentry.fsimpl.eventfd import new_eventfd
from snakevisor.sentry.fsimpl.pipefs import new_pipe


def test_epoll_level_edge_oneshot():
    ep = new_epoll(2)
    r, w = new_pipe(O_NONBLOCK)
    e = ep.impl
    e.add(None, r, 3, EPOLLIN, 7)
    assert e.collect(None, 8) == []
    w.write(None, b"x")
    assert e.collect(None, 8) == [(EPOLLIN, 7)]
    assert e.collect(None, 8) == [(EPOLLIN, 7)]        # level-triggered: still there
    e.modify(None, r, 3, EPOLLIN | EPOLLET, 8)
    assert e.collect(None, 8) == [(EPOLLIN, 8)]
    assert e.collect(None, 8) == []                    # edge: once per change
    w.write(None, b"y")
    assert e.collect(None, 8) == [(EPOLLIN, 8)]
    e.modify(None, r, 3, EPOLLIN | EPOLLONESHOT, 9)
    assert e.collect(None, 8) == [(EPOLLIN, 9)]
    w.write(None, b"z")
    assert e.collect(None, 8) == []                    # disabled until re-armed
    # Closing the last reference drops the entry.
    r.dec_ref()
    assert e.collect(None, 8) == [] and not e.interest
    w.dec_ref()
    ep.dec_ref()


def test_epoll_nesting_and_loops():
    a, b = new_epoll(2), new_epoll(2)
    efd = new_eventfd(0, False, True)
    a.impl.add(None, efd, 5, EPOLLIN | EPOLLOUT, 1)
    b.impl.add(None, a, 6, EPOLLIN, 2)
    try:
        a.impl.add(None, b, 7, EPOLLIN, 3)
        raise AssertionError("loop accepted")
    except SyscallError as e:
        assert e.errno == ELOOP
    assert b.impl.collect(None, 4) == [(EPOLLIN, 2)]   # efd is writable, so a is ready


def test_poll_semantics_differential(differential):
    differential([compile_c("poll_semantics")])
