/*
 * calls_fd.c - the wrappers of the calls that close, copy and set up fds:
 * close, close_range, closefrom, dup, dup2, dup3, fcntl, fcntl64, ioctl.
 * They keep the fd table right (a dup'd socket is a socket), and keep the
 * trace's own fd out of the program's way: its close() of that number
 * fails with EBADF as it would untraced, a dup2() onto it moves the trace.
 */
#define _GNU_SOURCE
#include "wrapped.h"

#include <errno.h>
#include <limits.h>
#include <linux/sockios.h>
#include <stdarg.h>

#include "call.h"
#include "decode.h"
#include "fdtable.h"
#include "tracefd.h"

/* close() of a socket may be made to fail, but the fd is released first,
 * as Linux always does (even when close reports EINTR): never retry it. */
WRAPPER int close(int fd)
{
    struct call c;
    int rc;

    if (tracefd_is(fd)) {           /* not the program's fd: untraced, it was never open */
        errno = EBADF;
        return -1;
    }
    if (!call_wanted(&c, W_close, fd, FD_ANY_CALL)) {
        rc = REAL(close)(fd);
        if (interpose_active())
            fd_forget((unsigned)fd, (unsigned)fd);
        return rc;
    }
    line_fmt(&c.text, "close(%d)", fd);
    call_begin(&c);
    rc = REAL(close)(fd);
    fd_forget((unsigned)fd, (unsigned)fd);
    if (c.fault.err)
        rc = (int)call_fail(&c);
    call_end(&c, rc, -1, NULL);
    return rc;
}

/* close_range(2) around the trace's fd: two ranges, the same fds closed. */
static int close_range_around(unsigned first, unsigned last, int flags)
{
    int ours = tracefd_get(), rc = 0;

    if (ours < 0 || (unsigned)ours < first || (unsigned)ours > last || (flags & CLOSE_RANGE_CLOEXEC))
        return REAL(close_range)(first, last, flags);
    if ((unsigned)ours > first)
        rc = REAL(close_range)(first, (unsigned)ours - 1, flags);
    if (rc == 0 && (unsigned)ours < last)
        rc = REAL(close_range)((unsigned)ours + 1, last, flags);
    return rc;
}

static int close_range_traced(enum wrapped w, unsigned first, unsigned last, int flags)
{
    int sock = interpose_active() ? fd_first_inet(first, last) : -1;
    struct call c;
    int rc;

    if (sock == -1 || !call_wanted(&c, w, sock, FD_ANY_CALL)) {
        rc = close_range_around(first, last, flags);
        if (rc == 0 && interpose_active() && !(flags & CLOSE_RANGE_CLOEXEC))
            fd_forget(first, last);
        return rc;
    }
    if (w == W_closefrom)
        line_fmt(&c.text, "closefrom(%u)", first);
    else
        line_fmt(&c.text, "close_range(%u, %u, %d)", first, last, flags);
    call_begin(&c);
    rc = close_range_around(first, last, flags);
    if (rc == 0 && !(flags & CLOSE_RANGE_CLOEXEC))
        fd_forget(first, last);
    call_end(&c, rc, -1, NULL);
    return rc;
}

WRAPPER int close_range(unsigned int first, unsigned int last, int flags)
{
    return close_range_traced(W_close_range, first, last, flags);
}

/* glibc's closefrom() is close_range(lowfd, ~0U, 0); only a kernel
 * without close_range (before 5.9) takes libc's slower way. */
WRAPPER void closefrom(int lowfd)
{
    int saved = errno;

    if (lowfd < 0)
        lowfd = 0;
    if (close_range_traced(W_closefrom, (unsigned)lowfd, ~0U, 0) == -1 && errno == ENOSYS) {
        tracefd_step_out(lowfd, INT_MAX);
        REAL(closefrom)(lowfd);
        if (interpose_active())
            fd_forget((unsigned)lowfd, ~0U);
    }
    errno = saved;
}

/* ---- dup, dup2, dup3, F_DUPFD: a copy of a socket is that socket ---- */

static int dup_common(enum wrapped w, int old, int new, int flags)
{
    struct call c;
    int rc, traced;

    if (w != W_dup && tracefd_is(new))
        tracefd_step_out(new, new);
    traced = call_wanted(&c, w, old, FD_ANY_CALL) || (w != W_dup && call_wanted(&c, w, new, FD_ANY_CALL));
    if (traced) {
        if (w == W_dup)
            line_fmt(&c.text, "dup(%d)", old);
        else if (w == W_dup2)
            line_fmt(&c.text, "dup2(%d, %d)", old, new);
        else
            line_fmt(&c.text, "dup3(%d, %d, %s)", old, new, flags == O_CLOEXEC ? "O_CLOEXEC" : flags ? "?" : "0");
        call_begin(&c);
    }
    rc = w == W_dup ? REAL(dup)(old) : w == W_dup2 ? REAL(dup2)(old, new) : REAL(dup3)(old, new, flags);
    if (rc >= 0 && interpose_active())
        fd_copy(old, rc);
    if (traced)
        call_end(&c, rc, -1, NULL);
    return rc;
}

WRAPPER int dup(int old)
{
    return dup_common(W_dup, old, -1, 0);
}

WRAPPER int dup2(int old, int new)
{
    return dup_common(W_dup2, old, new, 0);
}

WRAPPER int dup3(int old, int new, int flags)
{
    return dup_common(W_dup3, old, new, flags);
}

/* ---- fcntl: flags and copies of a socket are traced ---- */

static int fcntl_traced_cmd(int cmd)
{
    return cmd == F_GETFL || cmd == F_SETFL || cmd == F_GETFD || cmd == F_SETFD ||
           cmd == F_DUPFD || cmd == F_DUPFD_CLOEXEC;
}

static const char *fcntl_cmd_name(int cmd)
{
    return cmd == F_GETFL ? "F_GETFL" : cmd == F_SETFL ? "F_SETFL" : cmd == F_GETFD ? "F_GETFD"
         : cmd == F_SETFD ? "F_SETFD" : cmd == F_DUPFD ? "F_DUPFD" : "F_DUPFD_CLOEXEC";
}

static int fcntl_common(enum wrapped w, int fd, int cmd, void *arg)
{
    struct call c;
    int rc;

    if (!fcntl_traced_cmd(cmd) || !call_wanted(&c, w, fd, FD_ANY_CALL)) {
        rc = w == W_fcntl ? REAL(fcntl)(fd, cmd, arg) : REAL(fcntl64)(fd, cmd, arg);
        if ((cmd == F_DUPFD || cmd == F_DUPFD_CLOEXEC) && rc >= 0 && interpose_active())
            fd_copy(fd, rc);
        return rc;
    }
    line_fmt(&c.text, "fcntl(%d, %s", fd, fcntl_cmd_name(cmd));
    if (cmd == F_SETFL) {
        line_str(&c.text, ", ");
        decode_flags(&c.text, (int)(long)arg, &file_flags);
    } else if (cmd != F_GETFL && cmd != F_GETFD) {
        line_fmt(&c.text, ", %ld", (long)arg);
    }
    line_str(&c.text, ")");
    call_begin(&c);
    rc = w == W_fcntl ? REAL(fcntl)(fd, cmd, arg) : REAL(fcntl64)(fd, cmd, arg);
    if ((cmd == F_DUPFD || cmd == F_DUPFD_CLOEXEC) && rc >= 0)
        fd_copy(fd, rc);
    if (cmd == F_GETFL && rc != -1) {           /* what the number means */
        line_str(&c.text, " /* ");
        decode_flags(&c.text, rc, &file_flags);
        line_str(&c.text, " */");
    }
    call_end(&c, rc, -1, NULL);
    return rc;
}

/* glibc's fcntl takes its third argument as a pointer-sized value. */
WRAPPER int fcntl(int fd, int cmd, ...)
{
    va_list ap;
    void *arg;

    va_start(ap, cmd);
    arg = va_arg(ap, void *);
    va_end(ap);
    return fcntl_common(W_fcntl, fd, cmd, arg);
}

WRAPPER int fcntl64(int fd, int cmd, ...)
{
    va_list ap;
    void *arg;

    va_start(ap, cmd);
    arg = va_arg(ap, void *);
    va_end(ap);
    return fcntl_common(W_fcntl64, fd, cmd, arg);
}

/* ---- ioctl on a socket: FIONBIO, FIONREAD, the queue sizes ---- */

WRAPPER int ioctl(int fd, unsigned long request, ...)
{
    struct call c;
    va_list ap;
    void *arg;
    int rc;

    va_start(ap, request);
    arg = va_arg(ap, void *);
    va_end(ap);
    if (!call_wanted(&c, W_ioctl, fd, FD_ANY_CALL))
        return REAL(ioctl)(fd, request, arg);
    line_fmt(&c.text, "ioctl(%d, ...)", fd);
    call_begin(&c);
    rc = REAL(ioctl)(fd, request, arg);
    line_init(&c.text);
    line_fmt(&c.text, "ioctl(%d, ", fd);
    if (request == FIONBIO)
        line_str(&c.text, "FIONBIO, ");
    else if (request == FIONREAD)
        line_str(&c.text, "FIONREAD, ");
    else if (request == SIOCOUTQ)
        line_str(&c.text, "SIOCOUTQ, ");
    else if (request == SIOCOUTQNSD)
        line_str(&c.text, "SIOCOUTQNSD, ");
    else {
        line_hex(&c.text, request);
        line_str(&c.text, ", ");
    }
    /* These four read or write an int, which the kernel did. */
    if (rc == 0 && arg != NULL && (request == FIONBIO || request == FIONREAD || request == SIOCOUTQ ||
                                   request == SIOCOUTQNSD))
        line_fmt(&c.text, "[%d])", *(int *)arg);
    else {
        line_ptr(&c.text, arg);
        line_str(&c.text, ")");
    }
    call_end(&c, rc, -1, NULL);
    return rc;
}
