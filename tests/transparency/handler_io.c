/*
 * handler_io.c - a signal handler does socket I/O (send and recv are
 * async-signal-safe) while main() prints 100,000 lines with stdio. Bare,
 * every line comes out whole; traced, the same, and no hang.
 * Usage: handler_io [blocking]   (blocking: the handler's recv() waits)
 */
#include "common.h"

#include <signal.h>
#include <sys/time.h>

#define LINES 100000

static int a, b;                    /* the two ends of a TCP connection */
static int blocking;
static volatile sig_atomic_t ticks, bad;

static void on_tick(int sig)
{
    char c = 'x';
    int saved = errno;
    ssize_t n;

    (void)sig;
    while ((n = send(a, &c, 1, MSG_DONTWAIT | MSG_NOSIGNAL)) == -1 && errno == EINTR)
        ;
    if (n == 1) {
        while ((n = recv(b, &c, 1, blocking ? 0 : MSG_DONTWAIT)) == -1 && errno == EINTR)
            ;
        if (n != 1 && !(n == -1 && errno == EAGAIN))
            bad = 1;
    }
    ticks++;
    errno = saved;
}

int main(int argc, char **argv)
{
    struct itimerval every = {{0, 200}, {0, 200}}, off = {{0, 0}, {0, 0}};
    struct sigaction sa;
    unsigned short port;
    int l = listener(&port);

    blocking = argc > 1 && strcmp(argv[1], "blocking") == 0;
    a = connect_to(port);
    b = accept(l, NULL, NULL);
    if (b == -1)
        DIE("accept");
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_tick;
    sa.sa_flags = SA_RESTART;
    sigaction(SIGALRM, &sa, NULL);
    setitimer(ITIMER_REAL, &every, NULL);
    for (int i = 0; i < LINES; i++)
        printf("line %d of %d: the quick brown fox jumps over the lazy dog\n", i, LINES);
    setitimer(ITIMER_REAL, &off, NULL);
    printf("done, handler %s\n", bad ? "failed" : "ok");
    return bad;
}
