/* redteam: take memory eight times over: eight children of 96 MB each
 * (touched), each saying when it holds it (768 MB); the test grades with
 * --memory 640 for the whole grading. All eight holding their memory and
 * alive together means the limit is per process, not per submission (exit
 * 3). Once per submission (a mark in HOME), so other runs stay quick.
 * lesson: 01-socket
 * expect: full
 * options: --memory 640
 */
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* Where a child keeps its memory: seen from outside, so the compiler keeps
 * the allocation and the writes that touch it. */
static char *volatile redteam_held;

static void redteam(void)
{
    enum { CHILDREN = 8, EACH = 96 << 20 };
    pid_t kids[CHILDREN];
    char mark[512], c;
    struct pollfd pfd;
    int fds[2], i, ready = 0;
    FILE *f;

    snprintf(mark, sizeof mark, "%s/redteam-children", getenv("HOME") ? getenv("HOME") : "/tmp");
    if ((f = fopen(mark, "r")) != NULL) {
        fclose(f);
        return;
    }
    if ((f = fopen(mark, "w")) != NULL)
        fclose(f);
    if (pipe(fds) == -1)
        return;
    for (i = 0; i < CHILDREN; i++) {
        kids[i] = fork();
        if (kids[i] == 0) {
            char *p = malloc(EACH);

            redteam_held = p;
            if (p != NULL) {
                memset(p, 0x6b, EACH);
                if (write(fds[1], "x", 1) != 1)
                    _exit(1);
            }
            pause();
            _exit(0);
        }
    }
    close(fds[1]);
    pfd.fd = fds[0];
    pfd.events = POLLIN;
    while (ready < CHILDREN && poll(&pfd, 1, 3000) == 1 && read(fds[0], &c, 1) == 1)
        ready++;
    /* Ready and still alive, all of them, at this moment: the kernel may have
     * killed some that were ready to make room for the others. */
    for (i = 0; i < CHILDREN; i++)
        if (kids[i] <= 0 || waitpid(kids[i], NULL, WNOHANG) != 0)
            ready = 0;
    for (i = 0; i < CHILDREN; i++)
        if (kids[i] > 0)
            kill(kids[i], SIGKILL);
    while (wait(NULL) > 0)
        ;
    close(fds[0]);
    if (ready == CHILDREN) {
        fprintf(stderr, "redteam: %d children held %d MB each at once: no limit per submission\n",
                CHILDREN, EACH >> 20);
        _exit(3);
    }
}
