"""fsnotify: the VFS telling watchers what happened to files (Linux's fs/notify/fsnotify.c).

The VFS calls the functions here at the points where Linux calls its fsnotify hooks (open, read,
write, close, create, unlink, rename, attribute changes); the marks they reach are what inotify
(fsimpl/inotify.py) registers on inodes. While no mark exists anywhere each call returns at its
first test, so the hot paths pay one dictionary check.

A mark is anything with ``deliver(inode, mask, cookie, name)`` (it filters by its own mask) and
``on_inode_gone(inode)``; ``marks`` maps an Inode to its marks, and a mark holds a reference on
the inode (inotify pins inodes too).
"""
import itertools

from snakevisor.abi import inotify as N

marks: dict = {}          # Inode -> list of marks
_cookies = itertools.count(1)


def add_mark(inode, mark) -> None:
    if inode not in marks:
        inode.inc_ref()
        marks[inode] = []
    marks[inode].append(mark)


def remove_mark(inode, mark) -> None:
    lst = marks.get(inode)
    if lst is None or mark not in lst:
        return
    lst.remove(mark)
    if not lst:
        del marks[inode]
        inode.dec_ref()


def _isdir(inode):
    return N.IN_ISDIR if inode.is_dir else 0


def _send(inode, mask, cookie=0, name=b"", unlinked=False):
    for mark in list(marks.get(inode, ())):
        mark.deliver(inode, mask, cookie, name, unlinked=unlinked)


def file_event(dentry, mask: int, of_inode: bool = False) -> None:
    """An event on the file itself (open, access, modify, attrib, close): its own marks get it,
    and its directory's marks too, with the file's name (Linux's fsnotify_parent). IN_EXCL_UNLINK
    watches ignore I/O through an unlinked name, not changes to the inode (``of_inode``:
    notify_change's and xattrs', which Linux reports without a path)."""
    if not marks:
        return
    inode = dentry.inode
    mask |= _isdir(inode)
    parent = dentry.parent
    unlinked = dentry.dead and not of_inode
    if parent is not None and parent.inode in marks and mask & N.EVENTS_ON_CHILD:
        for mark in list(marks[parent.inode]):
            mark.deliver(parent.inode, mask, 0, dentry.name, unlinked=unlinked)
    _send(inode, mask, unlinked=unlinked)


def entry_event(dir_inode, mask: int, name: bytes, child_inode, cookie: int = 0) -> None:
    """A name in a directory was created, removed or moved: the directory's marks get it."""
    if marks and dir_inode in marks:
        _send(dir_inode, mask | _isdir(child_inode), cookie, name)


def created(parent_dentry, name: bytes, inode) -> None:
    entry_event(parent_dentry.inode, N.IN_CREATE, name, inode)


def linked(parent_dentry, name: bytes, inode) -> None:
    """link(2): the inode's link count changed (IN_ATTRIB), and a name appeared."""
    if marks:
        _send(inode, N.IN_ATTRIB | _isdir(inode))
        created(parent_dentry, name, inode)


def link_count_changed(inode) -> None:
    """unlink(2) (before the name goes): the inode's marks see its link count change."""
    if marks and inode in marks and not inode.is_dir:
        _send(inode, N.IN_ATTRIB)


def removed(parent_dentry, name: bytes, inode) -> None:
    """unlink/rmdir (after the name went): IN_DELETE to the directory. The inode's own
    IN_DELETE_SELF came (or comes) when its Dentry was released (``dentry_released``)."""
    entry_event(parent_dentry.inode, N.IN_DELETE, name, inode)


def dentry_released(dentry) -> None:
    """The last user of an unlinked Dentry went: if that was the inode's last name, its marks get
    IN_DELETE_SELF and go (each watcher sees IN_IGNORED)."""
    inode = dentry.inode
    if marks and inode in marks and inode.nlink <= 0:
        _send(inode, N.IN_DELETE_SELF)
        for mark in list(marks.get(inode, ())):
            mark.on_inode_gone(inode)


def moved(old_dir, old_name: bytes, new_dir, new_name: bytes, inode, replaced=None) -> None:
    """rename(2), before the Dentry cache follows: MOVED_FROM and MOVED_TO share a cookie, the
    moved inode gets IN_MOVE_SELF, a replaced inode IN_ATTRIB (and IN_DELETE_SELF as its Dentry
    is released)."""
    if not marks:
        return
    cookie = next(_cookies) & 0xFFFFFFFF
    entry_event(old_dir.inode, N.IN_MOVED_FROM, old_name, inode, cookie)
    entry_event(new_dir.inode, N.IN_MOVED_TO, new_name, inode, cookie)
    if replaced is not None:
        link_count_changed(replaced.inode)
    _send(inode, N.IN_MOVE_SELF | _isdir(inode))


def attributes_changed(dentry, mode=False, owner=False, atime=False, mtime=False, size=False) -> None:
    """notify_change's events: a size change is IN_MODIFY, both times or mode/owner IN_ATTRIB,
    atime alone IN_ACCESS, mtime alone IN_MODIFY (fsnotify_change)."""
    if not marks:
        return
    mask = 0
    if owner or mode or (atime and mtime):
        mask |= N.IN_ATTRIB
    elif atime:
        mask |= N.IN_ACCESS
    elif mtime:
        mask |= N.IN_MODIFY
    if size:
        mask |= N.IN_MODIFY
    if mask:
        file_event(dentry, mask, of_inode=True)
