#!/bin/sh
# Installs what snakevisor needs on Debian 12 (as root). With --test, also what the test suite needs;
# with --bench, what `python3 -m bench` needs: gcc for its programs, runsc and runc to compare with,
# nginx-light and wrk for the nginx benchmark, redis-server and redis-tools for the redis benchmark.
# Safe to run again: it installs only what is missing.
set -e
want_tests=0
want_bench=0
for arg in "$@"; do
    case "$arg" in
        --test) want_tests=1 ;;
        --bench) want_bench=1 ;;
        *) echo "usage: $0 [--test] [--bench]" >&2; exit 2 ;;
    esac
done

missing=""
missing_norec=""
need() { dpkg -s "$1" >/dev/null 2>&1 || missing="$missing $1"; }
need python3
need libseccomp2
if [ $want_tests = 1 ]; then
    for p in gcc libc6-dev busybox-static coreutils strace gdb procps python3-pip; do need "$p"; done
    # inotify tests: inotifywait (and tail -f, in coreutils) watching files in the sandbox.
    need inotify-tools
    # Keyring tests: keyctl(1) from keyutils.
    need keyutils
    # seccomp tests: a program built with libseccomp (seccomp.h, -lseccomp).
    need libseccomp-dev
    # AIO tests: fio with its libaio and io_uring engines; io_uring tests build with liburing.
    need fio
    need liburing-dev
    # Real programs: PostgreSQL (initdb, the server, pgbench) in the sandbox.
    need postgresql-15
    # Terminal tests drive an interactive shell in `snakevisor do -t` through tmux, and full-screen
    # programs in it: vim.tiny (busybox's vi too), less, top (procps).
    for p in tmux vim-tiny less; do need "$p"; done
    # OCI mount tests compare /proc/self/mounts with runc's for the same bundle.
    need runc
    # Namespace tests: bubblewrap building its sandbox inside ours.
    need bubblewrap
    # 9P interop tests: gVisor's Go p9 client (built at test time) and the diod server.
    for p in golang-go golang-gvisor-gvisor-dev diod; do need "$p"; done
    # Network tests: nginx serving a static file, iproute2 for `ip addr` in the sandbox.
    for p in nginx-light iproute2 curl; do need "$p"; done
    # redis-server with redis-cli and redis-benchmark (redis-tools) in the sandbox.
    for p in redis-server redis-tools; do need "$p"; done
    # Container engines driving snakevisor as their runtime: Podman 4.3 with conmon, netavark and
    # iptables (tests/test_podman.py), containerd 1.6 with ctr and the runc v2 shim
    # (tests/test_oci_containerd.py), Docker 20.10 (tests/test_docker.py). Each test starts its engine
    # privately; no service is started here. docker.io comes without its recommends but for
    # apparmor (dockerd loads its profile where the kernel has AppArmor): they would bring
    # needrestart, which may restart services after every later apt-get install.
    # containerd's CRI plugin (tests/test_cri_containerd.py) sets pod networks up with CNI plugins.
    for p in podman containerd containernetworking-plugins; do need "$p"; done
    dpkg -s docker.io >/dev/null 2>&1 || missing_norec="docker.io apparmor"
fi
if [ $want_bench = 1 ]; then
    # The programs are compiled at run time; gVisor and runc run beside snakevisor; wrk loads the sandboxed nginx.
    for p in gcc libc6-dev runsc runc nginx-light wrk redis-server redis-tools; do need "$p"; done
fi
if [ -n "$missing$missing_norec" ]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    [ -z "$missing" ] || apt-get install -y -qq $missing >/dev/null
    [ -z "$missing_norec" ] || apt-get install -y -qq --no-install-recommends $missing_norec >/dev/null
    # Debian starts redis-server's service on install: the tests and benchmarks start their own.
    case " $missing " in
        *" redis-server "*) (systemctl disable --now redis-server || service redis-server stop) >/dev/null 2>&1 || true ;;
    esac
fi

if [ $want_tests = 1 ]; then
    py=python3
    # grpcio: tests/cri_client.py speaks the CRI's gRPC to containerd (crictl is not in Debian 12).
    if ! $py -c 'import pytest, hypothesis, elftools, grpc' 2>/dev/null; then
        $py -m pip install -q pytest hypothesis pyelftools grpcio 2>/dev/null \
            || $py -m pip install -q --break-system-packages pytest hypothesis pyelftools grpcio
    fi
fi

# Bytecode for every module, written now: `snakevisor do` imports some 250 of them at each start,
# and with PYTHONDONTWRITEBYTECODE set (or a checkout it may not write) Python would compile them
# all again every time, doubling a start's CPU. Cached .pyc files are read even then. A checkout
# we cannot write keeps working, only slower.
repo=$(cd "$(dirname "$0")/.." && pwd)
python3 -m compileall -q "$repo/snakevisor" >/dev/null 2>&1 || echo "setup.sh: could not precompile $repo/snakevisor (read-only?): starts will be slower" >&2
