"""Kernel key retention ABI: special keyring ids, keyctl operations, permission bits and limits
(include/uapi/linux/keyctl.h, include/linux/key.h, security/keys/)."""

# Special keyring ids (negative key_serial_t values).
KEY_SPEC_THREAD_KEYRING = -1
KEY_SPEC_PROCESS_KEYRING = -2
KEY_SPEC_SESSION_KEYRING = -3
KEY_SPEC_USER_KEYRING = -4
KEY_SPEC_USER_SESSION_KEYRING = -5
KEY_SPEC_GROUP_KEYRING = -6
KEY_SPEC_REQKEY_AUTH_KEY = -7
KEY_SPEC_REQUESTOR_KEYRING = -8

# keyctl(2) operations.
KEYCTL_GET_KEYRING_ID = 0
KEYCTL_JOIN_SESSION_KEYRING = 1
KEYCTL_UPDATE = 2
KEYCTL_REVOKE = 3
KEYCTL_CHOWN = 4
KEYCTL_SETPERM = 5
KEYCTL_DESCRIBE = 6
KEYCTL_CLEAR = 7
KEYCTL_LINK = 8
KEYCTL_UNLINK = 9
KEYCTL_SEARCH = 10
KEYCTL_READ = 11
KEYCTL_INSTANTIATE = 12
KEYCTL_NEGATE = 13
KEYCTL_SET_REQKEY_KEYRING = 14
KEYCTL_SET_TIMEOUT = 15
KEYCTL_ASSUME_AUTHORITY = 16
KEYCTL_GET_SECURITY = 17
KEYCTL_SESSION_TO_PARENT = 18
KEYCTL_REJECT = 19
KEYCTL_INSTANTIATE_IOV = 20
KEYCTL_INVALIDATE = 21
KEYCTL_GET_PERSISTENT = 22
KEYCTL_MOVE = 30

# Permission bits: possessor, user, group, other (8 bits each, high to low).
KEY_VIEW = 0x01
KEY_READ = 0x02
KEY_WRITE = 0x04
KEY_SEARCH = 0x08
KEY_LINK = 0x10
KEY_SETATTR = 0x20
KEY_ALL = 0x3f
KEY_POS_SHIFT, KEY_USR_SHIFT, KEY_GRP_SHIFT = 24, 16, 8
KEY_PERM_MASK = KEY_ALL * 0x01010101           # the bits KEYCTL_SETPERM accepts

KEY_MAX_DESC_SIZE = 4096
KEY_TYPE_NAME_MAX = 32                         # type names are copied into a 32-byte buffer
KEY_MAX_PAYLOAD = 1024 * 1024 - 1              # add_key and KEYCTL_UPDATE refuse larger with EINVAL
USER_KEY_MAX_PAYLOAD = 32767                   # "user" and "logon" payloads
KEY_MAX_NESTING = 6                            # keyring search depth (KEYRING_SEARCH_MAX_DEPTH)
KEY_NEGATIVE_TIMEOUT = 60                      # a failed request_key leaves a negative key this long
KEY_SERIAL_MIN = 3

# /proc/sys/kernel/keys defaults (security/keys/key.c, gc.c, persistent.c).
KEY_SYSCTL_DEFAULTS = {"maxkeys": 200, "maxbytes": 20000, "root_maxkeys": 1000000,
                       "root_maxbytes": 25000000, "gc_delay": 300, "persistent_keyring_expiry": 259200}
