"""epoll instances: interest lists, ready lists, level/edge triggering, nesting.

An ``EpollImpl`` is the FileDescriptionImpl of an epoll fd. Each interest
entry is keyed by (FileDescription, fd) as in Linux. Files living in the
Sentry (pipes, Unix sockets, eventfds, other epolls) get a callback on their
WaitQueue that puts the entry on the ready list (what Linux's ep_poll_callback
does); ``collect`` then asks each ready entry's file for its readiness, so what
is reported is always exact, and level-triggered entries stay on the list.
Files backed by a host descriptor (INET sockets, host stdio, timerfds) are
added to a host epoll instance owned by this one with the same flags, so edge
triggering and EPOLLONESHOT on them are the host kernel's own.

Entries do not hold a reference on their file (Linux neither): an entry whose
file's last reference is gone is dropped the next time the instance looks.
"""
import os
import select as _select

from snakevisor.abi.errno import EEXIST, EINVAL, ELOOP, ENOENT, EPERM, SyscallError
from snakevisor.abi.poll import (EPOLLERR, EPOLLET, EPOLLEXCLUSIVE, EPOLLHUP, EPOLLIN, EPOLLONESHOT, EPOLLOUT, EPOLLRDNORM,
                                 EPOLL_INPUT_FLAGS, EPOLLWAKEUP)
from snakevisor.sentry.fsimpl.anon import anon_inode_file
from snakevisor.sentry.vfs.file import FileDescriptionImpl
from snakevisor.sentry.vfs.waiter import HostFdWaitable, WaitQueue

MAX_NESTS = 4   # Linux's EP_MAX_NESTS


class EpollEntry:
    __slots__ = ("file", "fd", "events", "data", "handle", "host_fd", "dup_fd", "disabled")

    def __init__(self, file, fd, events, data):
        self.file, self.fd, self.events, self.data = file, fd, events, data
        self.handle = None      # WaitQueue registration (Sentry files)
        self.host_fd = None     # registered in the host epoll (host files)
        self.dup_fd = None      # our own dup when the same host fd is already registered
        self.disabled = False   # EPOLLONESHOT fired

    @property
    def mask(self) -> int:
        return (self.events & ~EPOLL_INPUT_FLAGS) | EPOLLERR | EPOLLHUP


class EpollImpl(FileDescriptionImpl):
    seekable = False

    def __init__(self):
        super().__init__()
        self.interest: dict = {}     # (id(file), fd) -> EpollEntry
        self.ready: dict = {}        # key -> EpollEntry, in arrival order
        self.queue = WaitQueue()     # waiters on this instance (epoll_wait, poll, outer epolls)
        self.host_ep = None          # select.epoll for host-backed files, made on first use
        self.by_host_fd: dict = {}   # host fd registered -> EpollEntry
        self.nested: dict = {}       # key -> EpollEntry of an epoll watched through its WaitQueue

    # --- interest list ---------------------------------------------------------
    def _callback(self, key):
        def on_event(events):
            e = self.interest.get(key)
            if e is None or e.disabled:
                return False
            waiters = len(self.queue)
            if key not in self.ready:
                self.ready[key] = e
                self.queue.notify(EPOLLIN | EPOLLRDNORM)
            # For an EPOLLEXCLUSIVE entry: did this wake someone waiting on the instance
            # (ep_poll_callback's ewake)? Then the file's other exclusive waiters sleep on.
            inout = events & (EPOLLIN | EPOLLOUT)
            return bool(waiters) and (not inout or inout != EPOLLIN | EPOLLOUT and bool(e.events & inout))
        return on_event

    def add(self, task, file, fd: int, events: int, data: int) -> None:
        key = (id(file), fd)
        if key in self.interest:
            raise SyscallError(EEXIST)
        impl = file.impl
        if isinstance(impl, EpollImpl):
            if events & EPOLLEXCLUSIVE:
                raise SyscallError(EINVAL)
            if impl is self or impl._reaches(self, 0):
                raise SyscallError(ELOOP)
        w = file.waitable(task)
        e = EpollEntry(file, fd, events, data)
        if isinstance(w, HostFdWaitable):
            first = not self.by_host_fd
            self._host_add(e, w.fd)
            if first:   # a thread already in epoll_wait watches no host epoll yet: it must look again
                self.queue.notify(EPOLLIN | EPOLLRDNORM)
        elif isinstance(w, WaitQueue):
            e.handle = (w, w.register(self._callback(key), e.mask, bool(events & EPOLLEXCLUSIVE)))
            if isinstance(impl, EpollImpl):
                self.nested[key] = e   # its host files do not reach its WaitQueue: see _nested_ready
        else:
            # Regular files and directories have no poll: Linux refuses them.
            raise SyscallError(EPERM)
        self.interest[key] = e
        if e.handle is not None and file.readiness(task, e.mask):
            self.ready[key] = e
            self.queue.notify(EPOLLIN | EPOLLRDNORM)

    def modify(self, task, file, fd: int, events: int, data: int) -> None:
        key = (id(file), fd)
        e = self.interest.get(key)
        if e is None:
            raise SyscallError(ENOENT)
        if events & EPOLLEXCLUSIVE or e.events & EPOLLEXCLUSIVE:
            raise SyscallError(EINVAL)
        e.events, e.data, e.disabled = events, data, False
        if e.host_fd is not None:
            self.host_ep.modify(e.dup_fd if e.dup_fd is not None else e.host_fd, self._host_mask(e))
            return
        queue, handle = e.handle
        queue.unregister(handle)
        e.handle = (queue, queue.register(self._callback(key), e.mask))
        if file.readiness(task, e.mask):
            self.ready[key] = e
            self.queue.notify(EPOLLIN | EPOLLRDNORM)

    def delete(self, file, fd: int) -> None:
        key = (id(file), fd)
        e = self.interest.get(key)
        if e is None:
            raise SyscallError(ENOENT)
        self._drop(key, e)

    def _drop(self, key, e) -> None:
        self.interest.pop(key, None)
        self.ready.pop(key, None)
        self.nested.pop(key, None)
        if e.handle is not None:
            e.handle[0].unregister(e.handle[1])
        if e.host_fd is not None:
            hfd = e.dup_fd if e.dup_fd is not None else e.host_fd
            # A closed file's entry goes late (_purge): its host descriptor's number may be
            # another entry's by now (a new file's, or a dup's), which must stay registered.
            if self.by_host_fd.get(hfd) is e:
                del self.by_host_fd[hfd]
                try:
                    self.host_ep.unregister(hfd)
                except OSError:
                    pass   # already gone with its host descriptor
            if e.dup_fd is not None:
                os.close(e.dup_fd)

    def _purge(self) -> None:
        """Drop entries whose file has been closed for good."""
        for key, e in [(k, e) for k, e in self.interest.items() if e.file.refs <= 0]:
            self._drop(key, e)

    def _reaches(self, target, depth) -> bool:
        if depth >= MAX_NESTS:
            return True
        for e in self.interest.values():
            impl = e.file.impl
            if isinstance(impl, EpollImpl) and (impl is target or impl._reaches(target, depth + 1)):
                return True
        return False

    # --- host-backed files -------------------------------------------------------
    @staticmethod
    def _host_mask(e) -> int:
        return e.events & ~EPOLLWAKEUP

    def _host_add(self, e, host_fd) -> None:
        if self.host_ep is None:
            self.host_ep = _select.epoll()
        hfd = host_fd
        if hfd in self.by_host_fd:
            # The same host descriptor under another fd: register a dup of it.
            e.dup_fd = hfd = os.dup(host_fd)
        try:
            self.host_ep.register(hfd, self._host_mask(e))
        except OSError as err:
            if e.dup_fd is not None:
                os.close(e.dup_fd)
            raise SyscallError(err.errno or EPERM)
        e.host_fd = host_fd
        self.by_host_fd[hfd] = e

    # --- readiness -----------------------------------------------------------------
    def collect(self, task, maxevents: int, consume: bool = True) -> list:
        """Up to ``maxevents`` (events, data) pairs that are ready now for ``task`` (epoll_wait's caller)."""
        self._purge()
        if self.nested:
            self._nested_ready(task)
        out = []
        for key, e in list(self.ready.items()):
            if len(out) >= maxevents:
                break
            ev = e.file.readiness(task, e.mask) & e.mask if not e.disabled else 0
            if not ev:
                del self.ready[key]
                continue
            out.append((ev, e.data))
            if not consume:
                continue
            del self.ready[key]
            if e.events & EPOLLONESHOT:
                e.disabled = True
            elif not e.events & EPOLLET:
                self.ready[key] = e   # level-triggered: still ready, goes to the back
        if self.by_host_fd and len(out) < maxevents:
            if consume:
                for hfd, ev in self.host_ep.poll(0, maxevents - len(out)):
                    e = self.by_host_fd.get(hfd)
                    if e is not None and e.file.refs > 0:
                        out.append((ev, e.data))
            elif _host_pollin(self.host_ep.fileno()):
                out.append((EPOLLIN, 0))
        return out

    def _nested_ready(self, task) -> None:
        """Nested instances holding host files: their host events never reach their WaitQueue, so
        ask them (a nested entry behaves as level-triggered here)."""
        for key, e in self.nested.items():
            if key not in self.ready and not e.disabled and e.file.impl.by_host_fd and \
                    e.file.readiness(task, e.mask):
                self.ready[key] = e

    def wait_items(self, depth=0):
        items = [(self.queue, EPOLLIN)]
        if self.by_host_fd:
            items.append((HostFdWaitable(self.host_ep.fileno()), EPOLLIN))
        if depth < MAX_NESTS:
            for e in self.nested.values():   # (the nested instances' host epolls too)
                items.extend(e.file.impl.wait_items(depth + 1)[1:])
        return items

    def readiness(self, task, mask):
        return (EPOLLIN | EPOLLRDNORM) & mask if self.collect(task, 1, consume=False) else 0

    def waitable(self, task):
        # A nested instance is woken through its queue; one holding only host files
        # through its host epoll descriptor.
        if self.by_host_fd and len(self.by_host_fd) == len(self.interest):
            return HostFdWaitable(self.host_ep.fileno())
        return self.queue

    def read(self, task, n, offset):
        raise SyscallError(EINVAL)

    def write(self, task, data, offset):
        raise SyscallError(EINVAL)

    def release(self):
        for key, e in list(self.interest.items()):
            self._drop(key, e)
        if self.host_ep is not None:
            self.host_ep.close()
            self.host_ep = None


def _host_pollin(fd) -> bool:
    p = _select.poll()
    p.register(fd, _select.POLLIN)
    return bool(p.poll(0))


def new_epoll(flags: int):
    """A new epoll FileDescription (refs=1)."""
    return anon_inode_file("eventpoll", EpollImpl(), flags)
