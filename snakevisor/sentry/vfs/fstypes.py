"""The filesystem types the Sentry has, in one list: /proc/filesystems shows it and sysfs(2)
indexes it (Linux's file_systems list serves both, in registration order). "nodev" marks a type
that needs no block device; each one here is a type mount(2) can make or the sandbox mounts."""

FILESYSTEM_TYPES = (("sysfs", True), ("tmpfs", True), ("proc", True), ("cgroup2", True), ("devtmpfs", True),
                    ("devpts", True), ("mqueue", True), ("9p", True), ("overlay", True))


def proc_filesystems() -> str:
    return "".join(f"{'nodev' if nodev else ''}\t{name}\n" for name, nodev in FILESYSTEM_TYPES)
