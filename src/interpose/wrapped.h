/*
 * wrapped.h - the table of wrapped calls: every libc function the
 * interposer replaces, what kind of socket call it is, which LAB_FAULT
 * rules name it, and libc's own function, looked up once at start-up.
 */
#ifndef SOCKETLAB_WRAPPED_H
#define SOCKETLAB_WRAPPED_H

/* Each .c here defines _GNU_SOURCE first: accept4, dup3, ppoll, sendmmsg,
 * close_range, fcntl64 and sendfile64 are GNU names. */
#include <fcntl.h>
#include <poll.h>
#include <stddef.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/select.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "fault.h"

/**
 * @addtogroup interpose
 * @{
 */

/** What a call does, for the seed's step it belongs to (see call.c). */
enum call_kind {
    K_SOCKET,   /**< makes a socket */
    K_OPTION,   /**< options, flags, duplicates: the step of the socket's phase */
    K_BIND,     /**< bind */
    K_LISTEN,   /**< listen */
    K_ACCEPT,   /**< accept, accept4 */
    K_CONNECT,  /**< connect */
    K_NAME,     /**< getsockname */
    K_PEER,     /**< getpeername */
    K_IO,       /**< sends and receives */
    K_WAIT,     /**< poll, select, epoll */
    K_SHUTDOWN, /**< shutdown */
    K_CLOSE     /**< close */
};

/**
 * The wrapped functions: name, kind, the LAB_FAULT call that names it (or
 * FC_NONE), each given to @p X. The fortified __*_chk ones check their size
 * and call the plain wrapper, so they need no row of their own.
 */
#define WRAPPED_CALLS(X) \
    X(socket, K_SOCKET, FC_SOCKET)          X(socketpair, K_SOCKET, FC_SOCKET) \
    X(bind, K_BIND, FC_BIND)                X(listen, K_LISTEN, FC_LISTEN) \
    X(accept, K_ACCEPT, FC_ACCEPT)          X(accept4, K_ACCEPT, FC_ACCEPT) \
    X(connect, K_CONNECT, FC_CONNECT)       X(shutdown, K_SHUTDOWN, FC_NONE) \
    X(setsockopt, K_OPTION, FC_NONE)        X(getsockopt, K_OPTION, FC_NONE) \
    X(getsockname, K_NAME, FC_NONE)         X(getpeername, K_PEER, FC_NONE) \
    X(send, K_IO, FC_SEND)                  X(sendto, K_IO, FC_SEND) \
    X(sendmsg, K_IO, FC_SEND)               X(sendmmsg, K_IO, FC_SEND) \
    X(write, K_IO, FC_SEND)                 X(writev, K_IO, FC_SEND) \
    X(sendfile, K_IO, FC_SEND)              X(sendfile64, K_IO, FC_SEND) \
    X(recv, K_IO, FC_RECV)                  X(recvfrom, K_IO, FC_RECV) \
    X(recvmsg, K_IO, FC_RECV)               X(recvmmsg, K_IO, FC_RECV) \
    X(read, K_IO, FC_RECV)                  X(readv, K_IO, FC_RECV) \
    X(close, K_CLOSE, FC_CLOSE)             X(close_range, K_CLOSE, FC_NONE) \
    X(closefrom, K_CLOSE, FC_NONE)          X(dup, K_OPTION, FC_NONE) \
    X(dup2, K_OPTION, FC_NONE)              X(dup3, K_OPTION, FC_NONE) \
    X(fcntl, K_OPTION, FC_NONE)             X(fcntl64, K_OPTION, FC_NONE) \
    X(ioctl, K_OPTION, FC_NONE)             X(poll, K_WAIT, FC_NONE) \
    X(ppoll, K_WAIT, FC_NONE)               X(select, K_WAIT, FC_NONE) \
    X(pselect, K_WAIT, FC_NONE)             X(epoll_create, K_WAIT, FC_NONE) \
    X(epoll_create1, K_WAIT, FC_NONE)       X(epoll_ctl, K_WAIT, FC_NONE) \
    X(epoll_wait, K_WAIT, FC_NONE)          X(epoll_pwait, K_WAIT, FC_NONE) \
    X(epoll_pwait2, K_WAIT, FC_NONE)

/** One row per wrapped function: W_socket, W_bind, ... */
enum wrapped {
#define WRAPPED_ENUM(name, kind, fc) W_##name,
    WRAPPED_CALLS(WRAPPED_ENUM)
#undef WRAPPED_ENUM
    W_COUNT     /**< how many there are */
};

/** What the table says of one wrapped function. */
struct wrapped_call {
    const char *name;       /**< the libc symbol: "socket" */
    enum call_kind kind;    /**< for its step */
    enum fault_call fault;  /**< the LAB_FAULT call that names it, or FC_NONE */
};

/** The table, indexed by enum wrapped. */
extern const struct wrapped_call wrapped_calls[W_COUNT];

/**
 * @brief libc's own function for a row of the table (looked up at
 *        start-up; never NULL: a libc without it ends the program).
 * @param w  the row.
 * @return the function, to be cast to its type (see REAL()).
 */
void *real_fn(enum wrapped w);

/**
 * @def WRAPPER
 * In the preload library only the wrappers are exported (the rest is
 * hidden: -fvisibility=hidden), so a traced program's own functions of the
 * same names cannot replace the interposer's helpers.
 */
#ifdef LAB_PRELOAD
#define WRAPPER __attribute__((visibility("default")))
#else
#define WRAPPER
#endif

/** libc's own @p name, with the type of the wrapper of that name. */
#define REAL(name) ((__typeof__(&name))real_fn(W_##name))

/**
 * @brief Whether the interposer has anything to do: a trace to print, a
 *        prompt to show or faults to inject, and no other copy of it in
 *        the program (a kit program under tools/trace traces itself).
 * @return 1 or 0; when 0 every wrapper is libc's function plus a branch.
 */
int interpose_active(void);

/** @} */

#endif /* SOCKETLAB_WRAPPED_H */
