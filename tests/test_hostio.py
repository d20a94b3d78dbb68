"""hostio: positioned host writes that go on after a short count (one host call when it moves it all)."""
import os

from snakevisor import hostio


def _short_writes(monkeypatch, cap, calls):
    """os.pwrite as a host that moves at most ``cap`` bytes per call (0: none at all)."""
    real = os.pwrite

    def pwrite(fd, data, offset):
        calls.append(len(memoryview(data).cast("B")))
        return real(fd, memoryview(data).cast("B")[:cap], offset) if cap else 0
    monkeypatch.setattr(hostio.os, "pwrite", pwrite)


def test_pwrite_full_goes_on_after_a_short_write(tmp_path, monkeypatch):
    path = tmp_path / "f"
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        data = bytes(range(256)) * 40   # 10240 bytes, each position distinct modulo 256
        calls = []
        _short_writes(monkeypatch, 4096, calls)
        assert hostio.pwrite_full(fd, memoryview(data), 100) == len(data)
        assert calls == [10240, 6144, 2048]   # each call asks for what is left, from where it stopped
        monkeypatch.undo()
        assert os.pread(fd, len(data) + 200, 0) == bytes(100) + data
    finally:
        os.close(fd)


def test_pwrite_full_one_call_and_a_host_that_writes_nothing(tmp_path, monkeypatch):
    fd = os.open(tmp_path / "f", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        calls = []
        _short_writes(monkeypatch, 1 << 20, calls)
        assert hostio.pwrite_full(fd, b"x" * 5000, 0) == 5000 and calls == [5000]
        assert hostio.pwrite_full(fd, b"", 0) == 0 and calls == [5000]   # nothing to write: no host call
        calls.clear()
        _short_writes(monkeypatch, 0, calls)
        assert hostio.pwrite_full(fd, b"y" * 10, 0) == 0 and calls == [10]   # no space: the zero count
    finally:
        os.close(fd)
