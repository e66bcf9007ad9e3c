/*
 * calls_send.c - the wrappers of the calls that send: send, sendto,
 * sendmsg, sendmmsg, sendfile, and write and writev on a socket.
 *
 * The data shown is what the kernel took (the bytes up to the count the
 * call returned); a call that failed shows what a copy through the kernel
 * can read of the buffer, or the pointer. A short-count rule of LAB_FAULT
 * passes fewer bytes (a copy of a vector cut short): the caller's own
 * buffers and vectors are never changed.
 */
#define _GNU_SOURCE
#include "wrapped.h"

#include <errno.h>

#include "call.h"
#include "decode.h"
#include "trace.h"

/* "send(4, "ok", 2, MSG_NOSIGNAL" (the caller closes it). */
static void send_text(struct line *t, const char *name, int fd, const void *buf, size_t len,
                      ssize_t rc, int flags, int has_flags)
{
    line_init(t);
    line_fmt(t, "%s(%d, ", name, fd);
    if (rc > 0)
        decode_data(t, buf, (size_t)rc, len);
    else
        decode_data_arg(t, buf, len);
    line_fmt(t, ", %zu", len);
    if (has_flags) {
        line_str(t, ", ");
        decode_flags(t, flags, &msg_flags);
    }
}

/* send, sendto and write: one buffer; sendto's address when addr is set. */
static ssize_t send_common(struct call *c, const void *buf, size_t len, int flags,
                           const struct sockaddr *addr, socklen_t alen)
{
    struct line note;
    size_t capped;
    ssize_t rc;

    if (trace_pausing())
        send_text(&c->text, wrapped_calls[c->w].name, c->fd, buf, len, -1, flags, c->w != W_write);
    call_begin(c);
    capped = fault_cap(&c->fault, len);
    if (c->fault.err)
        rc = call_fail(c);
    else if (c->w == W_send)
        rc = REAL(send)(c->fd, buf, capped, flags);
    else if (c->w == W_sendto)
        rc = REAL(sendto)(c->fd, buf, capped, flags, addr, alen);
    else
        rc = REAL(write)(c->fd, buf, capped);
    fault_note_short(FC_SEND, &c->fault, len, rc);
    send_text(&c->text, wrapped_calls[c->w].name, c->fd, buf, len, rc, flags, c->w != W_write);
    if (c->w == W_sendto) {
        line_str(&c->text, ", ");
        if (rc >= 0 && addr != NULL)
            decode_addr(&c->text, addr, alen);      /* the kernel read it */
        else
            decode_addr_arg(&c->text, addr, alen);
        line_fmt(&c->text, ", %u", (unsigned)alen);
    }
    line_str(&c->text, ")");
    call_end(c, rc, -1, send_note(&note, rc, len));
    return rc;
}

WRAPPER ssize_t send(int fd, const void *buf, size_t len, int flags)
{
    struct call c;

    if (!call_wanted(&c, W_send, fd, FD_SOCKET_CALL))
        return REAL(send)(fd, buf, len, flags);
    return send_common(&c, buf, len, flags, NULL, 0);
}

WRAPPER ssize_t sendto(int fd, const void *buf, size_t len, int flags, const struct sockaddr *addr,
                       socklen_t alen)
{
    struct call c;

    if (!call_wanted(&c, W_sendto, fd, FD_SOCKET_CALL))
        return REAL(sendto)(fd, buf, len, flags, addr, alen);
    return send_common(&c, buf, len, flags, addr, alen);
}

/* write() on stdout, a file or a pipe is none of our business. */
WRAPPER ssize_t write(int fd, const void *buf, size_t len)
{
    struct call c;

    if (!call_wanted(&c, W_write, fd, FD_ANY_CALL))
        return REAL(write)(fd, buf, len);
    return send_common(&c, buf, len, 0, NULL, 0);
}

/* ---- vectors ---- */

WRAPPER ssize_t writev(int fd, const struct iovec *iov, int n)
{
    struct iovec capped[IOV_CAP];
    struct line note;
    struct call c;
    size_t total;
    ssize_t rc;
    int m;

    if (!call_wanted(&c, W_writev, fd, FD_ANY_CALL))
        return REAL(writev)(fd, iov, n);
    line_fmt(&c.text, "writev(%d, iov, %d)", fd, n);
    call_begin(&c);
    m = n > 0 ? iov_capped(iov, (size_t)n, c.fault.cap, capped) : -1;
    rc = c.fault.err ? call_fail(&c) : m >= 0 ? REAL(writev)(fd, capped, m) : REAL(writev)(fd, iov, n);
    total = iov_call_line(&c, FC_SEND, "writev", fd, iov, n, rc);
    call_end(&c, rc, -1, send_note(&note, rc, total));
    return rc;
}

WRAPPER ssize_t sendmsg(int fd, const struct msghdr *msg, int flags)
{
    struct iovec capped[IOV_CAP];
    struct msghdr copy;
    struct line note;
    struct call c;
    size_t total = 0;
    ssize_t rc;
    int m = -1;

    if (!call_wanted(&c, W_sendmsg, fd, FD_SOCKET_CALL))
        return REAL(sendmsg)(fd, msg, flags);
    line_fmt(&c.text, "sendmsg(%d, msg, ...)", fd);
    call_begin(&c);
    if (c.fault.cap != 0 && safe_copy(&copy, msg, sizeof(copy)) == 0) {
        m = iov_capped(copy.msg_iov, copy.msg_iovlen, c.fault.cap, capped);
        copy.msg_iov = capped;
        copy.msg_iovlen = m >= 0 ? (size_t)m : 0;
    }
    rc = c.fault.err ? call_fail(&c) : REAL(sendmsg)(fd, m >= 0 ? &copy : msg, flags);
    line_init(&c.text);
    if (rc >= 0) {                  /* the kernel read the header and the vector */
        total = iov_total(msg->msg_iov, msg->msg_iovlen);
        line_fmt(&c.text, "sendmsg(%d, {%zu buffers, %zu bytes}, ", fd, (size_t)msg->msg_iovlen, total);
    } else {
        line_fmt(&c.text, "sendmsg(%d, ", fd);
        line_ptr(&c.text, msg);
        line_str(&c.text, ", ");
    }
    decode_flags(&c.text, flags, &msg_flags);
    line_str(&c.text, ")");
    fault_note_short(FC_SEND, &c.fault, total, rc);
    call_end(&c, rc, -1, send_note(&note, rc, total));
    return rc;
}

WRAPPER int sendmmsg(int fd, struct mmsghdr *vec, unsigned int vlen, int flags)
{
    struct call c;
    size_t total = 0;
    int rc;

    if (!call_wanted(&c, W_sendmmsg, fd, FD_SOCKET_CALL))
        return REAL(sendmmsg)(fd, vec, vlen, flags);
    line_fmt(&c.text, "sendmmsg(%d, vec, %u, ...)", fd, vlen);
    call_begin(&c);
    rc = c.fault.err ? (int)call_fail(&c) : REAL(sendmmsg)(fd, vec, vlen, flags);
    for (int i = 0; i < rc; i++)    /* the kernel wrote each sent one's msg_len */
        total += vec[i].msg_len;
    line_init(&c.text);
    line_fmt(&c.text, "sendmmsg(%d, [%d messages, %zu bytes], %u, ", fd, rc > 0 ? rc : 0, total, vlen);
    decode_flags(&c.text, flags, &msg_flags);
    line_str(&c.text, ")");
    call_end(&c, rc, -1, NULL);
    return rc;
}

/* ---- sendfile: a file's bytes into a socket ---- */

static ssize_t sendfile_common(enum wrapped w, int out, int in, off_t *offset, size_t count)
{
    struct line note;
    struct call c;
    off_t off;
    ssize_t rc;

    if (!call_wanted(&c, w, out, FD_ANY_CALL) && !call_wanted(&c, w, in, FD_ANY_CALL))
        return w == W_sendfile ? REAL(sendfile)(out, in, offset, count)
                               : REAL(sendfile64)(out, in, offset, count);
    line_fmt(&c.text, "%s(%d, %d, ...)", wrapped_calls[w].name, out, in);
    call_begin(&c);
    if (c.fault.err)
        rc = call_fail(&c);
    else if (w == W_sendfile)
        rc = REAL(sendfile)(out, in, offset, fault_cap(&c.fault, count));
    else
        rc = REAL(sendfile64)(out, in, offset, fault_cap(&c.fault, count));
    fault_note_short(FC_SEND, &c.fault, count, rc);
    line_init(&c.text);
    line_fmt(&c.text, "%s(%d, %d, ", wrapped_calls[w].name, out, in);
    if (offset == NULL)
        line_str(&c.text, "NULL");
    else if (safe_copy(&off, offset, sizeof(off)) == 0)
        line_fmt(&c.text, "[%lld]", (long long)off);    /* after: the kernel moved it */
    else
        line_ptr(&c.text, offset);
    line_fmt(&c.text, ", %zu)", count);
    call_end(&c, rc, -1, send_note(&note, rc, count));
    return rc;
}

WRAPPER ssize_t sendfile(int out, int in, off_t *offset, size_t count)
{
    return sendfile_common(W_sendfile, out, in, offset, count);
}

WRAPPER ssize_t sendfile64(int out, int in, off64_t *offset, size_t count)
{
    return sendfile_common(W_sendfile64, out, in, (off_t *)offset, count);
}
