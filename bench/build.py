"""Compiles the benchmark programs (bench/programs/*.c) with gcc, static and
-O2, into a cache directory named after a hash of the sources and the
compiler, so an unchanged tree is built once.

The cache lives under /var/tmp, not /tmp: inside snakevisor and the runc
bundle /tmp is the sandbox's own tmpfs, which would hide the binaries.
"""

import hashlib
import os
import shutil
import subprocess
from pathlib import Path

PROGRAMS_DIR = Path(__file__).resolve().parent / "programs"
DEFAULT_CACHE_ROOT = Path("/var/tmp")
CFLAGS = ("-static", "-O2", "-Wall", "-pthread")


class BuildError(Exception):
    pass


def _compiler_id(gcc):
    try:
        out = subprocess.run([gcc, "--version"], capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError) as e:
        raise BuildError(f"{gcc}: {e}") from e
    return out.splitlines()[0] if out else gcc


def source_hash(gcc="gcc"):
    h = hashlib.sha256()
    h.update(_compiler_id(gcc).encode())
    h.update(" ".join(CFLAGS).encode())
    for src in sorted(PROGRAMS_DIR.glob("*.[ch]")):
        h.update(src.name.encode())
        h.update(src.read_bytes())
    return h.hexdigest()[:12]


def build_programs(cache_root=None, gcc="gcc"):
    """Builds every program if needed; returns {name: absolute path}."""
    if shutil.which(gcc) is None:
        raise BuildError(f"{gcc} not found: the benchmark programs are compiled at run time")
    cache = Path(cache_root or DEFAULT_CACHE_ROOT) / f"snakevisor-bench-{source_hash(gcc)}"
    cache.mkdir(parents=True, exist_ok=True)
    programs = {}
    for src in sorted(PROGRAMS_DIR.glob("*.c")):
        out = cache / src.stem
        if not out.exists():
            tmp = cache / f".{src.stem}.{os.getpid()}"
            r = subprocess.run([gcc, *CFLAGS, "-o", str(tmp), str(src)], capture_output=True, text=True, timeout=300)
            if r.returncode != 0:
                raise BuildError(f"gcc {src.name} failed: {r.stderr.strip()[:2000]}")
            os.replace(tmp, out)  # atomic: a concurrent run never sees half a binary
        programs[src.stem] = str(out)
    return programs
