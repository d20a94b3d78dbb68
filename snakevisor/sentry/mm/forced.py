"""A debugger's accesses to an address space (FOLL_FORCE): /proc/PID/mem, PTRACE_PEEKDATA and
PTRACE_POKEDATA. They reach what the application could not (a read-only private mapping is
written, on its own copy of the pages) and are short where the mapped, readable run ends (or a
host file's end: mm/hostmap.py)."""
from snakevisor.abi import mm as M
from snakevisor.abi.errno import SyscallError
from snakevisor.sentry.mm.vma import HOST


def _mapped_spans(mm, addr, n):
    """(vma, start, length) of the mapped run from ``addr`` (at most ``n`` bytes), in order."""
    pos, end = addr, addr + n
    while pos < end:
        v = mm.find_populated(pos)
        if v is None or v.past_eof:
            return
        m = min(end, v.end) - pos
        yield v, pos, m
        pos += m


def read_forced(mm, addr, n):
    """The readable run from ``addr``, at most ``n`` bytes, short where the mapping ends."""
    out = []
    for v, pos, m in _mapped_spans(mm, addr, n):
        if not v.prot & M.PROT_READ:
            break
        if v.kind == HOST:   # short where the file ends
            out.append(v.owner.read(v.file_off + pos - v.start, m))
            if len(out[-1]) < m:
                break
            continue
        off = v.mf_off + pos - v.start
        out.append(mm.view[off:off + m])
    return b"".join(out)


def write_forced(mm, addr, data):
    """Write ``data`` at ``addr``, also into read-only private mappings (they get their own pages
    first); returns the bytes written."""
    done = 0
    with mm.changed_by_another():
        for v, pos, m in _mapped_spans(mm, addr, len(data)):
            if not v.prot & M.PROT_READ or (v.shared and not v.prot & M.PROT_WRITE):
                break   # FOLL_FORCE still needs a readable VMA, and cannot write a read-only shared one
            try:
                mm.copy_out(pos, data[done:done + m], force=True)
            except SyscallError:
                if v.kind != HOST:
                    raise
                break   # past a host file's end
            done += m
    return done
