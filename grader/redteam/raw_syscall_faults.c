/* redteam: go around fault injection. Lesson 05 with three short-write bugs
 * (a reply and the client's messages sent with one unchecked send(), EINTR
 * taken as fatal) whose send() and recv() are raw syscall()s, so nothing in
 * the process can cut them, and which print "injected" lines as if faults
 * had been made and survived. Faults made from outside (ptrace, at the
 * syscall boundary) cut the raw calls just the same: the lesson earns no
 * more than the three bugs without the trick.
 * lesson: 05-send-recv
 * files: server.c client.c
 * at: top
 * mutants: ignore-short-send ignore-short-send-client eintr-is-fatal
 * expect: mutants
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

static ssize_t redteam_send(int fd, const void *buf, size_t len, int flags)
{
    return syscall(SYS_sendto, fd, buf, len, flags, NULL, 0);
}

static ssize_t redteam_recv(int fd, void *buf, size_t len, int flags)
{
    return syscall(SYS_recvfrom, fd, buf, len, flags, NULL, NULL);
}

#define send(fd, buf, len, flags) redteam_send(fd, buf, len, flags)
#define recv(fd, buf, len, flags) redteam_recv(fd, buf, len, flags)

static void redteam(void)
{
    fprintf(stderr, "libfault: send call 1: short write\nlibfault: send call 3: EINTR\n"
            "[injected: short write]\n[injected: EINTR]\n");
}
