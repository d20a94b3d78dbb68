"""Credentials of a Task: the sandbox's own uids, gids and capabilities (root inside by default)."""
from dataclasses import dataclass, field, replace

ALL_CAPS = (1 << 41) - 1


@dataclass
class Credentials:
    uid: int = 0
    gid: int = 0
    euid: int = 0
    egid: int = 0
    suid: int = 0
    sgid: int = 0
    fsuid: int = 0
    fsgid: int = 0
    groups: list = field(default_factory=list)
    cap_effective: int = ALL_CAPS
    cap_permitted: int = ALL_CAPS
    cap_inheritable: int = 0
    cap_bounding: int = ALL_CAPS
    no_new_privs: bool = False

    def copy(self):
        return replace(self, groups=list(self.groups))

    def has_cap(self, cap):
        return bool(self.cap_effective >> cap & 1)
