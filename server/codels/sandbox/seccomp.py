"""The seccomp filter of the Linux sandbox: the system calls a scored program never needs.

The namespaces already keep a program from the network, the caller's processes and the
machine's files; the filter removes the kernel interfaces that would let it build new
namespaces or mounts (where it would hold capabilities again), reach the kernel keyring, trace
or read other processes, or open any socket (a socket file that a read-only mount still shows,
such as a container runtime's, accepts connections). ``clone3`` answers ``ENOSYS`` so the C
library falls back to ``clone``, whose flags the filter can read. A system call of another
architecture's table (x86's ``int 0x80``) kills the process.

:func:`seccomp_filter` assembles the classic BPF program; the launcher installs it. This module
imports only the standard library.
"""

from __future__ import annotations

import errno
import struct

AUDIT_ARCH = {"x86_64": 0xC000003E, "aarch64": 0xC00000B7}
"""The ``seccomp_data.arch`` value of each architecture the filter knows."""

DENIED = (
    "socket",
    "ptrace",
    "process_vm_readv",
    "process_vm_writev",
    "pidfd_getfd",
    "kcmp",
    "mount",
    "umount2",
    "pivot_root",
    "chroot",
    "unshare",
    "setns",
    "open_tree",
    "move_mount",
    "fsopen",
    "fsconfig",
    "fsmount",
    "fspick",
    "mount_setattr",
    "keyctl",
    "add_key",
    "request_key",
    "bpf",
    "perf_event_open",
    "userfaultfd",
    "io_uring_setup",
    "io_uring_enter",
    "io_uring_register",
    "open_by_handle_at",
    "name_to_handle_at",
    "fanotify_init",
    "syslog",
    "kexec_load",
    "kexec_file_load",
    "init_module",
    "finit_module",
    "delete_module",
    "reboot",
    "swapon",
    "swapoff",
    "acct",
    "quotactl",
)
"""What answers ``EPERM`` (``clone`` with namespace flags does too)."""

SYSCALLS: dict[str, dict[str, int]] = {
    "x86_64": {
        "socket": 41,
        "ptrace": 101,
        "process_vm_readv": 310,
        "process_vm_writev": 311,
        "pidfd_getfd": 438,
        "kcmp": 312,
        "mount": 165,
        "umount2": 166,
        "pivot_root": 155,
        "chroot": 161,
        "unshare": 272,
        "setns": 308,
        "open_tree": 428,
        "move_mount": 429,
        "fsopen": 430,
        "fsconfig": 431,
        "fsmount": 432,
        "fspick": 433,
        "mount_setattr": 442,
        "keyctl": 250,
        "add_key": 248,
        "request_key": 249,
        "bpf": 321,
        "perf_event_open": 298,
        "userfaultfd": 323,
        "io_uring_setup": 425,
        "io_uring_enter": 426,
        "io_uring_register": 427,
        "open_by_handle_at": 304,
        "name_to_handle_at": 303,
        "fanotify_init": 300,
        "syslog": 103,
        "kexec_load": 246,
        "kexec_file_load": 320,
        "init_module": 175,
        "finit_module": 313,
        "delete_module": 176,
        "reboot": 169,
        "swapon": 167,
        "swapoff": 168,
        "acct": 163,
        "quotactl": 179,
        "clone": 56,
        "clone3": 435,
    },
    "aarch64": {
        "socket": 198,
        "ptrace": 117,
        "process_vm_readv": 270,
        "process_vm_writev": 271,
        "pidfd_getfd": 438,
        "kcmp": 272,
        "mount": 40,
        "umount2": 39,
        "pivot_root": 41,
        "chroot": 51,
        "unshare": 97,
        "setns": 268,
        "open_tree": 428,
        "move_mount": 429,
        "fsopen": 430,
        "fsconfig": 431,
        "fsmount": 432,
        "fspick": 433,
        "mount_setattr": 442,
        "keyctl": 219,
        "add_key": 217,
        "request_key": 218,
        "bpf": 280,
        "perf_event_open": 241,
        "userfaultfd": 282,
        "io_uring_setup": 425,
        "io_uring_enter": 426,
        "io_uring_register": 427,
        "open_by_handle_at": 265,
        "name_to_handle_at": 264,
        "fanotify_init": 262,
        "syslog": 116,
        "kexec_load": 104,
        "kexec_file_load": 294,
        "init_module": 105,
        "finit_module": 273,
        "delete_module": 106,
        "reboot": 142,
        "swapon": 224,
        "swapoff": 225,
        "acct": 89,
        "quotactl": 60,
        "clone": 220,
        "clone3": 435,
    },
}
"""System call numbers (``asm/unistd_64.h`` and ``asm-generic/unistd.h``)."""

NAMESPACE_FLAGS = 0x7E020000
"""CLONE_NEWNS, NEWCGROUP, NEWUTS, NEWIPC, NEWUSER, NEWPID and NEWNET."""

_LOAD_WORD = 0x20  # BPF_LD | BPF_W | BPF_ABS
_JUMP_EQUAL = 0x15  # BPF_JMP | BPF_JEQ | BPF_K
_JUMP_AT_LEAST = 0x35  # BPF_JMP | BPF_JGE | BPF_K
_JUMP_ANY_BIT = 0x45  # BPF_JMP | BPF_JSET | BPF_K
_RETURN = 0x06  # BPF_RET | BPF_K
_ALLOW = 0x7FFF0000
_KILL_PROCESS = 0x80000000
_ERRNO = 0x00050000
_X32_BIT = 0x40000000


def _instruction(code: int, k: int, true: int = 0, false: int = 0) -> bytes:
    return struct.pack("<HBBI", code, true, false, k)


def seccomp_filter(machine: str) -> bytes | None:
    """The filter for ``machine`` (``platform.machine()``), or None for one it does not know."""
    numbers = SYSCALLS.get(machine)
    if numbers is None:
        return None
    deny = _ERRNO | errno.EPERM
    program = [
        _instruction(_LOAD_WORD, 4),  # seccomp_data.arch
        _instruction(_JUMP_EQUAL, AUDIT_ARCH[machine], 1, 0),
        _instruction(_RETURN, _KILL_PROCESS),
        _instruction(_LOAD_WORD, 0),  # seccomp_data.nr
    ]
    if machine == "x86_64":  # the x32 table shares the architecture value
        program += [_instruction(_JUMP_AT_LEAST, _X32_BIT, 0, 1), _instruction(_RETURN, deny)]
    for name in DENIED:
        program += [_instruction(_JUMP_EQUAL, numbers[name], 0, 1), _instruction(_RETURN, deny)]
    program += [
        _instruction(_JUMP_EQUAL, numbers["clone3"], 0, 1),
        _instruction(_RETURN, _ERRNO | errno.ENOSYS),
        _instruction(_JUMP_EQUAL, numbers["clone"], 0, 3),
        _instruction(_LOAD_WORD, 16),  # the low half of args[0], clone's flags
        _instruction(_JUMP_ANY_BIT, NAMESPACE_FLAGS, 0, 1),
        _instruction(_RETURN, deny),
        _instruction(_RETURN, _ALLOW),
    ]
    return b"".join(program)
