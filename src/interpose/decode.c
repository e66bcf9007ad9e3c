/*
 * decode.c - the one argument decoder (see decode.h): every byte it reads
 * is one the kernel accepted, or one it copied through the kernel.
 */
#define _GNU_SOURCE             /* process_vm_readv, MSG_MORE, POLLRDHUP */
#include "decode.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stddef.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

#include "addr.h"
#include "explain.h"
#include "trace.h"
#include "wrapped.h"

#define NAMES(a) {(a), sizeof(a) / sizeof((a)[0])}

static const struct flag_name msg_names[] = {
    {MSG_NOSIGNAL, "MSG_NOSIGNAL"}, {MSG_DONTWAIT, "MSG_DONTWAIT"},
    {MSG_WAITALL, "MSG_WAITALL"}, {MSG_PEEK, "MSG_PEEK"}, {MSG_MORE, "MSG_MORE"},
    {MSG_OOB, "MSG_OOB"}, {MSG_TRUNC, "MSG_TRUNC"}};
static const struct flag_name poll_names[] = {
    {POLLIN, "POLLIN"}, {POLLOUT, "POLLOUT"}, {POLLPRI, "POLLPRI"},
    {POLLERR, "POLLERR"}, {POLLHUP, "POLLHUP"}, {POLLNVAL, "POLLNVAL"},
    {POLLRDHUP, "POLLRDHUP"}};
static const struct flag_name epoll_names[] = {
    {EPOLLIN, "EPOLLIN"}, {EPOLLOUT, "EPOLLOUT"}, {EPOLLRDHUP, "EPOLLRDHUP"},
    {EPOLLPRI, "EPOLLPRI"}, {EPOLLERR, "EPOLLERR"}, {EPOLLHUP, "EPOLLHUP"},
    {(int)EPOLLET, "EPOLLET"}, {EPOLLONESHOT, "EPOLLONESHOT"}};
static const struct flag_name file_names[] = {
    {O_NONBLOCK, "O_NONBLOCK"}, {O_APPEND, "O_APPEND"}, {O_RDWR, "O_RDWR"},
    {O_WRONLY, "O_WRONLY"}};
static const struct flag_name sock_names[] = {
    {SOCK_NONBLOCK, "SOCK_NONBLOCK"}, {SOCK_CLOEXEC, "SOCK_CLOEXEC"}};

const struct flag_names msg_flags = NAMES(msg_names);
const struct flag_names poll_flags = NAMES(poll_names);
const struct flag_names epoll_flags = NAMES(epoll_names);
const struct flag_names file_flags = NAMES(file_names);
const struct flag_names sock_flags = NAMES(sock_names);

/* Where process_vm_readv is not allowed (Docker's default seccomp profile
 * refuses it without CAP_SYS_PTRACE), a pipe of our own does the same:
 * write(2) copies from the program's memory, or fails with EFAULT. */
static int vm_readv_denied;

static int copy_through_pipe(void *dst, const void *src, size_t n)
{
    int p[2], ok;

    if (pipe2(p, O_CLOEXEC | O_NONBLOCK) == -1)
        return -1;
    ok = REAL(write)(p[1], src, n) == (ssize_t)n && REAL(read)(p[0], dst, n) == (ssize_t)n;
    REAL(close)(p[0]);
    REAL(close)(p[1]);
    return ok ? 0 : -1;
}

int safe_copy(void *dst, const void *src, size_t n)
{
    struct iovec local = {dst, n}, remote = {(void *)src, n};
    int saved = errno, rc = -1;
    ssize_t got;

    if (n == 0)
        return 0;
    if (src == NULL)
        return -1;
    if (!__atomic_load_n(&vm_readv_denied, __ATOMIC_RELAXED)) {
        got = process_vm_readv(getpid(), &local, 1, &remote, 1, 0);
        if (got == -1 && (errno == EPERM || errno == ENOSYS))
            __atomic_store_n(&vm_readv_denied, 1, __ATOMIC_RELAXED);
        else
            rc = got == (ssize_t)n ? 0 : -1;
    }
    if (__atomic_load_n(&vm_readv_denied, __ATOMIC_RELAXED))
        rc = n <= PIPE_BUF ? copy_through_pipe(dst, src, n) : -1;
    errno = saved;
    return rc;
}

void decode_flags(struct line *l, int value, const struct flag_names *names)
{
    size_t start = l->len;

    for (size_t i = 0; i < names->n; i++) {
        int bit = names->names[i].bit;

        if (bit != 0 && (value & bit) == bit) {
            if (l->len > start)
                line_str(l, "|");
            line_str(l, names->names[i].name);
            value &= ~bit;
        }
    }
    if (value != 0) {
        if (l->len > start)
            line_str(l, "|");
        line_hex(l, (unsigned)value);
    } else if (l->len == start) {
        line_str(l, "0");
    }
}

void decode_type(struct line *l, int type)
{
    int base = type & ~(SOCK_NONBLOCK | SOCK_CLOEXEC);

    if (base == SOCK_STREAM)
        line_str(l, "SOCK_STREAM");
    else if (base == SOCK_DGRAM)
        line_str(l, "SOCK_DGRAM");
    else if (base == SOCK_RAW)
        line_str(l, "SOCK_RAW");
    else if (base == SOCK_SEQPACKET)
        line_str(l, "SOCK_SEQPACKET");
    else
        line_dec(l, base);
    if (type != base) {
        line_str(l, "|");
        decode_flags(l, type - base, &sock_flags);
    }
}

/* ---- addresses, formatted as inet_ntop() does, without its sprintf ---- */

static void put_ipv4(struct line *l, const unsigned char *b)
{
    for (int i = 0; i < 4; i++) {
        if (i > 0)
            line_str(l, ".");
        line_udec(l, b[i], 0);
    }
}

/* As glibc's inet_ntop does it: the first longest run of two or more zero
 * groups is "::", and an IPv4-mapped or -compatible address ends in
 * dotted decimal (::ffff:127.0.0.1). */
static void put_ipv6(struct line *l, const unsigned char *b)
{
    unsigned w[8];
    int best = -1, best_len = 0;

    for (int i = 0; i < 8; i++)
        w[i] = (unsigned)b[2 * i] << 8 | b[2 * i + 1];
    for (int i = 0, run = 0; i <= 8; i++) {
        if (i < 8 && w[i] == 0) {
            run++;
            continue;
        }
        if (run >= 2 && run > best_len)
            best = i - run, best_len = run;
        run = 0;
    }
    for (int i = 0; i < 8; i++) {
        if (best != -1 && i >= best && i < best + best_len) {
            if (i == best)
                line_str(l, ":");
            continue;
        }
        if (i != 0)
            line_str(l, ":");
        if (i == 6 && best == 0 && (best_len == 6 || (best_len == 7 && w[7] != 1) ||
                                    (best_len == 5 && w[5] == 0xffff))) {
            put_ipv4(l, b + 12);
            return;
        }
        line_xdigits(l, w[i]);
    }
    if (best != -1 && best + best_len == 8)
        line_str(l, ":");
}

void decode_addr(struct line *l, const struct sockaddr *sa, socklen_t len)
{
    const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
    const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
    const struct sockaddr_un *un = (const struct sockaddr_un *)sa;
    int family = len >= sizeof(sa->sa_family) ? sa->sa_family : AF_UNSPEC;

    if (family == AF_INET && len >= sizeof(*in)) {
        put_ipv4(l, (const unsigned char *)&in->sin_addr);
        line_fmt(l, ":%u", (unsigned)ntohs(in->sin_port));
    } else if (family == AF_INET6 && len >= sizeof(*in6)) {
        line_str(l, "[");
        put_ipv6(l, in6->sin6_addr.s6_addr);
        line_fmt(l, "]:%u", (unsigned)ntohs(in6->sin6_port));
    } else if (family == AF_UNIX && len > offsetof(struct sockaddr_un, sun_path)) {
        size_t n = len - offsetof(struct sockaddr_un, sun_path);
        const char *path = un->sun_path;

        line_str(l, "unix:");
        if (path[0] == '\0') {              /* abstract: no file, a name */
            line_str(l, "@");
            path++, n--;
        }
        line_mem(l, path, strnlen(path, n));
    } else {
        line_fmt(l, "(%s, %u bytes)", family_name(family), (unsigned)len);
    }
}

void decode_addr_arg(struct line *l, const struct sockaddr *sa, socklen_t len)
{
    struct sockaddr_storage copy;
    socklen_t n = len < sizeof(copy) ? len : sizeof(copy);

    if (sa == NULL)
        line_str(l, "NULL");
    else if (safe_copy(&copy, sa, n) == 0)
        decode_addr(l, (const struct sockaddr *)&copy, n);
    else
        line_ptr(l, sa);
}

/* ---- data ---- */

void decode_data(struct line *l, const void *data, size_t known, size_t total)
{
    char shown[64 * 4 + 8];
    size_t n = known < trace_data_shown() ? known : trace_data_shown();

    if (total == 0 || known == 0) {
        line_str(l, total == 0 ? "\"\"" : "buf");
        return;
    }
    quote_bytes(data, n, shown, sizeof(shown));
    line_str(l, "\"");
    line_str(l, shown);
    line_str(l, n < total ? "\"..." : "\"");
}

void decode_data_arg(struct line *l, const void *data, size_t total)
{
    char copy[64];
    size_t n = total < trace_data_shown() ? total : trace_data_shown();

    if (n > sizeof(copy))
        n = sizeof(copy);
    if (total == 0)
        line_str(l, "\"\"");
    else if (safe_copy(copy, data, n) == 0)
        decode_data(l, copy, n, total);
    else
        line_ptr(l, data);
}

void decode_iov_arg(struct line *l, const struct iovec *iov, int n)
{
    struct iovec head[2];
    int m = n < 2 ? n : 2;

    if (iov == NULL || n <= 0 || safe_copy(head, iov, (size_t)m * sizeof(*iov)) != 0) {
        line_ptr(l, iov);
        return;
    }
    line_str(l, "[");
    for (int i = 0; i < m; i++) {
        line_str(l, i ? ", {" : "{");
        line_ptr(l, head[i].iov_base);
        line_fmt(l, ", %zu}", head[i].iov_len);
    }
    line_str(l, m < n ? ", ...]" : "]");
}

/* ---- options ---- */

void decode_sockopt(struct line *l, int level, int name)
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
        {SOL_SOCKET, SO_ERROR, "SOL_SOCKET, SO_ERROR"},
        {SOL_SOCKET, SO_TYPE, "SOL_SOCKET, SO_TYPE"},
        {SOL_SOCKET, SO_BROADCAST, "SOL_SOCKET, SO_BROADCAST"},
        {IPPROTO_TCP, TCP_NODELAY, "IPPROTO_TCP, TCP_NODELAY"},
        {IPPROTO_TCP, TCP_INFO, "IPPROTO_TCP, TCP_INFO"},
        {IPPROTO_IPV6, IPV6_V6ONLY, "IPPROTO_IPV6, IPV6_V6ONLY"}};

    for (size_t i = 0; i < sizeof(opts) / sizeof(opts[0]); i++)
        if (opts[i].level == level && opts[i].name == name) {
            line_str(l, opts[i].text);
            return;
        }
    line_fmt(l, "%d, %d", level, name);
}

void decode_optval(struct line *l, int level, int name, const void *val, socklen_t len)
{
    if (val == NULL) {
        line_str(l, "NULL");
    } else if (level == SOL_SOCKET && (name == SO_RCVTIMEO || name == SO_SNDTIMEO) &&
               len >= sizeof(struct timeval)) {
        const struct timeval *tv = val;

        line_fmt(l, "{%llds %lldus}", (long long)tv->tv_sec, (long long)tv->tv_usec);
    } else if (level == SOL_SOCKET && name == SO_LINGER && len >= sizeof(struct linger)) {
        const struct linger *lg = val;

        line_fmt(l, "{l_onoff=%d, l_linger=%d}", lg->l_onoff, lg->l_linger);
    } else if (level == SOL_SOCKET && name == SO_ERROR && len == sizeof(int)) {
        int err = *(const int *)val;

        line_str(l, "[");
        if (err == 0)
            line_str(l, "0");
        else
            line_str(l, errno_name(err));
        line_str(l, "]");
    } else if (len == sizeof(int)) {
        line_fmt(l, "[%d]", *(const int *)val);
    } else {
        line_fmt(l, "<%u bytes>", (unsigned)len);
    }
}

/* ---- poll and select sets ---- */

void decode_pollfds(struct line *l, const struct pollfd *fds, nfds_t n, int after)
{
    nfds_t i;

    line_str(l, "[");
    for (i = 0; i < n && i < 4; i++) {
        line_fmt(l, "%s{fd=%d, events=", i ? ", " : "", fds[i].fd);
        decode_flags(l, fds[i].events, &poll_flags);
        if (after && fds[i].revents) {
            line_str(l, ", revents=");
            decode_flags(l, fds[i].revents, &poll_flags);
        }
        line_str(l, "}");
    }
    line_str(l, i < n ? ", ...]" : "]");
}

void decode_fdset(struct line *l, const fd_set *set, int nfds)
{
    int first = 1;

    if (set == NULL) {
        line_str(l, "NULL");
        return;
    }
    line_str(l, "[");
    for (int fd = 0; fd < nfds && fd < FD_SETSIZE; fd++)
        if (FD_ISSET(fd, set)) {
            line_fmt(l, "%s%d", first ? "" : " ", fd);
            first = 0;
        }
    line_str(l, "]");
}

/* ---- quoting data (public: trace.h, for the data lines too) ---- */

/* Bytes a valid UTF-8 sequence starting at p takes (at most n), or 0. */
static size_t utf8_length(const unsigned char *p, size_t n)
{
    size_t len;
    unsigned cp;

    if (p[0] >= 0xc2 && p[0] <= 0xdf)
        len = 2, cp = p[0] & 0x1fu;
    else if (p[0] >= 0xe0 && p[0] <= 0xef)
        len = 3, cp = p[0] & 0x0fu;
    else if (p[0] >= 0xf0 && p[0] <= 0xf4)
        len = 4, cp = p[0] & 0x07u;
    else
        return 0;
    if (len > n)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((p[i] & 0xc0) != 0x80)
            return 0;
        cp = cp << 6 | (p[i] & 0x3fu);
    }
    /* Overlong forms, UTF-16 surrogates, beyond U+10FFFF, and the C1
     * controls U+0080-U+009F (U+009B is a CSI on some terminals). */
    if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
        (cp >= 0xd800 && cp <= 0xdfff) || cp < 0xa0)
        return 0;
    return len;
}

char *quote_bytes(const void *data, size_t len, char *out, size_t outsz)
{
    const unsigned char *p = data;
    size_t o = 0, i = 0;

    while (i < len) {
        size_t seq = p[i] >= 0x80 ? utf8_length(p + i, len - i) : 0;
        int escape = seq == 0 && (p[i] < 0x20 || p[i] >= 0x7f);
        size_t width = escape ? 4 : (p[i] == '\\' || p[i] == '"') ? 2 : seq ? seq : 1;

        /* After this piece there must still be room for "..." and the NUL
         * (4 bytes), so a cut can always be marked (fuzz/fuzz_recv.c). */
        if (o + width + 4 > outsz) {
            memcpy(out + o, "...", 3);
            o += 3;
            break;
        }
        if (escape) {
            out[o++] = '\\';
            out[o++] = 'x';
            out[o++] = "0123456789abcdef"[p[i] >> 4];
            out[o++] = "0123456789abcdef"[p[i] & 0xf];
            i++;
        } else if (p[i] == '\\' || p[i] == '"') {
            out[o++] = '\\';
            out[o++] = (char)p[i++];
        } else if (seq) {
            memcpy(out + o, p + i, seq);    /* a whole, valid UTF-8 character */
            o += seq;
            i += seq;
        } else {
            out[o++] = (char)p[i++];        /* printable ASCII */
        }
    }
    out[o] = '\0';
    return out;
}
