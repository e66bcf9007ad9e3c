/*
 * tracefd.c - the trace's own fd (see tracefd.h).
 */
#define _GNU_SOURCE             /* F_DUPFD_CLOEXEC, close_range */
#include "tracefd.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "wrapped.h"

/* The trace takes the highest fd it can, up to this one: far from the
 * small numbers a program gets, within select()'s FD_SETSIZE. */
#define TRACE_FD_CEILING 1023

static int out_fd = -1;
static int out_tty;
static int out_pipe;        /* a pipe or socket: a gone reader means SIGPIPE */

/* The lowest fd to take: the top of the fd limit, or the ceiling. */
static int high_fd(void)
{
    struct rlimit rl;

    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
        rl.rlim_cur <= TRACE_FD_CEILING)
        return rl.rlim_cur > 3 ? (int)rl.rlim_cur - 1 : 3;
    return TRACE_FD_CEILING;
}

/* A close-on-exec copy of fd at the highest number free, else lower. */
static int dup_high(int fd)
{
    int high = REAL(fcntl)(fd, F_DUPFD_CLOEXEC, high_fd());

    return high != -1 ? high : REAL(fcntl)(fd, F_DUPFD_CLOEXEC, 3);
}

void tracefd_open(void)
{
    const char *file = getenv("LAB_TRACE_FILE");
    int src = STDERR_FILENO;
    struct stat st;

    if (file != NULL && *file != '\0') {
        src = open(file, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
        if (src == -1) {
            fprintf(stderr, "socketlab: cannot write the trace to LAB_TRACE_FILE '%s': %s\n",
                    file, strerror(errno));
            src = STDERR_FILENO;
        }
    }
    out_fd = dup_high(src);     /* fails (EBADF) when stderr is closed: no trace */
    if (src != STDERR_FILENO)
        REAL(close)(src);
    if (out_fd == -1)
        return;
    out_tty = isatty(out_fd);
    out_pipe = fstat(out_fd, &st) == 0 && (S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode));
}

void tracefd_close(void)
{
    if (out_fd != -1)
        REAL(close)(out_fd);
    out_fd = -1;
}

int tracefd_get(void)
{
    return __atomic_load_n(&out_fd, __ATOMIC_RELAXED);
}

int tracefd_is_tty(void)
{
    return out_tty;
}

int tracefd_is(int fd)
{
    return fd >= 0 && fd == tracefd_get();
}

void tracefd_step_out(int lo, int hi)
{
    int fd = tracefd_get(), moved;

    if (fd == -1 || fd < lo || fd > hi)
        return;
    moved = hi < INT_MAX ? REAL(fcntl)(fd, F_DUPFD_CLOEXEC, hi + 1) : -1;
    if (moved == -1 && lo > 3)
        moved = REAL(fcntl)(fd, F_DUPFD_CLOEXEC, 3);
    if (moved != -1 && moved >= lo && moved <= hi) {  /* not below lo after all */
        REAL(close)(moved);
        moved = -1;
    }
    /* The program's dup2() closes the old number itself. Nowhere to go:
     * the trace stops rather than write into the program's fd. */
    __atomic_store_n(&out_fd, moved, __ATOMIC_RELAXED);
}

/* write(2) with SIGPIPE blocked: a reader that went away makes EPIPE,
 * and the SIGPIPE the kernel raised for it is taken back. */
static ssize_t write_no_sigpipe(int fd, const char *buf, size_t len)
{
    static const struct timespec now = {0, 0};
    sigset_t pipe_only, old;
    ssize_t n;

    sigemptyset(&pipe_only);
    sigaddset(&pipe_only, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_only, &old);
    n = REAL(write)(fd, buf, len);
    if (n == -1 && errno == EPIPE)
        sigtimedwait(&pipe_only, NULL, &now);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return n;
}

void tracefd_write(const char *buf, size_t len)
{
    int saved = errno, fd = tracefd_get();

    while (fd != -1 && len > 0) {
        ssize_t n = out_pipe ? write_no_sigpipe(fd, buf, len) : REAL(write)(fd, buf, len);

        if (n == -1 && errno == EINTR)
            continue;
        if (n <= 0) {               /* the reader is gone: the program goes on */
            __atomic_store_n(&out_fd, -1, __ATOMIC_RELAXED);
            break;
        }
        buf += n;
        len -= (size_t)n;
    }
    errno = saved;
}
