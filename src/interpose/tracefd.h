/*
 * tracefd.h - the trace's own fd: a high, close-on-exec copy of stderr (or
 * of LAB_TRACE_FILE) taken at start-up, as `strace -o` has its own file.
 * A program that closes fd 2, or gets it back as a socket, never receives
 * a trace line; one that closes or dup2()s over every fd keeps its trace.
 */
#ifndef SOCKETLAB_TRACEFD_H
#define SOCKETLAB_TRACEFD_H

#include <stddef.h>

/**
 * @addtogroup interpose
 * @{
 */

/**
 * @brief At start-up: take the trace's fd, a copy of stderr or the file
 *        `LAB_TRACE_FILE` names, as high as the fd limit allows, close-on-exec.
 *        Without stderr (the program was started with `2>&-`) there is none.
 */
void tracefd_open(void);

/** @brief Give the fd back: nothing will be traced (the kit's `-q`). */
void tracefd_close(void);

/**
 * @brief The trace's fd.
 * @return it, or -1 when there is none.
 */
int tracefd_get(void);

/**
 * @brief Whether the trace goes to a terminal (colour, `--pause`).
 * @return 1 or 0.
 */
int tracefd_is_tty(void);

/**
 * @brief Write a whole buffer with one write(2) (more only if the kernel
 *        takes part of it). A reader that went away never kills the
 *        program with SIGPIPE: the trace just stops.
 * @param buf  the bytes.
 * @param len  how many.
 */
void tracefd_write(const char *buf, size_t len);

/**
 * @brief Before the program makes fds @p lo to @p hi its own (dup2() or
 *        dup3() onto them): move the trace's fd out of that range.
 * @param lo  the first fd.
 * @param hi  the last fd.
 */
void tracefd_step_out(int lo, int hi);

/**
 * @brief Whether @p fd is the trace's fd, which the program never opened:
 *        its close() of it fails with EBADF, as it would untraced.
 * @param fd  the fd.
 * @return 1 or 0.
 */
int tracefd_is(int fd);

/** @} */

#endif /* SOCKETLAB_TRACEFD_H */
