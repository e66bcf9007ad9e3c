/*
 * interpose.c - every socket call a program makes, traced (trace.c) and,
 * with LAB_FAULT, tampered with (fault.c), from outside the program's code.
 *
 * The kit's programs link this file from libsocketlab.a: their calls to
 * socket(), bind(), send() ... resolve to the functions below, which reach
 * libc's own through dlsym(RTLD_NEXT, ...). Any other dynamically linked
 * program gets the same through LD_PRELOAD of libsocketlab.so
 * (tools/trace). One table lists the wrapped calls for both uses.
 *
 * Threads: each wrapper keeps a per-thread guard, so calls made by the
 * trace itself are never traced; each trace line is one write(2), so lines
 * of several threads never mix; the fd table is updated atomically. Fault
 * rules count calls process-wide, without a lock: with several threads an
 * "every3" rule fires about, not exactly, every third call.
 */
#define _GNU_SOURCE             /* RTLD_NEXT, accept4, program_invocation_short_name */
#include "interpose.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "addr.h"
#include "fault.h"
#include "i18n.h"
#include "trace.h"

/* The table: one row per wrapped libc function. */
enum wrapped {
    W_SOCKET, W_BIND, W_LISTEN, W_ACCEPT, W_ACCEPT4, W_CONNECT,
    W_SEND, W_SENDTO, W_SENDMSG, W_WRITE, W_WRITEV,
    W_RECV, W_RECVFROM, W_RECVMSG, W_READ, W_READV,
    W_SHUTDOWN, W_CLOSE, W_SETSOCKOPT, W_GETSOCKNAME, W_GETPEERNAME,
    W_POLL, W_EPOLL_CREATE1, W_EPOLL_CTL, W_EPOLL_WAIT, W_FCNTL, W_FCNTL64,
    W_RECV_CHK, W_RECVFROM_CHK, W_READ_CHK,
    W_COUNT
};

/* What a call does, for the step it belongs to (see step_of()). */
enum kind { K_SOCKET, K_OPTION, K_BIND, K_LISTEN, K_ACCEPT, K_CONNECT, K_NAME,
            K_PEER, K_IO, K_WAIT, K_SHUTDOWN, K_CLOSE };

static const struct {
    const char *name;           /* the libc symbol */
    enum kind kind;
    int fault;                  /* the fault_call rules name it by, or -1 */
} table[W_COUNT] = {
    [W_SOCKET] = {"socket", K_SOCKET, FC_SOCKET},
    [W_BIND] = {"bind", K_BIND, FC_BIND},
    [W_LISTEN] = {"listen", K_LISTEN, FC_LISTEN},
    [W_ACCEPT] = {"accept", K_ACCEPT, FC_ACCEPT},
    [W_ACCEPT4] = {"accept4", K_ACCEPT, FC_ACCEPT},
    [W_CONNECT] = {"connect", K_CONNECT, FC_CONNECT},
    [W_SEND] = {"send", K_IO, FC_SEND},
    [W_SENDTO] = {"sendto", K_IO, FC_SEND},
    [W_SENDMSG] = {"sendmsg", K_IO, FC_SEND},
    [W_WRITE] = {"write", K_IO, FC_SEND},
    [W_WRITEV] = {"writev", K_IO, FC_SEND},
    [W_RECV] = {"recv", K_IO, FC_RECV},
    [W_RECVFROM] = {"recvfrom", K_IO, FC_RECV},
    [W_RECVMSG] = {"recvmsg", K_IO, FC_RECV},
    [W_READ] = {"read", K_IO, FC_RECV},
    [W_READV] = {"readv", K_IO, FC_RECV},
    [W_SHUTDOWN] = {"shutdown", K_SHUTDOWN, -1},
    [W_CLOSE] = {"close", K_CLOSE, FC_CLOSE},
    [W_SETSOCKOPT] = {"setsockopt", K_OPTION, -1},
    [W_GETSOCKNAME] = {"getsockname", K_NAME, -1},
    [W_GETPEERNAME] = {"getpeername", K_PEER, -1},
    [W_POLL] = {"poll", K_WAIT, -1},
    [W_EPOLL_CREATE1] = {"epoll_create1", K_WAIT, -1},
    [W_EPOLL_CTL] = {"epoll_ctl", K_WAIT, -1},
    [W_EPOLL_WAIT] = {"epoll_wait", K_WAIT, -1},
    [W_FCNTL] = {"fcntl", K_OPTION, -1},
    [W_FCNTL64] = {"fcntl64", K_OPTION, -1},
    [W_RECV_CHK] = {"__recv_chk", K_IO, -1},
    [W_RECVFROM_CHK] = {"__recvfrom_chk", K_IO, -1},
    [W_READ_CHK] = {"__read_chk", K_IO, -1},
};

/* ---- the real functions: looked up once each, on first use ---- */

static void *real[W_COUNT];

static void *real_fn(enum wrapped w)
{
    void *f = __atomic_load_n(&real[w], __ATOMIC_ACQUIRE);

    if (f == NULL) {
        f = dlsym(RTLD_NEXT, table[w].name);
        if (f == NULL) {
            /* No libc below us has it: nothing sensible can follow. */
            const char *why = dlerror();

            fprintf(stderr, "socketlab: dlsym(RTLD_NEXT, \"%s\") found nothing%s%s\n",
                    table[w].name, why ? ": " : "", why ? why : "");
            _exit(EXIT_FAILURE);
        }
        __atomic_store_n(&real[w], f, __ATOMIC_RELEASE);
    }
    return f;
}

/* Call the real function w, typed as fn_type. */
#define REAL(w, fn_type) ((fn_type)real_fn(w))

ssize_t lab_real_write(int fd, const void *buf, size_t len)
{
    return REAL(W_WRITE, ssize_t (*)(int, const void *, size_t))(fd, buf, len);
}

ssize_t lab_real_read(int fd, void *buf, size_t len)
{
    return REAL(W_READ, ssize_t (*)(int, void *, size_t))(fd, buf, len);
}

/* ---- which fds are sockets, and how far along each one is ---- */

/* Sockets we saw created, by fd; higher fds are asked with fstat(). */
#define FD_TABLE 65536
enum phase { P_NONE, P_CREATED, P_BOUND, P_LISTENING, P_CONNECTING, P_CONNECTED };
static unsigned char phases[FD_TABLE];

static enum phase phase_of(int fd)
{
    struct stat st;

    if (fd >= 0 && fd < FD_TABLE)
        return (enum phase)__atomic_load_n(&phases[fd], __ATOMIC_RELAXED);
    if (fd >= FD_TABLE && fstat(fd, &st) == 0 && S_ISSOCK(st.st_mode))
        return P_CONNECTED;
    return P_NONE;
}

static void set_phase(int fd, enum phase p)
{
    if (fd >= 0 && fd < FD_TABLE)
        __atomic_store_n(&phases[fd], (unsigned char)p, __ATOMIC_RELAXED);
}

/* fds the program made non-blocking (SOCK_NONBLOCK, fcntl O_NONBLOCK): their
 * calls never wait. Kept in the fast path too: each is one store. */
static unsigned char nonblocking[FD_TABLE];

static void note_nonblocking(int fd, int yes)
{
    if (fd >= 0 && fd < FD_TABLE)
        __atomic_store_n(&nonblocking[fd], (unsigned char)(yes != 0), __ATOMIC_RELAXED);
}

static int is_nonblocking(int fd)
{
    return fd >= 0 && fd < FD_TABLE && __atomic_load_n(&nonblocking[fd], __ATOMIC_RELAXED);
}

/* ---- when to do anything at all ---- */

/* Inside a wrapper on this thread: calls made now (by the trace, by libc
 * on our behalf) go straight through. */
static _Thread_local int busy;

#ifdef LAB_PRELOAD
/*
 * As a preload library inside a program that links the kit's library
 * itself (a lesson program run by tools/trace), the program's own copy
 * already traces: this one steps aside, or every call would show twice.
 */
static int step_aside = -1;

static int other_copy(void)
{
    if (step_aside == -1)
        step_aside = dlsym(RTLD_DEFAULT, "lab_static_interposer") != NULL;
    return step_aside;
}
#else
/* The mark the preload copy looks for (exported: see the Makefile). */
const int lab_static_interposer = 1;
#define other_copy() 0
#endif

/*
 * Before a call that may wait (accept, connect, recv, read, poll, ...), the
 * data lines printed so far go out, so they are seen while the program
 * waits; stdout is flushed once per round trip, not once per line. A call
 * that cannot wait (a non-blocking fd, MSG_DONTWAIT, a zero timeout) flushes
 * nothing: a poll or epoll server's lines go out once per round of its loop,
 * not with a write(2) per message.
 */
static void wait_flushed(void)
{
    if (!busy)
        fflush(stdout);
}

static void fd_wait_flushed(int fd, int flags)
{
    if (!(flags & MSG_DONTWAIT) && !is_nonblocking(fd))
        wait_flushed();
}

/* Trace, pause or inject? When none, a wrapper is one extra branch. */
static int active(void)
{
    return !busy && !other_copy() && (trace_enabled() || fault_enabled());
}

/* ---- describing a call: the one argument decoder ---- */

/* Longest call text; longer ones are cut. */
#define TEXT_MAX 512
/* How many bytes of data a call's text shows. */
#define DATA_SHOWN 48

struct call {
    enum wrapped w;
    int fd;                     /* the socket the call is about, or -1 */
    int step;
    struct fault_verdict fault;
    struct timespec start;
    char text[TEXT_MAX];
};

static void appendf(char *buf, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void appendf(char *buf, size_t size, const char *fmt, ...)
{
    size_t used = strlen(buf);
    va_list ap;

    if (used + 1 >= size)
        return;
    va_start(ap, fmt);
    vsnprintf(buf + used, size - used, fmt, ap);
    va_end(ap);
}

/* Names for flag bits: the set bits joined by '|', or "0". */
struct flag_name { int bit; const char *name; };

static const char *flags_str(int value, const struct flag_name *names, size_t n,
                             char *buf, size_t size)
{
    buf[0] = '\0';
    for (size_t i = 0; i < n; i++)
        if (names[i].bit != 0 && (value & names[i].bit) == names[i].bit) {
            appendf(buf, size, "%s%s", buf[0] ? "|" : "", names[i].name);
            value &= ~names[i].bit;
        }
    if (value != 0 || buf[0] == '\0')
        appendf(buf, size, "%s%#x", buf[0] ? "|" : "", (unsigned)value);
    if (strcmp(buf, "0x0") == 0)
        snprintf(buf, size, "0");
    return buf;
}

#define NAMES(a) (a), sizeof(a) / sizeof((a)[0])

static const struct flag_name msg_flags[] = {
    {MSG_NOSIGNAL, "MSG_NOSIGNAL"}, {MSG_DONTWAIT, "MSG_DONTWAIT"},
    {MSG_WAITALL, "MSG_WAITALL"}, {MSG_PEEK, "MSG_PEEK"}, {MSG_MORE, "MSG_MORE"},
    {MSG_OOB, "MSG_OOB"}, {MSG_TRUNC, "MSG_TRUNC"}};
static const struct flag_name poll_flags[] = {
    {POLLIN, "POLLIN"}, {POLLOUT, "POLLOUT"}, {POLLPRI, "POLLPRI"},
    {POLLERR, "POLLERR"}, {POLLHUP, "POLLHUP"}, {POLLNVAL, "POLLNVAL"},
    {POLLRDHUP, "POLLRDHUP"}};
static const struct flag_name epoll_flags[] = {
    {EPOLLIN, "EPOLLIN"}, {EPOLLOUT, "EPOLLOUT"}, {EPOLLRDHUP, "EPOLLRDHUP"},
    {EPOLLPRI, "EPOLLPRI"}, {EPOLLERR, "EPOLLERR"}, {EPOLLHUP, "EPOLLHUP"},
    {(int)EPOLLET, "EPOLLET"}, {EPOLLONESHOT, "EPOLLONESHOT"}};
static const struct flag_name file_flags[] = {
    {O_NONBLOCK, "O_NONBLOCK"}, {O_APPEND, "O_APPEND"}, {O_RDWR, "O_RDWR"},
    {O_WRONLY, "O_WRONLY"}};

static const char *type_str(int type, char *buf, size_t size)
{
    static const struct flag_name extra[] = {
        {SOCK_NONBLOCK, "SOCK_NONBLOCK"}, {SOCK_CLOEXEC, "SOCK_CLOEXEC"}};
    int base = type & ~(SOCK_NONBLOCK | SOCK_CLOEXEC);
    char more[64];

    snprintf(buf, size, "%s", base == SOCK_STREAM ? "SOCK_STREAM" : base == SOCK_DGRAM ? "SOCK_DGRAM"
             : base == SOCK_RAW ? "SOCK_RAW" : "?");
    if (strcmp(buf, "?") == 0)
        snprintf(buf, size, "%d", base);
    if (type != base)
        appendf(buf, size, "|%s", flags_str(type - base, NAMES(extra), more, sizeof(more)));
    return buf;
}

/* "[1]", "{10s 0us}", "{l_onoff=1, l_linger=0}" or the length. */
static const char *optval_str(int level, int name, const void *val, socklen_t len,
                              char *buf, size_t size)
{
    if (val == NULL)
        snprintf(buf, size, "NULL");
    else if (level == SOL_SOCKET && (name == SO_RCVTIMEO || name == SO_SNDTIMEO)
             && len >= sizeof(struct timeval)) {
        const struct timeval *tv = val;

        snprintf(buf, size, "{%lds %ldus}", (long)tv->tv_sec, (long)tv->tv_usec);
    } else if (level == SOL_SOCKET && name == SO_LINGER && len >= sizeof(struct linger)) {
        const struct linger *l = val;

        snprintf(buf, size, "{l_onoff=%d, l_linger=%d}", l->l_onoff, l->l_linger);
    } else if (len == sizeof(int)) {
        snprintf(buf, size, "[%d]", *(const int *)val);
    } else {
        snprintf(buf, size, "<%u bytes>", (unsigned)len);
    }
    return buf;
}

static const char *sockopt_str(int level, int name, char *buf, size_t size)
{
    static const struct { int level, name; const char *text; } opts[] = {
        {SOL_SOCKET, SO_REUSEADDR, "SOL_SOCKET, SO_REUSEADDR"},
        {SOL_SOCKET, SO_REUSEPORT, "SOL_SOCKET, SO_REUSEPORT"},
        {SOL_SOCKET, SO_RCVTIMEO, "SOL_SOCKET, SO_RCVTIMEO"},
        {SOL_SOCKET, SO_SNDTIMEO, "SOL_SOCKET, SO_SNDTIMEO"},
        {SOL_SOCKET, SO_KEEPALIVE, "SOL_SOCKET, SO_KEEPALIVE"},
        {SOL_SOCKET, SO_LINGER, "SOL_SOCKET, SO_LINGER"},
        {SOL_SOCKET, SO_RCVBUF, "SOL_SOCKET, SO_RCVBUF"},
        {SOL_SOCKET, SO_SNDBUF, "SOL_SOCKET, SO_SNDBUF"},
        {IPPROTO_TCP, TCP_NODELAY, "IPPROTO_TCP, TCP_NODELAY"},
        {IPPROTO_IPV6, IPV6_V6ONLY, "IPPROTO_IPV6, IPV6_V6ONLY"}};

    for (size_t i = 0; i < sizeof(opts) / sizeof(opts[0]); i++)
        if (opts[i].level == level && opts[i].name == name)
            return snprintf(buf, size, "%s", opts[i].text), buf;
    snprintf(buf, size, "%d, %d", level, name);
    return buf;
}

/* The data of a send or recv, quoted: "ok", or "这是第1个..." cut short. */
static void append_data(char *text, const void *data, ssize_t len)
{
    char shown[DATA_SHOWN * 4 + 8];

    if (len <= 0) {
        appendf(text, TEXT_MAX, "buf");
        return;
    }
    quote_bytes(data, (size_t)len < DATA_SHOWN ? (size_t)len : DATA_SHOWN, shown, sizeof(shown));
    appendf(text, TEXT_MAX, "\"%s\"%s", shown, len > DATA_SHOWN ? "..." : "");
}

static void append_poll(char *text, const struct pollfd *fds, nfds_t n, int after)
{
    char f[96];
    nfds_t i;

    appendf(text, TEXT_MAX, "[");
    for (i = 0; i < n && i < 4; i++) {
        appendf(text, TEXT_MAX, "%s{fd=%d, events=%s", i ? ", " : "", fds[i].fd,
                flags_str(fds[i].events, NAMES(poll_flags), f, sizeof(f)));
        if (after && fds[i].revents)
            appendf(text, TEXT_MAX, ", revents=%s",
                    flags_str(fds[i].revents, NAMES(poll_flags), f, sizeof(f)));
        appendf(text, TEXT_MAX, "}");
    }
    appendf(text, TEXT_MAX, "%s]", i < n ? ", ..." : "");
}

/* ---- steps: which step of the seed's diagram a call serves ---- */

static enum trace_role role_for(enum kind k)
{
    enum trace_role r = trace_role();

    if (r != ROLE_UNKNOWN)
        return r;
    /* A program traced by tools/trace shows what it is by what it calls. */
    if (k == K_BIND || k == K_LISTEN || k == K_ACCEPT)
        r = ROLE_SERVER;
    else if (k == K_CONNECT)
        r = ROLE_CLIENT;
    if (r != ROLE_UNKNOWN)
        trace_guess_role(r);
    return r;
}

/*
 * The seed's steps. Server: socket 1, bind 2, listen 3, accept 4, talk 5,
 * close 6. Client: socket 1, connect 2, talk 3, close 4. Options, names and
 * waits carry the step they serve, told by how far along their socket is.
 */
static int step_of(enum kind k, int fd, int any_listening)
{
    enum phase p = phase_of(fd);

    switch (role_for(k)) {
    case ROLE_SERVER:
        switch (k) {
        case K_SOCKET: return 1;
        case K_BIND: return 2;
        case K_LISTEN: return 3;
        case K_ACCEPT: case K_PEER: return 4;
        case K_CONNECT: return 2;
        case K_WAIT: return any_listening || p == P_LISTENING ? 4 : 5;
        case K_SHUTDOWN: case K_CLOSE: return 6;
        case K_OPTION: case K_NAME:
            return p == P_LISTENING ? 3 : p >= P_CONNECTING ? 5 : 2;
        case K_IO: return 5;
        }
        break;
    case ROLE_CLIENT:
        switch (k) {
        case K_SOCKET: return 1;
        case K_CONNECT: case K_BIND: case K_NAME: case K_PEER: return 2;
        case K_OPTION: return p >= P_CONNECTING ? 3 : 1;
        case K_CLOSE: return p == P_CONNECTED ? 4 : 2;    /* a failed connect's socket: 2 */
        case K_SHUTDOWN: return 4;
        case K_IO: case K_WAIT: case K_LISTEN: case K_ACCEPT: return 3;
        }
        break;
    case ROLE_UNKNOWN:
        break;
    }
    return k == K_SOCKET ? 1 : 0;
}

/* ---- around every traced call ---- */

/* Before the call: its text with the arguments known now, --pause, faults. */
static void call_begin(struct call *c, enum wrapped w, int fd, int any_listening)
{
    busy = 1;
    c->w = w;
    c->fd = fd;
    c->step = step_of(table[w].kind, fd, any_listening);
    c->fault = (struct fault_verdict){0, 0, 0};
    if (table[w].fault >= 0)
        c->fault = fault_begin((enum fault_call)table[w].fault);
    fflush(stdout);                 /* data lines printed so far come first */
    trace_pause(c->step, c->text);
    /* A close of a connection shows the kernel's view first: the state it
     * leaves (CLOSE_WAIT when the peer closed first, ESTABLISHED if not). */
    if (w == W_CLOSE && phase_of(fd) == P_CONNECTED)
        trace_view(c->step, fd);
    clock_gettime(CLOCK_REALTIME, &c->start);
}

/* After the call: trace it (with the kernel's view of view_fd). Leaves
 * errno as the call set it. */
static void call_end(struct call *c, long ret, int view_fd, const char *note)
{
    int err = errno;
    struct trace_event ev = {
        .call = table[c->w].name, .step = c->step, .text = c->text, .ret = ret,
        .err = ret == -1 ? err : 0, .sock = c->fd, .view_fd = ret == -1 && err != EINPROGRESS ? -1 : view_fd,
        .injected = fault_last_note(), .note = note, .start = c->start};

    trace_event(&ev);
    busy = 0;
    errno = err;
}

/* Fail as the kernel would, for an injected errno: -1. */
static long injected_failure(struct call *c)
{
    errno = c->fault.err;
    return -1;
}

/* ---- the wrappers ---- */

#ifdef LAB_PRELOAD
/* The preload library shows only these; its helpers stay hidden, so a
 * traced program's own functions of the same names cannot replace them. */
#pragma GCC visibility push(default)
#endif

int socket(int domain, int type, int protocol)
{
    typedef int (*fn)(int, int, int);
    struct call c;
    char t[64];
    int fd;

    if (!active()) {
        fd = REAL(W_SOCKET, fn)(domain, type, protocol);
        note_nonblocking(fd, type & SOCK_NONBLOCK);
        return fd;
    }
    snprintf(c.text, TEXT_MAX, "socket(%s, %s, %d)", family_name(domain),
             type_str(type, t, sizeof(t)), protocol);
    call_begin(&c, W_SOCKET, -1, 0);
    fd = c.fault.err ? (int)injected_failure(&c) : REAL(W_SOCKET, fn)(domain, type, protocol);
    if (fd >= 0)
        set_phase(fd, P_CREATED);
    note_nonblocking(fd, type & SOCK_NONBLOCK);
    c.fd = fd;
    call_end(&c, fd, fd, NULL);
    return fd;
}

int bind(int fd, const struct sockaddr *addr, socklen_t len)
{
    typedef int (*fn)(int, const struct sockaddr *, socklen_t);
    struct call c;
    int rc;

    if (!active())
        return REAL(W_BIND, fn)(fd, addr, len);
    snprintf(c.text, TEXT_MAX, "bind(%d, %s, %u)", fd, addr_str(addr, len), (unsigned)len);
    call_begin(&c, W_BIND, fd, 0);
    rc = c.fault.err ? (int)injected_failure(&c) : REAL(W_BIND, fn)(fd, addr, len);
    if (rc == 0)
        set_phase(fd, P_BOUND);
    call_end(&c, rc, fd, NULL);
    return rc;
}

int listen(int fd, int backlog)
{
    typedef int (*fn)(int, int);
    struct call c;
    int rc;

    if (!active())
        return REAL(W_LISTEN, fn)(fd, backlog);
    snprintf(c.text, TEXT_MAX, "listen(%d, %d)", fd, backlog);
    call_begin(&c, W_LISTEN, fd, 0);
    rc = c.fault.err ? (int)injected_failure(&c) : REAL(W_LISTEN, fn)(fd, backlog);
    if (rc == 0)
        set_phase(fd, P_LISTENING);
    call_end(&c, rc, fd, NULL);
    return rc;
}

/* accept and accept4: the new socket, and who it is connected to. */
static int accept_common(enum wrapped w, int fd, struct sockaddr *addr, socklen_t *len, int flags)
{
    typedef int (*fn3)(int, struct sockaddr *, socklen_t *);
    typedef int (*fn4)(int, struct sockaddr *, socklen_t *, int);
    struct call c;
    int nfd;

    snprintf(c.text, TEXT_MAX, "%s(%d, ...)", table[w].name, fd);
    call_begin(&c, w, fd, 0);
    if (c.fault.err)
        nfd = (int)injected_failure(&c);    /* the connection stays queued */
    else if (w == W_ACCEPT)
        nfd = REAL(W_ACCEPT, fn3)(fd, addr, len);
    else
        nfd = REAL(W_ACCEPT4, fn4)(fd, addr, len, flags);
    c.text[0] = '\0';
    /* The peer's address as the kernel filled it in; NULL stays NULL. */
    appendf(c.text, TEXT_MAX, "%s(%d, %s, ", table[w].name, fd,
            addr == NULL ? "NULL" : nfd >= 0 && len != NULL ? addr_str(addr, *len) : "addr");
    if (len != NULL)
        appendf(c.text, TEXT_MAX, "%u", (unsigned)*len);
    else
        appendf(c.text, TEXT_MAX, "NULL");
    if (w == W_ACCEPT4) {
        static const struct flag_name accept_flags[] = {
            {SOCK_NONBLOCK, "SOCK_NONBLOCK"}, {SOCK_CLOEXEC, "SOCK_CLOEXEC"}};
        char f[64];

        appendf(c.text, TEXT_MAX, ", %s", flags_str(flags, NAMES(accept_flags), f, sizeof(f)));
    }
    appendf(c.text, TEXT_MAX, ")");
    if (nfd >= 0) {
        set_phase(nfd, P_CONNECTED);
        note_nonblocking(nfd, flags & SOCK_NONBLOCK);
    }
    call_end(&c, nfd, nfd, NULL);
    return nfd;
}

/* accept() and accept4() untraced: the new fd's blocking mode is all we note
 * (it does not inherit the listening socket's O_NONBLOCK). */
static int accept_fast(enum wrapped w, int fd, struct sockaddr *addr, socklen_t *len, int flags)
{
    int nfd = w == W_ACCEPT
        ? REAL(W_ACCEPT, int (*)(int, struct sockaddr *, socklen_t *))(fd, addr, len)
        : REAL(W_ACCEPT4, int (*)(int, struct sockaddr *, socklen_t *, int))(fd, addr, len, flags);

    if (nfd >= 0)
        note_nonblocking(nfd, flags & SOCK_NONBLOCK);
    return nfd;
}

int accept(int fd, struct sockaddr *addr, socklen_t *len)
{
    if (!active())
        return fd_wait_flushed(fd, 0), accept_fast(W_ACCEPT, fd, addr, len, 0);
    return accept_common(W_ACCEPT, fd, addr, len, 0);
}

int accept4(int fd, struct sockaddr *addr, socklen_t *len, int flags)
{
    if (!active())
        return fd_wait_flushed(fd, 0), accept_fast(W_ACCEPT4, fd, addr, len, flags);
    return accept_common(W_ACCEPT4, fd, addr, len, flags);
}

int connect(int fd, const struct sockaddr *addr, socklen_t len)
{
    typedef int (*fn)(int, const struct sockaddr *, socklen_t);
    struct call c;
    int rc;

    if (!active())
        return fd_wait_flushed(fd, 0), REAL(W_CONNECT, fn)(fd, addr, len);
    snprintf(c.text, TEXT_MAX, "connect(%d, %s, %u)", fd, addr_str(addr, len), (unsigned)len);
    call_begin(&c, W_CONNECT, fd, 0);
    rc = c.fault.err ? (int)injected_failure(&c) : REAL(W_CONNECT, fn)(fd, addr, len);
    if (rc == 0)
        set_phase(fd, P_CONNECTED);
    else if (errno == EINPROGRESS)
        set_phase(fd, P_CONNECTING);    /* non-blocking: the handshake goes on */
    call_end(&c, rc, fd, NULL);
    return rc;
}

/* A send of len bytes returned rc: say so when it took only part. */
static const char *send_note(ssize_t rc, size_t len)
{
    static _Thread_local char note[128];

    if (rc < 0 || (size_t)rc >= len)
        return NULL;
    snprintf(note, sizeof(note), _("short write: the kernel took %zd of %zu bytes; send the rest"),
             rc, len);
    return note;
}

/* A receive returned rc: 0 means the peer closed its end. */
static const char *recv_note(ssize_t rc)
{
    return rc == 0 ? _("0 bytes: the peer closed its end (FIN); no more data will come") : NULL;
}

ssize_t send(int fd, const void *buf, size_t len, int flags)
{
    typedef ssize_t (*fn)(int, const void *, size_t, int);
    struct call c;
    char f[96];
    ssize_t rc;

    if (!active())
        return REAL(W_SEND, fn)(fd, buf, len, flags);
    c.text[0] = '\0';
    appendf(c.text, TEXT_MAX, "send(%d, ", fd);
    append_data(c.text, buf, (ssize_t)len);
    appendf(c.text, TEXT_MAX, ", %zu, %s)", len, flags_str(flags, NAMES(msg_flags), f, sizeof(f)));
    call_begin(&c, W_SEND, fd, 0);
    rc = c.fault.err ? injected_failure(&c) : REAL(W_SEND, fn)(fd, buf, fault_cap(c.fault, len), flags);
    fault_note_short(FC_SEND, c.fault, len, rc);
    call_end(&c, rc, -1, send_note(rc, len));
    return rc;
}

ssize_t sendto(int fd, const void *buf, size_t len, int flags, const struct sockaddr *addr, socklen_t alen)
{
    typedef ssize_t (*fn)(int, const void *, size_t, int, const struct sockaddr *, socklen_t);
    struct call c;
    char f[96];
    ssize_t rc;

    if (!active() || phase_of(fd) == P_NONE)
        return REAL(W_SENDTO, fn)(fd, buf, len, flags, addr, alen);
    c.text[0] = '\0';
    appendf(c.text, TEXT_MAX, "sendto(%d, ", fd);
    append_data(c.text, buf, (ssize_t)len);
    appendf(c.text, TEXT_MAX, ", %zu, %s, %s, %u)", len, flags_str(flags, NAMES(msg_flags), f, sizeof(f)),
            addr ? addr_str(addr, alen) : "NULL", (unsigned)alen);
    call_begin(&c, W_SENDTO, fd, 0);
    rc = c.fault.err ? injected_failure(&c)
                     : REAL(W_SENDTO, fn)(fd, buf, fault_cap(c.fault, len), flags, addr, alen);
    fault_note_short(FC_SEND, c.fault, len, rc);
    call_end(&c, rc, -1, send_note(rc, len));
    return rc;
}

ssize_t write(int fd, const void *buf, size_t len)
{
    typedef ssize_t (*fn)(int, const void *, size_t);
    struct call c;
    ssize_t rc;

    /* write() on stdout, a file or a pipe is none of our business. */
    if (!active() || phase_of(fd) == P_NONE)
        return REAL(W_WRITE, fn)(fd, buf, len);
    c.text[0] = '\0';
    appendf(c.text, TEXT_MAX, "write(%d, ", fd);
    append_data(c.text, buf, (ssize_t)len);
    appendf(c.text, TEXT_MAX, ", %zu)", len);
    call_begin(&c, W_WRITE, fd, 0);
    rc = c.fault.err ? injected_failure(&c) : REAL(W_WRITE, fn)(fd, buf, fault_cap(c.fault, len));
    fault_note_short(FC_SEND, c.fault, len, rc);
    call_end(&c, rc, -1, send_note(rc, len));
    return rc;
}

/* Up to cap bytes of iov in out (which has room for IOV_CAP entries):
 * how a short write or read is made of a vector. */
#define IOV_CAP 64

static size_t iov_total(const struct iovec *iov, int n)
{
    size_t total = 0;

    for (int i = 0; i < n; i++)
        total += iov[i].iov_len;
    return total;
}

static int iov_capped(const struct iovec *iov, int n, size_t cap, struct iovec *out)
{
    int i;

    if (cap == 0 || n > IOV_CAP || iov_total(iov, n) <= cap)
        return -1;                  /* no cap to apply: use iov as it is */
    for (i = 0; i < n && cap > 0; i++) {
        out[i] = iov[i];
        if (out[i].iov_len > cap)
            out[i].iov_len = cap;
        cap -= out[i].iov_len;
    }
    return i;
}

/* writev and readv: one vector of buffers, cut short for a short-count
 * rule; w says which. */
static ssize_t vector_io(enum wrapped w, int fd, const struct iovec *iov, int n)
{
    typedef ssize_t (*fn)(int, const struct iovec *, int);
    struct iovec capped[IOV_CAP];
    enum fault_call fc = (enum fault_call)table[w].fault;
    struct call c;
    size_t total = iov_total(iov, n);
    ssize_t rc;
    int m;

    snprintf(c.text, TEXT_MAX, "%s(%d, [%d buffers, %zu bytes], %d)", table[w].name, fd, n, total, n);
    call_begin(&c, w, fd, 0);
    m = iov_capped(iov, n, c.fault.cap, capped);
    rc = c.fault.err ? injected_failure(&c) : m >= 0 ? REAL(w, fn)(fd, capped, m) : REAL(w, fn)(fd, iov, n);
    fault_note_short(fc, c.fault, total, rc);
    call_end(&c, rc, -1, fc == FC_SEND ? send_note(rc, total) : recv_note(rc));
    return rc;
}

ssize_t writev(int fd, const struct iovec *iov, int n)
{
    if (!active() || phase_of(fd) == P_NONE)
        return REAL(W_WRITEV, ssize_t (*)(int, const struct iovec *, int))(fd, iov, n);
    return vector_io(W_WRITEV, fd, iov, n);
}

ssize_t sendmsg(int fd, const struct msghdr *msg, int flags)
{
    typedef ssize_t (*fn)(int, const struct msghdr *, int);
    struct iovec capped[IOV_CAP];
    struct msghdr copy;
    struct call c;
    char f[96];
    size_t total;
    ssize_t rc;
    int m;

    if (!active() || phase_of(fd) == P_NONE)
        return REAL(W_SENDMSG, fn)(fd, msg, flags);
    total = iov_total(msg->msg_iov, (int)msg->msg_iovlen);
    snprintf(c.text, TEXT_MAX, "sendmsg(%d, {%zu buffers, %zu bytes}, %s)", fd, (size_t)msg->msg_iovlen,
             total, flags_str(flags, NAMES(msg_flags), f, sizeof(f)));
    call_begin(&c, W_SENDMSG, fd, 0);
    copy = *msg;
    m = iov_capped(msg->msg_iov, (int)msg->msg_iovlen, c.fault.cap, capped);
    if (m >= 0) {
        copy.msg_iov = capped;
        copy.msg_iovlen = (size_t)m;
    }
    rc = c.fault.err ? injected_failure(&c) : REAL(W_SENDMSG, fn)(fd, &copy, flags);
    fault_note_short(FC_SEND, c.fault, total, rc);
    call_end(&c, rc, -1, send_note(rc, total));
    return rc;
}

/* recv, recvfrom and read share this: the text shows what arrived. */
static void recv_text(struct call *c, const char *name, int fd, const void *buf, ssize_t rc,
                      size_t len, const char *tail)
{
    c->text[0] = '\0';
    appendf(c->text, TEXT_MAX, "%s(%d, ", name, fd);
    append_data(c->text, buf, rc);
    appendf(c->text, TEXT_MAX, ", %zu%s)", len, tail);
}

ssize_t recv(int fd, void *buf, size_t len, int flags)
{
    typedef ssize_t (*fn)(int, void *, size_t, int);
    struct call c;
    char f[96], tail[112];
    ssize_t rc;

    if (!active())
        return fd_wait_flushed(fd, flags), REAL(W_RECV, fn)(fd, buf, len, flags);
    snprintf(c.text, TEXT_MAX, "recv(%d, buf, %zu, %s)", fd, len,
             flags_str(flags, NAMES(msg_flags), f, sizeof(f)));
    call_begin(&c, W_RECV, fd, 0);
    rc = c.fault.err ? injected_failure(&c) : REAL(W_RECV, fn)(fd, buf, fault_cap(c.fault, len), flags);
    fault_note_short(FC_RECV, c.fault, len, rc);
    snprintf(tail, sizeof(tail), ", %s", f);
    recv_text(&c, "recv", fd, buf, rc, len, tail);
    call_end(&c, rc, -1, recv_note(rc));
    return rc;
}

ssize_t recvfrom(int fd, void *buf, size_t len, int flags, struct sockaddr *addr, socklen_t *alen)
{
    typedef ssize_t (*fn)(int, void *, size_t, int, struct sockaddr *, socklen_t *);
    struct call c;
    char f[96], tail[112];
    ssize_t rc;

    if (!active() || phase_of(fd) == P_NONE)
        return fd_wait_flushed(fd, flags), REAL(W_RECVFROM, fn)(fd, buf, len, flags, addr, alen);
    snprintf(c.text, TEXT_MAX, "recvfrom(%d, buf, %zu, %s, ...)", fd, len,
             flags_str(flags, NAMES(msg_flags), f, sizeof(f)));
    call_begin(&c, W_RECVFROM, fd, 0);
    rc = c.fault.err ? injected_failure(&c)
                     : REAL(W_RECVFROM, fn)(fd, buf, fault_cap(c.fault, len), flags, addr, alen);
    fault_note_short(FC_RECV, c.fault, len, rc);
    snprintf(tail, sizeof(tail), ", %s, %s", f, addr != NULL ? "addr" : "NULL");
    recv_text(&c, "recvfrom", fd, buf, rc, len, tail);
    call_end(&c, rc, -1, recv_note(rc));
    return rc;
}

ssize_t read(int fd, void *buf, size_t len)
{
    typedef ssize_t (*fn)(int, void *, size_t);
    struct call c;
    ssize_t rc;

    /* read() of stdin, a file or a pipe is none of our business. */
    if (!active() || phase_of(fd) == P_NONE)
        return fd_wait_flushed(fd, 0), REAL(W_READ, fn)(fd, buf, len);
    snprintf(c.text, TEXT_MAX, "read(%d, buf, %zu)", fd, len);
    call_begin(&c, W_READ, fd, 0);
    rc = c.fault.err ? injected_failure(&c) : REAL(W_READ, fn)(fd, buf, fault_cap(c.fault, len));
    fault_note_short(FC_RECV, c.fault, len, rc);
    recv_text(&c, "read", fd, buf, rc, len, "");
    call_end(&c, rc, -1, recv_note(rc));
    return rc;
}

ssize_t readv(int fd, const struct iovec *iov, int n)
{
    if (!active() || phase_of(fd) == P_NONE)
        return fd_wait_flushed(fd, 0), REAL(W_READV, ssize_t (*)(int, const struct iovec *, int))(fd, iov, n);
    return vector_io(W_READV, fd, iov, n);
}

ssize_t recvmsg(int fd, struct msghdr *msg, int flags)
{
    typedef ssize_t (*fn)(int, struct msghdr *, int);
    struct iovec capped[IOV_CAP], *orig_iov;
    size_t orig_len, total;
    struct call c;
    char f[96];
    ssize_t rc;
    int m;

    if (!active() || phase_of(fd) == P_NONE)
        return fd_wait_flushed(fd, flags), REAL(W_RECVMSG, fn)(fd, msg, flags);
    total = iov_total(msg->msg_iov, (int)msg->msg_iovlen);
    snprintf(c.text, TEXT_MAX, "recvmsg(%d, {%zu buffers, %zu bytes}, %s)", fd, (size_t)msg->msg_iovlen,
             total, flags_str(flags, NAMES(msg_flags), f, sizeof(f)));
    call_begin(&c, W_RECVMSG, fd, 0);
    orig_iov = msg->msg_iov;
    orig_len = msg->msg_iovlen;
    m = iov_capped(msg->msg_iov, (int)msg->msg_iovlen, c.fault.cap, capped);
    if (m >= 0) {
        msg->msg_iov = capped;
        msg->msg_iovlen = (size_t)m;
    }
    rc = c.fault.err ? injected_failure(&c) : REAL(W_RECVMSG, fn)(fd, msg, flags);
    msg->msg_iov = orig_iov;        /* the caller's own vector, untouched */
    msg->msg_iovlen = orig_len;
    fault_note_short(FC_RECV, c.fault, total, rc);
    call_end(&c, rc, -1, recv_note(rc));
    return rc;
}

/*
 * The fortified reads: with -O2 -D_FORTIFY_SOURCE=2 (Ubuntu's gcc default)
 * a recv() into a buffer of known size compiles to __recv_chk(). Check the
 * size as glibc does, then take the traced path.
 */
extern void __chk_fail(void) __attribute__((noreturn));

ssize_t __recv_chk(int fd, void *buf, size_t len, size_t buflen, int flags)
{
    if (len > buflen)
        __chk_fail();
    return recv(fd, buf, len, flags);
}

ssize_t __recvfrom_chk(int fd, void *buf, size_t len, size_t buflen, int flags,
                       struct sockaddr *addr, socklen_t *alen)
{
    if (len > buflen)
        __chk_fail();
    return recvfrom(fd, buf, len, flags, addr, alen);
}

ssize_t __read_chk(int fd, void *buf, size_t len, size_t buflen)
{
    if (len > buflen)
        __chk_fail();
    return read(fd, buf, len);
}

int shutdown(int fd, int how)
{
    typedef int (*fn)(int, int);
    struct call c;
    int rc;

    if (!active())
        return REAL(W_SHUTDOWN, fn)(fd, how);
    snprintf(c.text, TEXT_MAX, "shutdown(%d, %s)", fd,
             how == SHUT_RD ? "SHUT_RD" : how == SHUT_WR ? "SHUT_WR" : how == SHUT_RDWR ? "SHUT_RDWR" : "?");
    call_begin(&c, W_SHUTDOWN, fd, 0);
    rc = REAL(W_SHUTDOWN, fn)(fd, how);
    call_end(&c, rc, fd, NULL);
    return rc;
}

/* close() of a socket may be made to fail, but the fd is released first,
 * as Linux always does (even when close reports EINTR): never retry it. */
int close(int fd)
{
    typedef int (*fn)(int);
    struct call c;
    int rc;

    note_nonblocking(fd, 0);                /* the number may come back as another fd */
    if (!active() || phase_of(fd) == P_NONE)
        return REAL(W_CLOSE, fn)(fd);
    snprintf(c.text, TEXT_MAX, "close(%d)", fd);
    call_begin(&c, W_CLOSE, fd, 0);
    rc = REAL(W_CLOSE, fn)(fd);
    set_phase(fd, P_NONE);
    if (c.fault.err)
        rc = (int)injected_failure(&c);
    call_end(&c, rc, -1, NULL);
    return rc;
}

int setsockopt(int fd, int level, int name, const void *val, socklen_t len)
{
    typedef int (*fn)(int, int, int, const void *, socklen_t);
    struct call c;
    char o[64], v[64];
    int rc;

    if (!active())
        return REAL(W_SETSOCKOPT, fn)(fd, level, name, val, len);
    snprintf(c.text, TEXT_MAX, "setsockopt(%d, %s, %s, %u)", fd, sockopt_str(level, name, o, sizeof(o)),
             optval_str(level, name, val, len, v, sizeof(v)), (unsigned)len);
    call_begin(&c, W_SETSOCKOPT, fd, 0);
    rc = REAL(W_SETSOCKOPT, fn)(fd, level, name, val, len);
    call_end(&c, rc, -1, NULL);
    return rc;
}

/* getsockname and getpeername: the address the kernel filled in. */
static int name_common(enum wrapped w, int fd, struct sockaddr *addr, socklen_t *len)
{
    typedef int (*fn)(int, struct sockaddr *, socklen_t *);
    struct call c;
    int rc;

    snprintf(c.text, TEXT_MAX, "%s(%d, ...)", table[w].name, fd);
    call_begin(&c, w, fd, 0);
    rc = REAL(w, fn)(fd, addr, len);
    snprintf(c.text, TEXT_MAX, "%s(%d, %s, %u)", table[w].name, fd,
             rc == 0 && addr && len ? addr_str(addr, *len) : "addr", len ? (unsigned)*len : 0u);
    call_end(&c, rc, -1, NULL);
    return rc;
}

int getsockname(int fd, struct sockaddr *addr, socklen_t *len)
{
    if (!active())
        return REAL(W_GETSOCKNAME, int (*)(int, struct sockaddr *, socklen_t *))(fd, addr, len);
    return name_common(W_GETSOCKNAME, fd, addr, len);
}

int getpeername(int fd, struct sockaddr *addr, socklen_t *len)
{
    if (!active())
        return REAL(W_GETPEERNAME, int (*)(int, struct sockaddr *, socklen_t *))(fd, addr, len);
    return name_common(W_GETPEERNAME, fd, addr, len);
}

int poll(struct pollfd *fds, nfds_t n, int timeout)
{
    typedef int (*fn)(struct pollfd *, nfds_t, int);
    const char *note = NULL;
    int rc, any_socket = 0, listening = 0;
    struct call c;

    if (!active())
        return timeout != 0 ? wait_flushed() : (void)0, REAL(W_POLL, fn)(fds, n, timeout);
    for (nfds_t i = 0; i < n; i++) {
        any_socket |= phase_of(fds[i].fd) != P_NONE;
        listening |= phase_of(fds[i].fd) == P_LISTENING;
    }
    if (!any_socket)                /* a poll of pipes or a terminal */
        return REAL(W_POLL, fn)(fds, n, timeout);
    c.text[0] = '\0';
    appendf(c.text, TEXT_MAX, "poll(");
    append_poll(c.text, fds, n, 0);
    appendf(c.text, TEXT_MAX, ", %lu, %d)", (unsigned long)n, timeout);
    call_begin(&c, W_POLL, n > 0 ? fds[0].fd : -1, listening);
    rc = REAL(W_POLL, fn)(fds, n, timeout);
    c.text[0] = '\0';
    appendf(c.text, TEXT_MAX, "poll(");
    append_poll(c.text, fds, n, rc > 0);
    appendf(c.text, TEXT_MAX, ", %lu, %d)", (unsigned long)n, timeout);
    for (nfds_t i = 0; rc > 0 && i < n; i++)
        if (phase_of(fds[i].fd) == P_LISTENING && (fds[i].revents & POLLIN))
            note = _("a client finished its handshake: it waits in the accept queue for accept()");
    call_end(&c, rc, n == 1 && rc > 0 ? fds[0].fd : -1, note);
    return rc;
}

int epoll_create1(int flags)
{
    typedef int (*fn)(int);
    struct call c;
    int rc;

    if (!active())
        return REAL(W_EPOLL_CREATE1, fn)(flags);
    snprintf(c.text, TEXT_MAX, "epoll_create1(%s)", flags == EPOLL_CLOEXEC ? "EPOLL_CLOEXEC" : flags ? "?" : "0");
    call_begin(&c, W_EPOLL_CREATE1, -1, 1);
    rc = REAL(W_EPOLL_CREATE1, fn)(flags);
    call_end(&c, rc, -1, NULL);
    return rc;
}

int epoll_ctl(int epfd, int op, int fd, struct epoll_event *ev)
{
    typedef int (*fn)(int, int, int, struct epoll_event *);
    struct call c;
    char f[128];
    int rc;

    if (!active())
        return REAL(W_EPOLL_CTL, fn)(epfd, op, fd, ev);
    snprintf(c.text, TEXT_MAX, "epoll_ctl(%d, %s, %d, %s)", epfd,
             op == EPOLL_CTL_ADD ? "EPOLL_CTL_ADD" : op == EPOLL_CTL_MOD ? "EPOLL_CTL_MOD"
             : op == EPOLL_CTL_DEL ? "EPOLL_CTL_DEL" : "?", fd,
             ev ? flags_str((int)ev->events, NAMES(epoll_flags), f, sizeof(f)) : "NULL");
    call_begin(&c, W_EPOLL_CTL, fd, 0);
    rc = REAL(W_EPOLL_CTL, fn)(epfd, op, fd, ev);
    call_end(&c, rc, -1, NULL);
    return rc;
}

int epoll_wait(int epfd, struct epoll_event *events, int max, int timeout)
{
    typedef int (*fn)(int, struct epoll_event *, int, int);
    struct call c;
    int rc;

    if (!active())
        return timeout != 0 ? wait_flushed() : (void)0,
               REAL(W_EPOLL_WAIT, fn)(epfd, events, max, timeout);
    snprintf(c.text, TEXT_MAX, "epoll_wait(%d, events, %d, %d)", epfd, max, timeout);
    call_begin(&c, W_EPOLL_WAIT, -1, 0);
    rc = REAL(W_EPOLL_WAIT, fn)(epfd, events, max, timeout);
    call_end(&c, rc, -1, NULL);
    return rc;
}

/* fcntl() on a socket: F_GETFL and F_SETFL (O_NONBLOCK) are traced. */
static int fcntl_common(enum wrapped w, int fd, int cmd, void *arg)
{
    typedef int (*fn)(int, int, ...);
    struct call c;
    char f[96];
    int rc;

    if (!active() || phase_of(fd) == P_NONE || (cmd != F_GETFL && cmd != F_SETFL)) {
        rc = REAL(w, fn)(fd, cmd, arg);
        if (cmd == F_SETFL && rc == 0)
            note_nonblocking(fd, (long)arg & O_NONBLOCK);
        return rc;
    }
    if (cmd == F_SETFL)
        snprintf(c.text, TEXT_MAX, "fcntl(%d, F_SETFL, %s)", fd,
                 flags_str((int)(long)arg, NAMES(file_flags), f, sizeof(f)));
    else
        snprintf(c.text, TEXT_MAX, "fcntl(%d, F_GETFL)", fd);
    call_begin(&c, w, fd, 0);
    rc = REAL(w, fn)(fd, cmd, arg);
    if (cmd == F_SETFL && rc == 0)
        note_nonblocking(fd, (long)arg & O_NONBLOCK);
    if (cmd == F_GETFL && rc != -1)         /* what the number means */
        snprintf(c.text + strlen(c.text), TEXT_MAX - strlen(c.text), " /* %s */",
                 flags_str(rc, NAMES(file_flags), f, sizeof(f)));
    call_end(&c, rc, -1, NULL);
    return rc;
}

/* glibc's fcntl takes its third argument as a pointer-sized value. */
int fcntl(int fd, int cmd, ...)
{
    va_list ap;
    void *arg;

    va_start(ap, cmd);
    arg = va_arg(ap, void *);
    va_end(ap);
    return fcntl_common(W_FCNTL, fd, cmd, arg);
}

int fcntl64(int fd, int cmd, ...)
{
    va_list ap;
    void *arg;

    va_start(ap, cmd);
    arg = va_arg(ap, void *);
    va_end(ap);
    return fcntl_common(W_FCNTL64, fd, cmd, arg);
}

#ifdef LAB_PRELOAD
#pragma GCC visibility pop
#endif

#ifdef LAB_PRELOAD
/*
 * As a preload library: the program is not ours, so its options come from
 * the environment tools/trace sets (LAB_TRACE, LAB_TRACE_ROLE, LAB_PAUSE).
 */
__attribute__((constructor))
static void preload_init(void)
{
    i18n_init();
    fault_init();
    trace_init_from_env();
}
#else
/* In the kit's programs: LAB_FAULT is read before main() runs. */
__attribute__((constructor))
static void static_init(void)
{
    fault_init();
}
#endif
