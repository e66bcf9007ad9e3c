/*
 * call.c - around every traced call (see call.h): which step of the seed's
 * diagram it serves, the fault verdict, the trace event.
 */
#define _GNU_SOURCE
#include "call.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>

#include "addr.h"
#include "decode.h"
#include "sockio.h"
#include "trace.h"

/* In the trace's scope: TCP and UDP sockets (and the waits of an epoll
 * instance that watches one), or every fd with --all. */
static int in_scope(enum wrapped w, struct fd_info i)
{
    return fd_is_inet(i) || (i.kind == FD_EPOLL && i.watches_inet && wrapped_calls[w].kind == K_WAIT) ||
           trace_all();
}

/* Whether the program has made a call on a TCP or UDP socket yet. */
static int inet_seen;

int call_inet_seen(void)
{
    return __atomic_load_n(&inet_seen, __ATOMIC_RELAXED);
}

int call_wanted_info(struct call *c, enum wrapped w, int fd, struct fd_info info)
{
    if (fd_is_inet(info))
        __atomic_store_n(&inet_seen, 1, __ATOMIC_RELAXED);
    c->w = w;
    c->fd = fd;
    c->info = info;
    c->inet = fd_is_inet(info) || (info.kind == FD_EPOLL && info.watches_inet);
    c->listening = 0;
    c->step = 0;
    memset(&c->fault, 0, sizeof(c->fault));
    line_init(&c->text);
    return in_scope(w, info);
}

int call_wanted(struct call *c, enum wrapped w, int fd, enum fd_trust trust)
{
    if (!interpose_active())
        return 0;
    /* Before a fault is injected, the kernel confirms the fd is a socket. */
    return call_wanted_info(c, w, fd, fd_lookup(fd, fault_enabled() ? FD_CONFIRM : trust));
}

/* ---- steps: which step of the seed's diagram a call serves ---- */

static enum trace_role role_for(enum call_kind k)
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
    return trace_role();
}

/*
 * The seed's steps. Server: socket 1, bind 2, listen 3, accept 4, talk 5,
 * close 6. Client: socket 1, connect 2, talk 3, close 4. Options, names and
 * waits carry the step they serve, told by how far along their socket is.
 */
static int server_step(enum call_kind k, enum fd_phase p, int listening)
{
    switch (k) {
    case K_SOCKET: return 1;
    case K_BIND: case K_CONNECT: return 2;
    case K_LISTEN: return 3;
    case K_ACCEPT: case K_PEER: return 4;
    case K_WAIT: return listening || p == P_LISTENING ? 4 : 5;
    case K_SHUTDOWN: case K_CLOSE: return 6;
    case K_OPTION: case K_NAME: return p == P_LISTENING ? 3 : p >= P_CONNECTING ? 5 : 2;
    case K_IO: return 5;
    }
    return 0;
}

static int client_step(enum call_kind k, enum fd_phase p)
{
    switch (k) {
    case K_SOCKET: return 1;
    case K_CONNECT: case K_BIND: case K_NAME: case K_PEER: return 2;
    case K_OPTION: return p >= P_CONNECTING ? 3 : 1;
    case K_CLOSE: return p == P_CONNECTED ? 4 : 2;    /* a failed connect's socket: 2 */
    case K_SHUTDOWN: return 4;
    case K_IO: case K_WAIT: case K_LISTEN: case K_ACCEPT: return 3;
    }
    return 0;
}

int call_step(const struct call *c)
{
    enum call_kind k = wrapped_calls[c->w].kind;

    if (!c->inet)
        return 0;           /* a Unix-domain socket, a pipe: no seed step */
    switch (role_for(k)) {
    case ROLE_SERVER: return server_step(k, c->info.phase, c->listening);
    case ROLE_CLIENT: return client_step(k, c->info.phase);
    case ROLE_UNKNOWN: break;
    }
    return k == K_SOCKET ? 1 : 0;
}

/* ---- around the real call ---- */

/* Faults hit sockets only: TCP and UDP ones (every socket with --all). */
static int faults_apply(struct fd_info i)
{
    return fd_is_inet(i) || (trace_all() && i.kind == FD_OTHER);
}

void call_begin(struct call *c)
{
    enum fault_call fc = wrapped_calls[c->w].fault;

    c->step = call_step(c);
    trace_pause(c->step, c->text.buf);
    /* A close of a connection shows the kernel's view first: the state it
     * leaves (CLOSE_WAIT when the peer closed first, ESTABLISHED if not). */
    if (c->w == W_close && c->inet && c->info.phase == P_CONNECTED)
        trace_view(c->step, c->fd);
    /* The call starts here for the program: an injected delay is part of it. */
    clock_gettime(CLOCK_REALTIME, &c->start);
    if (fc != FC_NONE && faults_apply(c->info))
        fault_begin(fc, &c->fault);
}

long call_fail(const struct call *c)
{
    errno = c->fault.err;
    return -1;
}

void call_end(struct call *c, long ret, int view_fd, const char *note)
{
    int err = errno;
    struct trace_event ev = {
        .call = wrapped_calls[c->w].name, .step = c->step, .text = c->text.buf, .ret = ret,
        .err = ret == -1 ? err : 0, .sock = c->fd,
        .view_fd = ret == -1 && err != EINPROGRESS ? -1 : view_fd,
        .injected = c->fault.note[0] ? c->fault.note : NULL, .note = note, .start = c->start};

    if (c->step == 0 && c->info.kind == FD_OTHER)
        ev.family = family_name(c->info.family);
    else if (c->step == 0 && c->info.kind == FD_NOT_SOCKET)
        ev.family = "";
    /* Data moved on a socket whose connect() went on in the background:
     * it is connected now (a client's close is then step 4, not 2). */
    if (c->inet && ret >= 0 && c->info.phase == P_CONNECTING && wrapped_calls[c->w].kind == K_IO)
        fd_set_phase(c->fd, P_CONNECTED);
    trace_event(&ev);
    errno = err;
}

void flush_before_wait(int fd, int flags)
{
    int saved, fl;

    if (!data_lines_pending() || (flags & MSG_DONTWAIT))
        return;
    saved = errno;
    fl = fd >= 0 ? REAL(fcntl)(fd, F_GETFL) : 0;
    if (fl == -1 || !(fl & O_NONBLOCK))
        data_lines_flush();
    errno = saved;
}

/* ---- notes and vectors, for the wrappers that move data ---- */

const char *send_note(struct line *note, ssize_t rc, size_t len)
{
    if (rc < 0 || (size_t)rc >= len)
        return NULL;
    line_init(note);
    line_fmt(note, trace_message(MSG_SHORT_WRITE), rc, len);
    return note->buf;
}

const char *recv_note(ssize_t rc)
{
    return rc == 0 ? trace_message(MSG_PEER_CLOSED) : NULL;
}

size_t iov_total(const struct iovec *iov, size_t n)
{
    size_t total = 0;

    for (size_t i = 0; i < n; i++)
        total += iov[i].iov_len;
    return total;
}

int iov_capped(const struct iovec *iov, size_t n, size_t cap, struct iovec *out)
{
    size_t i;

    if (cap == 0 || n == 0 || n > IOV_CAP || safe_copy(out, iov, n * sizeof(*iov)) != 0 ||
        iov_total(out, n) <= cap)
        return -1;
    for (i = 0; i < n && cap > 0; i++) {
        if (out[i].iov_len > cap)
            out[i].iov_len = cap;
        cap -= out[i].iov_len;
    }
    return (int)i;
}

size_t iov_call_line(struct call *c, enum fault_call fc, const char *name, int fd,
                     const struct iovec *iov, int n, ssize_t rc)
{
    size_t total = 0;

    if (rc >= 0 && n > 0)
        total = iov_total(iov, (size_t)n);      /* the kernel read the vector */
    fault_note_short(fc, &c->fault, total, rc);
    line_init(&c->text);
    line_fmt(&c->text, "%s(%d, ", name, fd);
    if (rc >= 0)
        line_fmt(&c->text, "[%d buffers, %zu bytes]", n, total);
    else
        decode_iov_arg(&c->text, iov, n);
    line_fmt(&c->text, ", %d)", n);
    return total;
}
