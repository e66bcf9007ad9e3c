/*
 * sockio.h - I/O on a connected socket that survives what TCP really does:
 * short writes, EINTR, replies in pieces, a peer that vanishes. And the
 * data lines the programs print on stdout.
 */
#ifndef SOCKETLAB_SOCKIO_H
#define SOCKETLAB_SOCKIO_H

#include <stddef.h>
#include <sys/socket.h>
#include <sys/types.h>

/**
 * @defgroup sockio Socket I/O
 * @brief Loops that finish a send or a reply, timeouts, and stdout's data lines.
 * @{
 */

/** What a data line on stdout says the bytes were. */
enum data_dir {
    DATA_RECEIVED, /**< "received: ..." (the seed's 接收：) */
    DATA_SENT      /**< "sent: ..." (the seed's 发送：) */
};

/**
 * @brief Send all @p len bytes, calling send() as often as it takes.
 * @param step  the step to trace each send() under.
 * @param fd    a connected socket.
 * @param buf   the bytes.
 * @param len   how many.
 * @return @p len on success; -1 on error with errno set (EPIPE when the
 *         peer has gone: MSG_NOSIGNAL keeps SIGPIPE from killing us).
 *
 * send() may take fewer bytes than asked (a short write) or be interrupted
 * by a signal (EINTR) before it takes any; both are retried, and each call
 * is traced.
 */
ssize_t send_all(int step, int fd, const void *buf, size_t len);

/**
 * @brief Receive exactly @p want bytes unless the peer closes first.
 * @param step  the step to trace each recv() under.
 * @param fd    a connected socket.
 * @param buf   where the bytes go.
 * @param want  how many bytes make a whole reply.
 * @return the bytes received: @p want, or fewer if the peer closed its end
 *         (0 when it closed at once); -1 on error with errno set (EAGAIN
 *         when the socket's receive timeout ran out).
 *
 * TCP is a byte stream: a two-byte reply may arrive as two one-byte
 * pieces, so one recv() is not one message.
 */
ssize_t recv_exactly(int step, int fd, void *buf, size_t want);

/**
 * @brief Give up on connect(), send() and recv() on @p fd after @p seconds
 *        (SO_SNDTIMEO and SO_RCVTIMEO), each setsockopt traced.
 * @param step     the step to trace under.
 * @param fd       a socket.
 * @param seconds  the timeout, more than 0.
 * @return 0 on success; -1 on error with errno set.
 */
int set_timeouts(int step, int fd, double seconds);

/**
 * @brief Print a data line on stdout: `received: <bytes>` or `sent: <bytes>`
 *        (the seed's 接收：/发送： with `LAB_LANG=zh`).
 * @param dir   received or sent.
 * @param data  the bytes; only these @p len bytes are printed, control
 *              bytes as `\xNN`.
 * @param len   how many bytes.
 *
 * The line is not flushed at once: send_all() and sleep_seconds() flush
 * stdout (and exit() does), so on a pipe the lines arrive in order without
 * a write(2) inside each round trip. On a terminal stdout is line-buffered.
 */
void print_data(enum data_dir dir, const void *data, size_t len);

/**
 * @brief Print `LABEL ADDR:PORT` on stdout and flush it, such as
 *        `listening on 0.0.0.0:40123`, so a harness can read the port.
 * @param label  the words before the address ("listening on").
 * @param sa     the address, as getsockname() returned it.
 * @param len    its length.
 */
void print_address(const char *label, const struct sockaddr *sa, socklen_t len);

/**
 * @brief Sleep for @p seconds, resuming after signals, unless a stop was
 *        requested (see catch_stop_signals()).
 * @param seconds  how long; 0 returns at once.
 */
void sleep_seconds(double seconds);

/**
 * @brief Ignore SIGPIPE, so writing to a closed peer fails with EPIPE that
 *        we can report instead of killing the program.
 */
void ignore_sigpipe(void);

/**
 * @brief Catch SIGINT and SIGTERM: blocking calls then fail with EINTR and
 *        stop_requested() turns true, so a server can close and exit 0.
 *
 * A stop that arrives just before a blocking call (after the loop checked
 * stop_requested()) is still seen: the handler also arms alarm(1), and the
 * caught SIGALRM interrupts that call within a second.
 */
void catch_stop_signals(void);

/**
 * @brief Whether SIGINT or SIGTERM has arrived since catch_stop_signals().
 * @return 1 if so, else 0.
 */
int stop_requested(void);

/** @} */

#endif /* SOCKETLAB_SOCKIO_H */
