/*
 * calls_recv.c - the wrappers of the calls that receive: recv, recvfrom,
 * recvmsg, recvmmsg, read and readv on a socket, and the fortified
 * __recv_chk, __recvfrom_chk and __read_chk that -D_FORTIFY_SOURCE=2
 * turns a recv() or read() into.
 *
 * The data shown is what the kernel wrote: as many bytes as the call
 * returned, never more than the caller's buffer holds.
 */
#define _GNU_SOURCE
#include "wrapped.h"

#include <errno.h>

#include "call.h"
#include "decode.h"
#include "fdtable.h"
#include "trace.h"

/* "recv(4, "ok", 1023, 0": what arrived (the caller closes it); the
 * buffer's address when the kernel could not write there (EFAULT). */
static void recv_text(struct line *t, const char *name, int fd, const void *buf, size_t len,
                      ssize_t rc)
{
    size_t got = rc > 0 ? ((size_t)rc < len ? (size_t)rc : len) : 0;
    int err = errno;

    line_init(t);
    line_fmt(t, "%s(%d, ", name, fd);
    if (got > 0)
        decode_data(t, buf, got, (size_t)rc);   /* MSG_TRUNC may return more than len */
    else if (rc == -1 && err == EFAULT)
        line_ptr(t, buf);
    else
        line_str(t, "buf");
    line_fmt(t, ", %zu", len);
    errno = err;
}

WRAPPER ssize_t recv(int fd, void *buf, size_t len, int flags)
{
    struct call c;
    ssize_t rc;

    if (!call_wanted(&c, W_recv, fd, FD_SOCKET_CALL)) {
        flush_before_wait(fd, flags);
        return REAL(recv)(fd, buf, len, flags);
    }
    recv_text(&c.text, "recv", fd, buf, len, 0);
    line_str(&c.text, ", ...)");
    call_begin(&c);
    flush_before_wait(fd, flags);
    rc = c.fault.err ? call_fail(&c) : REAL(recv)(fd, buf, fault_cap(&c.fault, len), flags);
    fault_note_short(FC_RECV, &c.fault, len, rc);
    recv_text(&c.text, "recv", fd, buf, len, rc);
    line_str(&c.text, ", ");
    decode_flags(&c.text, flags, &msg_flags);
    line_str(&c.text, ")");
    call_end(&c, rc, -1, recv_note(rc));
    return rc;
}

WRAPPER ssize_t recvfrom(int fd, void *buf, size_t len, int flags, struct sockaddr *addr,
                         socklen_t *alen)
{
    socklen_t given = 0;
    int given_known, err;
    struct call c;
    ssize_t rc;

    if (!call_wanted(&c, W_recvfrom, fd, FD_SOCKET_CALL)) {
        flush_before_wait(fd, flags);
        return REAL(recvfrom)(fd, buf, len, flags, addr, alen);
    }
    given_known = alen != NULL && safe_copy(&given, alen, sizeof(given)) == 0;
    recv_text(&c.text, "recvfrom", fd, buf, len, 0);
    line_str(&c.text, ", ...)");
    call_begin(&c);
    flush_before_wait(fd, flags);
    rc = c.fault.err ? call_fail(&c)
                     : REAL(recvfrom)(fd, buf, fault_cap(&c.fault, len), flags, addr, alen);
    err = errno;
    fault_note_short(FC_RECV, &c.fault, len, rc);
    recv_text(&c.text, "recvfrom", fd, buf, len, rc);
    line_str(&c.text, ", ");
    decode_flags(&c.text, flags, &msg_flags);
    line_str(&c.text, ", ");
    if (addr == NULL)
        line_str(&c.text, "NULL");
    else if (rc >= 0 && alen != NULL && given_known && *alen > 0)
        decode_addr(&c.text, addr, given < *alen ? given : *alen);
    else
        line_str(&c.text, "addr");
    line_str(&c.text, ")");
    errno = err;
    call_end(&c, rc, -1, recv_note(rc));
    return rc;
}

/* read() of stdin, a file or a pipe is none of our business. */
WRAPPER ssize_t read(int fd, void *buf, size_t len)
{
    struct call c;
    ssize_t rc;

    if (!call_wanted(&c, W_read, fd, FD_ANY_CALL)) {
        flush_before_wait(fd, 0);
        return REAL(read)(fd, buf, len);
    }
    recv_text(&c.text, "read", fd, buf, len, 0);
    line_str(&c.text, ")");
    call_begin(&c);
    flush_before_wait(fd, 0);
    rc = c.fault.err ? call_fail(&c) : REAL(read)(fd, buf, fault_cap(&c.fault, len));
    fault_note_short(FC_RECV, &c.fault, len, rc);
    recv_text(&c.text, "read", fd, buf, len, rc);
    line_str(&c.text, ")");
    call_end(&c, rc, -1, c.inet ? recv_note(rc) : NULL);
    return rc;
}

WRAPPER ssize_t readv(int fd, const struct iovec *iov, int n)
{
    struct iovec capped[IOV_CAP];
    struct call c;
    ssize_t rc;
    int m;

    if (!call_wanted(&c, W_readv, fd, FD_ANY_CALL)) {
        flush_before_wait(fd, 0);
        return REAL(readv)(fd, iov, n);
    }
    line_fmt(&c.text, "readv(%d, iov, %d)", fd, n);
    call_begin(&c);
    flush_before_wait(fd, 0);
    m = n > 0 ? iov_capped(iov, (size_t)n, c.fault.cap, capped) : -1;
    rc = c.fault.err ? call_fail(&c) : m >= 0 ? REAL(readv)(fd, capped, m) : REAL(readv)(fd, iov, n);
    iov_call_line(&c, FC_RECV, "readv", fd, iov, n, rc);
    call_end(&c, rc, -1, recv_note(rc));
    return rc;
}

/* fds that came in an SCM_RIGHTS message: new to the table. */
static void forget_passed_fds(const struct msghdr *msg)
{
    for (struct cmsghdr *cm = CMSG_FIRSTHDR(msg); cm != NULL;
         cm = CMSG_NXTHDR((struct msghdr *)msg, cm)) {
        if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
            continue;
        for (size_t i = 0; i < (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int); i++) {
            int fd = ((const int *)CMSG_DATA(cm))[i];

            fd_forget((unsigned)fd, (unsigned)fd);
        }
    }
}

WRAPPER ssize_t recvmsg(int fd, struct msghdr *msg, int flags)
{
    struct iovec capped[IOV_CAP];
    struct msghdr copy;
    struct call c;
    size_t total = 0;
    ssize_t rc;
    int m = -1;

    if (!call_wanted(&c, W_recvmsg, fd, FD_SOCKET_CALL)) {
        flush_before_wait(fd, flags);
        rc = REAL(recvmsg)(fd, msg, flags);
        if (rc >= 0 && interpose_active() && msg->msg_controllen > 0)
            forget_passed_fds(msg);
        return rc;
    }
    line_fmt(&c.text, "recvmsg(%d, msg, ...)", fd);
    call_begin(&c);
    flush_before_wait(fd, flags);
    if (c.fault.cap != 0 && safe_copy(&copy, msg, sizeof(copy)) == 0)
        m = iov_capped(copy.msg_iov, copy.msg_iovlen, c.fault.cap, capped);
    if (m >= 0) {                   /* a cut copy; what the kernel reports goes back */
        copy.msg_iov = capped;
        copy.msg_iovlen = (size_t)m;
        rc = c.fault.err ? call_fail(&c) : REAL(recvmsg)(fd, &copy, flags);
        if (rc >= 0) {
            msg->msg_namelen = copy.msg_namelen;
            msg->msg_controllen = copy.msg_controllen;
            msg->msg_flags = copy.msg_flags;
        }
    } else {
        rc = c.fault.err ? call_fail(&c) : REAL(recvmsg)(fd, msg, flags);
    }
    line_init(&c.text);
    if (rc >= 0) {                  /* the kernel read the header and the vector */
        total = iov_total(msg->msg_iov, msg->msg_iovlen);
        if (msg->msg_controllen > 0)
            forget_passed_fds(msg);
        line_fmt(&c.text, "recvmsg(%d, {%zu buffers, %zu bytes}, ", fd, (size_t)msg->msg_iovlen, total);
    } else {
        line_fmt(&c.text, "recvmsg(%d, ", fd);
        line_ptr(&c.text, msg);
        line_str(&c.text, ", ");
    }
    fault_note_short(FC_RECV, &c.fault, total, rc);
    decode_flags(&c.text, flags, &msg_flags);
    line_str(&c.text, ")");
    call_end(&c, rc, -1, recv_note(rc));
    return rc;
}

WRAPPER int recvmmsg(int fd, struct mmsghdr *vec, unsigned int vlen, int flags, struct timespec *timeout)
{
    struct call c;
    size_t total = 0;
    int rc;

    if (!call_wanted(&c, W_recvmmsg, fd, FD_SOCKET_CALL)) {
        flush_before_wait(fd, flags);
        return REAL(recvmmsg)(fd, vec, vlen, flags, timeout);
    }
    line_fmt(&c.text, "recvmmsg(%d, vec, %u, ...)", fd, vlen);
    call_begin(&c);
    flush_before_wait(fd, flags);
    rc = c.fault.err ? (int)call_fail(&c) : REAL(recvmmsg)(fd, vec, vlen, flags, timeout);
    for (int i = 0; i < rc; i++)    /* the kernel wrote each received one's msg_len */
        total += vec[i].msg_len;
    line_init(&c.text);
    line_fmt(&c.text, "recvmmsg(%d, [%d messages, %zu bytes], %u, ", fd, rc > 0 ? rc : 0, total, vlen);
    decode_flags(&c.text, flags, &msg_flags);
    line_str(&c.text, timeout ? ", timeout)" : ", NULL)");
    call_end(&c, rc, -1, NULL);
    return rc;
}

/*
 * The fortified reads: with -O2 -D_FORTIFY_SOURCE=2 (Ubuntu's gcc default)
 * a recv() into a buffer of known size compiles to __recv_chk(). Check the
 * size as glibc does, then take the traced path.
 */
extern void __chk_fail(void) __attribute__((noreturn));
WRAPPER ssize_t __recv_chk(int fd, void *buf, size_t len, size_t buflen, int flags);
WRAPPER ssize_t __recvfrom_chk(int fd, void *buf, size_t len, size_t buflen, int flags,
                               struct sockaddr *addr, socklen_t *alen);
WRAPPER ssize_t __read_chk(int fd, void *buf, size_t len, size_t buflen);

WRAPPER ssize_t __recv_chk(int fd, void *buf, size_t len, size_t buflen, int flags)
{
    if (len > buflen)
        __chk_fail();
    return recv(fd, buf, len, flags);
}

WRAPPER ssize_t __recvfrom_chk(int fd, void *buf, size_t len, size_t buflen, int flags,
                               struct sockaddr *addr, socklen_t *alen)
{
    if (len > buflen)
        __chk_fail();
    return recvfrom(fd, buf, len, flags, addr, alen);
}

WRAPPER ssize_t __read_chk(int fd, void *buf, size_t len, size_t buflen)
{
    if (len > buflen)
        __chk_fail();
    return read(fd, buf, len);
}
