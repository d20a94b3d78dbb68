"""Shared subtrees (Documentation/filesystems/sharedsubtree.rst, fs/pnode.c): peer groups, masters
and slaves, and the propagation of mount and umount events between them.

A *shared* mount is a member of a ``PeerGroup``; a mount (shared or not) may be a *slave* of one
group, its ``master``; a private mount is neither; an unbindable one is private and may not be
bound. What is mounted or unmounted on a shared mount happens on every peer and, one way, on every
slave, whatever mount namespace each is in (a copy of a namespace keeps its shared mounts peers of
the originals). Linux keeps a slave on one master *mount*'s list; every member of that mount's
peer group propagates to it all the same, so here a group holds its slaves. Group ids are
kernel-wide, the lowest free (mountinfo's "shared:N", "master:N").
"""
import heapq
import itertools

from snakevisor.abi.errno import ENOSPC, SyscallError
from snakevisor.sentry.vfs.mount import VirtualDentry
from snakevisor.sentry.vfs.resolve import is_reachable


class _GroupIds:
    """The lowest free peer group id (Linux's mnt_group_ida)."""

    def __init__(self):
        self.next, self.free = itertools.count(1), []

    def take(self) -> int:
        return heapq.heappop(self.free) if self.free else next(self.next)

    def give_back(self, n: int) -> None:
        heapq.heappush(self.free, n)


GROUP_IDS = _GroupIds()


class PeerGroup:
    """Mounts that propagate to one another (``members``, in joining order) and the mounts that
    receive their events one way (``slaves``)."""

    __slots__ = ("id", "members", "slaves")

    def __init__(self):
        self.id = GROUP_IDS.take()
        self.members: dict = {}
        self.slaves: dict = {}


def join(m, group: PeerGroup) -> None:
    """``m`` becomes shared in ``group`` (a new one of its own: set_mnt_shared's invented id)."""
    m.group = group
    group.members[m] = None


def set_master(m, group) -> None:
    """``m`` becomes a slave of ``group`` (None: of nothing)."""
    if m.master is not None:
        m.master.slaves.pop(m, None)
    m.master = group
    if group is not None:
        group.slaves[m] = None


def _leave_group(m) -> None:
    """``m`` stops being shared; a group left without members ends, its slaves going to ``m``'s
    master (do_make_slave: they keep receiving what ``m`` received) or becoming free."""
    group, m.group = m.group, None
    del group.members[m]
    if not group.members:
        for s in list(group.slaves):
            set_master(s, m.master)
        GROUP_IDS.give_back(group.id)


def dominating_id(m, root) -> int:
    """get_dominating_id: the id of the closest group ``m`` receives from (its master, the
    master's master...) with a member in ``m``'s namespace at or below ``root`` (the reader's
    root), 0 if none: mountinfo's "propagate_from:N" where that is not the master itself."""
    group, seen = m.master, set()
    while group is not None and group not in seen:
        seen.add(group)
        if any(r.vfs is m.vfs and is_reachable(VirtualDentry(r, r.root), root) for r in group.members):
            return group.id
        group = next(iter(group.members)).master if group.members else None   # peers share a master
    return 0


def change(m, kind: str) -> None:
    """change_mnt_propagation: make ``m`` "shared", "slave", "private" or "unbindable"."""
    if kind == "shared":
        if m.group is None:
            join(m, PeerGroup())
        m.unbindable = False
        return
    group = m.group
    if group is not None:   # do_make_slave: a slave of its former peers, if it had any
        _leave_group(m)
        if group.members:
            set_master(m, group)
    if kind != "slave":
        set_master(m, None)
        m.unbindable = kind == "unbindable"


def clone_roles(old, new, shared_to_slave: bool = False) -> None:
    """clone_mnt's propagation for a copy ``new`` of ``old``: a peer of a shared ``old`` and a
    slave of its master (a bind, a namespace copy), or, for a namespace copy owned by another
    user namespace (CL_SHARED_TO_SLAVE), a slave of a shared ``old``'s group."""
    new.group, new.master, new.unbindable = None, None, old.unbindable
    if shared_to_slave and old.group is not None:
        set_master(new, old.group)
        return
    if old.group is not None:
        join(new, old.group)
    set_master(new, old.master)


def invent_groups(mounts) -> None:
    """invent_group_ids: every mount of a tree attached on a shared mount becomes shared."""
    for m in mounts:
        if m.group is None:
            join(m, PeerGroup())


def _receivers(dest, skip, mountpoint):
    """The propagation tree of ``dest`` (propagation_next), the mounts in ``skip`` and those that
    do not show ``mountpoint`` (not at or below their root) left out: [(receiver, source index,
    role)], where the source is 0 (the tree mounted on ``dest``) or 1 + the index of an earlier
    step (its copy), and role is "peer" (the copy a peer of the source's mounts), "slave" (their
    slave) or "shared slave" (their slave, shared in new groups the receiver's peers then join)."""
    steps, seen = [], {dest.group}

    def receives(r):
        return (r is not dest and r not in skip and r.vfs is not None and not r.vfs.anonymous
                and r.root.is_ancestor_of(mountpoint))

    def peers_of(group, source, role_of_first):
        first = None
        for r in [r for r in group.members if receives(r)]:
            if first is None and role_of_first != "peer":
                steps.append((r, source, role_of_first))
                first = len(steps)
            else:
                steps.append((r, source if first is None else first, "peer"))
        return source if first is None else first

    def slaves_of(group, source):
        for s in list(group.slaves):
            if s.group is None:
                if receives(s):
                    steps.append((s, source, "slave"))
            elif s.group not in seen:
                seen.add(s.group)
                slaves_of(s.group, peers_of(s.group, source, "shared slave"))
    peers_of(dest.group, 0, "peer")
    slaves_of(dest.group, 0)
    return steps


def plan_mount(dest, mountpoint, skip, tree_size, mount_max) -> list:
    """propagate_mnt's receivers for a tree of ``tree_size`` mounts (``skip``: those of them that
    exist already) about to be attached at (``dest``, ``mountpoint``): every receiver of a
    shared ``dest``'s propagation tree that shows ``mountpoint``. ENOSPC, before anything
    changes, if a namespace would pass ``mount_max`` mounts."""
    if dest.group is None:
        return []
    steps = _receivers(dest, skip, mountpoint)
    per_ns = {}
    for r, _, _ in steps:
        per_ns[r.vfs] = per_ns.get(r.vfs, 0) + tree_size
    per_ns[dest.vfs] = per_ns.get(dest.vfs, 0) + tree_size
    if any(len(vfs.mounts) + n > mount_max for vfs, n in per_ns.items()):
        raise SyscallError(ENOSPC)
    return steps


def apply_mount(steps, top, below, lock_across) -> None:
    """Copy the tree ``top`` (with ``below``: (mount, parent, mountpoint), parents first), now
    attached and shared, onto each receiver of ``steps`` (plan_mount's). A mount the receiver
    has there already goes on the copy's root (mnt_change_mountpoint). ``lock_across(receiver)``:
    the copy goes into a namespace of another user namespace, so its mounts below the top are
    locked."""
    trees = [(top, below)]
    for r, src, role in steps:
        trees.append(_copy_onto(r, top.mountpoint, trees[src], role, lock_across(r)))


def _copy_onto(r, mountpoint, tree, role, locked):
    """A copy of ``tree`` ((top, below)) in ``role`` to its mounts, grafted at (``r``,
    ``mountpoint``); returns the copy as a tree."""
    top, below = tree
    copies = {}
    for m in [top] + [c for c, _, _ in below]:
        c = copies[m] = m.copy(roles=role == "peer")
        if role != "peer":
            set_master(c, m.group if m.group is not None else m.master)
            if role == "shared slave":
                join(c, PeerGroup())
        if locked:
            c.lock(root=m is top)
    new_top = copies[top]
    new_top.locked = False   # attach_recursive_mnt: the top of a propagated tree may go alone
    r.vfs.graft_tucked(new_top, VirtualDentry(r, mountpoint))
    new_below = []
    for c, parent, where in below:
        r.vfs.graft(copies[c], VirtualDentry(copies[parent], where))
        new_below.append((copies[c], copies[parent], where))
    return new_top, new_below


def umount_targets(gone) -> list:
    """propagate_umount: what goes with ``gone`` (mounts being unmounted, parents first): on each
    receiver of a gone mount's parent's group, the mount at the same mountpoint, unless something
    that is not going is mounted below it (UmountIgnoresPeersWithChildren) other than one mount
    wholly covering it (its "topper", which then takes its place). [(mount, topper or None)],
    children first."""
    going = dict.fromkeys(gone)
    out, seen = [], set()
    for u in reversed(gone):
        parent = u.parent
        if parent is None or parent.group is None or (parent.group, u.mountpoint) in seen:
            continue
        seen.add((parent.group, u.mountpoint))
        for r, _, _ in _receivers(parent, going, u.mountpoint):
            q = r.vfs.covering.get(VirtualDentry(r, u.mountpoint))
            if q is None or q in going or q.locked:
                continue
            rest = [c for c in r.vfs.children(q) if c not in going]
            if len(rest) > 1 or rest and rest[0].mountpoint is not q.root:
                continue
            going[q] = None
            out.append((q, rest[0] if rest else None))
    return out
