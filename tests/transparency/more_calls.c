/*
 * more_calls.c - the calls a tracer must not miss: a non-blocking connect
 * finished by select() and getsockopt(SO_ERROR), dup2(), socketpair(),
 * ioctl(FIONBIO), ppoll(), epoll_create(), epoll_pwait(), sendmmsg(),
 * recvmmsg(), sendfile(), dup(), dup3(), fcntl(F_DUPFD), each once.
 * Built twice: plain, and -O2 -D_FORTIFY_SOURCE=2 (poll -> __poll_chk).
 * Usage: more_calls FILE   (a file for sendfile to read)
 */
#include "common.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/select.h>
#include <sys/sendfile.h>

int main(int argc, char **argv)
{
    unsigned short port;
    int l = listener(&port), c = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0), s, d, e, f, ep;
    struct sockaddr_in a;
    struct pollfd fds[2];
    struct timespec tmo = {5, 0};
    struct epoll_event ev = {.events = EPOLLIN}, out[2];
    struct iovec iov[2] = {{"mm1", 3}, {"mm2", 3}};
    struct mmsghdr mm[2];
    char buf[64];
    int err = -1, sv[2], fd_file;
    socklen_t len = sizeof(err);
    fd_set w;
    nfds_t nfds = 1;

    if (argc != 2)
        return 2;
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(c, (struct sockaddr *)&a, sizeof(a)) == 0 || errno != EINPROGRESS)
        DIE("connect");
    FD_ZERO(&w);
    FD_SET(c, &w);
    printf("select %d\n", select(c + 1, NULL, &w, NULL, NULL));
    d = getsockopt(c, SOL_SOCKET, SO_ERROR, &err, &len);
    printf("getsockopt %d, SO_ERROR %d\n", d, err);
    printf("ioctl FIONBIO %d\n", ioctl(c, FIONBIO, &(int){0}));
    d = dup2(c, 20);
    printf("dup2 %d\n", d);
    s = accept(l, NULL, NULL);
    send_all(d, "via dup2", 8);
    printf("recv %zu\n", recv_all(s, buf, 8));
    printf("socketpair %d\n", socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
    fds[0] = (struct pollfd){.fd = s, .events = POLLIN};
    __asm__ volatile("" : "+r"(nfds));          /* a count the compiler cannot see: __poll_chk */
    send_all(c, "p", 1);
    printf("poll %d\n", poll(fds, nfds, 5000));
    printf("ppoll %d\n", ppoll(fds, 1, &tmo, NULL));
    recv_all(s, buf, 1);
    ep = epoll_create(1);
    printf("epoll_ctl %d\n", epoll_ctl(ep, EPOLL_CTL_ADD, s, &ev));
    memset(mm, 0, sizeof(mm));
    mm[0].msg_hdr.msg_iov = &iov[0];
    mm[0].msg_hdr.msg_iovlen = 1;
    mm[1].msg_hdr.msg_iov = &iov[1];
    mm[1].msg_hdr.msg_iovlen = 1;
    printf("sendmmsg %d\n", sendmmsg(c, mm, 2, 0));
    printf("epoll_pwait %d\n", epoll_pwait(ep, out, 2, 5000, NULL));
    {
        char r1[3], r2[3];
        struct iovec in[2] = {{r1, 3}, {r2, 3}};
        struct mmsghdr rm[2];

        memset(rm, 0, sizeof(rm));
        rm[0].msg_hdr.msg_iov = &in[0];
        rm[0].msg_hdr.msg_iovlen = 1;
        rm[1].msg_hdr.msg_iov = &in[1];
        rm[1].msg_hdr.msg_iovlen = 1;
        printf("recvmmsg >= 1: %s\n", recvmmsg(s, rm, 2, MSG_WAITFORONE, NULL) >= 1 ? "yes" : "no");
    }
    fd_file = open(argv[1], O_RDONLY);
    {
        ssize_t sent = 0, n;                    /* a short count: send the rest */

        while (sent < 5 && (n = sendfile(c, fd_file, NULL, (size_t)(5 - sent))) > 0)
            sent += n;
        printf("sendfile %zd\n", sent);
    }
    e = dup(c);
    f = fcntl(c, F_DUPFD, 30);
    d = dup3(c, 40, O_CLOEXEC);
    printf("dup %s, F_DUPFD %d, dup3 %d\n", e > 0 ? "ok" : "failed", f, d);
    close(fd_file);
    return 0;
}
