/* Regressions found by a later sweep of gVisor's syscall tests: one case per argv[1], each printing
 * what it observes (return values, errno names), run natively and in the sandbox.
 *   userns_securebits  a new user namespace resets the securebits: PR_SET_KEEPCAPS's flag is gone
 *   elf_no_return      ELF files that fail to load past execve's point of no return (a segment whose
 *                      file offset is not page-aligned, a PIE whose addresses wrap): SIGSEGV, not an
 *                      errno; a segment with no file part is anonymous read-write memory
 *   elf_interp         PT_INTERP names: not NUL-terminated ENOEXEC, empty EACCES (the working
 *                      directory); an interpreter of another machine or no ELF at all ELIBBAD; a
 *                      relative interpreter's mapping is shown by its absolute path
 *   script_depth       five nested #! scripts run, six are ELOOP; AT_EXECFN and comm are the
 *                      script's name as execve was given it, not its interpreter's
 *   nsfs_bind          /proc/PID/ns/net bound on a file (as ip netns add does): the file is the
 *                      namespace, which outlives its last process, for setns; its mountinfo line;
 *                      the caller's own mount namespace cannot be bound (EINVAL)
 *   netlink_opts       NETLINK_LIST_MEMBERSHIPS reports the whole bitmap's size in optlen and copies
 *                      the 32-bit words that fit; SO_PASSCRED on a NETLINK_ROUTE socket gives each
 *                      answer the kernel's SCM_CREDENTIALS (pid 0, root)
 *   mempolicy_maxnode  a nodemask with maxnode 0 is EINVAL (the count is unsigned: minus one is
 *                      huge), a NULL one or maxnode 1 an empty set
 *   overlay_acl        an overlay's copy-up does not inherit the upper parent's default ACL; removing
 *                      an access ACL a lower file lacks is ENODATA and copies nothing up
 *   move_detached      move_mount of a detached tree's root into another detached tree (Linux 6.15),
 *                      which then moves as one; not a mount below a detached root (EINVAL); a
 *                      non-recursive open_tree clone of the tree leaves the submount out
 *   zombie_cpu_clock   a zombie's process CPU clocks read the CPU time it used (they read 0)
 *   rlimit_cpu_zero    RLIMIT_CPU with a soft limit of 0: no SIGXCPU while the process sleeps, one
 *                      as soon as it runs, SIGKILL at the hard limit (it was never enforced)
 *   smaps_shared_ro    smaps VmFlags of MAP_SHARED mappings: of a file open read-only, "ms" without
 *                      "sh" nor "mw" (Linux drops VM_SHARED and VM_MAYWRITE, keeps VM_MAYSHARE);
 *                      of a file open for writing and of shared anonymous memory, "sh" and "ms"
 */
#define _GNU_SOURCE
#include <elf.h>
#include <sys/mman.h>
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <sys/auxv.h>
#include <sys/socket.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <time.h>
#ifndef sigev_notify_thread_id
#define sigev_notify_thread_id _sigev_un._tid
#endif
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#ifndef SECBIT_NO_SETUID_FIXUP
#define SECBIT_NO_SETUID_FIXUP 4
#endif

static const char *en(int e)
{
    switch (e) {
    case 0: return "OK";
    case EPERM: return "EPERM";
    case ENOENT: return "ENOENT";
    case EACCES: return "EACCES";
    case EINVAL: return "EINVAL";
    case ENOEXEC: return "ENOEXEC";
    case ELOOP: return "ELOOP";
    case ELIBBAD: return "ELIBBAD";
    case EIO: return "EIO";
    case ENODATA: return "ENODATA";
    default: return strerror(e);
    }
}

static void show(const char *what, long r)
{
    printf("%s: %ld %s\n", what, r, r < 0 ? en(errno) : "");
}

/* The child's exit status or terminating signal, as one line. */
static void show_status(const char *what, pid_t pid)
{
    int st;
    if (waitpid(pid, &st, 0) != pid) {
        printf("%s: waitpid failed %s\n", what, en(errno));
        return;
    }
    if (WIFEXITED(st))
        printf("%s: exit %d\n", what, WEXITSTATUS(st));
    else if (WIFSIGNALED(st))
        printf("%s: signal %d\n", what, WTERMSIG(st));
    else
        printf("%s: status %#x\n", what, st);
}

static int userns_securebits(void)
{
    pid_t pid = fork();
    if (pid == 0) {
        show("set keepcaps", prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0));
        show("set no_setuid_fixup", prctl(PR_SET_SECUREBITS, SECBIT_NO_SETUID_FIXUP | 16, 0, 0, 0));
        show("securebits before", prctl(PR_GET_SECUREBITS, 0, 0, 0, 0));
        show("unshare user", unshare(CLONE_NEWUSER));
        show("keepcaps after", prctl(PR_GET_KEEPCAPS, 0, 0, 0, 0));
        show("securebits after", prctl(PR_GET_SECUREBITS, 0, 0, 0, 0));
        fflush(stdout);
        _exit(0);
    }
    show_status("child", pid);
    return 0;
}

/* -- execve of hand-made ELF files ------------------------------------------------------- */
static char dir[64];

/* exit(42), and the same after a SIGSTOP to itself (so the parent can read its maps). */
static const unsigned char EXIT42[] = {0xbf, 42, 0, 0, 0, 0xb8, 60, 0, 0, 0, 0x0f, 0x05};
static const unsigned char STOP_EXIT42[] = {0xb8, 39, 0, 0, 0, 0x0f, 0x05, 0x89, 0xc7, 0xbe, 19, 0, 0, 0,
                                            0xb8, 62, 0, 0, 0, 0x0f, 0x05,
                                            0xbf, 42, 0, 0, 0, 0xb8, 60, 0, 0, 0, 0x0f, 0x05};

struct elf {
    Elf64_Ehdr eh;
    Elf64_Phdr ph[3];
    unsigned char data[256];
};

/* A static ELF whose one PT_LOAD (R+X, at ``vaddr``) covers the whole file; ``interp`` (len
 * bytes) becomes a PT_INTERP before it. Returns the struct for the caller to adjust. */
static struct elf make_elf(int type, unsigned long vaddr, const unsigned char *code, size_t n,
                           const char *interp, size_t len)
{
    struct elf e;
    memset(&e, 0, sizeof(e));
    memcpy(e.eh.e_ident, ELFMAG, SELFMAG);
    e.eh.e_ident[EI_CLASS] = ELFCLASS64;
    e.eh.e_ident[EI_DATA] = ELFDATA2LSB;
    e.eh.e_ident[EI_VERSION] = EV_CURRENT;
    e.eh.e_type = type;
    e.eh.e_machine = EM_X86_64;
    e.eh.e_version = EV_CURRENT;
    e.eh.e_phoff = offsetof(struct elf, ph);
    e.eh.e_ehsize = sizeof(Elf64_Ehdr);
    e.eh.e_phentsize = sizeof(Elf64_Phdr);
    int i = 0;
    size_t off = offsetof(struct elf, data);
    memcpy(e.data, code, n);
    if (interp) {
        memcpy(e.data + 128, interp, len);
        e.ph[i].p_type = PT_INTERP;
        e.ph[i].p_offset = off + 128;
        e.ph[i].p_filesz = e.ph[i].p_memsz = len;
        i++;
    }
    e.ph[i].p_type = PT_LOAD;
    e.ph[i].p_flags = PF_R | PF_X;
    e.ph[i].p_vaddr = vaddr;
    e.ph[i].p_filesz = e.ph[i].p_memsz = sizeof(e);
    e.ph[i].p_align = 0x1000;
    e.eh.e_phnum = i + 1;
    e.eh.e_entry = vaddr + off;
    return e;
}

static void put_file(const char *name, const void *data, size_t n, int mode)
{
    char path[128];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
    if (fd < 0 || write(fd, data, n) != (ssize_t)n) {
        printf("cannot write %s: %s\n", name, en(errno));
        exit(1);
    }
    close(fd);
}

/* Fork, execve ``name`` (relative to the working directory, which is ``dir``) and report how it
 * ended: the errno execve failed with, or its exit status or signal. ``stopped``: a callback for
 * a child that stops itself (it is continued after). */
static void run(const char *what, const char *name, void (*stopped)(pid_t))
{
    pid_t pid = fork();
    if (pid == 0) {
        struct rlimit no_core = {0, 0};
        setrlimit(RLIMIT_CORE, &no_core);
        char *argv[] = {(char *)name, NULL}, *envp[] = {NULL};
        execve(name, argv, envp);
        printf("%s: execve %s\n", what, en(errno));
        fflush(stdout);
        _exit(127);
    }
    int st;
    if (stopped) {
        if (waitpid(pid, &st, WUNTRACED) == pid && WIFSTOPPED(st)) {
            stopped(pid);
            kill(pid, SIGCONT);
        }
    }
    if (waitpid(pid, &st, 0) != pid)
        printf("%s: waitpid %s\n", what, en(errno));
    else if (WIFEXITED(st) && WEXITSTATUS(st) != 127)
        printf("%s: exit %d\n", what, WEXITSTATUS(st));
    else if (WIFSIGNALED(st))
        printf("%s: signal %d\n", what, WTERMSIG(st));
}

/* The maps lines of the hand-made images: below 0x10000000, or of a file in ``dir`` (named
 * relative to it; "high" for an address that varies). */
static void low_maps(pid_t pid)
{
    char path[64], line[512];
    snprintf(path, sizeof(path), "/proc/%d/maps", pid);
    FILE *f = fopen(path, "r");
    while (f && fgets(line, sizeof(line), f)) {
        unsigned long lo, hi;
        char perms[8], name[256] = "";
        if (sscanf(line, "%lx-%lx %7s %*s %*s %*s %255s", &lo, &hi, perms, name) < 3)
            continue;
        size_t n = strlen(dir);
        int ours = !strncmp(name, dir, n);
        const char *shown = ours ? name + n + 1 : name;
        if (lo < 0x10000000)
            printf("  %lx-%lx %s '%s'\n", lo, hi, perms, shown);
        else if (ours)
            printf("  high %s '%s'\n", perms, shown);
    }
    if (f)
        fclose(f);
}

static void in_tmpdir(void)
{
    strcpy(dir, "/tmp/gvtswXXXXXX");
    if (!mkdtemp(dir) || chdir(dir)) {
        printf("tmpdir: %s\n", en(errno));
        exit(1);
    }
}

static void clean_tmpdir(void)
{
    char cmd[128];
    chdir("/");
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    system(cmd);
}

static int elf_no_return(void)
{
    in_tmpdir();
    struct elf e = make_elf(ET_EXEC, 0x400000, EXIT42, sizeof(EXIT42), NULL, 0);
    put_file("ok", &e, sizeof(e), 0755);
    run("ok", "./ok", NULL);
    e.ph[0].p_offset = 1;                      /* its page would start one byte into the file */
    put_file("unaligned", &e, sizeof(e), 0755);
    run("unaligned offset", "./unaligned", NULL);
    e = make_elf(ET_EXEC, 0x400000, EXIT42, sizeof(EXIT42), NULL, 0);
    e.ph[0].p_filesz = e.ph[0].p_memsz + 1;    /* more file than memory */
    put_file("filesz", &e, sizeof(e), 0755);
    run("filesz past memsz", "./filesz", NULL);
    e = make_elf(ET_DYN, 0, EXIT42, sizeof(EXIT42), NULL, 0);
    e.ph[0].p_vaddr = 0xfffffffffffff000UL - e.ph[0].p_memsz;
    e.eh.e_entry = e.ph[0].p_vaddr + offsetof(struct elf, data);
    put_file("pie_wrap", &e, sizeof(e), 0755);
    run("pie wrapping", "./pie_wrap", NULL);
    e = make_elf(ET_EXEC, 0x400000, EXIT42, sizeof(EXIT42), NULL, 0);
    e.eh.e_entry = 0x800000000000UL;           /* past the address space */
    put_file("entry", &e, sizeof(e), 0755);
    run("entry out of range", "./entry", NULL);
    e = make_elf(ET_EXEC, 0x400000, STOP_EXIT42, sizeof(STOP_EXIT42), NULL, 0);
    e.ph[1] = e.ph[0];                         /* read-only, no file part */
    e.ph[1].p_flags = PF_R;
    e.ph[1].p_vaddr = 0x401000;
    e.ph[1].p_filesz = 0;
    e.ph[1].p_memsz = 0x1000;
    e.ph[2] = e.ph[1];                         /* executable, a file page and more memory */
    e.ph[2].p_flags = PF_R | PF_X;
    e.ph[2].p_vaddr = 0x500000;
    e.ph[2].p_filesz = 16;
    e.ph[2].p_memsz = 0x2000;
    e.eh.e_phnum = 3;
    put_file("anon", &e, sizeof(e), 0755);
    run("anonymous segment", "./anon", low_maps);
    clean_tmpdir();
    return 0;
}

static int elf_interp(void)
{
    in_tmpdir();
    struct elf e = make_elf(ET_EXEC, 0x400000, EXIT42, sizeof(EXIT42), "/f/b", 4);
    put_file("no_nul", &e, sizeof(e), 0755);
    run("interp not NUL-terminated", "./no_nul", NULL);
    e = make_elf(ET_EXEC, 0x400000, EXIT42, sizeof(EXIT42), "/f/b", 5);
    put_file("missing", &e, sizeof(e), 0755);
    run("interp missing", "./missing", NULL);
    e = make_elf(ET_EXEC, 0x400000, EXIT42, sizeof(EXIT42), "\0", 2);
    put_file("empty", &e, sizeof(e), 0755);
    run("interp empty", "./empty", NULL);
    struct elf i = make_elf(ET_DYN, 0, STOP_EXIT42, sizeof(STOP_EXIT42), NULL, 0);
    i.eh.e_machine = EM_386;
    put_file("i386", &i, sizeof(i), 0755);
    e = make_elf(ET_EXEC, 0x400000, EXIT42, sizeof(EXIT42), "i386", 5);
    put_file("wrong_arch", &e, sizeof(e), 0755);
    run("interp of another machine", "./wrong_arch", NULL);
    put_file("short", "hello\n", 6, 0755);
    e = make_elf(ET_EXEC, 0x400000, EXIT42, sizeof(EXIT42), "short", 6);
    put_file("short_interp", &e, sizeof(e), 0755);
    run("interp shorter than an ELF header", "./short_interp", NULL);
    put_file("text", &e.data, sizeof(e.data), 0755);
    e = make_elf(ET_EXEC, 0x400000, EXIT42, sizeof(EXIT42), "text", 5);
    put_file("not_elf", &e, sizeof(e), 0755);
    run("interp not ELF", "./not_elf", NULL);
    i.eh.e_machine = EM_X86_64;
    put_file("ld", &i, sizeof(i), 0755);
    e = make_elf(ET_EXEC, 0x400000, EXIT42, sizeof(EXIT42), "ld", 3);
    put_file("relative", &e, sizeof(e), 0755);
    run("relative interp", "./relative", low_maps);
    clean_tmpdir();
    return 0;
}

static int script_depth(void)
{
    in_tmpdir();
    struct elf e = make_elf(ET_EXEC, 0x400000, EXIT42, sizeof(EXIT42), NULL, 0);
    put_file("s0", &e, sizeof(e), 0755);
    for (int n = 1; n <= 6; n++) {
        char name[8], body[96];
        snprintf(name, sizeof(name), "s%d", n);
        snprintf(body, sizeof(body), "#!%s/s%d\n", dir, n - 1);
        put_file(name, body, strlen(body), 0755);
    }
    run("five scripts deep", "./s5", NULL);
    run("six scripts deep", "./s6", NULL);
    char self[256], body[300];
    ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
    self[n < 0 ? 0 : n] = 0;
    snprintf(body, sizeof(body), "#!%s execfn_child\n", self);
    put_file("script-name", body, strlen(body), 0755);
    run("script", "./script-name", NULL);
    clean_tmpdir();
    return 0;
}

/* Run as the interpreter of a script: what AT_EXECFN and comm name. */
static int execfn_child(void)
{
    char comm[32] = "";
    int fd = open("/proc/self/comm", O_RDONLY);
    ssize_t n = fd < 0 ? -1 : read(fd, comm, sizeof(comm) - 1);
    comm[n > 0 ? n - 1 : 0] = 0;
    printf("AT_EXECFN %s, comm %s\n", (char *)getauxval(AT_EXECFN), comm);
    return 3;
}

/* -- nsfs files bound on files --------------------------------------------------------- */
static ino_t ino_of(const char *path)
{
    struct stat st;
    return stat(path, &st) ? 0 : st.st_ino;
}

/* mountinfo's line for ``where``: its root (as "NS" if it names the namespace ``ns``), its
 * mount point relative to ``dir``, the filesystem type and the source. */
static void bound_line(const char *where, const char *ns)
{
    char line[512], root[256], point[256], rest[256];
    FILE *f = fopen("/proc/self/mountinfo", "r");
    while (f && fgets(line, sizeof(line), f)) {
        if (sscanf(line, "%*s %*s %*s %255s %255s %*[^-]- %255[^\n]", root, point, rest) != 3 || strcmp(point, where))
            continue;
        printf("  mountinfo: %s %s %s\n", strcmp(root, ns) ? root : "NS", point + strlen(dir) + 1, rest);
    }
    if (f)
        fclose(f);
}

static int nsfs_bind(void)
{
    if (unshare(CLONE_NEWNS) || mount(NULL, "/", NULL, MS_PRIVATE | MS_REC, NULL)) {
        printf("private mount namespace: %s\n", en(errno));
        return 1;
    }
    in_tmpdir();
    char own[64], mine[128], child_file[128], mnt_file[128];
    ssize_t n = readlink("/proc/self/ns/net", own, sizeof(own) - 1);
    own[n < 0 ? 0 : n] = 0;
    snprintf(mine, sizeof(mine), "%s/mine", dir);
    snprintf(child_file, sizeof(child_file), "%s/child", dir);
    snprintf(mnt_file, sizeof(mnt_file), "%s/mnt", dir);
    put_file("mine", "", 0, 0644);
    put_file("child", "", 0, 0644);
    put_file("mnt", "", 0, 0644);
    show("bind own net", mount("/proc/self/ns/net", mine, NULL, MS_BIND, NULL));
    printf("  the file is the namespace: %d\n", ino_of(mine) == ino_of("/proc/self/ns/net"));
    bound_line(mine, own);
    int pipefd[2];
    pipe(pipefd);
    pid_t pid = fork();
    if (pid == 0) {
        ino_t ino = 0;
        if (unshare(CLONE_NEWNET) == 0 && mount("/proc/self/ns/net", child_file, NULL, MS_BIND, NULL) == 0)
            ino = ino_of("/proc/self/ns/net");
        write(pipefd[1], &ino, sizeof(ino));
        _exit(0);
    }
    ino_t child_ns = 0;
    read(pipefd[0], &child_ns, sizeof(child_ns));
    show_status("child that made a namespace and bound it", pid);
    /* The child's mount was made in the mount namespace it shares with us. */
    int fd = open(child_file, O_RDONLY);
    show("open the child's", fd);
    printf("  its namespace: %d\n", child_ns != 0 && ino_of(child_file) == child_ns);
    show("setns to it", setns(fd, CLONE_NEWNET));
    printf("  now in it: %d\n", ino_of("/proc/self/ns/net") == child_ns);
    show("bind own mount namespace", mount("/proc/self/ns/mnt", mnt_file, NULL, MS_BIND, NULL));
    show("umount mine", umount2(mine, MNT_DETACH));
    show("umount the child's", umount2(child_file, MNT_DETACH));
    close(fd);
    clean_tmpdir();
    return 0;
}

/* -- NETLINK_ROUTE socket options ------------------------------------------------------ */
static void show_groups(const char *what, int fd, socklen_t len)
{
    unsigned char buf[64];
    memset(buf, 0xee, sizeof(buf));
    socklen_t got = len;
    long r = getsockopt(fd, SOL_NETLINK, NETLINK_LIST_MEMBERSHIPS, len ? buf : NULL, &got);
    printf("%s: %ld optlen %u:", what, r, got);
    for (unsigned i = 0; i < len && i < sizeof(buf); i++)
        printf(" %02x", buf[i]);
    printf("\n");
}

static int netlink_opts(void)
{
    int fd = socket(AF_NETLINK, SOCK_RAW, NETLINK_ROUTE);
    unsigned groups[] = {RTNLGRP_LINK, RTNLGRP_IPV4_ROUTE};
    for (int i = 0; i < 2; i++)
        show("join group", setsockopt(fd, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, &groups[i], sizeof(groups[i])));
    socklen_t len = 0;
    show("size probe", getsockopt(fd, SOL_NETLINK, NETLINK_LIST_MEMBERSHIPS, NULL, &len));
    printf("  optlen %u\n", len);
    show_groups("larger buffer", fd, len + 4);
    show_groups("smaller buffer", fd, 6);
    show_groups("under a word", fd, 3);
    int on = 1, v = -1;
    socklen_t vl = sizeof(v);
    show("SO_PASSCRED", setsockopt(fd, SOL_SOCKET, SO_PASSCRED, &on, sizeof(on)));
    getsockopt(fd, SOL_SOCKET, SO_PASSCRED, &v, &vl);
    printf("  reads back %d\n", v);
    struct {
        struct nlmsghdr h;
        struct rtgenmsg g;
    } req = {{sizeof(req), RTM_GETLINK, NLM_F_REQUEST | NLM_F_DUMP, 1, 0}, {AF_UNSPEC}};
    send(fd, &req, sizeof(req), 0);
    static char data[65536];
    char ctl[CMSG_SPACE(sizeof(struct ucred))];
    struct iovec iov = {data, sizeof(data)};
    struct msghdr m = {0};
    m.msg_iov = &iov;
    m.msg_iovlen = 1;
    m.msg_control = ctl;
    m.msg_controllen = sizeof(ctl);
    long r = recvmsg(fd, &m, 0);
    struct cmsghdr *c = CMSG_FIRSTHDR(&m);
    printf("answer: %d, credentials: %d", r > 0, c != NULL);
    if (c) {
        struct ucred u;
        memcpy(&u, CMSG_DATA(c), sizeof(u));
        printf(" level %d type %d pid %d uid %d gid %d", c->cmsg_level, c->cmsg_type, u.pid, u.uid, u.gid);
    }
    printf("\n");
    close(fd);
    return 0;
}

/* -- NUMA policy arguments ------------------------------------------------------------- */
static int mempolicy_maxnode(void)
{
    unsigned long mask = 1;
    static const struct { const char *name; int mode; } modes[] = {{"DEFAULT", 0}, {"PREFERRED", 1}, {"BIND", 2}};
    for (int i = 0; i < 3; i++) {
        char what[64];
        snprintf(what, sizeof(what), "%s, mask, maxnode 0", modes[i].name);
        show(what, syscall(SYS_set_mempolicy, modes[i].mode, &mask, 0));
        snprintf(what, sizeof(what), "%s, NULL, maxnode 1", modes[i].name);
        show(what, syscall(SYS_set_mempolicy, modes[i].mode, NULL, 1));
        snprintf(what, sizeof(what), "%s, mask, maxnode 1", modes[i].name);
        show(what, syscall(SYS_set_mempolicy, modes[i].mode, &mask, 1));
    }
    show("back to DEFAULT", syscall(SYS_set_mempolicy, 0, NULL, 0));
    show("migrate_pages, maxnode 0", syscall(SYS_migrate_pages, 0, 0, &mask, &mask));
    return 0;
}

/* -- POSIX ACLs on an overlay ---------------------------------------------------------- */
static void at(char *buf, size_t n, const char *rel)
{
    snprintf(buf, n, "%s/%s", dir, rel);
}

static void show_acl(const char *rel, const char *name)
{
    char path[256], what[128];
    at(path, sizeof(path), rel);
    snprintf(what, sizeof(what), "getxattr %s %s", rel, name + 7);
    show(what, getxattr(path, name, NULL, 0));
}

static int overlay_acl(void)
{
    if (unshare(CLONE_NEWNS) || mount(NULL, "/", NULL, MS_PRIVATE | MS_REC, NULL)) {
        printf("private mount namespace: %s\n", en(errno));
        return 1;
    }
    in_tmpdir();
    char p[256], opts[512];
    show("mount layers tmpfs", mount("tmpfs", dir, "tmpfs", 0, "mode=0755"));
    const char *dirs[] = {"lower", "upper", "work", "merged", "lower/sub", "lower/sub/subsub"};
    for (int i = 0; i < 6; i++) {
        at(p, sizeof(p), dirs[i]);
        mkdir(p, 0755);
    }
    put_file("lower/file", "x", 1, 0644);
    snprintf(opts, sizeof(opts), "lowerdir=%s/lower,upperdir=%s/upper,workdir=%s/work", dir, dir, dir);
    at(p, sizeof(p), "merged");
    show("mount overlay", mount("overlay", p, "overlay", 0, opts));
    struct { unsigned version; struct { unsigned short tag, perm; unsigned id; } e[5]; } acl = {
        2, {{1, 7, -1}, {2, 5, getuid()}, {4, 5, -1}, {0x10, 7, -1}, {0x20, 5, -1}}};
    at(p, sizeof(p), "merged/sub");
    show("default ACL on sub", setxattr(p, "system.posix_acl_default", &acl, sizeof(acl), 0));
    at(p, sizeof(p), "merged/sub/subsub/child");
    int fd = open(p, O_CREAT | O_RDWR, 0666);
    show("create sub/subsub/child", fd);
    close(fd);
    show_acl("merged/sub/subsub", "system.posix_acl_access");
    show_acl("merged/sub/subsub", "system.posix_acl_default");
    show_acl("merged/sub/subsub/child", "system.posix_acl_access");
    at(p, sizeof(p), "merged/sub/subsub/child_dir");
    show("mkdir sub/subsub/child_dir", mkdir(p, 0777));
    show_acl("merged/sub/subsub/child_dir", "system.posix_acl_access");
    show_acl("merged/sub/subsub/child_dir", "system.posix_acl_default");
    struct stat st;
    at(p, sizeof(p), "merged/sub/subsub");
    stat(p, &st);
    printf("  sub/subsub mode %o\n", st.st_mode & 07777);
    at(p, sizeof(p), "merged/file");
    show("remove file's access ACL", removexattr(p, "system.posix_acl_access"));
    show("remove file's default ACL", removexattr(p, "system.posix_acl_default"));
    at(p, sizeof(p), "upper/file");
    printf("  copied up: %d\n", access(p, F_OK) == 0);
    at(p, sizeof(p), "merged");
    umount2(p, MNT_DETACH);
    umount2(dir, MNT_DETACH);
    clean_tmpdir();
    return 0;
}

/* -- detached mount trees (the new mount API) ----------------------------------------- */
static int new_tmpfs_mount(void)
{
    int fs = syscall(SYS_fsopen, "tmpfs", 0);
    if (fs < 0 || syscall(SYS_fsconfig, fs, 6 /* FSCONFIG_CMD_CREATE */, NULL, NULL, 0) < 0)
        return -1;
    int m = syscall(SYS_fsmount, fs, 0, 0);
    close(fs);
    return m;
}

static int move_detached(void)
{
    if (unshare(CLONE_NEWNS) || mount(NULL, "/", NULL, MS_PRIVATE | MS_REC, NULL)) {
        printf("private mount namespace: %s\n", en(errno));
        return 1;
    }
    in_tmpdir();
    int parent = new_tmpfs_mount(), child = new_tmpfs_mount();
    printf("detached mounts: %d %d\n", parent >= 0, child >= 0);
    show("mkdirat sub", mkdirat(parent, "sub", 0755));
    show("move child onto parent's sub", syscall(SYS_move_mount, child, "", parent, "sub", 4 /* F_EMPTY_PATH */));
    close(child);
    int fd = openat(parent, "sub/marker", O_CREAT | O_RDWR, 0644);
    show("marker in the child", fd);
    close(fd);
    show("move only the child out", syscall(SYS_move_mount, parent, "sub", AT_FDCWD, dir, 0));
    int tree = syscall(SYS_open_tree, parent, "", AT_EMPTY_PATH | 1 /* OPEN_TREE_CLONE */);
    show("open_tree clone, not recursive", tree);
    show("  sub there", faccessat(tree, "sub", F_OK, 0));
    show("  marker there", faccessat(tree, "sub/marker", F_OK, 0));
    close(tree);
    show("move the parent in", syscall(SYS_move_mount, parent, "", AT_FDCWD, dir, 4));
    close(parent);
    char p[256];
    at(p, sizeof(p), "sub/marker");
    show("marker through the namespace", access(p, F_OK));
    at(p, sizeof(p), "sub");
    show("umount sub", umount(p));
    show("umount the parent", umount(dir));
    clean_tmpdir();
    return 0;
}

/* -- CPU time: a zombie's clocks, RLIMIT_CPU ------------------------------------------- */
static double cpu_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void spin(double seconds)
{
    double start = cpu_seconds();
    volatile unsigned long x = 0;
    while (cpu_seconds() - start < seconds)
        for (int i = 0; i < 100000; i++)
            x++;
}

static int zombie_cpu_clock(void)
{
    pid_t pid = fork();
    if (pid == 0) {
        spin(0.3);
        _exit(0);
    }
    siginfo_t si;
    show("waitid WNOWAIT", waitid(P_PID, pid, &si, WEXITED | WNOWAIT));
    static const char *names[] = {"PROF", "VIRT", "SCHED"};
    for (int which = 0; which < 3; which++) {
        struct timespec ts = {0, 0};
        long r = clock_gettime((~(clockid_t)pid << 3) | which, &ts);
        double s = ts.tv_sec + ts.tv_nsec / 1e9;
        printf("zombie's %s clock: %ld, %s\n", names[which], r, s >= (which == 1 ? 0.1 : 0.25) ? "its CPU time" : "too little");
    }
    show_status("child", pid);
    return 0;
}

static volatile sig_atomic_t xcpu;

static void on_xcpu(int sig)
{
    (void)sig;
    xcpu++;
}

static int rlimit_cpu_zero(void)
{
    int pipefd[2];
    pipe(pipefd);
    pid_t pid = fork();
    if (pid == 0) {
        signal(SIGXCPU, on_xcpu);
        struct rlimit lim = {0, 1};
        setrlimit(RLIMIT_CPU, &lim);
        struct timespec nap = {0, 200000000};
        int r = nanosleep(&nap, NULL);
        char line[64];
        int n = snprintf(line, sizeof(line), "asleep: nanosleep %d, SIGXCPU %d\n", r, (int)xcpu);
        write(pipefd[1], line, n);
        while (!xcpu)
            spin(0.01);
        n = snprintf(line, sizeof(line), "running: SIGXCPU came\n");
        write(pipefd[1], line, n);
        for (;;)
            spin(1);
    }
    close(pipefd[1]);
    int st = 0, waited = 0;
    for (int i = 0; i < 400 && !(waited = waitpid(pid, &st, WNOHANG)); i++)
        usleep(50000);
    if (!waited) {
        kill(pid, SIGKILL);
        waitpid(pid, &st, 0);
        printf("not ended by the hard limit in 20 s\n");
    }
    char buf[256];
    ssize_t n = read(pipefd[0], buf, sizeof(buf) - 1);
    buf[n > 0 ? n : 0] = 0;
    fputs(buf, stdout);
    if (waited)
        printf("child: %s %d\n", WIFSIGNALED(st) ? "signal" : "exit", WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st));
    return 0;
}

/* -- /proc/PID/setgroups, uid_map and gid_map writes ----------------------------------- */
static void write_proc(const char *path, const char *data, size_t n)
{
    int fd = open(path, O_WRONLY);
    long r = fd < 0 ? -1 : write(fd, data, n);
    char what[96];
    snprintf(what, sizeof(what), "%s %zu bytes", path + 11, n);
    show(what, r);
    if (fd >= 0)
        close(fd);
}

static int userns_map_writes(void)
{
    pid_t pid = fork();
    if (pid == 0) {
        char line[64];
        unsigned uid = geteuid(), gid = getegid();
        if (unshare(CLONE_NEWUSER)) {
            printf("unshare: %s\n", en(errno));
            _exit(1);
        }
        static const char *bad[] = {"deny x", " deny", "denyallow", "nope", "deny    \n"};
        for (int i = 0; i < 5; i++)
            write_proc("/proc/self/setgroups", bad[i], strlen(bad[i]));
        write_proc("/proc/self/setgroups", "allow\n", 6);
        write_proc("/proc/self/setgroups", "deny\0junk", 9);
        write_proc("/proc/self/setgroups", "deny\0", 5);
        int n = snprintf(line, sizeof(line), "0 %u 1\n", uid);
        memcpy(line + n, "\0 4 3", 5);
        write_proc("/proc/self/uid_map", line, n + 5);
        n = snprintf(line, sizeof(line), "0 %u 1", gid);
        write_proc("/proc/self/gid_map", line, n + 1);
        printf("uid %d gid %d\n", (int)getuid(), (int)getgid());
        _exit(0);
    }
    show_status("child", pid);
    return 0;
}

/* -- POSIX timer signals behind a pending one ----------------------------------------- */
static void timer_behind(const char *what, int thread)
{
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGUSR1);
    sigprocmask(SIG_BLOCK, &mask, NULL);
    if (thread)
        syscall(SYS_tgkill, getpid(), syscall(SYS_gettid), SIGUSR1);
    else
        kill(getpid(), SIGUSR1);
    struct sigevent sev = {0};
    sev.sigev_notify = thread ? SIGEV_THREAD_ID : SIGEV_SIGNAL;
    sev.sigev_signo = SIGUSR1;
    sev.sigev_value.sival_int = 42;
    sev.sigev_notify_thread_id = syscall(SYS_gettid);
    timer_t timer;
    timer_create(CLOCK_MONOTONIC, &sev, &timer);
    struct itimerspec its = {{0, 100000000}, {0, 100000000}};
    timer_settime(timer, 0, &its, NULL);
    struct timespec nap = {0, 350000000}, zero = {0, 0};
    nanosleep(&nap, NULL);
    siginfo_t si;
    int r = sigtimedwait(&mask, &si, &zero);
    printf("%s: first %d, from %s\n", what, r, si.si_code == SI_TIMER ? "the timer" : "kill");
    r = sigtimedwait(&mask, &si, &zero);
    printf("%s: second %d, %s, value %d, overruns >= 2: %d\n", what, r,
           r > 0 && si.si_code == SI_TIMER ? "the timer" : "not the timer", r > 0 ? si.si_value.sival_int : 0,
           r > 0 && si.si_overrun >= 2);
    timer_delete(timer);
    while (sigtimedwait(&mask, &si, &zero) > 0)
        ;
}

static int timer_behind_pending(void)
{
    timer_behind("thread-directed", 1);
    timer_behind("process-directed", 0);
    return 0;
}

/* The VmFlags of the smaps entry starting at ``addr``: the protection and sharing bits only (the
 * rest, accounting and THP details, vary by kernel). */
static void vmflags_of(void *addr) {
    FILE *f = fopen("/proc/self/smaps", "r");
    char line[512], want[32];
    snprintf(want, sizeof want, "%lx-", (unsigned long)addr);
    int in = 0;
    while (fgets(line, sizeof line, f)) {
        if (!strncmp(line, want, strlen(want)))
            in = 1;
        else if (in && !strncmp(line, "VmFlags:", 8)) {
            const char *keep[] = {"rd", "wr", "ex", "sh", "mr", "mw", "me", "ms"};
            printf("  ");
            for (unsigned i = 0; i < sizeof keep / sizeof *keep; i++) {
                char pat[8];
                snprintf(pat, sizeof pat, " %s ", keep[i]);
                if (strstr(line + 7, pat))
                    printf("%s ", keep[i]);
            }
            printf("\n");
            break;
        }
    }
    fclose(f);
}

static int smaps_shared_ro(void) {
    char path[] = "/tmp/gvt_sweep_smapsXXXXXX";
    int fd = mkstemp(path);
    if (fd < 0 || ftruncate(fd, 4096))
        return 1;
    int ro = open(path, O_RDONLY);
    void *a = mmap(NULL, 4096, PROT_READ, MAP_SHARED, ro, 0);
    void *b = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0);
    void *c = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    printf("shared, file open read-only:\n");
    vmflags_of(a);
    printf("shared, file open for writing, PROT_READ:\n");
    vmflags_of(b);
    printf("shared anonymous:\n");
    vmflags_of(c);
    printf("mprotect of the read-only one to PROT_WRITE: %s\n",
           mprotect(a, 4096, PROT_READ | PROT_WRITE) ? strerrorname_np(errno) : "0");
    unlink(path);
    return 0;
}

int main(int argc, char **argv)
{
    const char *c = argc > 1 ? argv[1] : "";
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (!strcmp(c, "userns_securebits")) return userns_securebits();
    if (!strcmp(c, "elf_no_return")) return elf_no_return();
    if (!strcmp(c, "elf_interp")) return elf_interp();
    if (!strcmp(c, "script_depth")) return script_depth();
    if (!strcmp(c, "execfn_child")) return execfn_child();
    if (!strcmp(c, "nsfs_bind")) return nsfs_bind();
    if (!strcmp(c, "netlink_opts")) return netlink_opts();
    if (!strcmp(c, "mempolicy_maxnode")) return mempolicy_maxnode();
    if (!strcmp(c, "overlay_acl")) return overlay_acl();
    if (!strcmp(c, "move_detached")) return move_detached();
    if (!strcmp(c, "zombie_cpu_clock")) return zombie_cpu_clock();
    if (!strcmp(c, "rlimit_cpu_zero")) return rlimit_cpu_zero();
    if (!strcmp(c, "userns_map_writes")) return userns_map_writes();
    if (!strcmp(c, "timer_behind_pending")) return timer_behind_pending();
    if (!strcmp(c, "smaps_shared_ro")) return smaps_shared_ro();
    fprintf(stderr, "unknown case %s\n", c);
    return 2;
}
