"""Loads a program into a fresh MemoryManager: ELF (static, static-pie, PT_INTERP), `#!` scripts, the stack.

The executable and its interpreter are read through the VFS (``open_exec``),
never from the host. Segments are mapped from the file's page cache, so text
pages are shared by every process that runs the same binary.
"""
import os
import struct
from dataclasses import dataclass

from snakevisor.abi import elf as E
from snakevisor.abi import mm as M
from snakevisor.abi.errno import E2BIG, ELOOP, ENOENT, ENOEXEC, ETXTBSY, SyscallError
from snakevisor.sentry.loader.elf import PHDR, parse_header, parse_phdrs
from snakevisor.sentry.platform.layout import STACK_SIZE, STACK_TOP
from snakevisor.sentry.mm.memoryfile import PAGE_SIZE, page_round_down, page_round_up

MAX_SCRIPT_DEPTH = 4                 # BINPRM_MAX_RECURSION
MAX_ARG_BYTES = 2 << 20              # argv+envp strings together (Linux: 1/4 of the stack rlimit)
HOST_AUXV = {}


def host_auxv():
    """The host's hardware capability words, read once (AT_HWCAP, AT_HWCAP2, AT_MINSIGSTKSZ)."""
    if not HOST_AUXV:
        try:
            with open("/proc/self/auxv", "rb") as f:
                data = f.read()
            for tag, val in struct.iter_unpack("<QQ", data):
                if tag in (E.AT_HWCAP, E.AT_HWCAP2, E.AT_MINSIGSTKSZ, E.AT_CLKTCK):
                    HOST_AUXV[tag] = val
        except OSError:
            HOST_AUXV[E.AT_HWCAP] = 0
    return HOST_AUXV


@dataclass
class LoadedImage:
    entry: int
    sp: int
    executable: object      # FileDescription of the program (for /proc/self/exe)
    argv: list
    path: bytes
    creds: object           # the Credentials the image runs with


@dataclass
class _Mapped:
    bias: int
    entry: int
    phdr_addr: int
    phnum: int
    end: int
    interp: bytes | None


def _read_exact(file, offset, n):
    data = file.read(None, n, offset)   # the Sentry reads the image itself
    if len(data) < n:
        raise SyscallError(ENOEXEC)
    return data


def _map_elf(mm, file, info, name, is_main):
    loads = info.loads
    lo = page_round_down(min(p.vaddr for p in loads))
    hi = page_round_up(max(p.vaddr + p.memsz for p in loads))
    if info.type == E.ET_DYN:
        # Reserve the whole span first so the segments land together, as Linux does.
        hint = E.ELF_ET_DYN_BASE if is_main else 0
        base = mm.mmap(hint, hi - lo, M.PROT_NONE, M.MAP_PRIVATE | M.MAP_ANONYMOUS)
        bias = base - lo
    else:
        bias = 0
    for p in loads:
        prot = ((M.PROT_READ if p.flags & E.PF_R else 0) | (M.PROT_WRITE if p.flags & E.PF_W else 0)
                | (M.PROT_EXEC if p.flags & E.PF_X else 0))
        start = page_round_down(bias + p.vaddr)
        file_end = bias + p.vaddr + p.filesz
        mem_end = page_round_up(bias + p.vaddr + p.memsz)
        if p.filesz:
            mm.mmap(start, page_round_up(file_end) - start, prot, M.MAP_PRIVATE | M.MAP_FIXED, file,
                    page_round_down(p.offset), name=name)
            if p.memsz > p.filesz and file_end % PAGE_SIZE:
                tail = page_round_up(file_end) - file_end
                mm.copy_out(file_end, bytes(tail), force=True)
        anon_start = page_round_up(file_end) if p.filesz else start
        if mem_end > anon_start:
            mm.mmap(anon_start, mem_end - anon_start, prot, M.MAP_PRIVATE | M.MAP_ANONYMOUS | M.MAP_FIXED)
    phdr = info.first(E.PT_PHDR)
    if phdr is not None:
        phdr_addr = bias + phdr.vaddr
    else:
        first = loads[0]
        phdr_addr = bias + first.vaddr - first.offset + info.phoff
    interp = None
    ip = info.first(E.PT_INTERP)
    if ip is not None:
        if ip.filesz > 4096 or ip.filesz < 2:
            raise SyscallError(ENOEXEC)
        interp = _read_exact(file, ip.offset, ip.filesz).split(b"\0", 1)[0]
    return _Mapped(bias, bias + info.entry, phdr_addr, info.phnum, bias + hi, interp)


def _read_elf(file):
    head = file.read(None, 4096, 0)
    info = parse_header(head)
    size = info.phnum * PHDR.size
    table = head[info.phoff:info.phoff + size] if info.phoff + size <= len(head) else _read_exact(file, info.phoff, size)
    parse_phdrs(info, table)
    return info, head


def _parse_shebang(head):
    line = head[2:256].split(b"\n", 1)[0] if b"\n" in head[2:256] else None
    if line is None:
        line = head[2:256]  # Linux truncates an overlong #! line
    line = line.replace(b"\t", b" ").strip()
    if not line:
        raise SyscallError(ENOEXEC)
    interp, _, arg = line.partition(b" ")
    arg = arg.strip()
    return interp, (arg or None)


def load(mm, open_exec, path, argv, envp, creds, vdso_base=0, depth=0, path_inaccessible=False):
    """Load ``path`` into ``mm`` (which must be empty) and build its stack. The files it opens are
    held afterwards by what needs them (the mappings, /proc/PID/exe), not by the loader.
    ``creds``: the caller's Credentials, or a function of the program's FileDescription giving
    the image's (Credentials, AT_SECURE) (a set-user-ID file's). ``path_inaccessible``: the
    program's name will not open once it runs, so a script is ENOENT (its interpreter could
    not open it)."""
    if depth > MAX_SCRIPT_DEPTH:
        raise SyscallError(ELOOP)
    file = open_exec(path)
    try:
        if file.inode.writers:
            raise SyscallError(ETXTBSY)   # open for writing somewhere: deny_write_access
        head = file.read(None, 256, 0)
        if head[:2] == b"#!":
            if path_inaccessible:
                raise SyscallError(ENOENT)
            interp, arg = _parse_shebang(head)
            new_argv = [interp] + ([arg] if arg else []) + [path] + list(argv[1:])
            return load(mm, open_exec, interp, new_argv, envp, creds, vdso_base, depth + 1)
        # The credentials come from the program itself, never from a script (its interpreter's).
        creds, secure = creds(file) if callable(creds) else (creds, False)
        info, _ = _read_elf(file)
        main = _map_elf(mm, file, info, path, True)
        mm.brk_start = mm.brk_end = main.end
        base, entry = 0, main.entry
        if main.interp is not None:
            base, entry = _load_interpreter(mm, open_exec, main.interp)
        mm.set_executable(file)
        sp = _build_stack(mm, argv, envp, path, creds, secure, main, base, vdso_base)
        return LoadedImage(entry, sp, file, list(argv), path, creds)
    finally:
        file.dec_ref()


def _load_interpreter(mm, open_exec, path):
    """Map the ELF interpreter (PT_INTERP): its (load bias, entry point)."""
    ifile = open_exec(path)
    try:
        iinfo, _ = _read_elf(ifile)
        if iinfo.first(E.PT_INTERP) is not None:
            raise SyscallError(ENOEXEC)
        interp = _map_elf(mm, ifile, iinfo, path, False)
        return interp.bias, interp.entry
    finally:
        ifile.dec_ref()


def _build_stack(mm, argv, envp, execfn, creds, secure, main, base, vdso_base):
    strings_size = sum(len(s) + 1 for s in argv) + sum(len(s) + 1 for s in envp)
    if strings_size > MAX_ARG_BYTES:
        raise SyscallError(E2BIG)
    mm.mmap(STACK_TOP - STACK_SIZE, STACK_SIZE, M.PROT_READ | M.PROT_WRITE,
            M.MAP_PRIVATE | M.MAP_ANONYMOUS | M.MAP_FIXED, name="[stack]")
    blob = bytearray()

    def put(data):
        blob.extend(data)
        return len(blob) - len(data)

    execfn_off = put(execfn + b"\0")
    platform_off = put(b"x86_64\0")
    random_off = put(os.urandom(16))
    argv_offs = [put(s + b"\0") for s in argv]
    env_start = len(blob)
    envp_offs = [put(s + b"\0") for s in envp]
    # Strings sit just below STACK_TOP (a zero word marks the very top, as in Linux).
    strings_base = STACK_TOP - 8 - len(blob)
    strings_base &= ~0xF
    at = lambda off: strings_base + off  # noqa: E731
    hw = host_auxv()
    auxv = [
        (E.AT_SYSINFO_EHDR, vdso_base), (E.AT_MINSIGSTKSZ, hw.get(E.AT_MINSIGSTKSZ, 2048)),
        (E.AT_HWCAP, hw.get(E.AT_HWCAP, 0)), (E.AT_PAGESZ, PAGE_SIZE), (E.AT_CLKTCK, 100),
        (E.AT_PHDR, main.phdr_addr), (E.AT_PHENT, PHDR.size), (E.AT_PHNUM, main.phnum),
        (E.AT_BASE, base), (E.AT_FLAGS, 0), (E.AT_ENTRY, main.entry),
        (E.AT_UID, creds.uid), (E.AT_EUID, creds.euid), (E.AT_GID, creds.gid), (E.AT_EGID, creds.egid),
        (E.AT_SECURE, int(secure)), (E.AT_RANDOM, at(random_off)), (E.AT_HWCAP2, hw.get(E.AT_HWCAP2, 0)),
        (E.AT_EXECFN, at(execfn_off)), (E.AT_PLATFORM, at(platform_off)), (E.AT_NULL, 0),
    ]
    if not vdso_base:
        auxv = auxv[1:]
    words = [len(argv)] + [at(o) for o in argv_offs] + [0] + [at(o) for o in envp_offs] + [0]
    for k, v in auxv:
        words += [k, v]
    table = struct.pack(f"<{len(words)}Q", *words)
    sp = (strings_base - len(table)) & ~0xF
    mm.copy_out(strings_base, bytes(blob))
    mm.copy_out(sp, table)
    mm.arg_start, mm.arg_end = at(argv_offs[0]) if argv_offs else at(env_start), at(env_start)
    mm.env_start, mm.env_end = at(env_start), at(len(blob))
    mm.auxv = struct.pack(f"<{2 * len(auxv)}Q", *[x for kv in auxv for x in kv])
    return sp
