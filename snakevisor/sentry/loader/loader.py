"""Loads a program into a fresh MemoryManager: ELF (static, static-pie, PT_INTERP), `#!` scripts, the stack.

The executable and its interpreter are read through the VFS (``open_exec``),
never from the host. Segments are mapped from the file's page cache, so text
pages are shared by every process that runs the same binary.

As in Linux's load_elf_binary, what can fail before the point of no return (begin_new_exec) is
checked first: the headers, the interpreter's name, opening it and its headers. A failure after
it (a segment that cannot be mapped, an entry point outside the address space) is PastNoReturn:
the caller's image is gone by then on Linux, and the process dies of SIGSEGV.
"""
import os
import struct
from dataclasses import dataclass

from snakevisor.abi import elf as E
from snakevisor.abi import mm as M
from snakevisor.abi.errno import E2BIG, EINVAL, EIO, ELIBBAD, ELOOP, ENOENT, ENOEXEC, ETXTBSY, SyscallError
from snakevisor.abi.fs import PATH_MAX
from snakevisor.sentry.loader.elf import EHDR, PHDR, parse_header, parse_phdrs
from snakevisor.sentry.platform.layout import STACK_SIZE, STACK_TOP
from snakevisor.sentry.mm.memoryfile import PAGE_SIZE, page_round_down, page_round_up

MAX_SCRIPT_DEPTH = 5                 # exec_binprm: five interpreters (#! scripts) deep at most
MAX_ARG_BYTES = 2 << 20              # argv+envp strings together (Linux: 1/4 of the stack rlimit)
HOST_AUXV = {}
U64 = (1 << 64) - 1                  # ELF address arithmetic wraps as the kernel's unsigned longs do


class PastNoReturn(SyscallError):
    """The image failed to load after Linux's point of no return: the process dies of SIGSEGV
    (execve kills it; the first process of a sandbox, with no image to lose, reports the errno)."""


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
    path: bytes             # the name execve was given (a script's, not its interpreter's)
    creds: object           # the Credentials the image runs with


@dataclass
class _Mapped:
    bias: int
    entry: int
    phdr_addr: int
    phnum: int
    end: int


def _read_exact(file, offset, n):
    data = file.read(None, n, offset)   # the Sentry reads the image itself
    if len(data) < n:
        raise SyscallError(ENOEXEC)
    return data


def _map_elf(mm, file, info, name, is_main):
    """Map the PT_LOAD segments (after the point of no return: a SyscallError here is fatal)."""
    loads = info.loads
    lo = page_round_down(min(p.vaddr for p in loads))
    hi = page_round_up(max(p.vaddr + p.memsz for p in loads))
    if info.type == E.ET_DYN:
        # Reserve the whole span first so the segments land together, as Linux does.
        hint = E.ELF_ET_DYN_BASE if is_main else 0
        base = mm.mmap(hint, hi - lo, M.PROT_NONE, M.MAP_PRIVATE | M.MAP_ANONYMOUS)
        bias = (base - lo) & U64
    else:
        bias = 0
    for p in loads:
        _map_segment(mm, file, p, bias, name, p.vaddr if is_main else (bias + p.vaddr) & U64)
    phdr = info.first(E.PT_PHDR)
    if phdr is not None:
        phdr_addr = bias + phdr.vaddr
    else:
        first = loads[0]
        phdr_addr = bias + first.vaddr - first.offset + info.phoff
    entry = (bias + info.entry) & U64
    if entry >= M.TASK_SIZE_MAX:
        raise SyscallError(EINVAL)   # BAD_ADDR(elf_entry)
    return _Mapped(bias, entry, phdr_addr & U64, info.phnum, (bias + hi) & U64)


def _map_segment(mm, file, p, bias, name, checked):
    """One PT_LOAD: its file pages private, the rest of its memory anonymous. That part is
    writable whatever the flags say (elf_load maps it as brk memory: vm_brk_flags), executable if
    the segment is. ``checked``: the address Linux holds to the address space's size (the
    segment's own p_vaddr for the program, its loaded address for the interpreter)."""
    if checked >= M.TASK_SIZE_MAX or p.filesz > p.memsz or p.memsz > M.TASK_SIZE_MAX - checked:
        raise SyscallError(EINVAL)
    prot = ((M.PROT_READ if p.flags & E.PF_R else 0) | (M.PROT_WRITE if p.flags & E.PF_W else 0)
            | (M.PROT_EXEC if p.flags & E.PF_X else 0))
    vaddr = (bias + p.vaddr) & U64
    start = page_round_down(vaddr)
    file_end = vaddr + p.filesz
    mem_end = page_round_up(vaddr + p.memsz)
    if p.filesz:
        if (p.offset - vaddr) % PAGE_SIZE:
            raise SyscallError(EINVAL)   # elf_map: the file offset of the page is not page-aligned
        mm.mmap(start, page_round_up(file_end) - start, prot, M.MAP_PRIVATE | M.MAP_FIXED, file,
                page_round_down(p.offset), name=name)
        if p.memsz > p.filesz and file_end % PAGE_SIZE:
            tail = page_round_up(file_end) - file_end
            mm.copy_out(file_end, bytes(tail), force=True)
    anon_start = page_round_up(file_end) if p.filesz else start
    if mem_end > anon_start:
        mm.mmap(anon_start, mem_end - anon_start, M.PROT_READ | M.PROT_WRITE | (prot & M.PROT_EXEC),
                M.MAP_PRIVATE | M.MAP_ANONYMOUS | M.MAP_FIXED)


def _interp_name(file, info):
    """The PT_INTERP name: ENOEXEC unless 2 to PATH_MAX bytes ending in a NUL. An empty name is
    the working directory (do_open_execat resolves it so), which open_exec refuses: EACCES."""
    ip = info.first(E.PT_INTERP)
    if ip is None:
        return None
    if ip.filesz > PATH_MAX or ip.filesz < 2:
        raise SyscallError(ENOEXEC)
    data = _read_exact(file, ip.offset, ip.filesz)
    if data[-1] != 0:
        raise SyscallError(ENOEXEC)
    return data.split(b"\0", 1)[0] or b"."


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


def load(mm, open_exec, path, argv, envp, creds, vdso_base=0, depth=0, path_inaccessible=False,
         execfn=None, name_of=lambda f: ""):
    """Load ``path`` into ``mm`` (which must be empty) and build its stack. The files it opens are
    held afterwards by what needs them (the mappings, /proc/PID/exe), not by the loader.
    ``creds``: the caller's Credentials, or a function of the program's FileDescription giving
    the image's (Credentials, AT_SECURE) (a set-user-ID file's). ``path_inaccessible``: the
    program's name will not open once it runs, so a script is ENOENT (its interpreter could
    not open it). ``execfn``: the name execve was given (AT_EXECFN), kept through scripts;
    ``name_of``: the name /proc/PID/maps shows for a mapped file. Raises PastNoReturn for a
    failure after Linux's point of no return."""
    if depth > MAX_SCRIPT_DEPTH:
        raise SyscallError(ELOOP)
    if sum(len(s) + 1 for s in argv) + sum(len(s) + 1 for s in envp) > MAX_ARG_BYTES:
        raise SyscallError(E2BIG)   # copy_strings, before any binary format is tried
    execfn = path if execfn is None else execfn
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
            return load(mm, open_exec, interp, new_argv, envp, creds, vdso_base, depth + 1,
                        execfn=execfn, name_of=name_of)
        # The credentials come from the program itself, never from a script (its interpreter's).
        creds, secure = creds(file) if callable(creds) else (creds, False)
        info, _ = _read_elf(file)
        interp = _open_interpreter(open_exec, _interp_name(file, info))
        try:
            base, entry, main = _map_image(mm, file, info, interp, name_of)
            mm.set_executable(file)
            sp = _build_stack(mm, argv, envp, execfn, creds, secure, main, base, vdso_base)
        except SyscallError as e:
            raise PastNoReturn(e.errno) from None
        finally:
            if interp is not None:
                interp[0].dec_ref()
        return LoadedImage(entry, sp, file, list(argv), execfn, creds)
    finally:
        file.dec_ref()


def _open_interpreter(open_exec, name):
    """The PT_INTERP file, open, and its headers: (file, ElfInfo), or None without one. A file
    shorter than an ELF header is EIO (elf_read), headers that are no x86_64 ELF's ELIBBAD
    (load_elf_binary's checks of the interpreter)."""
    if name is None:
        return None
    ifile = open_exec(name)
    try:
        if len(ifile.read(None, EHDR.size, 0)) < EHDR.size:
            raise SyscallError(EIO)
        iinfo, _ = _read_elf(ifile)
    except SyscallError as e:
        ifile.dec_ref()
        raise SyscallError(e.errno if e.errno == EIO else ELIBBAD) from None
    return ifile, iinfo


def _map_image(mm, file, info, interp, name_of):
    """Map the program and its interpreter: (interpreter's load bias, entry point, the program's
    _Mapped)."""
    main = _map_elf(mm, file, info, name_of(file), True)
    mm.brk_start = mm.brk_end = main.end
    if interp is None:
        return 0, main.entry, main
    ifile, iinfo = interp
    mapped = _map_elf(mm, ifile, iinfo, name_of(ifile), False)
    return mapped.bias, mapped.entry, main


def _build_stack(mm, argv, envp, execfn, creds, secure, main, base, vdso_base):
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
