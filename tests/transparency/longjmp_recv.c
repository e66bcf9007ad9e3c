/*
 * longjmp_recv.c - UNP's read timeout: alarm() and siglongjmp() out of a
 * recv() that waits, three times. After the jumps the calls are still
 * traced and faults still injected (nothing a jump leaves behind).
 */
#include "common.h"

#include <setjmp.h>
#include <signal.h>
#include <sys/time.h>

static sigjmp_buf env;

static void on_alarm(int sig)
{
    (void)sig;
    siglongjmp(env, 1);
}

int main(void)
{
    struct itimerval soon = {{0, 0}, {0, 50000}};
    volatile int timeouts = 0;
    unsigned short port;
    int l = listener(&port), c = connect_to(port), s = accept(l, NULL, NULL);
    char buf[16];
    size_t n;

    signal(SIGALRM, on_alarm);
    while (timeouts < 3) {
        if (sigsetjmp(env, 1) != 0) {
            timeouts++;
            continue;
        }
        setitimer(ITIMER_REAL, &soon, NULL);
        recv(c, buf, sizeof(buf), 0);           /* nothing comes: the alarm jumps out */
        puts("recv returned: unexpected");
        return 1;
    }
    send_all(c, "after the jumps", 15);
    n = recv_all(s, buf, 15);
    printf("timeouts %d; after them %zu bytes arrived whole\n", timeouts, n);
    return 0;
}
