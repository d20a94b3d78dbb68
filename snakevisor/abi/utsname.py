"""uname(2)'s struct new_utsname and the names sethostname(2)/setdomainname(2) set (<linux/utsname.h>)."""

NEW_UTS_LEN = 64               # bytes of each field, without its NUL (each field is 65 bytes)
HOST_NAME_MAX = NEW_UTS_LEN    # sethostname(2): longer is EINVAL
