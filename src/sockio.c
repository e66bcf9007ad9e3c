/*
 * sockio.c - send and receive loops, timeouts, signals and the data lines
 * on stdout (see sockio.h).
 */
#include "sockio.h"

#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "addr.h"
#include "trace.h"

/* How much of the data a trace line or a data line shows. */
#define TRACE_DATA_MAX 64
#define LINE_DATA_MAX 4096

static volatile sig_atomic_t stop_flag;

ssize_t send_all(int step, int fd, const void *buf, size_t len)
{
    const char *p = buf;
    size_t left = len;
    char shown[TRACE_DATA_MAX];

    while (left > 0) {
        /* MSG_NOSIGNAL: a closed peer gives EPIPE, not a fatal SIGPIPE. */
        ssize_t n = send(fd, p, left, MSG_NOSIGNAL);

        trace_call(step, n, NO_VIEW, "send(%d, \"%s\", %zu, MSG_NOSIGNAL)", fd,
                   quote_bytes(p, left, shown, sizeof(shown)), left);
        if (n == -1) {
            if (errno == EINTR)
                continue;           /* interrupted before sending: again */
            return -1;
        }
        p += n;                     /* a short write: send the rest */
        left -= (size_t)n;
    }
    /* The data lines printed so far go out now, while the peer works on
     * what we sent: off the round trip's critical path (see print_data). */
    fflush(stdout);
    return (ssize_t)len;
}

ssize_t recv_exactly(int step, int fd, void *buf, size_t want)
{
    char *p = buf;
    size_t got = 0;

    while (got < want) {
        ssize_t n = recv(fd, p + got, want - got, 0);

        trace_call(step, n, NO_VIEW, "recv(%d, buf, %zu, 0)", fd, want - got);
        if (n == -1) {
            if (errno == EINTR && !stop_flag)
                continue;
            return -1;
        }
        if (n == 0)
            break;                  /* the peer closed its end */
        got += (size_t)n;
    }
    return (ssize_t)got;
}

int set_timeouts(int step, int fd, double seconds)
{
    struct timeval tv;
    int rc;

    tv.tv_sec = (time_t)seconds;
    tv.tv_usec = (suseconds_t)((seconds - (double)tv.tv_sec) * 1e6);
    /* On Linux SO_SNDTIMEO also bounds a blocking connect(). */
    rc = setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    trace_call(step, rc, NO_VIEW, "setsockopt(%d, SOL_SOCKET, SO_SNDTIMEO, {%lds %ldus}, %zu)",
               fd, (long)tv.tv_sec, (long)tv.tv_usec, sizeof(tv));
    if (rc == -1)
        return -1;
    rc = setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    trace_call(step, rc, NO_VIEW, "setsockopt(%d, SOL_SOCKET, SO_RCVTIMEO, {%lds %ldus}, %zu)",
               fd, (long)tv.tv_sec, (long)tv.tv_usec, sizeof(tv));
    return rc;
}

void print_data(enum data_dir dir, const void *data, size_t len)
{
    static char line[LINE_DATA_MAX];
    const char *label;

    if (trace_lang_zh())
        label = dir == DATA_RECEIVED ? "接收：" : "发送：";
    else
        label = dir == DATA_RECEIVED ? "received: " : "sent: ";
    /* No fflush here: on a pipe or file, send_all() and sleep_seconds()
     * flush, so a round trip waits for no extra write(2). */
    printf("%s%s\n", label, quote_bytes(data, len, line, sizeof(line)));
}

void print_address(const char *label, const struct sockaddr *sa, socklen_t len)
{
    printf("%s %s\n", label, addr_str(sa, len));
    fflush(stdout);
}

void sleep_seconds(double seconds)
{
    struct timespec ts;

    if (seconds <= 0)
        return;                     /* even nanosleep(0) costs a timer slack */
    fflush(stdout);                 /* show what we did before we wait */
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
