"""seccomp-BPF whitelists: build a filter, export it as raw BPF, load it.

``build_whitelist(names)`` returns the classic-BPF program (bytes of
``struct sock_filter``) that allows the named x86_64 syscalls and answers
every other one with ``default`` (an errno, or KILL). It is built with
the system's libseccomp through ctypes (pyseccomp, when libseccomp.so.2 is not
there, is slower to import); either way the program is exported once and loaded raw with
``load(bpf)`` (seccomp(2) with TSYNC, so every thread of the process gets it,
falling back to prctl(PR_SET_SECCOMP)). Shared by the Gofer, the Sentry and
the stubs. Rules may also compare arguments (``ArgRule``), e.g. to allow
``socket`` for AF_UNIX only, or several at once (``also``: every one must hold).
"""
from __future__ import annotations

import ctypes
import errno as _errno
import os
import sys
from dataclasses import dataclass

from snakevisor.abi.prctl import PR_SET_NO_NEW_PRIVS, PR_SET_SECCOMP
from snakevisor.abi.seccomp import (SECCOMP_FILTER_FLAG_TSYNC, SECCOMP_MODE_FILTER, SECCOMP_SET_MODE_FILTER,
                                   SockFprog)
from snakevisor.abi.syscall_numbers import SYSCALL_NUMBERS
from snakevisor.hostos.libc import get_errno, prctl, syscall

# libseccomp actions (seccomp.h)
SCMP_ACT_KILL_PROCESS = 0x80000000
SCMP_ACT_KILL = 0x00000000
SCMP_ACT_ALLOW = 0x7FFF0000
SCMP_ACT_ERRNO_BASE = 0x00050000
SCMP_ACT_TRAP = 0x00030000
KILL = "kill"

NR_SECCOMP = SYSCALL_NUMBERS["seccomp"]

# scmp_compare
SCMP_CMP_LT = 2   # unsigned, all 64 bits
SCMP_CMP_EQ = 4
SCMP_CMP_MASKED_EQ = 7


@dataclass(frozen=True)
class ArgRule:
    """Allow ``name`` only when argument ``arg`` (0-5) == ``value`` (after ``& mask`` if given;
    with ``below``, when it is < ``value`` as an unsigned 64-bit number instead), and every
    condition of ``also`` (ArgRules of the same call) holds too."""
    name: str
    arg: int
    value: int
    mask: int | None = None
    below: bool = False
    also: tuple = ()

    def conditions(self):
        """(arg, scmp_compare, datum_a, datum_b) of this rule and of ``also``'s."""
        if self.below:
            own = (self.arg, SCMP_CMP_LT, self.value, 0)
        elif self.mask is None:
            own = (self.arg, SCMP_CMP_EQ, self.value, 0)
        else:
            own = (self.arg, SCMP_CMP_MASKED_EQ, self.mask, self.value)
        return [own] + [c for r in self.also for c in r.conditions()]


class SeccompError(OSError):
    pass


class _ArgCmp(ctypes.Structure):   # struct scmp_arg_cmp
    _fields_ = [("arg", ctypes.c_uint), ("op", ctypes.c_int), ("datum_a", ctypes.c_uint64),
                ("datum_b", ctypes.c_uint64)]


_libseccomp = None


def _lib():
    global _libseccomp
    if _libseccomp is None:
        try:
            lib = ctypes.CDLL("libseccomp.so.2", use_errno=True)   # by soname: no ldconfig run
        except OSError:
            from ctypes.util import find_library   # noqa: PLC0415 (slow: runs ldconfig; unusual layouts only)
            lib = ctypes.CDLL(find_library("seccomp") or "libseccomp.so", use_errno=True)
        lib.seccomp_init.restype = ctypes.c_void_p
        lib.seccomp_init.argtypes = (ctypes.c_uint32,)
        lib.seccomp_release.argtypes = (ctypes.c_void_p,)
        lib.seccomp_rule_add_array.argtypes = (ctypes.c_void_p, ctypes.c_uint32, ctypes.c_int,
                                               ctypes.c_uint, ctypes.POINTER(_ArgCmp))
        lib.seccomp_export_bpf.argtypes = (ctypes.c_void_p, ctypes.c_int)
        _libseccomp = lib
    return _libseccomp


def _action(default) -> int:
    if default == KILL:
        return SCMP_ACT_KILL_PROCESS
    return SCMP_ACT_ERRNO_BASE | (int(default) & 0xFFFF)


def _number(name: str) -> int:
    try:
        return SYSCALL_NUMBERS[name]
    except KeyError:
        raise ValueError(f"unknown syscall {name!r}") from None


def _read_exported(export) -> bytes:
    """Run ``export(fd)`` into a memfd and return what it wrote."""
    fd = os.memfd_create("seccomp-bpf", os.MFD_CLOEXEC)
    try:
        export(fd)
        os.lseek(fd, 0, os.SEEK_SET)
        out = bytearray()
        while chunk := os.read(fd, 1 << 16):
            out += chunk
        return bytes(out)
    finally:
        os.close(fd)


def _build_pyseccomp(allowed, rules, default) -> bytes:
    if sys.flags.no_site:   # started with -S (the launcher's fast start): site-packages is where pyseccomp lives
        import site
        site.main()
    import pyseccomp as ps   # noqa: PLC0415 (optional dependency)
    f = ps.SyscallFilter(_action(default))
    for name in allowed:
        f.add_rule(ps.ALLOW, _number(name))
    ops = {SCMP_CMP_LT: ps.LT, SCMP_CMP_EQ: ps.EQ, SCMP_CMP_MASKED_EQ: ps.MASKED_EQ}
    for r in rules:
        f.add_rule(ps.ALLOW, _number(r.name), *(ps.Arg(arg, ops[op], a, b) if op == SCMP_CMP_MASKED_EQ
                                                 else ps.Arg(arg, ops[op], a) for arg, op, a, b in r.conditions()))
    return _read_exported(f.export_bpf_fd if hasattr(f, "export_bpf_fd") else
                          (lambda fd: f.export_bpf(os.fdopen(os.dup(fd), "wb"))))


def _build_libseccomp(allowed, rules, default) -> bytes:
    lib = _lib()
    ctx = lib.seccomp_init(_action(default))
    if not ctx:
        raise SeccompError(_errno.ENOMEM, "seccomp_init failed")
    try:
        for name in allowed:
            rc = lib.seccomp_rule_add_array(ctx, SCMP_ACT_ALLOW, _number(name), 0, None)
            if rc < 0:
                raise SeccompError(-rc, f"seccomp_rule_add({name}): {os.strerror(-rc)}")
        for r in rules:
            conds = r.conditions()
            cmps = (_ArgCmp * len(conds))(*(_ArgCmp(*c) for c in conds))
            rc = lib.seccomp_rule_add_array(ctx, SCMP_ACT_ALLOW, _number(r.name), len(conds), cmps)
            if rc < 0:
                raise SeccompError(-rc, f"seccomp_rule_add({r}): {os.strerror(-rc)}")

        def export(fd):
            rc = lib.seccomp_export_bpf(ctx, fd)
            if rc < 0:
                raise SeccompError(-rc, f"seccomp_export_bpf: {os.strerror(-rc)}")
        return _read_exported(export)
    finally:
        lib.seccomp_release(ctx)


def build_whitelist(allowed, rules=(), default=_errno.EPERM) -> bytes:
    """Raw BPF allowing ``allowed`` syscall names (and ``rules``); others get ``default``
    (an errno number, or KILL to kill the process)."""
    allowed = sorted(set(allowed))
    try:
        _lib()
    except OSError:
        return _build_pyseccomp(allowed, rules, default)   # pyseccomp brings its own libseccomp
    return _build_libseccomp(allowed, rules, default)


def load(bpf: bytes, tsync: bool = True) -> None:
    """Install ``bpf`` on this process (all threads with ``tsync``); sets no_new_privs first."""
    if not bpf or len(bpf) % 8:
        raise ValueError("not a BPF program")
    if prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        e = get_errno()
        raise SeccompError(e, f"PR_SET_NO_NEW_PRIVS: {os.strerror(e)}")
    buf = ctypes.create_string_buffer(bpf, len(bpf))
    prog = SockFprog(len(bpf) // 8, ctypes.cast(buf, ctypes.c_void_p))
    rc = syscall(ctypes.c_long(NR_SECCOMP), ctypes.c_long(SECCOMP_SET_MODE_FILTER),
                 ctypes.c_long(SECCOMP_FILTER_FLAG_TSYNC if tsync else 0), ctypes.byref(prog))
    if rc == 0:
        return
    e = get_errno()
    if e != _errno.ENOSYS and not (e == _errno.EINVAL and tsync):
        raise SeccompError(e, f"seccomp: {os.strerror(e)}")
    if prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.byref(prog), 0, 0) != 0:
        e = get_errno()
        raise SeccompError(e, f"PR_SET_SECCOMP: {os.strerror(e)}")


def install_whitelist(allowed, rules=(), default=_errno.EPERM) -> bytes:
    """build_whitelist + load; returns the program."""
    bpf = build_whitelist(allowed, rules, default)
    load(bpf)
    return bpf
