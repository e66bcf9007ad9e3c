/*
 * calls_socket.c - the wrappers of the calls that make, name, connect and
 * set up sockets: socket, socketpair, bind, listen, accept, accept4,
 * connect, shutdown, setsockopt, getsockopt, getsockname, getpeername.
 *
 * Each makes the real call with the caller's arguments first; its text
 * then shows what the kernel accepted, or, for a call that failed, what a
 * copy through the kernel can read (a bad pointer shows as itself).
 */
#define _GNU_SOURCE
#include "wrapped.h"

#include <errno.h>
#include <netinet/in.h>

#include "addr.h"
#include "call.h"
#include "decode.h"
#include "trace.h"

/* ---- socket, socketpair ---- */

static void socket_text(struct line *t, const char *name, int domain, int type, int protocol)
{
    line_fmt(t, "%s(%s, ", name, family_name(domain));
    decode_type(t, type);
    line_fmt(t, ", %d", protocol);
}

WRAPPER int socket(int domain, int type, int protocol)
{
    struct fd_info made = {fd_kind_of(domain, type, protocol), P_NONE, domain, 0};
    struct call c;
    int fd;

    if (!interpose_active())
        return REAL(socket)(domain, type, protocol);
    if (!call_wanted_info(&c, W_socket, -1, made)) {
        fd = REAL(socket)(domain, type, protocol);
        fd_note_socket(fd, domain, type, protocol, P_CREATED);  /* known, and out of scope */
        return fd;
    }
    socket_text(&c.text, "socket", domain, type, protocol);
    line_str(&c.text, ")");
    call_begin(&c);
    fd = c.fault.err ? (int)call_fail(&c) : REAL(socket)(domain, type, protocol);
    fd_note_socket(fd, domain, type, protocol, P_CREATED);
    c.fd = fd;
    call_end(&c, fd, fd, NULL);
    return fd;
}

WRAPPER int socketpair(int domain, int type, int protocol, int sv[2])
{
    struct fd_info made = {fd_kind_of(domain, type, protocol), P_NONE, domain, 0};
    struct call c;
    int rc;

    if (!interpose_active())
        return REAL(socketpair)(domain, type, protocol, sv);
    if (!call_wanted_info(&c, W_socketpair, -1, made)) {
        rc = REAL(socketpair)(domain, type, protocol, sv);
        if (rc == 0) {
            fd_note_socket(sv[0], domain, type, protocol, P_CONNECTED);
            fd_note_socket(sv[1], domain, type, protocol, P_CONNECTED);
        }
        return rc;
    }
    socket_text(&c.text, "socketpair", domain, type, protocol);
    line_str(&c.text, ", sv)");
    call_begin(&c);
    rc = c.fault.err ? (int)call_fail(&c) : REAL(socketpair)(domain, type, protocol, sv);
    line_init(&c.text);
    socket_text(&c.text, "socketpair", domain, type, protocol);
    if (rc == 0) {                  /* the kernel wrote both fds */
        fd_note_socket(sv[0], domain, type, protocol, P_CONNECTED);
        fd_note_socket(sv[1], domain, type, protocol, P_CONNECTED);
        line_fmt(&c.text, ", [%d, %d])", sv[0], sv[1]);
    } else {
        line_str(&c.text, ", ");
        line_ptr(&c.text, sv);
        line_str(&c.text, ")");
    }
    call_end(&c, rc, -1, NULL);
    return rc;
}

/* ---- bind, connect: an address given to the kernel ---- */

/* "bind(3, 0.0.0.0:5005, 16)": the address as the kernel read it, or, when
 * nobody knows that it could (before the call, a failed one), as a copy
 * through the kernel reads it. */
static void given_addr_text(struct line *t, const char *name, int fd, const struct sockaddr *addr,
                            socklen_t len, int accepted)
{
    line_init(t);
    line_fmt(t, "%s(%d, ", name, fd);
    if (accepted)
        decode_addr(t, addr, len);
    else
        decode_addr_arg(t, addr, len);
    line_fmt(t, ", %u)", (unsigned)len);
}

WRAPPER int bind(int fd, const struct sockaddr *addr, socklen_t len)
{
    struct call c;
    int rc;

    if (!call_wanted(&c, W_bind, fd, FD_SOCKET_CALL))
        return REAL(bind)(fd, addr, len);
    if (trace_pausing())
        given_addr_text(&c.text, "bind", fd, addr, len, 0);
    call_begin(&c);
    rc = c.fault.err ? (int)call_fail(&c) : REAL(bind)(fd, addr, len);
    if (rc == 0)
        fd_set_phase(fd, P_BOUND);
    given_addr_text(&c.text, "bind", fd, addr, len, rc == 0);
    call_end(&c, rc, fd, NULL);
    return rc;
}

WRAPPER int connect(int fd, const struct sockaddr *addr, socklen_t len)
{
    struct call c;
    int rc;

    if (!call_wanted(&c, W_connect, fd, FD_SOCKET_CALL)) {
        flush_before_wait(fd, 0);
        return REAL(connect)(fd, addr, len);
    }
    if (trace_pausing())
        given_addr_text(&c.text, "connect", fd, addr, len, 0);
    call_begin(&c);
    flush_before_wait(fd, 0);
    rc = c.fault.err ? (int)call_fail(&c) : REAL(connect)(fd, addr, len);
    if (rc == 0)
        fd_set_phase(fd, P_CONNECTED);
    else if (errno == EINPROGRESS)
        fd_set_phase(fd, P_CONNECTING);     /* non-blocking: the handshake goes on */
    given_addr_text(&c.text, "connect", fd, addr, len, rc == 0);
    call_end(&c, rc, fd, NULL);
    return rc;
}

WRAPPER int listen(int fd, int backlog)
{
    struct call c;
    int rc;

    if (!call_wanted(&c, W_listen, fd, FD_SOCKET_CALL))
        return REAL(listen)(fd, backlog);
    line_fmt(&c.text, "listen(%d, %d)", fd, backlog);
    call_begin(&c);
    rc = c.fault.err ? (int)call_fail(&c) : REAL(listen)(fd, backlog);
    if (rc == 0)
        fd_set_phase(fd, P_LISTENING);
    call_end(&c, rc, fd, NULL);
    return rc;
}

WRAPPER int shutdown(int fd, int how)
{
    struct call c;
    int rc;

    if (!call_wanted(&c, W_shutdown, fd, FD_SOCKET_CALL))
        return REAL(shutdown)(fd, how);
    line_fmt(&c.text, "shutdown(%d, %s)", fd, how == SHUT_RD ? "SHUT_RD" : how == SHUT_WR ? "SHUT_WR"
             : how == SHUT_RDWR ? "SHUT_RDWR" : "?");
    call_begin(&c);
    rc = REAL(shutdown)(fd, how);
    call_end(&c, rc, fd, NULL);
    return rc;
}

/* ---- accept, getsockname, getpeername: an address the kernel fills in ---- */

/* The length the caller gave, read through the kernel (before the call). */
struct given_len {
    int known;
    socklen_t len;
};

static struct given_len given_len(const socklen_t *len)
{
    struct given_len g = {0, 0};

    g.known = len != NULL && safe_copy(&g.len, len, sizeof(g.len)) == 0;
    return g;
}

/* "127.0.0.1:49926, 16": the address as far as both the caller's buffer
 * (the length given) and the kernel's answer (the length returned) go. */
static void filled_addr_text(struct line *t, const struct sockaddr *addr, const socklen_t *len,
                             struct given_len g, long rc, int err)
{
    if (addr == NULL)
        line_str(t, "NULL");
    else if (rc >= 0 && len != NULL && g.known)
        decode_addr(t, addr, g.len < *len ? g.len : *len);
    else if (rc == -1 && err == EFAULT)
        line_ptr(t, addr);
    else
        line_str(t, "addr");
    line_str(t, ", ");
    if (len == NULL)
        line_str(t, "NULL");
    else if (rc >= 0)
        line_udec(t, *len, 0);
    else if (g.known)
        line_udec(t, g.len, 0);
    else
        line_ptr(t, len);
}

static int accept_common(enum wrapped w, int fd, struct sockaddr *addr, socklen_t *len, int flags)
{
    int active = interpose_active();
    struct given_len g;
    struct call c;
    int nfd, err;

    if (!active || !call_wanted(&c, w, fd, FD_SOCKET_CALL)) {
        flush_before_wait(fd, 0);
        nfd = w == W_accept ? REAL(accept)(fd, addr, len) : REAL(accept4)(fd, addr, len, flags);
        if (active)             /* known, and out of scope (a Unix-domain listener) */
            fd_note_socket(nfd, c.info.family, SOCK_STREAM, 0, P_CONNECTED);
        return nfd;
    }
    g = given_len(len);
    line_fmt(&c.text, "%s(%d, ...)", wrapped_calls[w].name, fd);
    call_begin(&c);
    flush_before_wait(fd, 0);
    if (c.fault.err)
        nfd = (int)call_fail(&c);           /* the connection stays queued */
    else
        nfd = w == W_accept ? REAL(accept)(fd, addr, len) : REAL(accept4)(fd, addr, len, flags);
    err = errno;
    if (nfd >= 0)
        fd_note_socket(nfd, c.info.family, SOCK_STREAM, 0, P_CONNECTED);
    line_init(&c.text);
    line_fmt(&c.text, "%s(%d, ", wrapped_calls[w].name, fd);
    filled_addr_text(&c.text, addr, len, g, nfd, err);
    if (w == W_accept4) {
        line_str(&c.text, ", ");
        decode_flags(&c.text, flags, &sock_flags);
    }
    line_str(&c.text, ")");
    errno = err;
    call_end(&c, nfd, nfd, NULL);
    return nfd;
}

WRAPPER int accept(int fd, struct sockaddr *addr, socklen_t *len)
{
    return accept_common(W_accept, fd, addr, len, 0);
}

WRAPPER int accept4(int fd, struct sockaddr *addr, socklen_t *len, int flags)
{
    return accept_common(W_accept4, fd, addr, len, flags);
}

static int name_common(enum wrapped w, int fd, struct sockaddr *addr, socklen_t *len)
{
    struct given_len g;
    struct call c;
    int rc, err;

    if (!call_wanted(&c, w, fd, FD_SOCKET_CALL))
        return w == W_getsockname ? REAL(getsockname)(fd, addr, len) : REAL(getpeername)(fd, addr, len);
    g = given_len(len);
    line_fmt(&c.text, "%s(%d, ...)", wrapped_calls[w].name, fd);
    call_begin(&c);
    rc = w == W_getsockname ? REAL(getsockname)(fd, addr, len) : REAL(getpeername)(fd, addr, len);
    err = errno;
    line_init(&c.text);
    line_fmt(&c.text, "%s(%d, ", wrapped_calls[w].name, fd);
    filled_addr_text(&c.text, addr, len, g, rc, err);
    line_str(&c.text, ")");
    errno = err;
    call_end(&c, rc, -1, NULL);
    return rc;
}

WRAPPER int getsockname(int fd, struct sockaddr *addr, socklen_t *len)
{
    return name_common(W_getsockname, fd, addr, len);
}

WRAPPER int getpeername(int fd, struct sockaddr *addr, socklen_t *len)
{
    return name_common(W_getpeername, fd, addr, len);
}

/* ---- options ---- */

/* Most bytes of an option value shown when copied through the kernel. */
#define OPTVAL_COPY 64

WRAPPER int setsockopt(int fd, int level, int name, const void *val, socklen_t len)
{
    unsigned char copy[OPTVAL_COPY];
    struct call c;
    int rc;

    if (!call_wanted(&c, W_setsockopt, fd, FD_SOCKET_CALL))
        return REAL(setsockopt)(fd, level, name, val, len);
    line_str(&c.text, "setsockopt(...)");
    call_begin(&c);
    rc = REAL(setsockopt)(fd, level, name, val, len);
    line_init(&c.text);
    line_fmt(&c.text, "setsockopt(%d, ", fd);
    decode_sockopt(&c.text, level, name);
    line_str(&c.text, ", ");
    if (rc == 0)                    /* the kernel read the value */
        decode_optval(&c.text, level, name, val, len);
    else if (len <= sizeof(copy) && safe_copy(copy, val, len) == 0)
        decode_optval(&c.text, level, name, copy, len);
    else
        line_ptr(&c.text, val);
    line_fmt(&c.text, ", %u)", (unsigned)len);
    call_end(&c, rc, -1, NULL);
    return rc;
}

WRAPPER int getsockopt(int fd, int level, int name, void *val, socklen_t *len)
{
    struct given_len g;
    struct call c;
    int rc;

    if (!call_wanted(&c, W_getsockopt, fd, FD_SOCKET_CALL))
        return REAL(getsockopt)(fd, level, name, val, len);
    g = given_len(len);
    line_str(&c.text, "getsockopt(...)");
    call_begin(&c);
    rc = REAL(getsockopt)(fd, level, name, val, len);
    line_init(&c.text);
    line_fmt(&c.text, "getsockopt(%d, ", fd);
    decode_sockopt(&c.text, level, name);
    line_str(&c.text, ", ");
    if (rc == 0 && g.known) {       /* the kernel wrote min(given, returned) bytes */
        socklen_t n = g.len < *len ? g.len : *len;

        decode_optval(&c.text, level, name, val, n);
        line_fmt(&c.text, ", %u)", (unsigned)*len);
        /* SO_ERROR 0 after a non-blocking connect(): the handshake is done. */
        if (level == SOL_SOCKET && name == SO_ERROR && n == sizeof(int) && *(int *)val == 0 &&
            c.info.phase == P_CONNECTING)
            fd_set_phase(fd, P_CONNECTED);
    } else {
        line_ptr(&c.text, val);
        line_str(&c.text, ", ");
        if (g.known)
            line_udec(&c.text, g.len, 0);
        else
            line_ptr(&c.text, len);
        line_str(&c.text, ")");
    }
    call_end(&c, rc, -1, NULL);
    return rc;
}
