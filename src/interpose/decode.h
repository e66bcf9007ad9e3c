/*
 * decode.h - a call's arguments as text: flags by name, addresses,
 * quoted data, options, poll and select sets. The decoder only reads what
 * the kernel accepted (the caller says how much), or copies memory through
 * the kernel (process_vm_readv, or a pipe where that is not allowed), which
 * refuses a bad pointer instead of crashing: then the pointer itself is
 * shown, as strace does.
 */
#ifndef SOCKETLAB_DECODE_H
#define SOCKETLAB_DECODE_H

#include <poll.h>
#include <stddef.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "line.h"

/**
 * @addtogroup interpose
 * @{
 */

/** A flag bit and its name. */
struct flag_name {
    int bit;            /**< the bit (or bits) */
    const char *name;   /**< "MSG_NOSIGNAL" */
};

/** The names of a set of flags. */
struct flag_names {
    const struct flag_name *names;  /**< the bits */
    size_t n;                       /**< how many */
};

extern const struct flag_names msg_flags;     /**< MSG_NOSIGNAL, MSG_DONTWAIT, ... */
extern const struct flag_names poll_flags;    /**< POLLIN, POLLOUT, ... */
extern const struct flag_names epoll_flags;   /**< EPOLLIN, EPOLLET, ... */
extern const struct flag_names file_flags;    /**< O_NONBLOCK, O_RDWR, ... */
extern const struct flag_names sock_flags;    /**< SOCK_NONBLOCK, SOCK_CLOEXEC */

/**
 * @brief Copy memory the program named, through the kernel: a bad pointer
 *        makes it fail instead of crashing (async-signal-safe; errno kept).
 *        Where seccomp refuses process_vm_readv (Docker), a pipe of its own
 *        carries the bytes (up to PIPE_BUF of them).
 * @param dst  where to copy.
 * @param src  the program's pointer.
 * @param n    how many bytes.
 * @return 0 when all @p n bytes were copied, -1 if not.
 */
int safe_copy(void *dst, const void *src, size_t n);

/**
 * @brief Flags as names joined by `|`, and what is left as hex: `0` if none.
 * @param l      the line.
 * @param value  the flags.
 * @param names  their names.
 */
void decode_flags(struct line *l, int value, const struct flag_names *names);

/**
 * @brief A socket type: `SOCK_STREAM|SOCK_NONBLOCK`.
 * @param l     the line.
 * @param type  the type.
 */
void decode_type(struct line *l, int type);

/**
 * @brief A socket address: `127.0.0.1:5005`, `[::1]:5005`, `unix:/path`,
 *        or `(AF_INET, 8 bytes)` when it is too short for its family.
 * @param l    the line.
 * @param sa   the address; only its first @p len bytes are read.
 * @param len  how many bytes of it are the caller's, and readable.
 */
void decode_addr(struct line *l, const struct sockaddr *sa, socklen_t len);

/**
 * @brief An address argument nobody has checked yet (before the call, or
 *        a call that failed): copied through the kernel first.
 * @param l    the line.
 * @param sa   the program's pointer.
 * @param len  the length it gave.
 */
void decode_addr_arg(struct line *l, const struct sockaddr *sa, socklen_t len);

/**
 * @brief Data, quoted and cut short: `"ok"` or `"这是第1个..."...`.
 * @param l      the line.
 * @param data   the bytes; only the first @p known are read.
 * @param known  bytes the kernel accepted (or wrote): readable.
 * @param total  bytes the call was given; more than shown adds `...`.
 */
void decode_data(struct line *l, const void *data, size_t known, size_t total);

/**
 * @brief Data nobody has checked yet: copied through the kernel first, or
 *        the pointer if it cannot be read.
 * @param l      the line.
 * @param data   the program's pointer.
 * @param total  bytes the call was given.
 */
void decode_data_arg(struct line *l, const void *data, size_t total);

/**
 * @brief A vector nobody has checked yet, copied through the kernel: its
 *        first buffers' addresses and lengths, `[{0x1, 5}]`, or its own
 *        address when it cannot be read.
 * @param l    the line.
 * @param iov  the program's pointer.
 * @param n    its length.
 */
void decode_iov_arg(struct line *l, const struct iovec *iov, int n);

/**
 * @brief A socket option's level and name: `SOL_SOCKET, SO_REUSEADDR`.
 * @param l      the line.
 * @param level  the level.
 * @param name   the option.
 */
void decode_sockopt(struct line *l, int level, int name);

/**
 * @brief An option's value, as far as @p len bytes of it are readable:
 *        `[1]`, `{10s 0us}`, `{l_onoff=1, l_linger=0}`, `[ECONNREFUSED]`
 *        for SO_ERROR, or its size.
 * @param l      the line.
 * @param level  the level.
 * @param name   the option.
 * @param val    the value.
 * @param len    its readable length.
 */
void decode_optval(struct line *l, int level, int name, const void *val, socklen_t len);

/**
 * @brief A poll array (the first four entries), with revents after the call.
 * @param l      the line.
 * @param fds    the entries (readable).
 * @param n      how many.
 * @param after  1 to show revents.
 */
void decode_pollfds(struct line *l, const struct pollfd *fds, nfds_t n, int after);

/**
 * @brief An fd_set as the fds in it: `[3 4]`.
 * @param l     the line.
 * @param set   the set (readable), or NULL.
 * @param nfds  select()'s first argument.
 */
void decode_fdset(struct line *l, const fd_set *set, int nfds);

/** @} */

#endif /* SOCKETLAB_DECODE_H */
