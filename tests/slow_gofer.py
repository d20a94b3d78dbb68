"""`snakevisor do` whose volumes are served through a 9P proxy that the test slows down:
``python3 slow_gofer.py GATE STATUS HOLD -- do ARGS...`` (GATE and STATUS are host FIFOs that
the test holds open: GATE read-write, STATUS for reading; HOLD names 9P requests: Tread,...).

The proxy sits between the Sentry and the Gofer on every volume's connection (not the
root's). It asks for plain 9P2000.L (no descriptor donation: file I/O is Tread/Twrite) and
holds every request of a type in HOLD until a byte can be read from GATE; each one it holds
is reported on STATUS as a line "held N". Both are opened at once: the Sentry soon pivots the mount namespace
it shares with the proxy to an empty root. So a test knows when a read waits for the Gofer, and decides
when it ends. Only for tests: it patches GoferProcess in this process before running the CLI.
"""
import os
import socket
import sys
import threading

from snakevisor.hostos.libc import die_with_parent
from snakevisor.p9 import constants as C
from snakevisor.p9.codec import REQUESTS, Decoder
from snakevisor.p9 import messages as M
from snakevisor.p9.messages import encode
from snakevisor.sandbox import gofer_process


class Proxy:
    def __init__(self, sentry, gofer, gate, status, hold):
        self.sentry, self.gofer, self.hold = sentry, gofer, hold
        self.gate = open(gate, "rb", buffering=0)
        self.status = open(status, "w", buffering=1)
        self.lock = threading.Lock()
        self.held = []
        self.count = 0
        self.open = False

    def run(self):
        threading.Thread(target=self.replies, daemon=True).start()
        decoder = Decoder(C.DEFAULT_MSIZE, expect=REQUESTS)
        while True:
            data = self.sentry.recv(1 << 20)
            if not data:
                return
            decoder.feed(data)
            while (msg := decoder.next_message()) is not None:
                self.request(msg)

    def request(self, msg):
        if type(msg) is M.Tversion:
            msg.version = C.VERSION_9P2000L   # no donation
        with self.lock:
            if type(msg) in self.hold and not self.open:
                self.held.append(msg)
                self.count += 1
                if self.count == 1:
                    threading.Thread(target=self.wait_for_gate, daemon=True).start()
                self.report(f"held {self.count}\n")
                return
            self.gofer.sendall(encode(msg))

    def report(self, line):
        self.status.write(line)

    def wait_for_gate(self):
        self.gate.read(1)
        with self.lock:
            self.open = True
            for msg in self.held:
                self.gofer.sendall(encode(msg))
            self.held = []

    def replies(self):
        while True:
            data = self.gofer.recv(1 << 20)
            if not data:
                os._exit(0)
            self.sentry.sendall(data)


def interpose(gate, status, hold):
    original = gofer_process.GoferProcess.__init__

    def init(self, mounts, *args, **kwargs):
        original(self, mounts, *args, **kwargs)
        for i in range(1, len(self.sockets)):
            ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
            if os.fork() == 0:
                os.setsid()   # out of the sandbox process's group: its signals are not ours
                die_with_parent()
                ours.close()
                try:
                    Proxy(theirs, self.sockets[i], gate, status, hold).run()
                finally:
                    os._exit(0)
            theirs.close()
            self.sockets[i].close()
            self.sockets[i] = ours
    gofer_process.GoferProcess.__init__ = init


if __name__ == "__main__":
    gate, status, hold, dashes = sys.argv[1:5]
    assert dashes == "--"
    interpose(gate, status, {getattr(M, name) for name in hold.split(",")})
    from snakevisor.cli.main import main
    sys.argv = ["snakevisor"] + sys.argv[5:]
    sys.exit(main())
