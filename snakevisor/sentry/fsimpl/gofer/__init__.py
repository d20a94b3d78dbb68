"""The gofer filesystem: files of the container's root and volumes, served over 9P by the Gofer.

Each inode holds a 9P fid (a capability the Gofer gave us); every change is
one or two 9P requests. For regular files the Gofer may donate a host
descriptor at open, and I/O is then a plain ``pread``/``pwrite`` on it.

Caching. A filesystem is *exclusive* when this sandbox is its only writer (the
root overlay: the Gofer serves it to nobody else). Attributes are then kept
here and updated locally after each of our own changes, and failed lookups are
remembered (and forgotten when we create the name). A shared filesystem (a
volume: host processes may change it) keeps no negative entries, revalidates a
cached child with a walk before using it, and refreshes attributes on stat and
open (an ``fstat`` of the donated descriptor when there is one).

Modules, by concern:

- ``filesystem.py``: ``GoferFilesystem``, the mount: its inodes by host inode
  number, the inode class for each file type, statfs, write-back at exit.
- ``inode.py``: ``GoferInode``, the base of every gofer inode: attributes and
  their revalidation, setattr, xattrs, special files; ``GoferSymlink``.
- ``xattr.py``: extended attributes over Txattrwalk/Txattrcreate.
- ``directory.py``: ``GoferDirectory``: lookup, revalidation of cached names,
  listing, create/mkdir/mknod/symlink/link/unlink/rmdir/rename.
- ``regular.py``: ``GoferRegularFile`` (data I/O, fallocate, truncation, fsync)
  and ``GoferFileImpl``, its open file description.
- ``handles.py``: host handles (donated descriptors or opened fids) in one
  Sentry-wide LRU bounded independently of the application's RLIMIT_NOFILE, a
  file's reader/writer pair, and each mount's bounded set of idle files.
- ``mapping.py``: the page cache of mapped files, writable shared mappings and
  the write-back of the pages they dirty.
"""
