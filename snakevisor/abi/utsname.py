"""uname(2)'s struct new_utsname and the names sethostname(2)/setdomainname(2) set (<linux/utsname.h>);
the kernel's random UUIDs (/proc/sys/kernel/random/uuid and boot_id)."""
import os

NEW_UTS_LEN = 64               # bytes of each field, without its NUL (each field is 65 bytes)
HOST_NAME_MAX = NEW_UTS_LEN    # sethostname(2): longer is EINVAL


def random_uuid():
    """A version 4 UUID as /proc/sys/kernel/random/uuid shows it (with its newline); the uuid
    module's import (platform, ~2 ms) is not paid for it."""
    b = bytearray(os.urandom(16))
    b[6] = (b[6] & 0x0F) | 0x40
    b[8] = (b[8] & 0x3F) | 0x80
    h = b.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}\n"
