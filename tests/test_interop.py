"""9P interop with code nobody here wrote.

* gVisor's own Go ``p9`` client (Debian golang-gvisor-gvisor-dev, built with Debian's
  golang-go in GOPATH mode) drives our Gofer: attach, walk, create, write, read back,
  readdir, mkdir, renameat, getattr, unlinkat — against the in-process server and
  against an isolated Gofer process.
* Our Sentry-side client and gofer filesystem run the VFS conformance tests against
  Debian's ``diod`` server (plain 9P2000.L, no descriptor donation): tests/test_vfs_conformance.py.

Each part skips, saying why, when its package is not installed (tools/setup.sh --test
installs them).
"""
import os
import shutil
import socket
import subprocess
import threading

import pytest

from snakevisor.gofer import serve
from snakevisor.sandbox.gofer_process import GoferMount, GoferProcess

GOPATH = "/usr/share/gocode"
GVISOR_P9 = os.path.join(GOPATH, "src/gvisor.dev/gvisor/pkg/p9")
HERE = os.path.dirname(os.path.abspath(__file__))

GO_CLIENT = r'''
package main

import (
	"fmt"
	"os"
	"strconv"

	"gvisor.dev/gvisor/pkg/p9"
	"gvisor.dev/gvisor/pkg/unet"
)

func die(what string, err error) {
	fmt.Printf("FAIL %s: %v\n", what, err)
	os.Exit(1)
}

func main() {
	fd, _ := strconv.Atoi(os.Args[1])
	sock, err := unet.NewSocket(fd)
	if err != nil {
		die("socket", err)
	}
	c, err := p9.NewClient(sock, 1<<20, p9.HighestVersionString())
	if err != nil {
		die("version", err)
	}
	root, err := c.Attach("")
	if err != nil {
		die("attach", err)
	}
	_, dir, err := root.Walk(nil)
	if err != nil {
		die("walk clone", err)
	}
	hostFD, f, _, _, err := dir.Create("hello.txt", p9.ReadWrite, 0644, p9.NoUID, p9.NoGID)
	if err != nil {
		die("create", err)
	}
	if hostFD != nil {
		hostFD.Close()
	}
	if _, err := f.WriteAt([]byte("hello from go"), 0); err != nil {
		die("write", err)
	}
	buf := make([]byte, 64)
	n, err := f.ReadAt(buf, 0)
	if err != nil && n == 0 {
		die("read", err)
	}
	fmt.Printf("READ %s\n", buf[:n])
	f.Close()
	if _, err := root.Mkdir("sub", 0755, p9.NoUID, p9.NoGID); err != nil {
		die("mkdir", err)
	}
	_, d2, err := root.Walk(nil)
	if err != nil {
		die("walk2", err)
	}
	if _, _, _, err := d2.Open(p9.ReadOnly); err != nil {
		die("open dir", err)
	}
	ents, err := d2.Readdir(0, 4096)
	if err != nil {
		die("readdir", err)
	}
	for _, e := range ents {
		fmt.Printf("DIRENT %s\n", e.Name)
	}
	d2.Close()
	_, sub, err := root.Walk([]string{"sub"})
	if err != nil {
		die("walk sub", err)
	}
	if err := root.RenameAt("hello.txt", sub, "moved.txt"); err != nil {
		die("renameat", err)
	}
	_, moved, err := root.Walk([]string{"sub", "moved.txt"})
	if err != nil {
		die("walk moved", err)
	}
	_, _, attr, err := moved.GetAttr(p9.AttrMaskAll())
	if err != nil {
		die("getattr", err)
	}
	fmt.Printf("SIZE %d\n", attr.Size)
	moved.Close()
	if _, _, err := root.Walk([]string{"..", "..", "sub"}); err != nil {
		die("walk dotdot", err)
	}
	if err := sub.UnlinkAt("moved.txt", 0); err != nil {
		die("unlinkat", err)
	}
	if err := root.UnlinkAt("sub", 0x200); err != nil {
		die("rmdir", err)
	}
	fmt.Println("OK")
}
'''


@pytest.fixture(scope="module")
def go_client(tmp_path_factory):
    if not shutil.which("go"):
        pytest.skip("golang-go is not installed (tools/setup.sh --test installs it)")
    if not os.path.isdir(GVISOR_P9):
        pytest.skip("golang-gvisor-gvisor-dev is not installed (no gvisor.dev/gvisor/pkg/p9 in GOPATH)")
    d = tmp_path_factory.mktemp("goclient")
    (d / "main.go").write_text(GO_CLIENT)
    env = dict(os.environ, GOPATH=GOPATH, GO111MODULE="off", GOCACHE=str(d / "cache"), GOFLAGS="")
    r = subprocess.run(["go", "build", "-o", str(d / "goclient"), "main.go"], cwd=d, env=env,
                       capture_output=True, text=True, timeout=170)
    if r.returncode != 0:
        pytest.skip(f"gVisor's p9 client does not build here: {r.stderr[-500:]}")
    return str(d / "goclient")


def _run_go(go_client, sock):
    r = subprocess.run([go_client, str(sock.fileno())], pass_fds=[sock.fileno()], capture_output=True,
                       text=True, timeout=30)
    assert r.returncode == 0, r.stdout + r.stderr
    lines = r.stdout.splitlines()
    assert "READ hello from go" in lines
    assert "DIRENT hello.txt" in lines and "DIRENT sub" in lines
    assert "SIZE 13" in lines and lines[-1] == "OK"


def test_gvisor_go_client_drives_our_gofer(go_client, tmp_path):
    ours, theirs = socket.socketpair()
    t = threading.Thread(target=serve, args=(str(tmp_path), ours, False), daemon=True)
    t.start()
    try:
        _run_go(go_client, theirs)
    finally:
        theirs.close()
        t.join(5)
    assert not t.is_alive()
    assert os.listdir(tmp_path) == []       # the client removed what it made


def test_gvisor_go_client_drives_isolated_gofer(go_client, tmp_path):
    g = GoferProcess([GoferMount("root", str(tmp_path), False)], isolate=True)
    try:
        _run_go(go_client, g.sockets[0])
    finally:
        g.stop()
    assert os.listdir(tmp_path) == []
