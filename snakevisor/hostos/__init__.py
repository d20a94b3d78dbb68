"""The host operating system as the sandbox's own processes use it: ``libc`` holds the process's
one C-library handle with its ctypes prototypes (and wrappers several modules share); ``setup``
the mount, pivot_root, namespace and capability calls that set a sandbox process up."""
from snakevisor.hostos.libc import become_subreaper, die_with_parent, libc, readable
from snakevisor.hostos.setup import (HostSetupError, attach_tree, become_root_in_user_namespace, check, clone_tree,
                                     drop_capabilities, lift_address_space_limit, mount, pivot_root,
                                     raise_nofile_limit)

__all__ = ["HostSetupError", "attach_tree", "become_root_in_user_namespace", "become_subreaper", "check", "readable",
           "clone_tree", "die_with_parent",
           "drop_capabilities", "libc", "lift_address_space_limit", "mount", "pivot_root",
           "raise_nofile_limit"]
