"""sysfs (/sys from the Sentry's own state) and the /proc entries that came with it: cmdline,
sys/kernel/core_pattern, PID/{mem,pagemap,ns}. Differential where Linux's answer is deterministic
(tests/programs/proc_mem.c), in-sandbox assertions for the sandbox's own values."""
import os
import re
import subprocess
import sys
import textwrap

import pytest

from harness import compare, compile_c, run_sandboxed
from oci_support import make_bundle, sv


def sandboxed(code, flags=()):
    r = run_sandboxed([sys.executable, "-c", textwrap.dedent(code)], flags=flags)
    assert r.returncode == 0, f"exit {r.returncode}\nstdout:\n{r.stdout.decode()}\nstderr:\n{r.stderr.decode()[-3000:]}"
    return r.stdout.decode()


def sh(script, flags=()):
    r = run_sandboxed(["/bin/sh", "-c", script], flags=flags)
    return r.returncode, r.stdout.decode(), r.stderr.decode()


def test_proc_mem_pagemap_ns_differential(differential):
    """/proc/PID/mem of a child read and written (forced through a read-only page, EIO where nothing is
    mapped, short across the end of a mapping); ptrace's access rules, with setresuid making a process
    not dumpable and fork keeping it; pagemap's alignment rules and present bits; ns link format."""
    differential([compile_c("proc_mem")])


def test_maps_lists_vdso_vvar_vsyscall(differential):
    """/proc/self/maps shows the kernel's own mappings as Linux does (they were missing: the
    stubs' host [vdso], which the application uses as its own, was not listed)."""
    differential([compile_c("maps_vdso")])


VDSO_IMAGE = """
import hashlib, re
maps = open('/proc/self/maps').read()
start, end = (int(x, 16) for x in re.search(r'(\\w+)-(\\w+) .*\\[vdso\\]', maps).groups())
with open('/proc/self/mem', 'rb', buffering=0) as mem:
    mem.seek(start)
    image = mem.read(end - start)
print(len(image), image[:4], hashlib.sha256(image).hexdigest())
"""


def test_vdso_image_reads_whole_through_proc_mem():
    """The vDSO read through /proc/self/mem, as gdb reads it to load its symbols: the whole
    mapping, the same image as natively (it was cut at the end of its PT_LOAD segment and the
    rest was EIO: gdb said "Failed to read a valid object file image from memory")."""
    native = subprocess.run([sys.executable, "-c", VDSO_IMAGE], capture_output=True, text=True)
    boxed = run_sandboxed([sys.executable, "-c", VDSO_IMAGE])
    assert native.returncode == 0, native.stderr
    assert boxed.returncode == 0, boxed.stderr.decode()
    assert boxed.stdout.decode() == native.stdout


def test_cpu_count_agrees_with_sysfs():
    out = sandboxed("""
        import os
        online = open("/sys/devices/system/cpu/online").read().strip()
        n = 1 + int(online.split("-")[-1])
        cpus = sorted(e for e in os.listdir("/sys/devices/system/cpu") if e[3:].isdigit())
        print(os.cpu_count() == n == len(os.sched_getaffinity(0)) == len(cpus) == os.sysconf("SC_NPROCESSORS_CONF"))
        print(open("/sys/devices/system/cpu/possible").read() == open("/sys/devices/system/cpu/present").read()
              == online + "\\n")
        print("online" not in os.listdir("/sys/devices/system/cpu/cpu0"), open("/sys/devices/system/cpu/kernel_max").read())
        print(open("/sys/devices/system/cpu/cpu0/topology/physical_package_id").read().strip(),
              open("/sys/devices/system/node/online").read().strip(),
              open("/sys/devices/system/node/node0/cpulist").read() == online + "\\n")
    """)
    assert out.splitlines() == ["True", "True", "True 8191", "", "0 0 True"], out
    code, nproc, err = sh("nproc; getconf _NPROCESSORS_ONLN")
    assert code == 0 and len(set(nproc.split())) == 1 and int(nproc.split()[0]) == os.cpu_count(), (nproc, err)


def test_cgroup_limits_from_flags():
    code, out, err = sh("cat /sys/fs/cgroup/pids.max /sys/fs/cgroup/memory.max /sys/fs/cgroup/cpu.max "
                        "/sys/fs/cgroup/cgroup.controllers /proc/self/cgroup", flags=("--pids-limit", "77", "--memory", "256m"))
    assert code == 0, err
    assert out.splitlines() == ["77", str(256 << 20), "max 100000", "cpu memory pids", "0::/"], out
    code, out, err = sh("cat /sys/fs/cgroup/pids.max /sys/fs/cgroup/memory.max", flags=("--pids-limit", "0", "--memory", "0"))
    assert (code, out) == (0, "max\nmax\n"), err


def test_vmstat_and_device_tables():
    """/proc/vmstat counts the limit's pages as meminfo does (procps' vmstat refused to run without
    it: "Unable to create vmstat structure"); /proc/swaps, /proc/partitions and /proc/diskstats
    list no swap and no block device, as a sandbox has none."""
    code, out, err = sh("vmstat 1 2 && grep -E '^(nr_free_pages|nr_anon_pages|pgfault) ' /proc/vmstat && "
                        "cat /proc/swaps /proc/partitions /proc/diskstats", flags=("--memory", "256m"))
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].startswith("procs ") and len(lines[2].split()) == len(lines[1].split()) == 17, out
    free, anon = (int(line.split()[1]) for line in lines[4:6])
    assert lines[4].startswith("nr_free_pages ") and 0 < free <= 65536 and free + anon == 65536, out
    assert lines[6].split()[0] == "pgfault" and lines[6].split()[1].isdigit() and lines[7].split() == ["Filename", "Type", "Size", "Used", "Priority"], out
    assert lines[8:] == ["major minor  #blocks  name", ""], out
    code, out, err = sh("ls /sys/dev && lsblk && echo listed")   # lsblk needs /sys/dev/block
    assert (code, out) == (0, "block\nchar\nlisted\n"), (out, err)


def test_file_nr_counts_open_files():
    """/proc/sys/fs/file-nr (sysctl -a, node_exporter): the open file descriptions, 0 free ones,
    and file-max; ten more opens show as ten more."""
    out = sandboxed("""
        import os
        def nr():
            return [int(x) for x in open("/proc/sys/fs/file-nr").read().split()]
        before = nr()
        fds = [os.open("/etc/hostname", os.O_RDONLY) for _ in range(10)]
        after = nr()
        print(after[0] - before[0], after[1], after[2] == int(open("/proc/sys/fs/file-max").read()))
    """)
    assert out.split() == ["10", "0", "True"], out


def test_cgroup_current_follows_the_sentry_accounting():
    out = sandboxed("""
        import mmap, os
        def cur(name):
            return int(open("/sys/fs/cgroup/" + name).read())
        pids, mem = cur("pids.current"), cur("memory.current")
        m = mmap.mmap(-1, 64 << 20)
        pid = os.fork()
        if pid == 0:
            os._exit(0 if cur("pids.current") == pids + 1 else 1)
        _, st = os.waitpid(pid, 0)
        print(pids >= 1, cur("memory.current") - mem >= 64 << 20, os.waitstatus_to_exitcode(st))
        # As in a container's own cgroup on Linux: every process of the sandbox, and only those
        # (the child is reaped: this process alone).
        print([int(x) for x in open("/sys/fs/cgroup/cgroup.procs").read().split()] == [os.getpid()])
    """)
    assert out.split() == ["True", "True", "0", "True"], out


def test_sysfs_is_read_only_and_listed_in_mounts():
    code, out, err = sh("grep ' /sys ' /proc/mounts; grep ' /sys ' /proc/self/mountinfo | cut -d' ' -f5-; "
                        "grep sysfs /proc/filesystems; echo 1 > /sys/fs/cgroup/pids.max; echo rc=$?; "
                        "mkdir /sys/x; echo rc=$?; stat -f -c %T /sys")
    lines = out.splitlines()
    assert lines[0] == "sysfs /sys sysfs ro,nosuid,nodev,noexec,relatime 0 0", out
    assert lines[1].startswith("/sys ro") and " - sysfs sysfs ro" in lines[1], out
    assert lines[2:] == ["nodev\tsysfs", "rc=2", "rc=1", "sysfs"], out
    assert err.count("Read-only file system") == 2, err


def test_sysfs_static_files_and_net():
    code, out, err = sh("cat /sys/kernel/mm/transparent_hugepage/enabled; readlink /sys/class/net/lo; "
                        "cd /sys/class/net/lo && cat ifindex mtu address type operstate addr_len")
    assert code == 0, err
    assert out.splitlines() == ["always [madvise] never", "../../devices/virtual/net/lo", "1", "65536",
                                "00:00:00:00:00:00", "772", "unknown", "6"], out


@pytest.mark.skipif(not os.path.isdir("/sys/devices/system/cpu/cpu0/cache"), reason="the host shows no CPU caches")
def test_cpu_caches_in_every_sysfs():
    """The host CPU's cache geometry, read at boot, is in /sys and in a sysfs the application
    mounts later (after the lock-down, when no host file can be read any more)."""
    host = sorted(os.listdir("/sys/devices/system/cpu/cpu0/cache"))
    host = [n for n in host if n.startswith("index")]
    code, out, err = sh("ls /sys/devices/system/cpu/cpu0/cache; echo --; mkdir /tmp/s; unshare -m sh -c "
                        "'mount -t sysfs sysfs /tmp/s && ls /tmp/s/devices/system/cpu/cpu0/cache'")
    assert code == 0, err
    boot, mounted = out.split("--\n")
    assert boot.split() == mounted.split() == host, out


def test_sysfs_is_not_the_hosts():
    """The sandbox's /sys has only what the Sentry builds: no host block devices or modules."""
    code, out, err = sh("ls /sys/block /sys/module | wc -l; ls /sys/class")
    assert code == 0, err
    assert out.split() == ["3", "net"], out   # "/sys/block:", "", "/sys/module:" headers only


def test_proc_cmdline_and_core_pattern():
    host = open("/proc/cmdline").read()
    code, out, err = sh("cat /proc/cmdline /proc/sys/kernel/core_pattern")
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].startswith("BOOT_IMAGE=snakevisor") and lines[0] + "\n" != host, out
    assert lines[1] == "core", out


def test_proc_pid_wchan_of_a_running_task_differential():
    """/proc/PID/wchan exists (ps -o wchan printed "?" without it): "0", no newline, for a running
    task (the reader itself), as Linux's proc_pid_wchan."""
    compare(["/bin/sh", "-c", "cat /proc/self/wchan | od -c; ls -l /proc/self/wchan | cut -c1-10"], native_status=0)


def test_random_uuid_and_boot_id():
    # uuid: a fresh version 4 UUID at each read; boot_id: one per boot, not the host's.
    code, out, err = sh("cd /proc/sys/kernel/random && cat uuid uuid boot_id boot_id")
    assert code == 0, err
    uuid1, uuid2, boot1, boot2 = out.splitlines()
    v4 = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")
    assert all(v4.fullmatch(u) for u in (uuid1, uuid2, boot1)), out
    assert uuid1 != uuid2 and boot1 == boot2, out
    assert boot1 != open("/proc/sys/kernel/random/boot_id").read().strip()


def test_maps_inode_numbers_fit_in_a_signed_64_bit_field():
    out = sandboxed("""
        for line in open("/proc/self/maps"):
            fields = line.split()
            assert 0 <= int(fields[4]) < 1 << 63, line
        print("ok")
    """)
    assert out == "ok\n"


@pytest.mark.skipif(os.geteuid() != 0, reason="OCI containers here need root (namespaces, mounts)")
def test_oci_mounts_sysfs_where_config_json_says(tmp_path, root):  # noqa: F811
    """config.json's sysfs mount on /sys is the Sentry's sysfs, showing linux.resources' pids limit;
    without that mount /sys is the image's own (empty) directory."""
    from snakevisor.oci.spec import default_spec
    spec = default_spec(args=[])
    linux = dict(spec["linux"], resources={"pids": {"limit": 33}})
    script = "cat /sys/fs/cgroup/pids.max; ls /sys | wc -l"
    b = make_bundle(str(tmp_path / "with"), ["sh", "-c", script], linux=linux)
    res = sv(root, "run", "--bundle", b, "sysfs-with")
    assert (res.returncode, res.stdout.split()) == (0, ["33", "10"]), res.stderr
    mounts = [m for m in spec["mounts"] if m["type"] not in ("sysfs", "cgroup")]   # cgroup would make /sys/fs
    b = make_bundle(str(tmp_path / "without"), ["sh", "-c", "ls /sys | wc -l"], linux=linux, mounts=mounts)
    res = sv(root, "run", "--bundle", b, "sysfs-without")
    assert (res.returncode, res.stdout.split()) == (0, ["0"]), res.stderr


def test_smaps_figures_match_linux():
    """/proc/self/smaps and smaps_rollup exist and count an anonymous mapping's touched memory as
    Linux does (both printed as the same facts natively and in the sandbox)."""
    native, _ = compare([compile_c("smaps")], native_status=0)
    assert b"mapping found: 1\nSize: 8192 kB\nRss from 2048 to 8192 kB: 1\nall of it anonymous: 1" in native.stdout
