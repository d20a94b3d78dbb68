"""/proc/PID/maps, smaps and smaps_rollup: an address space's mappings as Linux prints them.

A mapping's resident memory is what the MemoryFile holds behind its VMAs (mincore of their
ranges in the Sentry's mapping of it: the pages touched and not dropped since); lazy and past-EOF
parts have none.
Pages are never swapped nor merged, so Swap, KSM and huge-page figures are 0.
"""
import time

from snakevisor.sentry.mm.memoryfile import PAGE_SIZE as PAGE
from snakevisor.sentry.mm.vma import ANON, COW, FILE, HOST, SHARED
from snakevisor.sentry.platform.layout import TASK_SIZE

_FIGURES = ("Rss", "Pss", "Pss_Dirty", "Shared_Clean", "Shared_Dirty", "Private_Clean", "Private_Dirty",
            "Referenced", "Anonymous", "LazyFree", "AnonHugePages", "ShmemPmdMapped", "FilePmdMapped",
            "Shared_Hugetlb", "Private_Hugetlb", "Swap", "SwapPss", "Locked")


def _continues(run, end, v):
    """Would Linux show VMA ``v`` as part of the mapping that ``run`` starts and ``end`` ends? The
    same protections, flags and name, and either the same file at the next offset (a window made
    out of a lazy VMA, or file pages cached in several places) or private anonymous memory both
    (vma_merge joins adjacent ones: brk's growth, a stack grown down, mmaps side by side)."""
    if v.start != end or v.prot != run.prot or v.shared != run.shared or v.name != run.name \
            or v.anon_name != run.anon_name:
        return False
    if (v.maywrite, v.mayexec, v.locked, v.sealed, v.wipeonfork, v.dontfork, v.growsdown) != (
            run.maywrite, run.mayexec, run.locked, run.sealed, run.wipeonfork, run.dontfork, run.growsdown):
        return False
    if v.kind == run.kind and v.kind in (FILE, HOST):
        return v.file is run.file and v.file_off == run.file_off + end - run.start
    if v.kind == SHARED and run.kind == SHARED:   # one shared object, at its next offset (mremap)
        return v.owner is run.owner and v.object_offset() == run.object_offset() + end - run.start
    return (v.file is None and run.file is None and not v.shared
            and v.kind in (ANON, COW) and run.kind in (ANON, COW))


def _runs(vmas):
    """(first VMA, end) of each run of VMAs that Linux would show as one mapping (_continues)."""
    run, end = None, 0
    for v in vmas:
        if run is not None and _continues(run, end, v):
            end = v.end
            continue
        if run is not None:
            yield run, end
        run, end = v, v.end
    if run is not None:
        yield run, end


def _entries(mm, special, name_of=None):
    """(start, end, header line, [VMAs]) of each line of maps, in address order: the VMAs that
    Linux would show as one mapping (_runs) and the platform's ``special`` mappings
    (start, end, perms, name): [vdso], [vvar], [vsyscall]. ``name_of(file)``: what a mapped
    file is called now, for the reader (else the name it had when mapped)."""
    out = [(lo, hi, _line(f"{lo:08x}-{hi:08x} {perms} 00000000 00:00 0", name), [])
           for lo, hi, perms, name in special]
    vmas = list(mm.vmas)
    i = 0
    for v, end in _runs(vmas):
        run = []
        while i < len(vmas) and vmas[i].start < end:
            run.append(vmas[i])
            i += 1
        out.append((v.start, end, _header(v, end, name_of), run))
    out.sort(key=lambda e: e[0])
    return out


def _header(v, end, name_of):
    inode, dev = 0, "00:00"
    off = v.file_off if v.file is not None else v.object_offset() if v.kind == SHARED else 0
    if v.file is not None:
        try:
            st = v.file.stat()
            inode, dev = st.ino, f"{(st.dev >> 8) & 0xfff:02x}:{st.dev & 0xff:02x}"
        except Exception:  # a maps line never fails for a stale file
            pass
    return _line(f"{v.start:08x}-{end:08x} {v.perms()} {off:08x} {dev} {inode}", _name(v, name_of))


def _name(v, name_of):
    """What a maps line names: a file, [heap], [stack], or anonymous memory's PR_SET_VMA name."""
    if v.file is not None and name_of is not None:
        return name_of(v.file)   # show_map_vma's d_path at each read: a renamed or unlinked file shows so
    if v.anon_name is None or v.name in ("[heap]", "[stack]"):
        return v.name
    return f"[anon_shmem:{v.anon_name}]" if v.shared else f"[anon:{v.anon_name}]"


def _line(prefix, name):
    """A maps line as show_map_vma prints it: the prefix and a space (there even without a name),
    then a name padded to column 73, or one space further right of a long prefix (seq_pad)."""
    return (prefix + " ").ljust(72) + " " + name if name else prefix + " "


def maps_text(mm, special=(), name_of=None):
    return "".join(header + "\n" for _, _, header, _ in _entries(mm, special, name_of))


def _vma_rss(mm, v):
    """The bytes of ``v`` the MemoryFile holds (none for a lazy or past-EOF VMA, nor host file pages)."""
    if v.lazy or v.past_eof or v.kind == HOST:
        return 0
    return mm.mf.resident_bytes(v.mf_off, v.end - v.start)


def resident_pages(mm, start, end):
    """mincore's vector for [start, end) (page-aligned, all mapped): 1 for each page the MemoryFile
    holds behind its VMA (touched, populated or locked; a shared or file mapping's pages another
    process or a read brought in), 0 for the rest (never touched, dropped, lazy); a host file's
    pages as present (the host's page cache holds them, as far as the Sentry can tell)."""
    out = bytearray((end - start) // PAGE)
    for v in mm.vmas.overlapping(start, end):
        if v.lazy or v.past_eof:
            continue
        lo, hi = max(v.start, start), min(v.end, end)
        if v.kind == HOST:
            out[(lo - start) // PAGE:(hi - start) // PAGE] = b"\1" * ((hi - lo) // PAGE)
            continue
        out[(lo - start) // PAGE:(hi - start) // PAGE] = mm.mf.resident_vector(v.mf_off + lo - v.start, hi - lo)
    return out


def resident_bytes(mm, vmas=None):
    """An address space's resident set size (RSS: /proc/PID/stat, statm, status; ru_maxrss), or
    that of some of its VMAs."""
    return sum(_vma_rss(mm, v) for v in (mm.vmas if vmas is None else vmas))


# A count of the RSS asks the MemoryFile about every VMA (a mincore each): with thousands of
# VMAs, milliseconds. Unforced counts are kept to this share of the time.
RSS_SCAN_SHARE = 10


def rss_peak(mm, force=False, leaving=()):
    """The address space's RSS high-water mark (Linux's get_mm_hiwater_rss), its RSS now (and
    that of VMAs ``leaving`` it, out of the set already) counted in. Unless ``force``d, the RSS
    is counted at most as often as keeps the counts to 1/RSS_SCAN_SHARE of the time (a JVM asks
    getrusage at every GC pause), and the last count stands between."""
    t = time.monotonic()
    if force or t >= mm.rss_next_count:
        rss = resident_bytes(mm) + resident_bytes(mm, leaving)
        mm.hiwater_rss = max(mm.hiwater_rss, rss)
        mm.rss_next_count = t + (time.monotonic() - t) * RSS_SCAN_SHARE
        mm.left_since_count = 0
    return mm.hiwater_rss


def _figures(mm, vmas):
    """{figure: bytes} of a mapping made of ``vmas``."""
    f = dict.fromkeys(_FIGURES, 0)
    for v in vmas:
        if v.lazy or v.past_eof:
            continue
        rss = _vma_rss(mm, v)
        sharers = max(getattr(v.owner, "refs", 1), 1) if v.owner is not None else 1   # VMAs mapping the pages
        dirty = v.kind not in (FILE, HOST)   # anonymous memory, shared or not, is dirty; file pages count as clean
        f["Rss"] += rss
        f["Pss"] += rss // sharers
        f["Pss_Dirty"] += rss // sharers if dirty else 0
        f["Referenced"] += rss
        f["Anonymous"] += rss if v.kind in (ANON, COW) else 0
        f["Locked"] += rss if v.locked else 0
        f[("Private_" if sharers == 1 else "Shared_") + ("Dirty" if dirty else "Clean")] += rss
    return f


def _flags(vmas):
    # A shared mapping of a file open read-only is VM_MAYSHARE without VM_SHARED (do_mmap drops it,
    # and VM_MAYWRITE): "ms" but no "sh".
    v = vmas[0]
    flags = [("rd", v.prot & 1), ("wr", v.prot & 2), ("ex", v.prot & 4), ("sh", v.shared and v.maywrite),
             ("mr", True), ("mw", v.maywrite), ("me", v.mayexec), ("ms", v.shared), ("gd", v.growsdown),
             ("lo", v.locked), ("dc", v.dontfork), ("wf", v.wipeonfork),
             ("ac", v.kind in (ANON, COW) and not v.shared and v.prot & 2)]
    return " ".join(name for name, on in flags if on) + " "


def smaps_text(mm, special=(), name_of=None):
    out = []
    for lo, hi, header, vmas in _entries(mm, special, name_of):
        f = _figures(mm, vmas)
        out.append(header)
        out.append(f"Size:{(hi - lo) >> 10:>19} kB\nKernelPageSize:{4:>9} kB\nMMUPageSize:{4:>12} kB")
        out.extend(f"{name + ':':<16}{f[name] >> 10:>8} kB" for name in _FIGURES)
        out.append(f"THPeligible:{0:>12}")
        out.append("VmFlags: " + (_flags(vmas) if vmas else "rd ex "))
    return "".join(line + "\n" for line in out)


def rollup_text(mm, special=()):
    """smaps_rollup: the figures summed over every mapping, with Pss split by kind of memory."""
    entries = _entries(mm, special)
    total = dict.fromkeys(_FIGURES + ("Pss_Anon", "Pss_File", "Pss_Shmem"), 0)
    for _, _, _, vmas in entries:
        figures = _figures(mm, vmas)
        for name, n in figures.items():
            total[name] += n
        if vmas:
            kind = "Pss_Shmem" if vmas[0].kind == SHARED else "Pss_Anon" if vmas[0].kind in (ANON, COW) else "Pss_File"
            total[kind] += figures["Pss"]
    spans = [(lo, hi) for lo, hi, _, vmas in entries if vmas or hi <= TASK_SIZE]   # not [vsyscall]
    lo, hi = (spans[0][0], spans[-1][1]) if spans else (0, 0)
    names = _FIGURES[:3] + ("Pss_Anon", "Pss_File", "Pss_Shmem") + _FIGURES[3:]
    out = [_line(f"{lo:08x}-{hi:08x} ---p 00000000 00:00 0", "[rollup]")]
    out.extend(f"{name + ':':<16}{total[name] >> 10:>8} kB" for name in names)
    return "".join(line + "\n" for line in out)
