/*
 * fdtable.c - the fd table (see fdtable.h).
 *
 * One 64-bit word per fd, read and written atomically, so threads and
 * signal handlers never see half an entry: its kind, phase, family and
 * the socket's inode number. The inode tells a socket closed inside libc
 * (fclose() of an fdopen()ed socket) from whatever reused its number:
 * where the table's word matters, fstat() confirms it.
 */
#define _GNU_SOURCE
#include "fdtable.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "wrapped.h"

/* fds below this have an entry; above, the kernel is asked each time. */
#define FD_TABLE 65536

static uint64_t table[FD_TABLE];

/* An entry: kind 0-3, phase 4-7, family 8-15, watches 16, inode 32-63. */
static uint64_t pack(struct fd_info i, uint32_t ino)
{
    return (uint64_t)i.kind | (uint64_t)i.phase << 4 | (uint64_t)(i.family & 0xff) << 8 |
           (uint64_t)(i.watches_inet != 0) << 16 | (uint64_t)ino << 32;
}

static struct fd_info unpack(uint64_t e)
{
    struct fd_info i = {(enum fd_kind)(e & 0xf), (enum fd_phase)(e >> 4 & 0xf),
                        (int)(e >> 8 & 0xff), (int)(e >> 16 & 1)};
    return i;
}

static uint64_t load(int fd)
{
    return fd >= 0 && fd < FD_TABLE ? __atomic_load_n(&table[fd], __ATOMIC_RELAXED) : 0;
}

static void store(int fd, uint64_t e)
{
    if (fd >= 0 && fd < FD_TABLE)
        __atomic_store_n(&table[fd], e, __ATOMIC_RELAXED);
}

static int sockopt_int(int fd, int level, int name)
{
    int v = -1;
    socklen_t len = sizeof(v);

    return REAL(getsockopt)(fd, level, name, &v, &len) == 0 ? v : -1;
}

enum fd_kind fd_kind_of(int family, int type, int protocol)
{
    int inet = family == AF_INET || family == AF_INET6;

    type &= ~(SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (inet && type == SOCK_STREAM && (protocol == 0 || protocol == IPPROTO_TCP))
        return FD_TCP;
    if (inet && type == SOCK_DGRAM && (protocol == 0 || protocol == IPPROTO_UDP))
        return FD_UDP;
    return FD_OTHER;
}

/* A TCP socket's phase by its state: LISTEN, connected, or neither. */
static enum fd_phase phase_by_state(int fd)
{
    struct tcp_info info;
    socklen_t len = sizeof(info);

    if (REAL(getsockopt)(fd, IPPROTO_TCP, TCP_INFO, &info, &len) != 0)
        return P_CREATED;
    return info.tcpi_state == TCP_LISTEN ? P_LISTENING
         : info.tcpi_state == TCP_SYN_SENT ? P_CONNECTING
         : info.tcpi_state == TCP_CLOSE ? P_CREATED : P_CONNECTED;
}

/* What the kernel says fd is (st: its fstat()), recorded. */
static struct fd_info learn(int fd, const struct stat *st)
{
    struct fd_info i = {FD_NOT_SOCKET, P_NONE, 0, 0};
    int saved = errno;

    if (S_ISSOCK(st->st_mode)) {
        i.family = sockopt_int(fd, SOL_SOCKET, SO_DOMAIN);
        i.kind = fd_kind_of(i.family, sockopt_int(fd, SOL_SOCKET, SO_TYPE),
                         sockopt_int(fd, SOL_SOCKET, SO_PROTOCOL));
        i.phase = i.kind == FD_TCP ? phase_by_state(fd) : P_CREATED;
    }
    store(fd, pack(i, (uint32_t)st->st_ino));
    errno = saved;
    return i;
}

/* The entry, if fstat() says fd is still what it was when recorded. */
static struct fd_info confirm(int fd)
{
    struct fd_info none = {FD_UNKNOWN, P_NONE, 0, 0};
    uint64_t e = load(fd);
    struct stat st;
    int saved = errno;

    if (fstat(fd, &st) == -1) {
        errno = saved;
        store(fd, 0);
        return none;
    }
    errno = saved;
    if (e != 0 && (uint32_t)(e >> 32) == (uint32_t)st.st_ino)
        return unpack(e);
    return learn(fd, &st);
}

struct fd_info fd_lookup(int fd, enum fd_trust trust)
{
    struct fd_info i = unpack(load(fd));
    int socket = i.kind == FD_TCP || i.kind == FD_UDP || i.kind == FD_OTHER;

    if (fd < 0)
        return i;
    if (fd >= FD_TABLE || trust == FD_CONFIRM || i.kind == FD_UNKNOWN)
        return confirm(fd);
    if (trust == FD_KNOWN)
        return i;
    if (trust == FD_SOCKET_CALL)    /* such a call on a "non-socket": stale */
        return socket ? i : confirm(fd);
    return socket ? confirm(fd) : i;
}

int fd_is_inet(struct fd_info i)
{
    return i.kind == FD_TCP || i.kind == FD_UDP;
}

void fd_note_socket(int fd, int family, int type, int protocol, enum fd_phase phase)
{
    struct fd_info i = {fd_kind_of(family, type, protocol), phase, family, 0};
    struct stat st;
    int saved = errno;

    if (fd < 0 || fd >= FD_TABLE)
        return;
    store(fd, fstat(fd, &st) == 0 ? pack(i, (uint32_t)st.st_ino) : 0);
    errno = saved;
}

void fd_note_epoll(int fd)
{
    struct fd_info i = {FD_EPOLL, P_NONE, 0, 0};
    struct stat st;
    int saved = errno;

    if (fd >= 0 && fd < FD_TABLE && fstat(fd, &st) == 0)
        store(fd, pack(i, (uint32_t)st.st_ino));
    errno = saved;
}

void fd_note_epoll_watches_inet(int epfd)
{
    uint64_t e = load(epfd);

    if (unpack(e).kind == FD_EPOLL)
        store(epfd, e | (uint64_t)1 << 16);
}

void fd_set_phase(int fd, enum fd_phase phase)
{
    uint64_t e = load(fd);

    if (e != 0)
        store(fd, (e & ~(uint64_t)0xf0) | (uint64_t)phase << 4);
}

void fd_copy(int from, int to)
{
    if (from != to)
        store(to, load(from));      /* the same open file: the same inode */
}

void fd_forget(unsigned lo, unsigned hi)
{
    for (unsigned fd = lo; fd <= hi && fd < FD_TABLE; fd++)
        store((int)fd, 0);
}

int fd_first_inet(unsigned lo, unsigned hi)
{
    for (unsigned fd = lo; fd <= hi && fd < FD_TABLE; fd++)
        if (fd_is_inet(unpack(load((int)fd))))
            return (int)fd;
    return -1;
}
