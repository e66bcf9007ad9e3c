/*
 * sockio.c - the data lines on stdout, sleeping, SIGPIPE and the stop
 * signals (see sockio.h).
 */
#include "sockio.h"

#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "addr.h"
#include "trace.h"

/* How much of the data a data line shows. */
#define LINE_DATA_MAX 4096

static volatile sig_atomic_t stop_flag;

void print_data(enum data_dir dir, const void *data, size_t len)
{
    static char line[LINE_DATA_MAX];
    /* The same words in every language: harnesses read these lines. */
    const char *label = dir == DATA_RECEIVED ? "received: " : "sent: ";

    /* No fflush here: before any socket call that may wait (recv,
     * accept, poll, ...) the interposer flushes stdout, so a round trip
     * costs one write(2) of data lines, not one per line. */
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
