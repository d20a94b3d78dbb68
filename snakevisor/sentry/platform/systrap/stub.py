"""The systrap stub's code page, as bytes assembled from stub.S (beside this file).

``as --64 stub.S && objcopy -O binary -j .text`` gives a 4096-byte page; CODE holds its bytes
from ENTRY_OFFSET on (tests/test_systrap.py re-assembles stub.S and compares when ``as`` is
installed). The offsets below are the ``.org`` lines of stub.S.
"""
from snakevisor.sentry.platform.ptrace.stub import ENTRY_OFFSET, STUB_ADDR, STUB_SIZE, build_stub_elf

HANDLER = STUB_ADDR + 0x100        # the signal handler (SIGSYS, faults, SIGURG)
RESTORER = STUB_ADDR + 0x280       # rt_sigreturn
THREAD_START = STUB_ADDR + 0x290   # a new thread: sigaltstack, unblock, ud2
BATCH = STUB_ADDR + 0x300          # the mapper's requests (r12, r13); r15 = 0: int3, then mapper_loop
FILTER_OFFSET = 0x10000            # where first_thread finds the application threads' sock_fprog
ALWAYS_WOKEN = 0x2e0              # a word of the page: 1 when the Sentry wakes every stub (pinned)
EVENTFD_FD = 4                     # the Sentry's eventfd in every stub (the memfd is 3)
MAPPER_FD = 0                      # the mapper's socket to the Sentry (the lowest free number)
HOST_FD = 2                        # where a host file's descriptor sent to the mapper lands: the lowest
                                   # free number (0 and 1 the socket pair, 3 and 4 the master's)

# sysmsg: the first page of each thread's 64 KiB region (the rest is its alternate stack)
SYSMSG_SIZE = 0x10000
ALTSTACK_OFFSET = 0x1000
ST_INIT, ST_EVENT, ST_RESUME, ST_SYSCALL, ST_DONE, ST_CLONE, ST_BLOCKED = 0, 1, 2, 3, 4, 5, 6

CODE = bytes.fromhex(
    "ccebfd000000000000000000000000000f05cc0000000000000000000000000000000000000000000000000000000000"
    "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
    "00000000000000000000000000000000000000000000000000000000000000004889e34881e30000ffff48897b084889"
    "731048895318b801000000870383bbb8000000007515b801000000bf04000000488d7320ba080000000f05837b040074"
    "14b8ca0000004889dfbe01000000ba010000000f058b1383fa020f84d700000083fa03746a83fa050f84a200000083fa"
    "0674148b8b9800000085c9740af390ffc9391374f4ebceb8010000008783b40000004531d2833d440100000075074c8d"
    "151b0100003913751ab8ca0000004889df31f60f054d85d274eb4c8d150f010000ebe2c783b400000000000000eb8648"
    "8b4328488b7b30488b7338488b53404c8b53484c8b43504c8b4b580f0548894360c70304000000b8ca0000004889dfbe"
    "01000000ba010000000f05e945ffffffb838000000488b7b30488b73384c8b63404c8b534831d24531c00f054885c074"
    "5f48894360ebba488d7368bf02100000e812000000488db3a0000000bf01100000e801000000c348833e00741248c706"
    "00000000488b7608b89e0000000f05c300000000000000000000000000000000b80f0000000f05000000000000000000"
    "b883000000498d7c247831f60f05b80e000000bf02000000498db4249000000031d241ba080000000f050f0b00000000"
    "000000000000000080841e00000000000100000000000000000000000000000000000000000000000000000000000000"
    "000000000000000000000000000000004d85ed7448498b0424498b7c2408498b742410498b5424184d8b5424204d8b44"
    "24284d8b4c24300f0549833c2438750c4885c00f84b30000004889c3483d01f0ffff73094983c43849ffcdebb34d85ff"
    "755ccceb2b00000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
    "31c0bf000000004889eeba010000000f054883f8fc74e94885c07e444d8b2e4d8d660841bf01000000e952ffffff4889"
    "c3b801000000bf000000004c89f6498d55010f054d85ed74b7b801000000bf000000004c89f64889da48f7da0f05eba0"
    "b8e7000000bf010000000f054989e44981e40000ffffb83d010000bf0100000031f6488d15f7fb00000f054885c00f84"
    "7cfeffffebca")


def code_page(always_woken=False) -> bytes:
    """The page; ``always_woken``: the stub's futex waits are unbounded (the Sentry does not
    read the stub's ``asleep`` flag: it always wakes it). Read-only to the application."""
    page = bytearray(STUB_SIZE)
    page[ENTRY_OFFSET:ENTRY_OFFSET + len(CODE)] = CODE
    page[ALWAYS_WOKEN] = int(always_woken)
    return bytes(page)


def build_systrap_elf(always_woken=False) -> bytes:
    return build_stub_elf(code_page(always_woken))
