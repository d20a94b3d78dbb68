"""The systrap stub's code page, as bytes assembled from stub.S (beside this file).

``as --64 stub.S && objcopy -O binary -j .text`` gives a 4096-byte page; CODE holds its bytes
from ENTRY_OFFSET on (tests/test_systrap.py re-assembles stub.S and compares when ``as`` is
installed). The offsets below are the ``.org`` lines of stub.S.
"""
from snakevisor.sentry.platform.ptrace.stub import ENTRY_OFFSET, STUB_ADDR, STUB_SIZE, build_stub_elf

HANDLER = STUB_ADDR + 0x100        # the signal handler (SIGSYS, faults, SIGURG)
RESTORER = STUB_ADDR + 0x200       # rt_sigreturn
THREAD_START = STUB_ADDR + 0x210   # a new thread: sigaltstack, unblock, ud2
EVENTFD_FD = 4                     # the Sentry's eventfd in every stub (the memfd is 3)

# sysmsg: the first page of each thread's 64 KiB region (the rest is its alternate stack)
SYSMSG_SIZE = 0x10000
ALTSTACK_OFFSET = 0x1000
ST_INIT, ST_EVENT, ST_RESUME, ST_SYSCALL, ST_DONE, ST_CLONE = 0, 1, 2, 3, 4, 5

CODE = bytes.fromhex(
    "ccebfd000000000000000000000000000f05cc0000000000000000000000000000000000000000000000000000000000"
    "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
    "00000000000000000000000000000000000000000000000000000000000000004889e34881e30000ffff48897b084889"
    "731048895318b8010000008703b801000000bf04000000488d7320ba080000000f05837b04007414b8ca0000004889df"
    "be01000000ba010000000f058b1383fa02747f83fa03741683fa05744fb8ca0000004889df31f64531d20f05ebde488b"
    "4328488b7b30488b7338488b53404c8b53484c8b43504c8b4b580f0548894360c70304000000b8ca0000004889dfbe01"
    "000000ba010000000f05eba0b838000000488b7b30488b73384c8b634031d24531d24531c00f054885c0744448894360"
    "ebbe48837b6800741848c7436800000000b89e000000bf02100000488b73700f05c30000000000000000000000000000"
    "b80f0000000f05000000000000000000b883000000498d7c247831f60f05b80e000000bf02000000498db42490000000"
    "31d241ba080000000f050f0b")


def code_page() -> bytes:
    page = bytearray(STUB_SIZE)
    page[ENTRY_OFFSET:ENTRY_OFFSET + len(CODE)] = CODE
    return bytes(page)


def build_systrap_elf() -> bytes:
    return build_stub_elf(code_page())
