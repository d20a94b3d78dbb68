"""Go's toolchain inside the sandbox: `go build`, `go vet` and `go test -p 2` of a small module
(goroutines, a channel pipeline, a local package, a test file), against the same commands run
natively. The go command runs the compiler, linker and vet as parallel processes of many threads
each, which exit as soon as they are done: the workload that found memory being reused before the
stubs that mapped it were dead (test_memory_reuse)."""
import os
import pathlib
import shutil
import subprocess

import pytest

from harness import BUILD_DIR, app_env, run_sandboxed

pytestmark = pytest.mark.skipif(not shutil.which("go"), reason="golang-go is not installed (tools/setup.sh --test installs it)")

GO_MOD = "module example.com/pipeline\n\ngo 1.19\n"

MAIN = """package main

import (
	"fmt"
	"sort"
	"sync"

	"example.com/pipeline/stats"
)

func main() {
	in := make(chan int)
	out := make(chan int)
	var wg sync.WaitGroup
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := range in {
				out <- stats.Collatz(n)
			}
		}()
	}
	go func() {
		for n := 1; n <= 20000; n++ {
			in <- n
		}
		close(in)
	}()
	go func() { wg.Wait(); close(out) }()
	var steps []int
	for s := range out {
		steps = append(steps, s)
	}
	sort.Ints(steps)
	fmt.Println("values", len(steps), "longest", steps[len(steps)-1], "mean", stats.Mean(steps))
}
"""

STATS = """package stats

// Collatz is the number of steps n takes to reach 1.
func Collatz(n int) int {
	steps := 0
	for n != 1 {
		if n%2 == 0 {
			n /= 2
		} else {
			n = 3*n + 1
		}
		steps++
	}
	return steps
}

// Mean of xs, rounded down.
func Mean(xs []int) int {
	total := 0
	for _, x := range xs {
		total += x
	}
	return total / len(xs)
}
"""

STATS_TEST = """package stats

import "testing"

func TestCollatz(t *testing.T) {
	for n, want := range map[int]int{1: 0, 2: 1, 3: 7, 27: 111} {
		if got := Collatz(n); got != want {
			t.Errorf("Collatz(%d) = %d, want %d", n, got, want)
		}
	}
}

func TestMean(t *testing.T) {
	if got := Mean([]int{1, 2, 3, 6}); got != 3 {
		t.Errorf("Mean = %d", got)
	}
}
"""

SCRIPT = ("set -e; cd {src}; go build -o {out}/pipeline . && {out}/pipeline; go vet ./...; "
          "go test -count=1 -p 2 ./... 2>&1 | sed -E 's/\\t[0-9.]+s$//'")


@pytest.fixture(scope="module")
def module_dir():
    """The module, where the sandbox sees it (its /tmp is its own)."""
    src = pathlib.Path(BUILD_DIR) / f"gomodule-{os.getpid()}"
    shutil.rmtree(src, ignore_errors=True)
    (src / "stats").mkdir(parents=True)
    (src / "go.mod").write_text(GO_MOD)
    (src / "main.go").write_text(MAIN)
    (src / "stats" / "stats.go").write_text(STATS)
    (src / "stats" / "stats_test.go").write_text(STATS_TEST)
    yield src
    shutil.rmtree(src, ignore_errors=True)


def _go_env(home):
    return app_env(HOME=home, GOCACHE=f"{home}/gocache", GOPATH=f"{home}/gopath", GOFLAGS="-mod=mod",
                   GO111MODULE="on", GOTOOLCHAIN="local", CGO_ENABLED="0")


def test_go_build_vet_and_test_as_natively(module_dir, tmp_path):
    native = subprocess.run(["/bin/sh", "-c", SCRIPT.format(src=module_dir, out=tmp_path)],
                            env=_go_env(str(tmp_path)), capture_output=True, timeout=600)
    assert native.returncode == 0, native.stderr.decode(errors="replace")[-2000:]
    # Twice: a cold build, then one that finds the first's cache (in the sandbox's own /tmp).
    twice = SCRIPT.format(src=module_dir, out="/tmp") + "; " + SCRIPT.format(src=module_dir, out="/tmp")
    boxed = run_sandboxed(["/bin/sh", "-c", twice], env=_go_env("/tmp"), timeout=900)
    detail = boxed.stderr.decode(errors="replace")[-3000:]
    assert boxed.returncode == 0, detail
    assert boxed.stdout == native.stdout * 2, detail
    assert b"values 20000 longest 278" in native.stdout and b"ok  \texample.com/pipeline/stats" in native.stdout
    assert os.path.exists(tmp_path / "pipeline")
