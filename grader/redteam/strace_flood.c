/* redteam: grow the grader's strace logs: for 2.5 s at the start of every
 * run, sendmsg() a 64-piece message on a socketpair that soon is full (each
 * call one long line of strace's log, which prints the pieces: hundreds of
 * MB unbounded), then the program goes on. Each log the harness keeps is
 * cut at a few MB; what the flood pushes out of a log costs the lesson its
 * points, nothing else.
 * lesson: 01-socket
 * expect: any
 */
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

static void redteam(void)
{
    static char byte = 'x';
    struct iovec iov[64];
    struct msghdr msg = {0};
    struct timespec start, now;
    int sv[2], i;

    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == -1)
        return;
    for (i = 0; i < 64; i++) {
        iov[i].iov_base = &byte;
        iov[i].iov_len = 1;
    }
    msg.msg_iov = iov;
    msg.msg_iovlen = 64;
    clock_gettime(CLOCK_MONOTONIC, &start);
    do {
        (void)sendmsg(sv[0], &msg, MSG_DONTWAIT);
        clock_gettime(CLOCK_MONOTONIC, &now);
    } while ((now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000 < 2500);
    close(sv[0]);
    close(sv[1]);
}
