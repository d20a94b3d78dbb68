/* Kernel keyrings (issue "Kernel features I"): add_key, request_key and keyctl over "user",
 * "logon" and "keyring" keys, the special keyrings, permissions, quotas and /proc/keys, printed
 * for a native-vs-sandbox comparison. Serial numbers differ between runs, so only their
 * relations are printed (same key or not, how many). It starts in a fresh anonymous session
 * keyring so that the host's keys stay out of it; a non-root part runs as a uid unlikely to own
 * any key (quotas are per uid). */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define THREAD -1L
#define PROCESS -2L
#define SESSION -3L
#define USER -4L
#define USER_SESSION -5L
#define GET_KEYRING_ID 0
#define JOIN 1
#define UPDATE 2
#define REVOKE 3
#define CHOWN 4
#define SETPERM 5
#define DESCRIBE 6
#define CLEAR 7
#define LINK 8
#define UNLINK 9
#define SEARCH 10
#define READ 11
#define SET_TIMEOUT 15
#define INVALIDATE 21

static long rc(long r) { return r == -1 ? -errno : r; }

static void show(const char *what, long r) {
    if (r < 0)
        printf("%s = -1 %s\n", what, strerrorname_np(-r));
    else
        printf("%s = %ld\n", what, r);
}

/* A serial number is printed as "id" (its value varies between runs). */
static long showid(const char *what, long r) {
    if (r < 0)
        printf("%s = -1 %s\n", what, strerrorname_np(-r));
    else
        printf("%s = id\n", what);
    return r;
}

#define KC(...) rc(syscall(SYS_keyctl, __VA_ARGS__))
/* The keys this run added: /proc/keys shows every key root may view, other processes' too (and,
 * for gc_delay, their expired and revoked ones), so only these are listed. */
static long added[256];
static int n_added;

static long add(const char *type, const char *desc, const char *payload, long ring) {
    long r = rc(syscall(SYS_add_key, type, desc, payload, payload ? strlen(payload) : 0, ring));
    if (r > 0 && n_added < 256)
        added[n_added++] = r;
    return r;
}

/* A key whose last link the run dropped is destroyed by Linux's key collector when it gets to it:
 * listed in /proc/keys or not by chance, so not listed. */
static void dropped(long serial) {
    for (int i = 0; i < n_added; i++)
        if (added[i] == serial)
            added[i] = 0;
}

static int was_added(long serial) {
    for (int i = 0; i < n_added; i++)
        if (added[i] == serial)
            return 1;
    return 0;
}

static void describe(const char *what, long id) {
    char buf[256];
    long r = KC(DESCRIBE, id, buf, sizeof buf);
    if (r < 0)
        show(what, r);
    else
        printf("%s = %ld \"%s\"\n", what, r, buf);
}

static void read_key(const char *what, long id, size_t buflen) {
    char buf[64] = {0};
    long r = KC(READ, id, buflen ? buf : NULL, buflen);
    if (r < 0)
        show(what, r);
    else
        printf("%s = %ld \"%s\"\n", what, r, buf);   /* a buffer too small gets nothing */
}

/* How many ids keyring RING lists, and whether A and B are among them. */
static void read_ring(const char *what, long ring, long a, long b) {
    int32_t ids[32];
    long r = KC(READ, ring, ids, sizeof ids);
    if (r < 0) { show(what, r); return; }
    int has_a = 0, has_b = 0;
    for (long i = 0; i < r / 4 && i < 32; i++) {
        has_a |= ids[i] == a;
        has_b |= ids[i] == b;
    }
    printf("%s = %ld bytes, has a %d, has b %d\n", what, r, has_a, has_b);
}

/* /proc/keys lines of the keys this run added whose description starts with "t-" (the host's
 * other keys are not ours to show), without the serial and usage columns. */
static void proc_keys(const char *what) {
    char line[512], out[64][160];
    int n = 0;
    FILE *f = fopen("/proc/keys", "r");
    printf("%s:\n", what);
    if (!f) { printf("  open: %s\n", strerrorname_np(errno)); return; }
    while (fgets(line, sizeof line, f)) {
        char flags[16], timeout[16], perm[16], type[32], rest[256];
        unsigned serial, usage, uid, gid;
        if (sscanf(line, "%x %15s %u %15s %15s %u %u %31s %255[^\n]", &serial, flags, &usage, timeout, perm,
                   &uid, &gid, type, rest) != 9)
            continue;
        /* An invalidated key ('i') is gone once Linux's key collector has run, which it does
         * when it gets to it: listed or not by chance, so not listed. */
        if (strncmp(rest, "t-", 2) == 0 && was_added(serial) && !strchr(flags, 'i') && n < 64)
            snprintf(out[n++], sizeof out[0], "  %s %s %s %u %u %s %s", flags, timeout, perm, uid, gid, type, rest);
    }
    fclose(f);
    qsort(out, n, sizeof out[0], (int (*)(const void *, const void *))strcmp);   /* serials are random */
    for (int i = 0; i < n; i++)
        puts(out[i]);
}

static void special_keyrings(void) {
    long sess = KC(GET_KEYRING_ID, SESSION, 0);
    show("thread keyring (no create)", KC(GET_KEYRING_ID, THREAD, 0));
    long tid = showid("thread keyring (create)", KC(GET_KEYRING_ID, THREAD, 1));
    describe("describe thread keyring", tid);
    show("thread keyring again is the same", KC(GET_KEYRING_ID, THREAD, 1) == tid);
    show("process keyring (no create)", KC(GET_KEYRING_ID, PROCESS, 0));
    long pid = showid("process keyring (create)", KC(GET_KEYRING_ID, PROCESS, 1));
    describe("describe process keyring", pid);
    long uk = showid("user keyring", KC(GET_KEYRING_ID, USER, 1));
    describe("describe user keyring", uk);
    long usk = showid("user session keyring", KC(GET_KEYRING_ID, USER_SESSION, 1));
    describe("describe user session keyring", usk);
    read_ring("user session keyring lists the user keyring", usk, uk, 0);
    show("group keyring", KC(GET_KEYRING_ID, -6L, 1));
    show("special id -9", KC(GET_KEYRING_ID, -9L, 1));
    show("id 0", KC(GET_KEYRING_ID, 0L, 1));
    show("absent id", KC(DESCRIBE, 0x7ffffffeL, NULL, 0));
    pid_t c = fork();
    if (c == 0) {
        show("child: thread keyring", KC(GET_KEYRING_ID, THREAD, 0));
        show("child: process keyring", KC(GET_KEYRING_ID, PROCESS, 0));
        show("child: same session keyring", KC(GET_KEYRING_ID, SESSION, 0) == sess);
        long own = KC(JOIN, NULL);
        show("child: joined a new session", own > 0 && own != sess);
        _exit(0);
    }
    waitpid(c, NULL, 0);
    show("parent keeps its session", KC(GET_KEYRING_ID, SESSION, 0) == sess);
    show("parent keeps its thread keyring", KC(GET_KEYRING_ID, THREAD, 0) == tid);
}

static void user_keys(long sess) {
    long k1 = showid("add user t-k1", add("user", "t-k1", "hello", sess));
    describe("describe t-k1", k1);
    read_key("read t-k1 size", k1, 0);
    read_key("read t-k1 short", k1, 3);
    read_key("read t-k1", k1, 64);
    long again = add("user", "t-k1", "replaced!", sess);
    show("add t-k1 again updates it", again == k1);
    read_key("read updated t-k1", k1, 64);
    show("update", KC(UPDATE, k1, "upd", 3L));
    read_key("read after update", k1, 64);
    show("update with a bad pointer", KC(UPDATE, k1, (void *)8, 3L));
    show("add empty user payload", add("user", "t-empty", NULL, sess));
    show("add user without description", add("user", NULL, "x", sess));
    show("add unknown type", add("nosuchtype", "t-x", "x", sess));
    show("add dot type", add(".user", "t-x", "x", sess));
    show("add into a user key", add("user", "t-x", "x", k1));
    show("add with bad type pointer", rc(syscall(SYS_add_key, (void *)8, "t-x", "x", 1L, sess)));
    show("add with bad payload pointer", rc(syscall(SYS_add_key, "user", "t-x", (void *)8, 1L, sess)));
    show("add with huge length", rc(syscall(SYS_add_key, "user", "t-x", "x", 1L << 20, sess)));
    show("describe with bad buffer", KC(DESCRIBE, k1, (void *)8, 100L));
    show("describe size only", KC(DESCRIBE, k1, NULL, 0L));
    char small[4] = "zzz";
    show("describe short buffer", KC(DESCRIBE, k1, small, 4L));
    printf("short buffer untouched: %s\n", small);

    long lg = showid("add logon t-svc:pw", add("logon", "t-svc:pw", "secret", sess));
    describe("describe logon", lg);
    read_key("read logon", lg, 64);
    show("update logon", KC(UPDATE, lg, "new", 3L));
    show("logon without a prefix", add("logon", "t-nocolon", "x", sess));
    show("logon with empty prefix", add("logon", ":x", "x", sess));

    show("request_key finds t-k1", rc(syscall(SYS_request_key, "user", "t-k1", NULL, 0L)) == k1);
    show("request_key of a missing key", rc(syscall(SYS_request_key, "user", "t-missing", NULL, 0L)));
    show("request_key of an unknown type", rc(syscall(SYS_request_key, "nosuch", "t-k1", NULL, 0L)));
    show("request_key with a bad pointer", rc(syscall(SYS_request_key, "user", (void *)8, NULL, 0L)));
}

static void keyrings(long sess) {
    long ring = showid("add keyring t-ring", add("keyring", "t-ring", NULL, sess));
    describe("describe t-ring", ring);
    show("keyring with payload", add("keyring", "t-ring2", "x", sess));
    show("keyring named with a dot", add("keyring", ".t-ring", NULL, sess));
    long a = showid("add t-a into t-ring", add("user", "t-a", "aaaa", ring));
    long b = showid("add t-b into t-ring", add("user", "t-b", "bbbbbbbb", ring));
    read_ring("read t-ring", ring, a, b);
    read_ring("read session", sess, a, ring);
    show("read keyring size", KC(READ, ring, NULL, 0L));
    show("search session finds t-a", KC(SEARCH, sess, "user", "t-a", 0L) == a);
    show("search for a missing key", KC(SEARCH, sess, "user", "t-none", 0L));
    show("search unknown type", KC(SEARCH, sess, "nosuch", "t-a", 0L));
    show("search in a user key", KC(SEARCH, a, "user", "t-a", 0L));
    show("search finds keyring", KC(SEARCH, sess, "keyring", "t-ring", 0L) == ring);
    show("search and link into session", KC(SEARCH, ring, "user", "t-b", sess) == b);
    read_ring("session now", sess, b, ring);
    show("link t-a into session", KC(LINK, a, sess));
    show("link again", KC(LINK, a, sess));
    show("unlink t-a from session", KC(UNLINK, a, sess));
    show("unlink again", KC(UNLINK, a, sess));
    show("unlink from a user key", KC(UNLINK, a, b));
    show("link t-ring into itself", KC(LINK, ring, ring));
    show("link session into t-ring (a cycle)", KC(LINK, sess, ring));
    show("link into a user key", KC(LINK, a, b));
    show("add same-named keyring replaces it", add("keyring", "t-ring", NULL, sess) != ring);
    dropped(ring);   /* no link holds the old t-ring now, nor t-a (only it did) */
    dropped(a);
    show("t-b is still linked from the session", KC(DESCRIBE, b, NULL, 0L) > 0);
    long r2 = KC(SEARCH, sess, "keyring", "t-ring", 0L);
    long c = add("user", "t-c", "c", r2);
    show("clear", KC(CLEAR, r2));
    dropped(c);
    show("read cleared", KC(READ, r2, NULL, 0L));
    show("clear a user key", KC(CLEAR, b));
}

static void attributes(long sess) {
    long k = showid("add t-attr", add("user", "t-attr", "data", sess));
    show("setperm bad bits", KC(SETPERM, k, 0x40000000L));
    show("setperm possessor only, no read", KC(SETPERM, k, 0x3d000000L));
    describe("describe", k);
    read_key("read without read permission (possessed)", k, 64);
    show("setperm view only", KC(SETPERM, k, 0x01000000L));
    describe("describe view only", k);
    read_key("read view only", k, 64);
    show("update view only", KC(UPDATE, k, "x", 1L));
    show("setperm now (no setattr)", KC(SETPERM, k, 0x3f010000L));
    long k2 = showid("add t-own", add("user", "t-own", "data", sess));
    show("chown nothing", KC(CHOWN, k2, -1L, -1L));
    show("chown to 4242:4343", KC(CHOWN, k2, 4242L, 4343L));
    describe("describe chowned", k2);
    show("set timeout", KC(SET_TIMEOUT, k2, 7199L));   /* /proc/keys shows "1h" for the next hour */
    long k3 = showid("add t-gone", add("user", "t-gone", "data", sess));
    show("revoke", KC(REVOKE, k3));
    describe("describe revoked", k3);
    read_key("read revoked", k3, 64);
    show("revoke again", KC(REVOKE, k3));
    show("update revoked", KC(UPDATE, k3, "x", 1L));
    long k4 = showid("add t-inval", add("user", "t-inval", "data", sess));
    show("invalidate", KC(INVALIDATE, k4));
    show("describe invalidated", KC(DESCRIBE, k4, NULL, 0L));
    long k5 = showid("add t-exp", add("user", "t-exp", "data", sess));
    show("timeout 1s", KC(SET_TIMEOUT, k5, 1L));
    struct timespec t0, t, pause_10ms = {0, 10000000};
    clock_gettime(CLOCK_MONOTONIC, &t0);
    long r;
    do {   /* polls until the key has expired (bounded), no fixed sleep */
        nanosleep(&pause_10ms, NULL);
        r = KC(DESCRIBE, k5, NULL, 0L);
        clock_gettime(CLOCK_MONOTONIC, &t);
    } while (r > 0 && t.tv_sec - t0.tv_sec < 5);
    show("describe expired", r);
    read_key("read expired", k5, 64);
    show("search expired", KC(SEARCH, sess, "user", "t-exp", 0L));
    show("unknown keyctl op", KC(9999, 0L));
    proc_keys("/proc/keys");
}

/* The rest of keyctl: persistent keyrings, moving, security labels, authority, request_key's
 * failed upcall (no helper answers: a negative key is left behind). */
static void others(long sess) {
    long p = showid("get persistent", KC(22, -1L, sess));
    describe("describe persistent", p);
    show("persistent again is the same", KC(22, -1L, sess) == p);
    show("persistent into a user key", KC(22, -1L, KC(SEARCH, sess, "user", "t-k1", 0L)));
    long ring = KC(SEARCH, sess, "keyring", "t-ring", 0L);
    long k = showid("add t-mv", add("user", "t-mv", "m", sess));
    show("move bad flags", KC(30, k, sess, ring, 2L));
    show("move", KC(30, k, sess, ring, 0L));
    show("move again (not there)", KC(30, k, sess, ring, 0L));
    show("moved into t-ring", KC(SEARCH, ring, "user", "t-mv", 0L) == k);
    add("user", "t-mv", "other", sess);
    show("move exclusive onto a same-named key", KC(30, k, ring, sess, 1L));
    show("move to the same keyring", KC(30, k, ring, ring, 1L));
    char label[16] = "zz";
    show("get security", KC(17, k, label, sizeof label));
    printf("label \"%s\"\n", label);
    show("assume authority 0", KC(16, 0L));
    show("assume authority of a key", KC(16, k));
    show("assume authority -1", KC(16, -1L));
    show("instantiate without authority", KC(12, k, "x", 1L, 0L));
    show("negate without authority", KC(13, k, 10L, 0L));
    long th = KC(GET_KEYRING_ID, THREAD, 1);
    show("request_key with a callout", rc(syscall(SYS_request_key, "user", "t-upcall", "info", 0L)));
    int32_t ids[16];
    long n = KC(READ, th, ids, sizeof ids);
    show("thread keyring holds the negative key", n);
    if (n == 4) {
        describe("describe negative", ids[0]);
        read_key("read negative", ids[0], 64);
        show("request it again", rc(syscall(SYS_request_key, "user", "t-upcall", NULL, 0L)));
        show("update makes it positive", KC(UPDATE, (long)ids[0], "now", 3L));
        read_key("read it", ids[0], 64);
    }
}

/* Where request_key leaves keys, sessions handed to the parent, restricted keyrings, and what
 * the keyrings can do. */
static void more(long sess) {
    show("reqkey default", KC(14, -1L));
    show("reqkey process", KC(14, 2L));
    show("reqkey now", KC(14, -1L));
    show("reqkey group", KC(14, 6L));
    show("reqkey 8", KC(14, 8L));
    long pk = KC(GET_KEYRING_ID, PROCESS, 0);
    rc(syscall(SYS_request_key, "user", "t-upcall2", "info", 0L));
    show("the negative key went to the process keyring", KC(READ, pk, NULL, 0L));
    show("reqkey back to default", KC(14, 0L));
    long r = showid("add t-restricted", add("keyring", "t-restricted", NULL, sess));
    long k = add("user", "t-r1", "1", r);
    show("restrict with a restriction but no type", KC(29, r, NULL, "x"));
    show("restrict with a type but no restriction", KC(29, r, "user", NULL));
    show("restrict with the user type", KC(29, r, "user", "x"));
    show("restrict with an unknown type", KC(29, r, "nosuch", "x"));
    show("restrict a user key", KC(29, k, NULL, NULL));
    show("restrict", KC(29, r, NULL, NULL));
    show("restrict again", KC(29, r, NULL, NULL));
    show("add into it", add("user", "t-r2", "2", r));
    show("update a key in it", add("user", "t-r1", "3", r));
    show("link into it", KC(LINK, k, r) == 0 ? 0 : KC(LINK, KC(SEARCH, sess, "user", "t-k1", 0L), r));
    show("unlink from it", KC(UNLINK, k, r));
    show("clear it", KC(CLEAR, r));
    unsigned char caps[4] = {0xff, 0xff, 0xff, 0xff};
    show("capabilities", KC(31, caps, sizeof caps));
    printf("  capabilities %d, persistent %d, invalidate %d, restrict %d, move %d; zeroed after: %d %d\n",
           caps[0] & 1, !!(caps[0] & 2), !!(caps[0] & 0x20), !!(caps[0] & 0x40), !!(caps[0] & 0x80), caps[2], caps[3]);
    show("capabilities size", KC(31, NULL, 0L));
    pid_t c = fork();
    if (c == 0) {
        long mine = KC(JOIN, NULL);
        show("child: session to parent", KC(18));
        _exit(mine > 0 ? 0 : 1);
    }
    int status;
    waitpid(c, &status, 0);
    show("parent's session changed", KC(GET_KEYRING_ID, SESSION, 0) != sess);
    show("it is an anonymous one", ({ char b[64]; long n = KC(DESCRIBE, SESSION, b, sizeof b); n > 0 && strstr(b, "_ses"); }) ? 1 : 0);
}

static void sessions(void) {
    long a = showid("join named t-sess", KC(JOIN, "t-sess"));
    describe("describe named session", a);
    long b = KC(JOIN, "t-sess");
    show("join it again", b < 0 ? b : (b == a ? 1000 : b > 0 ? 2000 : b));
    show("join with bad pointer", KC(JOIN, (void *)8));
    long c = showid("join anonymous", KC(JOIN, NULL));
    describe("describe anonymous", c);
}

/* Quotas and permissions as an unprivileged uid (its own keys count against it). */
static void unprivileged(long old) {
    long k1 = KC(SEARCH, old, "user", "t-k1", 0L);
    long grp = add("user", "t-grp", "g", old), oth = add("user", "t-oth", "o", old);
    pid_t c = fork();
    if (c == 0) {
        uid_t uid = 40000 + getpid() % 20000;
        KC(CHOWN, grp, -1L, (long)uid);
        KC(SETPERM, grp, 0x3f000100L);    /* the group may view it */
        KC(SETPERM, oth, 0x3f000002L);    /* others may read it */
        if (setgid(uid) || setuid(uid)) { perror("setuid"); _exit(1); }
        show("unprivileged: search root's session", KC(SEARCH, old, "user", "t-k1", 0L) == k1);
        describe("unprivileged: describe a possessed root key", k1);
        long sess = KC(JOIN, NULL);
        describe("unprivileged: describe it once not possessed", k1);
        show("unprivileged: describe by group", KC(DESCRIBE, grp, NULL, 0L) > 0);   /* its gid varies */
        read_key("unprivileged: read by group", grp, 64);
        describe("unprivileged: describe by other", oth);
        read_key("unprivileged: read by other", oth, 64);
        show("unprivileged: link into the old session", KC(LINK, grp, old));
        char payload[2001];
        memset(payload, 'x', 2000);
        payload[2000] = 0;
        int n = 0;
        long r;
        char desc[32];
        for (;;) {
            snprintf(desc, sizeof desc, "q%d", n);
            r = add("user", desc, payload, sess);
            if (r < 0 || ++n > 100) break;
        }
        printf("unprivileged: %d keys of 2000 bytes, then ", n);
        show("add", r);
        long k = add("user", "t-small", "s", sess);
        show("unprivileged: a small key still fits", k > 0);
        show("unprivileged: update beyond quota", KC(UPDATE, k, payload, 2000L));
        show("unprivileged: chown to root", KC(CHOWN, k, 0L, -1L));
        show("unprivileged: setperm", KC(SETPERM, k, 0x3f3f0000L));
        show("unprivileged: revoke", KC(REVOKE, k));
        _exit(0);
    }
    waitpid(c, NULL, 0);
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    long sess = showid("join anonymous session", KC(JOIN, NULL));
    describe("describe session", sess);
    show("session id", KC(GET_KEYRING_ID, SESSION, 0) == sess);
    special_keyrings();
    user_keys(sess);
    keyrings(sess);
    attributes(sess);
    others(sess);
    unprivileged(sess);
    more(sess);
    sessions();
    return 0;
}
