/*
 * call.h - the life of one traced call, as every wrapper lives it:
 * wanted? (is the interposer on, is the fd in the trace's scope), begin
 * (its step, the fault verdict, --pause), the real call with the caller's
 * arguments, its text from what the kernel accepted, end (the trace line).
 *
 * All of it is on the caller's stack: nothing a signal handler's call,
 * another thread or a siglongjmp() out of a wrapper can find half-done.
 */
#ifndef SOCKETLAB_CALL_H
#define SOCKETLAB_CALL_H

#include <sys/types.h>
#include <sys/uio.h>
#include <time.h>

#include "fault.h"
#include "fdtable.h"
#include "line.h"
#include "wrapped.h"

/**
 * @addtogroup interpose
 * @{
 */

/** One call being traced. */
struct call {
    enum wrapped w;             /**< which function */
    int fd;                     /**< the fd it is about, or -1 */
    struct fd_info info;        /**< what that fd is */
    int inet;                   /**< about TCP or UDP sockets: it serves a seed step */
    int listening;              /**< a wait that includes a listening socket (step 4) */
    int step;                   /**< the seed's step (0: none) */
    struct fault_verdict fault; /**< what LAB_FAULT does to it */
    struct timespec start;      /**< when it began */
    struct line text;           /**< the call with its arguments */
};

/**
 * @brief Whether call @p w on @p fd is traced or injected into: the
 *        interposer is on and the fd is in the trace's scope (TCP and UDP
 *        sockets; every fd with `--all`). Sets up @p c when it is.
 * @param c      the call.
 * @param w      the function.
 * @param fd     the fd it is about.
 * @param trust  how far the fd table may be trusted for this call.
 * @return 1 to trace it, 0 to make the real call and nothing else.
 */
int call_wanted(struct call *c, enum wrapped w, int fd, enum fd_trust trust);

/**
 * @brief call_wanted() for a call whose fd the wrapper has already looked
 *        up, or that has none yet (socket(): @p info from its arguments).
 * @param c     the call.
 * @param w     the function.
 * @param fd    the fd, or -1.
 * @param info  what the call is about.
 * @return 1 to trace it, 0 not to.
 */
int call_wanted_info(struct call *c, enum wrapped w, int fd, struct fd_info info);

/**
 * @brief Whether the program has made a call on a TCP or UDP socket yet
 *        (an epoll instance made after one is traced; Python's at start-up is not).
 * @return 1 or 0.
 */
int call_inet_seen(void);

/**
 * @brief The seed's step a call serves, by its kind, its fd's phase and
 *        the role (guessed from the call when not known yet).
 * @param c  the call.
 * @return the step, or 0 for a call on no TCP or UDP socket.
 */
int call_step(const struct call *c);

/**
 * @brief Before the real call: its step, LAB_FAULT's verdict (and delay),
 *        `--pause`'s prompt with @c c->text as known now, the start time.
 * @param c  the call.
 */
void call_begin(struct call *c);

/**
 * @brief Fail as the kernel would, for an injected errno.
 * @param c  the call.
 * @return -1, with errno set.
 */
long call_fail(const struct call *c);

/**
 * @brief After the call: trace it (with the kernel's view of @p view_fd).
 *        errno is left as the call set it.
 * @param c        the call, its text complete.
 * @param ret      what it returned.
 * @param view_fd  the socket whose state to show after, or -1.
 * @param note     a line that explains the result, or NULL.
 */
void call_end(struct call *c, long ret, int view_fd, const char *note);

/**
 * @brief Before a call that may wait: the kit's data lines printed so far
 *        go out, so they are seen while the program waits (sockio.h). A
 *        call that cannot wait (a non-blocking fd, MSG_DONTWAIT) writes
 *        nothing, so a poll loop's lines go out once per round.
 * @param fd     the fd the call waits on, or -1 (a poll with a timeout).
 * @param flags  its MSG_ flags (MSG_DONTWAIT never waits).
 */
void flush_before_wait(int fd, int flags);

/**
 * @brief The note under a send that took less than it was given.
 * @param note  where to write it.
 * @param rc    what the call returned.
 * @param len   what it was given.
 * @return the note ("short write: the kernel took 1 of 2 bytes; ..."), or NULL.
 */
const char *send_note(struct line *note, ssize_t rc, size_t len);

/**
 * @brief The note under a receive that returned 0: the peer closed.
 * @param rc  what the call returned.
 * @return the note, or NULL.
 */
const char *recv_note(ssize_t rc);

/** Most buffers of a vector a short count can cut (more: no cut). */
#define IOV_CAP 64

/**
 * @brief Bytes in a vector the kernel has read (after the call).
 * @param iov  the vector.
 * @param n    its length.
 * @return the sum of the lengths.
 */
size_t iov_total(const struct iovec *iov, size_t n);

/**
 * @brief A copy of the caller's vector (read through the kernel), cut
 *        after @p cap bytes: how a short count is made of a vector.
 * @param iov  the caller's vector.
 * @param n    its length.
 * @param cap  the byte cap (0: none).
 * @param out  room for IOV_CAP entries.
 * @return the entries in @p out, or -1 when there is nothing to cut (no
 *         cap, a vector within it, too long or unreadable).
 */
int iov_capped(const struct iovec *iov, size_t n, size_t cap, struct iovec *out);

/**
 * @brief The line of a readv() or writev() once the call returned: its
 *        buffers and bytes when it succeeded, the decoded vector when not,
 *        and the short count a fault made of it.
 * @param c     the call (its text is written again).
 * @param fc    FC_RECV or FC_SEND: which fault note applies.
 * @param name  "readv" or "writev".
 * @param fd, iov, n  the call's arguments.
 * @param rc    what the call returned.
 * @return the bytes in the vector (0 when the call failed).
 */
size_t iov_call_line(struct call *c, enum fault_call fc, const char *name, int fd,
                     const struct iovec *iov, int n, ssize_t rc);

/** @} */

#endif /* SOCKETLAB_CALL_H */
