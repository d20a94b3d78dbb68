"""System V IPC ABI: ipc(2) flags and commands, the shm/sem/msg limits, and the x86_64 struct layouts.

Values are Linux's (include/uapi/linux/{ipc,shm,sem,msg}.h, asm-generic/{ipcbuf,shmbuf,msgbuf}.h,
arch/x86/include/uapi/asm/sembuf.h). On x86_64 the 64-bit layouts are the only ones: a command
with IPC_64 (0x100) set is EINVAL, as Linux answers it there.
"""
import struct

IPC_PRIVATE = 0
IPC_CREAT, IPC_EXCL, IPC_NOWAIT = 0o1000, 0o2000, 0o4000
IPC_RMID, IPC_SET, IPC_STAT, IPC_INFO = 0, 1, 2, 3

# Identifiers: id = seq << IPCMNI_SHIFT | index.
IPCMNI_SHIFT = 15
IPCMNI = 1 << IPCMNI_SHIFT
IPCID_SEQ_MAX = 0x7FFFFFFF >> IPCMNI_SHIFT

# shm
SHM_RDONLY, SHM_RND, SHM_REMAP, SHM_EXEC = 0o10000, 0o20000, 0o40000, 0o100000
SHM_HUGETLB, SHM_NORESERVE = 0o4000, 0o10000          # shmget flags
SHM_DEST, SHM_LOCKED = 0o1000, 0o2000                 # in shm_perm.mode
SHM_LOCK, SHM_UNLOCK, SHM_STAT, SHM_INFO, SHM_STAT_ANY = 11, 12, 13, 14, 15
SHMMIN = 1
SHMMNI = 4096
SHMMAX = (1 << 64) - 1 - (1 << 24)
SHMALL = SHMMAX
SHMSEG = SHMMNI
SHMLBA = 4096

# sem
GETPID, GETVAL, GETALL, GETNCNT, GETZCNT, SETVAL, SETALL = 11, 12, 13, 14, 15, 16, 17
SEM_STAT, SEM_INFO, SEM_STAT_ANY = 18, 19, 20
SEM_UNDO = 0x1000
SEMMNI = 32000
SEMMSL = 32000
SEMMNS = SEMMNI * SEMMSL
SEMOPM = 500
SEMVMX = 32767
SEMAEM = SEMVMX
SEMUME = SEMOPM
SEMMNU = SEMMNS
SEMMAP = SEMMNS
SEMUSZ = 20

# msg
MSG_STAT, MSG_INFO, MSG_STAT_ANY = 11, 12, 13
MSG_NOERROR, MSG_EXCEPT, MSG_COPY = 0o10000, 0o20000, 0o40000
MSGMNI = 32000
MSGMAX = 8192
MSGMNB = 16384
MSGSSZ = 16
MSGPOOL = MSGMNI * MSGMNB // 1024
MSGTQL = MSGMNB
MSGMAP = MSGMNB
MSGSEG = 0xFFFF

# struct ipc64_perm: key, uid, gid, cuid, cgid, mode, seq (+ padding and two unused longs).
IPC64_PERM = struct.Struct("<iIIIIIH6xQQ")
# struct shmid64_ds: perm, segsz, atime, dtime, ctime, cpid, lpid, nattch, 2 unused.
SHMID64_DS = struct.Struct("<48sQqqqiiQQQ")
# struct shminfo64: shmmax, shmmin, shmmni, shmseg, shmall, 4 unused.
SHMINFO64 = struct.Struct("<9Q")
# struct shm_info: used_ids, shm_tot, shm_rss, shm_swp, swap_attempts, swap_successes.
SHM_INFO_STRUCT = struct.Struct("<i4x5Q")
# struct semid64_ds: perm, otime, unused, ctime, unused, nsems, 2 unused.
SEMID64_DS = struct.Struct("<48sqQqQQQQ")
# struct seminfo: semmap, semmni, semmns, semmnu, semmsl, semopm, semume, semusz, semvmx, semaem.
SEMINFO = struct.Struct("<10i")
# struct sembuf: sem_num, sem_op, sem_flg.
SEMBUF = struct.Struct("<Hhh")
# struct msqid64_ds: perm, stime, rtime, ctime, cbytes, qnum, qbytes, lspid, lrpid, 2 unused.
MSQID64_DS = struct.Struct("<48sqqqQQQiiQQ")
# struct msginfo: msgpool, msgmap, msgmax, msgmnb, msgmni, msgssz, msgtql, msgseg.
MSGINFO = struct.Struct("<7iH2x")

# POSIX message queues (<linux/mqueue.h>, ipc/mqueue.c): priorities below MQ_PRIO_MAX; the ceilings of
# msg_max and msgsize_max for CAP_SYS_RESOURCE.
MQ_PRIO_MAX = 32768
HARD_MSGMAX, HARD_MSGSIZEMAX = 65536, 16 << 20
