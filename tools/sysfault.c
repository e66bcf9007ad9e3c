/*
 * sysfault.c - short writes, short reads and failed calls, made at the
 * syscall boundary from outside the program (ptrace).
 *
 * Usage: sysfault [-v] [-o REPORT] [--seed N] SPEC -- PROGRAM [ARGS...]
 *
 * Runs PROGRAM and every process and thread it starts under ptrace and, on
 * SPEC's schedule (LAB_FAULT's syntax, src/interpose/README.md), changes their
 * socket calls as the kernel sees them: it lowers the length argument of a
 * send or a read (sendto, sendmsg, sendmmsg, write, writev, pwritev2,
 * sendfile, splice; recvfrom, recvmsg, recvmmsg, read, readv, preadv2), so
 * the kernel really moves fewer bytes, or skips the call and makes it fail
 * with an errno (EINTR, EAGAIN, ...). Whatever libc wrapper, raw syscall()
 * or inline assembly made the call, the kernel boundary is the same, so a
 * program cannot go around it as it can go around LD_PRELOAD's LAB_FAULT.
 * Calls that would escape the tracer are refused: io_uring_setup and
 * io_setup (their I/O runs in the kernel, where no tracer sees it) and
 * 32-bit syscalls fail with ENOSYS, and clone()'s CLONE_UNTRACED is dropped.
 *
 * Each injection is one line of REPORT (-o, opened close-on-exec so the
 * program cannot write to it); the first line is `pid PID`, the program's:
 *     pid 4242
 *     4242 send sendto(4) short write 2->1
 *     4242 send sendto(4) EINTR
 * -v also says each on stderr. SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1 and
 * SIGUSR2 sent to sysfault go to PROGRAM. sysfault ends when PROGRAM does,
 * with its exit status (or dies of its signal), and lets the processes
 * PROGRAM leaves behind go on untraced. Exit 125 when sysfault itself fails
 * (a bad SPEC, no ptrace), 126/127 when PROGRAM cannot be run (as
 * timeout(1)). x86_64 only. libc only, and the kit's error messages
 * (explain.h).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "explain.h"
#include "faultspec.h"

#define PROG "sysfault"
#define USAGE "sysfault [-v] [-o REPORT] [--seed N] SPEC -- PROGRAM [ARGS...]"
/* sysfault's own failure, apart from any status PROGRAM can return (as timeout(1)). */
#define EXIT_SUPERVISOR 125
#define EXIT_CANNOT_RUN 126
#define EXIT_NOT_FOUND 127

#if defined(__x86_64__)
#include <sys/syscall.h>
#include <sys/user.h>
#include <linux/audit.h>

/* sysfault itself cannot go on: say why, exit EXIT_SUPERVISOR. */
static void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

static void fail(const char *fmt, ...)
{
    char text[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    warn_msg("%s", text);
    exit(EXIT_SUPERVISOR);
}

/* ---- the spec: LAB_FAULT's syntax, parsed by faultspec.c ----------------- */

/* The calls, in the order of fault_call_names (faultspec.h). */
enum call { C_SOCKET, C_BIND, C_LISTEN, C_ACCEPT, C_CONNECT, C_SEND, C_RECV, C_CLOSE, NCALLS };
_Static_assert(NCALLS == FAULT_CALLS, "the calls of faultspec.h");
#define call_names fault_call_names

static struct fault_rule rules[FAULT_RULES_MAX];
static int nrules;
static uint64_t rng_state = 1;      /* xorshift64*, from --seed */

static void parse_spec(const char *spec)
{
    char why[256];

    nrules = fault_spec_parse(spec, rules, why, sizeof(why));
    if (nrules == -1) {
        warn_msg("%s", why);
        warn_msg("syntax: CALL:MODE[=VALUE][@WHEN] joined by ';', e.g. 'send:short=1;send:eintr=every3' "
                 "(see src/interpose/README.md)");
        exit(EXIT_SUPERVISOR);
    }
}

/* ---- the traced tasks ---------------------------------------------------- */

/* Calls are counted per process, as LAB_FAULT counts them (a forked child
 * starts from its parent's counts; threads share them). */
struct counts {
    pid_t tgid;
    long seen[NCALLS];
};

/* A word of the program's memory changed for one call, put back after it. */
struct poke {
    unsigned long addr, old;
};

struct task {
    pid_t tid;
    int counts;                 /* index into counts[] */
    int started;                /* its first stop has been seen */
    /* the call in progress, when we changed it (undone at its exit) */
    int active;
    int call;
    const char *name;
    long fd;
    int err;                    /* the errno it fails with, or 0 */
    int skip;                   /* the kernel does not run the call */
    unsigned long len, cap;     /* bytes asked for, bytes allowed */
    struct user_regs_struct regs;
    struct poke pokes[2];
    int npokes;
    int parked;                 /* held for a delay until `due` */
    struct timespec due;
};

static struct task *tasks;
static size_t ntasks, tasks_cap;
static struct counts *counts;
static size_t ncounts, counts_cap;
static pid_t main_pid;
static int main_execed;         /* injections start at PROGRAM's exec */
static int main_status = -1;
static int nlive, nparked;
static int report_fd = -1;
static int verbose;

static void *grow(void *p, size_t *cap, size_t need, size_t size)
{
    if (need <= *cap)
        return p;
    *cap = *cap ? *cap * 2 : 64;
    p = realloc(p, *cap * size);
    if (p == NULL)
        fail("out of memory");
    return p;
}

static int counts_of(pid_t tgid, int copy_from)
{
    for (size_t i = 0; i < ncounts; i++)
        if (counts[i].tgid == tgid)
            return (int)i;
    counts = grow(counts, &counts_cap, ncounts + 1, sizeof(*counts));
    memset(&counts[ncounts], 0, sizeof(*counts));
    if (copy_from >= 0)
        counts[ncounts] = counts[copy_from];
    counts[ncounts].tgid = tgid;
    return (int)ncounts++;
}

static struct task *find_task(pid_t tid)
{
    for (size_t i = 0; i < ntasks; i++)
        if (tasks[i].tid == tid)
            return &tasks[i];
    return NULL;
}

/* A field ("Tgid:", "PPid:") of /proc/TID/status, or -1. */
static long status_field(pid_t tid, const char *field)
{
    char path[64], line[256];
    long v = -1;
    FILE *f;

    snprintf(path, sizeof(path), "/proc/%d/status", (int)tid);
    if ((f = fopen(path, "re")) == NULL)
        return -1;
    while (fgets(line, sizeof(line), f) != NULL)
        if (strncmp(line, field, strlen(field)) == 0) {
            v = strtol(line + strlen(field), NULL, 10);
            break;
        }
    fclose(f);
    return v;
}

/* A task seen for the first time: its counts are its thread group's, or a
 * copy of its parent's (`parent` when known, else /proc's PPid). */
static struct task *new_task(pid_t tid, struct task *parent)
{
    long tgid = status_field(tid, "Tgid:");
    int from = parent ? parent->counts : -1;
    struct task *t;

    if (tgid <= 0)
        tgid = tid;
    if (from < 0) {
        long ppid = status_field((pid_t)tgid, "PPid:");
        struct task *p = ppid > 0 ? find_task((pid_t)ppid) : NULL;

        from = p ? p->counts : -1;
    }
    tasks = grow(tasks, &tasks_cap, ntasks + 1, sizeof(*tasks));
    t = &tasks[ntasks++];
    memset(t, 0, sizeof(*t));
    t->tid = tid;
    t->counts = counts_of((pid_t)tgid, tgid == tid ? from : -1);
    nlive++;
    return t;
}

static void drop_task(struct task *t)
{
    if (t->parked)
        nparked--;
    *t = tasks[--ntasks];
    nlive--;
}

/* ---- the report ------------------------------------------------------- */

static void report(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void report(const char *fmt, ...)
{
    char line[256];
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(line, sizeof(line) - 1, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n > sizeof(line) - 2)
        n = (int)sizeof(line) - 2;
    line[n++] = '\n';
    if (report_fd >= 0 && write(report_fd, line, (size_t)n) < 0)
        warn_msg("cannot write the report: %s", strerror(errno));
    if (verbose)
        warn_msg("%.*s", n - 1, line);
}

/* ---- the program's memory and registers ------------------------------- */

static unsigned long long *arg_reg(struct user_regs_struct *r, int i)
{
    switch (i) {
    case 0: return &r->rdi;
    case 1: return &r->rsi;
    case 2: return &r->rdx;
    case 3: return &r->r10;
    case 4: return &r->r8;
    default: return &r->r9;
    }
}

static int peek(pid_t tid, unsigned long addr, void *buf, size_t len)
{
    struct iovec local = {buf, len}, remote = {(void *)addr, len};

    return process_vm_readv(tid, &local, 1, &remote, 1, 0) == (ssize_t)len ? 0 : -1;
}

/* Change one word of the program's memory for this call (undone at exit). */
static int poke_word(struct task *t, unsigned long addr, unsigned long value)
{
    long old;

    if (t->npokes == 2)
        return -1;
    errno = 0;
    old = ptrace(PTRACE_PEEKDATA, t->tid, (void *)addr, NULL);
    if (errno != 0 || ptrace(PTRACE_POKEDATA, t->tid, (void *)addr, (void *)value) == -1)
        return -1;
    t->pokes[t->npokes++] = (struct poke){addr, (unsigned long)old};
    return 0;
}

#define MAX_IOV 1024

/* Cut an iovec array of `cnt` entries at `cap` bytes: returns the new count
 * (the last entry's length poked), or -1 to leave it whole. */
static long cut_iov(struct task *t, unsigned long addr, unsigned long cnt, unsigned long cap)
{
    static struct iovec iov[MAX_IOV];
    unsigned long sum = 0, k;

    if (cnt == 0 || cnt > MAX_IOV || peek(t->tid, addr, iov, cnt * sizeof(iov[0])) == -1)
        return -1;
    for (k = 0; k < cnt; k++) {
        if (sum + iov[k].iov_len > cap)
            break;
        sum += iov[k].iov_len;
    }
    if (k == cnt)
        return -1;                  /* it all fits */
    t->len = sum;
    for (unsigned long i = k; i < cnt; i++)
        t->len += iov[i].iov_len;
    if (sum == cap)
        return (long)k;
    if (poke_word(t, addr + k * sizeof(iov[0]) + offsetof(struct iovec, iov_len), cap - sum) == -1)
        return -1;
    return (long)k + 1;
}

/* ---- which syscalls are socket calls ---------------------------------- */

enum shape { S_NONE, S_BUF, S_IOV, S_MSG, S_MMSG };

struct sysinfo {
    long nr;
    const char *name;
    int call;
    enum shape shape;
    int fd_arg;                 /* -1: no fd to check */
    int len_arg;                /* S_BUF: the length; S_IOV, S_MMSG: the count */
    int socket_only;            /* only when fd_arg is a socket */
};

static const struct sysinfo syscalls[] = {
    {SYS_socket, "socket", C_SOCKET, S_NONE, -1, 0, 0},
    {SYS_bind, "bind", C_BIND, S_NONE, 0, 0, 0},
    {SYS_listen, "listen", C_LISTEN, S_NONE, 0, 0, 0},
    {SYS_accept, "accept", C_ACCEPT, S_NONE, 0, 0, 0},
    {SYS_accept4, "accept4", C_ACCEPT, S_NONE, 0, 0, 0},
    {SYS_connect, "connect", C_CONNECT, S_NONE, 0, 0, 0},
    {SYS_close, "close", C_CLOSE, S_NONE, 0, 0, 1},
    {SYS_sendto, "sendto", C_SEND, S_BUF, 0, 2, 0},
    {SYS_sendmsg, "sendmsg", C_SEND, S_MSG, 0, 0, 0},
    {SYS_sendmmsg, "sendmmsg", C_SEND, S_MMSG, 0, 2, 0},
    {SYS_write, "write", C_SEND, S_BUF, 0, 2, 1},
    {SYS_pwrite64, "pwrite64", C_SEND, S_BUF, 0, 2, 1},
    {SYS_writev, "writev", C_SEND, S_IOV, 0, 2, 1},
    {SYS_pwritev, "pwritev", C_SEND, S_IOV, 0, 2, 1},
    {SYS_pwritev2, "pwritev2", C_SEND, S_IOV, 0, 2, 1},
    {SYS_sendfile, "sendfile", C_SEND, S_BUF, 0, 3, 1},
    {SYS_recvfrom, "recvfrom", C_RECV, S_BUF, 0, 2, 0},
    {SYS_recvmsg, "recvmsg", C_RECV, S_MSG, 0, 0, 0},
    {SYS_recvmmsg, "recvmmsg", C_RECV, S_MMSG, 0, 2, 0},
    {SYS_read, "read", C_RECV, S_BUF, 0, 2, 1},
    {SYS_pread64, "pread64", C_RECV, S_BUF, 0, 2, 1},
    {SYS_readv, "readv", C_RECV, S_IOV, 0, 2, 1},
    {SYS_preadv, "preadv", C_RECV, S_IOV, 0, 2, 1},
    {SYS_preadv2, "preadv2", C_RECV, S_IOV, 0, 2, 1},
};

static int is_socket(pid_t tid, long fd)
{
    char path[64], target[64];
    ssize_t n;

    if (fd < 0 || fd > INT_MAX)
        return 0;
    snprintf(path, sizeof(path), "/proc/%d/fd/%ld", (int)tid, fd);
    n = readlink(path, target, sizeof(target) - 1);
    return n > 7 && strncmp(target, "socket:", 7) == 0;
}

/* The socket call a syscall makes, or NULL. splice is a send when it
 * writes into a socket and a receive when it reads from one. */
static const struct sysinfo *socket_call(pid_t tid, long nr, const uint64_t *args)
{
    static const struct sysinfo splice_out = {SYS_splice, "splice", C_SEND, S_BUF, 2, 4, 1};
    static const struct sysinfo splice_in = {SYS_splice, "splice", C_RECV, S_BUF, 0, 4, 1};

    if (nr == SYS_splice)
        return is_socket(tid, (long)args[2]) ? &splice_out : is_socket(tid, (long)args[0]) ? &splice_in : NULL;
    for (size_t i = 0; i < sizeof(syscalls) / sizeof(syscalls[0]); i++) {
        const struct sysinfo *s = &syscalls[i];

        if (s->nr != nr)
            continue;
        if (s->socket_only && !is_socket(tid, (long)args[s->fd_arg]))
            return NULL;
        return s;
    }
    return NULL;
}

/* ---- deciding --------------------------------------------------------- */

/* Count the call and decide: the first errno rule that fires wins, the
 * smallest cap, the sum of the delays (as LAB_FAULT decides). */
static void decide(struct task *t, int call, long *delay_ms)
{
    long n = ++counts[t->counts].seen[call];

    *delay_ms = 0;
    for (int i = 0; i < nrules; i++) {
        const struct fault_rule *r = &rules[i];

        if (r->call != call || !fault_rule_fires(r, n, &rng_state))
            continue;
        if (r->mode == FAULT_DELAY)
            *delay_ms += r->value;
        else if (r->mode == FAULT_ERRNO && t->err == 0)
            t->err = r->err;
        else if (r->mode == FAULT_SHORT && (t->cap == 0 || (unsigned long)r->value < t->cap))
            t->cap = (unsigned long)r->value;
    }
}

/* ---- at a syscall's entry and exit ------------------------------------ */

static int set_regs(struct task *t, struct user_regs_struct *r)
{
    return (int)ptrace(PTRACE_SETREGS, t->tid, NULL, r);
}

/* Make the call fail with -err without running it. */
static void refuse(struct task *t, const char *name, int err)
{
    struct user_regs_struct r;

    if (ptrace(PTRACE_GETREGS, t->tid, NULL, &r) == -1)
        return;
    t->regs = r;
    r.orig_rax = (unsigned long long)-1;
    if (set_regs(t, &r) == -1)
        return;
    t->active = 1;
    t->skip = 1;
    t->call = -1;
    t->name = name;
    t->fd = -1;
    t->err = err;
    report("%d refused %s (%s)", (int)t->tid, name, err == ENOSYS ? "ENOSYS" : "?");
}

/* Lower the length the kernel sees to t->cap; 1 when something changed. */
static int apply_cap(struct task *t, const struct sysinfo *s, struct user_regs_struct *r, const uint64_t *args)
{
    unsigned long long *reg;
    long cnt;

    switch (s->shape) {
    case S_BUF:
        reg = arg_reg(r, s->len_arg);
        if (*reg <= t->cap)
            return 0;
        t->len = *reg;
        *reg = t->cap;
        return 1;
    case S_IOV:
        cnt = cut_iov(t, args[1], args[2], t->cap);
        if (cnt < 0)
            return 0;
        *arg_reg(r, 2) = (unsigned long long)cnt;
        return 1;
    case S_MMSG:
        if (args[2] > 1)
            *arg_reg(r, 2) = 1;     /* one message, and it cut */
        __attribute__((fallthrough));   /* the first mmsghdr starts with its msghdr */
    case S_MSG: {
        struct msghdr m;
        unsigned long base = args[1];

        if (peek(t->tid, base, &m, sizeof(m)) == -1)
            return s->shape == S_MMSG && args[2] > 1;
        cnt = cut_iov(t, (unsigned long)m.msg_iov, m.msg_iovlen, t->cap);
        if (cnt >= 0 && (unsigned long)cnt != m.msg_iovlen
            && poke_word(t, base + offsetof(struct msghdr, msg_iovlen), (unsigned long)cnt) == -1)
            return 0;
        return cnt >= 0 || (s->shape == S_MMSG && args[2] > 1);
    }
    case S_NONE:
        break;
    }
    return 0;
}

static void park(struct task *t, long delay_ms)
{
    clock_gettime(CLOCK_MONOTONIC, &t->due);
    t->due.tv_sec += delay_ms / 1000;
    t->due.tv_nsec += (delay_ms % 1000) * 1000000L;
    if (t->due.tv_nsec >= 1000000000L) {
        t->due.tv_sec++;
        t->due.tv_nsec -= 1000000000L;
    }
    t->parked = 1;
    nparked++;
}

static int on_entry(struct task *t, long nr, uint32_t arch, const uint64_t *args)
{
    const struct sysinfo *s;
    struct user_regs_struct r;
    long delay_ms;
    int changed = 0;

    t->active = t->npokes = t->err = t->skip = 0;
    t->cap = t->len = 0;
    if (t->tid == main_pid && !main_execed)
        return 0;                   /* our own code, before PROGRAM runs */
    if (arch != AUDIT_ARCH_X86_64 || (nr & __X32_SYSCALL_BIT)) {
        refuse(t, "a 32-bit syscall", ENOSYS);
        return 0;
    }
    if (nr == SYS_io_uring_setup || nr == SYS_io_setup) {
        refuse(t, nr == SYS_io_setup ? "io_setup" : "io_uring_setup", ENOSYS);
        return 0;
    }
    if (nr == SYS_clone && (args[0] & CLONE_UNTRACED)) {
        if (ptrace(PTRACE_GETREGS, t->tid, NULL, &r) == 0) {
            r.rdi &= ~(unsigned long long)CLONE_UNTRACED;
            set_regs(t, &r);
        }
        return 0;
    }
    if (nr == SYS_clone3) {
        uint64_t flags;

        if (peek(t->tid, args[0], &flags, sizeof(flags)) == 0 && (flags & CLONE_UNTRACED))
            ptrace(PTRACE_POKEDATA, t->tid, (void *)args[0], (void *)(flags & ~(uint64_t)CLONE_UNTRACED));
        return 0;
    }
    if ((s = socket_call(t->tid, nr, args)) == NULL)
        return 0;
    decide(t, s->call, &delay_ms);
    if (t->err == 0 && t->cap == 0 && delay_ms == 0)
        return 0;
    if (ptrace(PTRACE_GETREGS, t->tid, NULL, &r) == -1)
        return 0;
    t->regs = r;
    t->call = s->call;
    t->name = s->name;
    t->fd = s->fd_arg >= 0 ? (long)args[s->fd_arg] : -1;
    if (t->err != 0 && s->call != C_CLOSE) {
        r.orig_rax = (unsigned long long)-1;    /* skip it: the error comes at exit */
        t->skip = 1;
        t->cap = 0;
        changed = 1;
    } else if (t->cap != 0) {
        changed = apply_cap(t, s, &r, args);
        if (!changed)
            t->cap = 0;
    }
    if (changed && set_regs(t, &r) == -1)
        return 0;
    t->active = t->err != 0 || t->cap != 0;
    if (delay_ms > 0) {
        report("%d %s %s(%ld) delay %ldms", (int)t->tid, call_names[s->call], s->name, t->fd, delay_ms);
        park(t, delay_ms);
        return 1;
    }
    return 0;
}

static void on_exit_stop(struct task *t)
{
    struct user_regs_struct r;
    long rc;

    if (!t->active)
        return;
    t->active = 0;
    if (ptrace(PTRACE_GETREGS, t->tid, NULL, &r) == -1)
        return;
    rc = (long)r.rax;
    if (t->err != 0) {
        r.rax = (unsigned long long)(long)-t->err;
        if (t->call >= 0)       /* a rule's errno (else a refused call, reported at entry) */
            report("%d %s %s(%ld) %s", (int)t->tid, call_names[t->call], t->name, t->fd,
                   fault_errno_name(t->err));
    } else if (t->cap != 0 && rc > 0 && (unsigned long)rc == t->cap) {
        report("%d %s %s(%ld) short %s %lu->%lu", (int)t->tid, call_names[t->call], t->name, t->fd,
               t->call == C_SEND ? "write" : "read", t->len, t->cap);
    }
    /* The syscall ABI keeps the argument registers: give them back. */
    r.rdi = t->regs.rdi;
    r.rsi = t->regs.rsi;
    r.rdx = t->regs.rdx;
    r.r10 = t->regs.r10;
    r.r8 = t->regs.r8;
    r.r9 = t->regs.r9;
    set_regs(t, &r);
    while (t->npokes > 0) {
        struct poke *p = &t->pokes[--t->npokes];

        ptrace(PTRACE_POKEDATA, t->tid, (void *)p->addr, (void *)p->old);
    }
}

/* ---- the ptrace loop -------------------------------------------------- */

static void resume(struct task *t, int sig)
{
    if (ptrace(PTRACE_SYSCALL, t->tid, NULL, (void *)(long)sig) == -1 && errno != ESRCH)
        warn_msg("cannot resume %d: %s", (int)t->tid, strerror(errno));
}

static void syscall_stop(struct task *t)
{
    struct __ptrace_syscall_info info;

    if (ptrace(PTRACE_GET_SYSCALL_INFO, t->tid, (void *)sizeof(info), &info) <= 0) {
        resume(t, 0);
        return;
    }
    if (info.op == PTRACE_SYSCALL_INFO_ENTRY) {
        if (on_entry(t, (long)info.entry.nr, info.arch, info.entry.args))
            return;                 /* parked: resumed when its delay is over */
    } else if (info.op == PTRACE_SYSCALL_INFO_EXIT) {
        on_exit_stop(t);
    }
    resume(t, 0);
}

static void on_stop(struct task *t, int status)
{
    int sig = WSTOPSIG(status), event = (unsigned)status >> 16;
    unsigned long msg;

    if (!t->started) {
        t->started = 1;             /* the stop every new tracee starts with */
        resume(t, 0);
        return;
    }
    if (sig == (SIGTRAP | 0x80)) {
        syscall_stop(t);
        return;
    }
    switch (event) {
    case 0:                         /* a signal for the program: deliver it */
        resume(t, sig);
        return;
    case PTRACE_EVENT_STOP:         /* group-stop (SIGSTOP, ...): stay stopped, as untraced */
        if (sig == SIGSTOP || sig == SIGTSTP || sig == SIGTTIN || sig == SIGTTOU)
            ptrace(PTRACE_LISTEN, t->tid, NULL, NULL);
        else
            resume(t, 0);
        return;
    case PTRACE_EVENT_FORK:
    case PTRACE_EVENT_VFORK:
    case PTRACE_EVENT_CLONE:
        if (ptrace(PTRACE_GETEVENTMSG, t->tid, NULL, &msg) == 0 && find_task((pid_t)msg) == NULL) {
            size_t self = (size_t)(t - tasks);

            new_task((pid_t)msg, t);
            t = &tasks[self];       /* tasks[] may have moved */
        }
        resume(t, 0);
        return;
    case PTRACE_EVENT_EXEC:
        if (t->tid == main_pid)
            main_execed = 1;
        resume(t, 0);
        return;
    default:
        resume(t, 0);
        return;
    }
}

static void resume_due(void)
{
    struct timespec now;

    clock_gettime(CLOCK_MONOTONIC, &now);
    for (size_t i = 0; i < ntasks; i++) {
        struct task *t = &tasks[i];

        if (t->parked && (now.tv_sec > t->due.tv_sec
                          || (now.tv_sec == t->due.tv_sec && now.tv_nsec >= t->due.tv_nsec))) {
            t->parked = 0;
            nparked--;
            resume(t, 0);
        }
    }
}

/* PROGRAM has ended: let the processes it leaves go on untraced, as they
 * would without sysfault (a server's children finishing their clients).
 * Each must stop once to be let go; one that will not stop within
 * DETACH_WAIT is killed with us (PTRACE_O_EXITKILL). */
#define DETACH_WAIT 2

static void detach_all(void)
{
    time_t deadline = time(NULL) + DETACH_WAIT;

    for (size_t i = 0; i < ntasks; i++)
        ptrace(PTRACE_INTERRUPT, tasks[i].tid, NULL, NULL);
    while (ntasks > 0 && time(NULL) <= deadline) {
        int status, sig;
        pid_t tid = waitpid(-1, &status, __WALL | WNOHANG);
        struct task *t;

        if (tid == -1 && errno == ECHILD)
            return;
        if (tid <= 0) {
            struct timespec tick = {0, 1000000};

            nanosleep(&tick, NULL);
            continue;
        }
        if ((t = find_task(tid)) == NULL)
            continue;
        if (!WIFSTOPPED(status)) {
            drop_task(t);
            continue;
        }
        sig = WSTOPSIG(status);
        if (sig == (SIGTRAP | 0x80)) {
            struct __ptrace_syscall_info info;

            if (ptrace(PTRACE_GET_SYSCALL_INFO, tid, (void *)sizeof(info), &info) > 0
                && info.op == PTRACE_SYSCALL_INFO_EXIT)
                on_exit_stop(t);
            sig = 0;
        } else if ((unsigned)status >> 16 != 0) {
            sig = 0;                /* an event or group-stop, not a signal to pass on */
        }
        ptrace(PTRACE_DETACH, tid, NULL, (void *)(long)sig);
        drop_task(t);
    }
}

static void trace_all(void)
{
    while (nlive > 0) {
        int status;
        pid_t tid = waitpid(-1, &status, __WALL | (nparked ? WNOHANG : 0));
        struct task *t;

        if (tid == -1) {
            if (errno == EINTR)
                continue;
            if (errno == ECHILD)
                return;
            fail("waitpid: %s", strerror(errno));
        }
        if (tid == 0) {
            struct timespec tick = {0, 1000000};    /* 1 ms: the delays' resolution */

            resume_due();
            nanosleep(&tick, NULL);
            continue;
        }
        t = find_task(tid);
        if (WIFEXITED(status) || WIFSIGNALED(status)) {
            if (t != NULL)
                drop_task(t);
            if (tid == main_pid) {
                main_status = status;
                detach_all();
                return;
            }
            continue;
        }
        if (!WIFSTOPPED(status))
            continue;
        if (t == NULL)
            t = new_task(tid, NULL);
        on_stop(t, status);
        if (nparked)
            resume_due();
    }
}

/* ---- start and end ---------------------------------------------------- */

static void forward(int sig)
{
    if (main_pid > 0)
        kill(main_pid, sig);
}

static void start(char **argv)
{
    static const int forwarded[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2};
    struct sigaction sa;
    int status;
    pid_t child = fork();

    if (child == -1)
        fail("fork: %s", strerror(errno));
    if (child == 0) {
        raise(SIGSTOP);             /* wait here until the tracer holds us */
        execvp(argv[0], argv);
        warn_msg("cannot run %s: %s", argv[0], strerror(errno));
        _exit(errno == ENOENT ? EXIT_NOT_FOUND : EXIT_CANNOT_RUN);
    }
    main_pid = child;
    if (waitpid(child, &status, WSTOPPED) != child || !WIFSTOPPED(status))
        fail("%s did not start", argv[0]);
    if (ptrace(PTRACE_SEIZE, child, NULL, (void *)(long)(PTRACE_O_TRACESYSGOOD | PTRACE_O_TRACEFORK
            | PTRACE_O_TRACEVFORK | PTRACE_O_TRACECLONE | PTRACE_O_TRACEEXEC | PTRACE_O_EXITKILL)) == -1) {
        int err = errno;

        kill(child, SIGKILL);
        warn_msg("cannot trace %s: %s (is ptrace allowed here? a container needs CAP_SYS_PTRACE)",
                 argv[0], strerror(err));
        exit(EXIT_SUPERVISOR);
    }
    new_task(child, NULL);
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = forward;
    for (size_t i = 0; i < sizeof(forwarded) / sizeof(forwarded[0]); i++)
        sigaction(forwarded[i], &sa, NULL);
    report("pid %d", (int)child);
    kill(child, SIGCONT);
}

/* End as PROGRAM ended: its exit code, or its signal. */
static void finish(void) __attribute__((noreturn));

static void finish(void)
{
    struct rlimit no_core = {0, 0};
    int sig;

    if (main_status == -1)
        exit(EXIT_SUPERVISOR);
    if (WIFEXITED(main_status))
        exit(WEXITSTATUS(main_status));
    sig = WTERMSIG(main_status);
    setrlimit(RLIMIT_CORE, &no_core);
    signal(sig, SIG_DFL);
    raise(sig);
    exit(128 + sig);
}

static void help(void)
{
    printf("usage: " USAGE "\n\n"
           "Runs PROGRAM, and every process it starts, under ptrace and makes SPEC's faults at\n"
           "the syscall boundary, however the calls are made (libc or raw syscall()).\n\n"
           "  SPEC         LAB_FAULT's rules (src/interpose/README.md), e.g. 'send:short=1;send:eintr=every3':\n"
           "               short=N cuts a send or a read to N bytes; an errno (eintr, eagain,\n"
           "               econnreset, ...) fails the call; delay=T holds it first\n"
           "  -o REPORT    write `pid PID` (PROGRAM's), then one line per injection, to REPORT\n"
           "  -v           also say each injection on stderr\n"
           "  --seed N     the seed of probP rules (same seed, same faults)\n\n"
           "Exit: PROGRAM's status; 125 when sysfault fails, 126/127 when PROGRAM cannot run.\n"
           "example: sysfault -v 'send:short=1' -- build/05-send-recv/server 0\n");
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"seed", required_argument, NULL, 's'}, {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
    const char *report_path = NULL;
    int opt;

    explain_init(PROG, USAGE);
    while ((opt = getopt_long(argc, argv, "+vo:s:h", longopts, NULL)) != -1) {
        switch (opt) {
        case 'v':
            verbose = 1;
            break;
        case 'o':
            report_path = optarg;
            break;
        case 's': {
            char *end;

            errno = 0;
            rng_state = strtoull(optarg, &end, 10);
            if (*optarg == '\0' || *end != '\0' || errno != 0)
                die_usage("bad --seed '%s' (a whole number)", optarg);
            if (rng_state == 0)
                rng_state = 1;
            break;
        }
        case 'h':
            help();
            return EXIT_OK;
        default:
            die_usage("unknown option");
        }
    }
    if (optind >= argc)
        die_usage("no SPEC (e.g. 'send:short=1;send:eintr=every3')");
    parse_spec(argv[optind++]);
    if (optind >= argc || strcmp(argv[optind], "--") != 0 || optind + 1 >= argc)
        die_usage("SPEC must be followed by -- PROGRAM [ARGS...]");
    if (report_path != NULL
        && (report_fd = open(report_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600)) == -1) {
        warn_msg("cannot open %s: %s", report_path, strerror(errno));
        return EXIT_SUPERVISOR;
    }
    start(argv + optind + 1);
    trace_all();
    finish();
}

#else   /* not x86_64 */

int main(void)
{
    explain_init(PROG, USAGE);
    warn_msg("injecting faults from outside needs x86_64 (use LAB_FAULT, src/interpose/README.md)");
    return EXIT_SUPERVISOR;
}

#endif
