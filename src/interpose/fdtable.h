/*
 * fdtable.h - what each fd is (a TCP or UDP socket, another socket, not a
 * socket at all) and how far along a socket is, as the wrapped calls made
 * it; where the table may be stale, the kernel is asked.
 */
#ifndef SOCKETLAB_FDTABLE_H
#define SOCKETLAB_FDTABLE_H

/**
 * @addtogroup interpose
 * @{
 */

/** What an fd is. */
enum fd_kind {
    FD_UNKNOWN,     /**< never seen (or not open) */
    FD_NOT_SOCKET,  /**< a file, pipe, terminal, ... */
    FD_TCP,         /**< an IPv4 or IPv6 stream socket: the kit's subject */
    FD_UDP,         /**< an IPv4 or IPv6 datagram socket */
    FD_OTHER,       /**< any other socket (Unix-domain, netlink, raw, ...) */
    FD_EPOLL        /**< an epoll instance */
};

/** How far along a socket is, for the step its calls serve. */
enum fd_phase { P_NONE, P_CREATED, P_BOUND, P_LISTENING, P_CONNECTING, P_CONNECTED };

/** One fd as the table knows it. */
struct fd_info {
    enum fd_kind kind;      /**< what it is */
    enum fd_phase phase;    /**< a socket's phase */
    int family;             /**< a socket's address family (AF_UNIX, ...) */
    int watches_inet;       /**< an epoll fd watching a TCP or UDP socket */
};

/** How much the caller trusts the table, by the call it is about to make. */
enum fd_trust {
    FD_SOCKET_CALL, /**< only a socket takes it (send, bind): trust a socket entry */
    FD_ANY_CALL,    /**< any fd takes it (read, close): confirm a socket entry */
    FD_KNOWN,       /**< trust any entry, ask only about an fd never seen (a poll's set) */
    FD_CONFIRM      /**< always ask the kernel (before injecting a fault) */
};

/**
 * @brief What @p fd is, from the table, or from the kernel (fstat(),
 *        getsockopt(SO_TYPE)) where the table knows nothing or may be
 *        stale for this call; what the kernel says is recorded.
 * @param fd     the fd.
 * @param trust  how far the table may be trusted.
 * @return what it is (FD_UNKNOWN when it is not open).
 */
struct fd_info fd_lookup(int fd, enum fd_trust trust);

/**
 * @brief What socket() makes of these arguments.
 * @param family    the family.
 * @param type      the type (flags ignored).
 * @param protocol  the protocol (0: the family's default).
 * @return FD_TCP, FD_UDP or FD_OTHER.
 */
enum fd_kind fd_kind_of(int family, int type, int protocol);

/**
 * @brief Whether calls on this fd are TCP or UDP socket calls.
 * @param i  the fd.
 * @return 1 or 0.
 */
int fd_is_inet(struct fd_info i);

/**
 * @brief The first TCP or UDP socket the table knows among fds @p lo to @p hi.
 * @param lo  the first fd.
 * @param hi  the last fd.
 * @return the fd, or -1.
 */
int fd_first_inet(unsigned lo, unsigned hi);

/**
 * @brief Record a socket made by socket(), socketpair() or accept().
 * @param fd        the new fd.
 * @param family    its family.
 * @param type      its type (SOCK_STREAM, ...; flags ignored).
 * @param protocol  its protocol (0: the family's default).
 * @param phase     P_CREATED, or P_CONNECTED for an accepted one.
 */
void fd_note_socket(int fd, int family, int type, int protocol, enum fd_phase phase);

/**
 * @brief Record an epoll instance.
 * @param fd  its fd.
 */
void fd_note_epoll(int fd);

/**
 * @brief Record that an epoll instance now watches a TCP or UDP socket.
 * @param epfd  the epoll fd.
 */
void fd_note_epoll_watches_inet(int epfd);

/**
 * @brief Record a socket's new phase (bound, listening, connected, ...).
 * @param fd     the socket.
 * @param phase  the phase.
 */
void fd_set_phase(int fd, enum fd_phase phase);

/**
 * @brief Record that @p to is now a copy of @p from (dup, dup2, F_DUPFD).
 * @param from  the old fd.
 * @param to    the new one.
 */
void fd_copy(int from, int to);

/**
 * @brief Forget fds @p lo to @p hi: closed, or received from elsewhere.
 * @param lo  the first fd.
 * @param hi  the last fd.
 */
void fd_forget(unsigned lo, unsigned hi);

/** @} */

#endif /* SOCKETLAB_FDTABLE_H */
