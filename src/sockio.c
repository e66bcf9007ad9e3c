/*
 * sockio.c - the data lines on stdout, sleeping, SIGPIPE and the stop
 * signals (see sockio.h).
 */
#include "sockio.h"

#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdio_ext.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "addr.h"
#include "interpose.h"
#include "trace.h"

/* How much of the data a data line shows. */
#define LINE_DATA_MAX 4096
/* The data lines held for the next call that may wait: a poll server's
 * round of replies, a client's round trip. */
#define PENDING_MAX 16384

static volatile sig_atomic_t stop_flag;

/*
 * The data lines are the kit's own, not stdio's: print_data() keeps them
 * here and the interposer writes them, with one write(2), before a call
 * that may wait (call.h's flush_before_wait()). A wrapper, which may run
 * in a signal handler, never touches the program's stdio; a buffer being
 * filled (busy) is left for its filler.
 */
static char pending[PENDING_MAX];
static size_t pending_len;
static int pending_busy;

static void write_all(const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = lab_real_write(STDOUT_FILENO, p, n);

        if (w == -1 && errno == EINTR)
            continue;
        if (w <= 0)
            return;                 /* stdout is gone: the program goes on */
        p += w;
        n -= (size_t)w;
    }
}

int data_lines_pending(void)
{
    return __atomic_load_n(&pending_len, __ATOMIC_RELAXED) != 0;
}

void data_lines_flush(void)
{
    int saved = errno;

    if (__atomic_exchange_n(&pending_busy, 1, __ATOMIC_ACQUIRE))
        return;
    write_all(pending, pending_len);
    pending_len = 0;
    __atomic_store_n(&pending_busy, 0, __ATOMIC_RELEASE);
    errno = saved;
}

/* Lines printed with printf() before this one go first, then the kit's. */
static void flush_stdout(void)
{
    if (__fpending(stdout) > 0) {
        data_lines_flush();
        fflush(stdout);
    }
}

/* Right away, or at the next wait? Right away when the trace interleaves
 * with the lines, on a terminal, and where the program made stdout
 * line-buffered (setvbuf: lessons 07 and 08). */
static int write_now(void)
{
    static int tty = -1;

    if (tty == -1)
        tty = isatty(STDOUT_FILENO);
    return trace_enabled() || tty || __flbf(stdout);
}

void print_data(enum data_dir dir, const void *data, size_t len)
{
    static char line[LINE_DATA_MAX + 16];
    /* The same words in every language: harnesses read these lines. */
    const char *label = dir == DATA_RECEIVED ? "received: " : "sent: ";
    size_t n = strlen(label);

    memcpy(line, label, n);
    quote_bytes(data, len, line + n, sizeof(line) - n - 1);
    n += strlen(line + n);
    line[n++] = '\n';
    flush_stdout();
    if (!write_now() && !__atomic_exchange_n(&pending_busy, 1, __ATOMIC_ACQUIRE)) {
        static int registered;

        if (!registered && atexit(data_lines_flush) == 0)
            registered = 1;
        if (pending_len + n > sizeof(pending)) {
            write_all(pending, pending_len);
            pending_len = 0;
        }
        memcpy(pending + pending_len, line, n);
        __atomic_store_n(&pending_len, pending_len + n, __ATOMIC_RELAXED);
        __atomic_store_n(&pending_busy, 0, __ATOMIC_RELEASE);
        if (registered)
            return;
    }
    data_lines_flush();
    write_all(line, n);
}

void print_address(const char *label, const struct sockaddr *sa, socklen_t len)
{
    data_lines_flush();
    printf("%s %s\n", label, addr_str(sa, len));
    fflush(stdout);
}

void sleep_seconds(double seconds)
{
    struct timespec ts;

    if (seconds <= 0)
        return;                     /* even nanosleep(0) costs a timer slack */
    data_lines_flush();             /* show what we did before we wait */
    fflush(stdout);
    ts.tv_sec = (time_t)seconds;
    ts.tv_nsec = (long)((seconds - floor(seconds)) * 1e9);
    while (nanosleep(&ts, &ts) == -1 && errno == EINTR && !stop_flag)
        ;                           /* a signal woke us early: sleep the rest */
}

void ignore_sigpipe(void)
{
    signal(SIGPIPE, SIG_IGN);
}

/*
 * A stop that lands after a loop checked stop_requested() but before it
 * blocks in recv() or accept() would be missed: signals interrupt only
 * calls already in progress. So a stop also arms alarm(1): SIGALRM, caught
 * here too, interrupts whatever call is blocked a second later, and again
 * each second until the program has stopped. (alarm is async-signal-safe.)
 */
static void on_stop(int sig)
{
    if (sig != SIGALRM)
        stop_flag = 1;
    if (stop_flag)
        alarm(1);
}

void catch_stop_signals(void)
{
    struct sigaction sa;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_stop;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0;                /* no SA_RESTART: accept() returns EINTR */
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGALRM, &sa, NULL);  /* see on_stop() */
}

int stop_requested(void)
{
    return stop_flag != 0;
}
