"""procfs's system-wide memory and device tables: /proc/meminfo and /proc/vmstat from the
MemoryFile's accounting (the sandbox's limit is its RAM; event counters the Sentry does not keep
read 0, as on a machine that has not had them happen), and the block-device and swap tables,
empty but for their headers: a sandbox has no block devices and no swap (/proc/swaps,
/proc/partitions, /proc/diskstats, which procps' vmstat and sysstat's iostat read)."""
import os

from snakevisor.sentry.mm.memoryfile import PAGE_SIZE

# /proc/vmstat's names, in Linux 6.x's order (mm/vmstat.c's vmstat_text), of those programs read.
_VMSTAT_ZEROS = (
    "nr_zone_inactive_file nr_zone_active_file nr_zone_unevictable nr_zone_write_pending nr_mlock "
    "nr_bounce nr_zspages nr_free_cma numa_hit numa_miss numa_foreign numa_interleave numa_local numa_other "
    "nr_inactive_file nr_active_file nr_unevictable nr_slab_reclaimable nr_slab_unreclaimable nr_isolated_anon "
    "nr_isolated_file workingset_nodes workingset_refault_anon workingset_refault_file workingset_activate_anon "
    "workingset_activate_file workingset_restore_anon workingset_restore_file workingset_nodereclaim").split()
_VMSTAT_TAIL = (
    "nr_dirty nr_writeback nr_writeback_temp nr_shmem nr_shmem_hugepages nr_shmem_pmdmapped nr_file_hugepages "
    "nr_file_pmdmapped nr_anon_transparent_hugepages nr_vmscan_write nr_vmscan_immediate_reclaim nr_dirtied "
    "nr_written nr_kernel_misc_reclaimable nr_foll_pin_acquired nr_foll_pin_released nr_kernel_stack "
    "nr_page_table_pages nr_swapcached nr_dirty_threshold nr_dirty_background_threshold pgpgin pgpgout "
    "pswpin pswpout pgalloc_dma pgalloc_dma32 pgalloc_normal pgalloc_movable pgfree pgactivate pgdeactivate "
    "pglazyfree pgfault pgmajfault pglazyfreed pgrefill pgreuse pgsteal_kswapd pgsteal_direct pgscan_kswapd "
    "pgscan_direct pgscan_direct_throttle pginodesteal slabs_scanned kswapd_inodesteal "
    "kswapd_low_wmark_hit_quickly kswapd_high_wmark_hit_quickly pageoutrun pgrotated drop_pagecache "
    "drop_slab oom_kill pgmigrate_success pgmigrate_fail compact_migrate_scanned compact_free_scanned "
    "compact_isolated compact_stall compact_fail compact_success htlb_buddy_alloc_success "
    "htlb_buddy_alloc_fail unevictable_pgs_culled unevictable_pgs_scanned unevictable_pgs_rescued "
    "unevictable_pgs_mlocked unevictable_pgs_munlocked unevictable_pgs_cleared unevictable_pgs_stranded "
    "thp_fault_alloc thp_fault_fallback thp_collapse_alloc thp_split_page swap_ra swap_ra_hit").split()

SWAPS = "Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n"
PARTITIONS = "major minor  #blocks  name\n\n"


def memory_kb(kernel) -> tuple[int, int]:
    """(total, used) in KiB: the sandbox's memory limit (else the host's RAM) and the memory in
    use, as Linux counts pages: those the MemoryFile holds (touched, not given back), not the
    address space reserved (a new process's 8 MiB stack, mostly untouched, counted in full made
    MemFree drop by as much while it ran)."""
    mf = kernel.memory_file
    total = (mf.limit or os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")) // 1024
    return total, mf.held_bytes() // 1024


def meminfo(kernel) -> str:
    """Committed_AS is what the memory limit holds to: every byte allocated, touched or not."""
    total, used = memory_kb(kernel)
    free = max(total - used, 0)
    rows = [("MemTotal", total), ("MemFree", free), ("MemAvailable", free), ("Buffers", 0), ("Cached", 0),
            ("SwapCached", 0), ("Active", used), ("Inactive", 0), ("SwapTotal", 0), ("SwapFree", 0),
            ("Dirty", 0), ("Writeback", 0), ("AnonPages", used), ("Mapped", 0), ("Shmem", 0),
            ("CommitLimit", total), ("Committed_AS", kernel.memory_file.allocated // 1024)]
    return "".join(f"{name + ':':<16}{val:>8} kB\n" for name, val in rows)


def vmstat(kernel) -> str:
    """/proc/vmstat: pages free and in use as meminfo counts them (all in use is anonymous and
    active, as meminfo's Active and AnonPages say)."""
    total, used = (kb * 1024 // PAGE_SIZE for kb in memory_kb(kernel))
    free = max(total - used, 0)
    rows = [("nr_free_pages", free), ("nr_zone_inactive_anon", 0), ("nr_zone_active_anon", used)]
    rows += [(name, 0) for name in _VMSTAT_ZEROS]
    rows += [("nr_inactive_anon", 0), ("nr_active_anon", used), ("nr_anon_pages", used), ("nr_mapped", 0),
             ("nr_file_pages", 0)]
    rows += [(name, 0) for name in _VMSTAT_TAIL]
    return "".join(f"{name} {value}\n" for name, value in rows)
