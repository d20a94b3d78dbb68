"""epoll_create/create1/ctl/wait/pwait/pwait2 over fsimpl/epollfs.EpollImpl."""
from snakevisor.abi.errno import EINVAL, SyscallError
from snakevisor.abi.fs import O_RDWR, to_s32
from snakevisor.abi.poll import (EP_MAX_EVENTS, EPOLL_CLOEXEC, EPOLL_CTL_ADD, EPOLL_CTL_DEL, EPOLL_CTL_MOD,
                                 EPOLL_EVENT, EPOLLEXCLUSIVE, EPOLLET, EPOLLIN, EPOLLOUT, EPOLLERR,
                                 EPOLLHUP, EPOLLRDHUP, EPOLLPRI, EPOLLRDNORM, EPOLLWRNORM, EPOLLWAKEUP)
from snakevisor.sentry.fsimpl.epollfs import EpollImpl, new_epoll
from snakevisor.sentry.syscalls.poll import end_from_ms, end_from_timespec, read_sigmask, sigmask_scope, time_left
from snakevisor.sentry.syscalls.newfd import install_new

# What EPOLLEXCLUSIVE may be combined with (Linux's EPOLLEXCLUSIVE_OK_BITS).
EXCLUSIVE_OK = EPOLLIN | EPOLLOUT | EPOLLERR | EPOLLHUP | EPOLLWAKEUP | EPOLLET | EPOLLEXCLUSIVE | \
    EPOLLRDNORM | EPOLLWRNORM | EPOLLPRI | EPOLLRDHUP


def _install(t, flags):
    if flags & ~EPOLL_CLOEXEC:
        raise SyscallError(EINVAL)
    f = new_epoll(O_RDWR)
    return install_new(t, f, bool(flags & EPOLL_CLOEXEC))


def epoll_create(t, size):
    if to_s32(size) <= 0:
        raise SyscallError(EINVAL)
    return _install(t, 0)


def epoll_create1(t, flags):
    return _install(t, to_s32(flags))


def _epoll_of(t, epfd) -> EpollImpl:
    f = t.fdtable.get(to_s32(epfd))
    f.check_not_path()
    if not isinstance(f.impl, EpollImpl):
        raise SyscallError(EINVAL)
    return f.impl


def epoll_ctl(t, epfd, op, fd, event):
    op, fd = to_s32(op), to_s32(fd)
    events = data = 0
    if op in (EPOLL_CTL_ADD, EPOLL_CTL_MOD):
        events, data = EPOLL_EVENT.unpack(t.mm.copy_in(event, EPOLL_EVENT.size))
    ep = _epoll_of(t, epfd)
    target = t.fdtable.get(fd)
    target.check_not_path()
    if target.impl is ep:
        raise SyscallError(EINVAL)
    if events & EPOLLEXCLUSIVE:
        if op == EPOLL_CTL_MOD or events & ~EXCLUSIVE_OK:
            raise SyscallError(EINVAL)
    if op == EPOLL_CTL_ADD:
        ep.add(t, target, fd, events, data)
    elif op == EPOLL_CTL_MOD:
        ep.modify(t, target, fd, events, data)
    elif op == EPOLL_CTL_DEL:
        ep.delete(target, fd)
    else:
        raise SyscallError(EINVAL)
    return 0


def _wait(t, epfd, events_ptr, maxevents, end):
    maxevents = to_s32(maxevents)
    if maxevents <= 0 or maxevents > EP_MAX_EVENTS:
        raise SyscallError(EINVAL)
    f = t.fdtable.get(to_s32(epfd))
    f.check_not_path()
    ep = f.impl
    if not isinstance(ep, EpollImpl):
        raise SyscallError(EINVAL)
    # Hold the instance while we sleep: a concurrent close must not free it under us.
    f.inc_ref()
    try:
        while True:
            got = ep.collect(t, maxevents)
            if got:
                t.mm.copy_out(events_ptr, b"".join(EPOLL_EVENT.pack(ev, data) for ev, data in got))
                return len(got)
            left = time_left(end)
            if left == 0:
                return 0
            yield from t.block_on_many(ep.wait_items(), left)
    finally:
        f.dec_ref()


def epoll_wait(t, epfd, events, maxevents, timeout):
    return (yield from _wait(t, epfd, events, maxevents, end_from_ms(timeout)))


def epoll_pwait(t, epfd, events, maxevents, timeout, sigmask, sigsetsize):
    mask = read_sigmask(t, sigmask, sigsetsize)
    return (yield from sigmask_scope(t, mask, _wait(t, epfd, events, maxevents, end_from_ms(timeout))))


def epoll_pwait2(t, epfd, events, maxevents, tsp, sigmask, sigsetsize):
    end = end_from_timespec(t, tsp)
    mask = read_sigmask(t, sigmask, sigsetsize)
    return (yield from sigmask_scope(t, mask, _wait(t, epfd, events, maxevents, end)))
