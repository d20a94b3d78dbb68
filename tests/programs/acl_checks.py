"""POSIX ACL checks beyond real_found.c's posix_acl case, run natively and in the sandbox by
tests/test_real_found.py in the directory argv[1] names (a tmpfs or a Gofer file): a directory searched
through a named user, owning/named groups and supplementary groups (a matching entry that does not
grant refuses), access(2), the set-group-ID bit an ACL change drops, default ACLs with O_TMPFILE,
umask 077 and mkfifo, symlinks (EOPNOTSUPP)."""
import os, struct, sys, errno
sys.stdout.reconfigure(line_buffering=True)   # forked children print too
base = sys.argv[1] + "/acl2.%d" % os.getpid(); os.mkdir(base); os.chdir(base)
def acl(*e): return struct.pack("<I", 2) + b"".join(struct.pack("<HHI", t, p, i) for t, p, i in e)
N = 0xffffffff
def tryit(label, fn):
    try: r = fn(); print(label, "ok", r if r is not None else "")
    except OSError as e: print(label, errno.errorcode[e.errno])
def as_user(label, uid, gid, fn, groups=()):
    pid = os.fork()
    if pid == 0:
        os.setgroups(list(groups)); os.setresgid(gid, gid, gid); os.setresuid(uid, uid, uid); tryit(label, fn); os._exit(0)
    os.waitpid(pid, 0)
os.umask(0o022)
os.mkdir("d", 0o700); open("d/f", "w").write("x")
# a directory searchable through a named user entry
tryit("dir acl", lambda: os.setxattr("d", "system.posix_acl_access", acl((1,7,N),(2,1,65534),(4,0,N),(0x10,1,N),(0x20,0,N))))
tryit("mode", lambda: oct(os.stat("d").st_mode))
os.chmod("d/f", 0o644)
as_user("search via named user", 65534, 65534, lambda: open("d/f").read())
as_user("search other", 65533, 65533, lambda: open("d/f").read())
as_user("list via named user (no r)", 65534, 65534, lambda: os.listdir("d"))
# group entries: named group and owning group, supplementary groups
open("g", "w").write("y"); os.chown("g", 0, 100)
tryit("group acl", lambda: os.setxattr("g", "system.posix_acl_access", acl((1,6,N),(4,0,N),(8,4,65534),(8,2,65533),(0x10,6,N),(0x20,4,N))))
tryit("mode", lambda: oct(os.stat("g").st_mode))
as_user("owning group member reads", 1000, 100, lambda: open("g").read())
as_user("named group reads", 1000, 1000, lambda: open("g").read(), groups=[65534])
as_user("named group 65533 reads", 1000, 1000, lambda: open("g").read(), groups=[65533])
as_user("other reads", 1000, 1000, lambda: open("g").read())
as_user("access(R_OK) named group", 1000, 1000, lambda: os.access("g", os.R_OK), groups=[65534])
# setgid cleared by setting an ACL as a non-member without CAP_FSETID
open("s", "w").close(); os.chmod("s", 0o2775); os.chown("s", 1000, 1000)
as_user("owner sets acl on sgid file", 1000, 1001, lambda: os.setxattr("s", "system.posix_acl_access", acl((1,7,N),(4,7,N),(0x20,5,N))))
tryit("sgid mode after", lambda: oct(os.stat("s").st_mode))
# default ACL + O_TMPFILE, mknod fifo, and a file created by another umask
tryit("default", lambda: os.setxattr(".", "system.posix_acl_default", acl((1,7,N),(4,7,N),(0x20,0,N))))
tryit("tmpfile", lambda: (lambda fd: oct(os.fstat(fd).st_mode))(os.open(".", os.O_TMPFILE | os.O_RDWR, 0o666)))
os.umask(0o077); tryit("creat under umask 077", lambda: (os.close(os.open("u", os.O_CREAT | os.O_WRONLY, 0o666)), oct(os.stat("u").st_mode))[1])
tryit("mkfifo", lambda: (os.mkfifo("ff", 0o666), oct(os.stat("ff").st_mode))[1])
tryit("symlink getxattr", lambda: (os.symlink("u", "l"), os.getxattr("l", "system.posix_acl_access", follow_symlinks=False))[1])
tryit("chmod removes nothing", lambda: (os.chmod("u", 0o600), os.listxattr("u"))[1])
import shutil; os.chdir("/"); shutil.rmtree(base)
