/*
 * sockio.h - what the programs do around their socket calls: the data
 * lines they print on stdout, sleeping between messages, SIGPIPE and the
 * stop signals. (The loops that finish a send() or read a whole reply are
 * the lessons' own: lesson 05 teaches them.)
 */
#ifndef SOCKETLAB_SOCKIO_H
#define SOCKETLAB_SOCKIO_H

#include <stddef.h>
#include <sys/socket.h>
#include <sys/types.h>

/**
 * @defgroup sockio Socket I/O
 * @brief stdout's data lines, sleeping, SIGPIPE and stop signals.
 * @{
 */

/** What a data line on stdout says the bytes were. */
enum data_dir {
    DATA_RECEIVED, /**< "received: ..." (the seed's 接收：; the same words in every language) */
    DATA_SENT      /**< "sent: ..." (the seed's 发送：) */
};

/**
 * @brief Print a data line on stdout: `received: <bytes>` or `sent: <bytes>`
 *        (the same words in every language: harnesses read them).
 * @param dir   received or sent.
 * @param data  the bytes; only these @p len bytes are printed, control
 *              bytes as `\xNN`.
 * @param len   how many bytes.
 *
 * On a terminal, with a trace, or where the program made stdout
 * line-buffered, the line goes out at once (between the trace's lines of
 * the calls before and after it). Otherwise it waits in the kit's buffer
 * for the next socket call that may wait (a blocking recv() or accept(),
 * poll(), epoll_wait(), ...), so a harness or a pipe sees each line before
 * the program blocks, and a round trip costs one write(2) of data lines,
 * not one per line. Lines printed with printf() before it go first.
 */
void print_data(enum data_dir dir, const void *data, size_t len);

/**
 * @brief Whether data lines wait in the kit's buffer.
 * @return 1 or 0.
 */
int data_lines_pending(void);

/**
 * @brief Write the data lines that wait, with one write(2).
 *        Async-signal-safe: the interposer calls it from inside a wrapper.
 */
void data_lines_flush(void);

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
