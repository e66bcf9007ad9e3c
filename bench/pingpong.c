/*
 * pingpong.c - the bare baseline for `make bench`: the seed's exchange with
 * nothing else, no tracing, no printing. A forked server answers "ok" to
 * each message; the client times N round trips over loopback.
 *
 * Usage: pingpong N [SERVER_CPU CLIENT_CPU]
 *        (with the CPUs, each side is pinned to one, as make bench pins the
 *        lesson's server and client: see bench/bench.sh)
 */
#define _GNU_SOURCE             /* sched_setaffinity, CPU_SET */
#include <arpa/inet.h>
#include <sched.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* The same message size as the seed's (40 bytes of UTF-8). */
#define MESSAGE "这是第1个超级女生，编号001。"

static void serve(int listenfd)
{
    char buf[1024];
    int fd = accept(listenfd, NULL, NULL);
    ssize_t n;

    while (fd != -1 && (n = recv(fd, buf, sizeof(buf) - 1, 0)) > 0)
        if (send(fd, "ok", 2, MSG_NOSIGNAL) != 2)
            break;
    _exit(0);
}

/* Run this process on CPU cpu alone (cpu < 0: leave it be). */
static void pin(int cpu)
{
    cpu_set_t set;

    if (cpu < 0)
        return;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    if (sched_setaffinity(0, sizeof(set), &set) == -1)
        perror("pingpong: sched_setaffinity");
}

int main(int argc, char *argv[])
{
    struct sockaddr_in sa = {.sin_family = AF_INET};
    socklen_t len = sizeof(sa);
    struct timespec t0, t1;
    long n = argc > 1 ? strtol(argv[1], NULL, 10) : 10000;
    char reply[2];
    int listenfd, fd;
    pid_t pid;

    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    listenfd = socket(AF_INET, SOCK_STREAM, 0);
    if (listenfd == -1 || bind(listenfd, (struct sockaddr *)&sa, len) == -1 ||
        listen(listenfd, 1) == -1 || getsockname(listenfd, (struct sockaddr *)&sa, &len) == -1) {
        perror("pingpong: listen");
        return 1;
    }
    pid = fork();
    if (pid == 0) {
        pin(argc > 3 ? atoi(argv[2]) : -1);
        serve(listenfd);
    }
    pin(argc > 3 ? atoi(argv[3]) : -1);
    fd = socket(AF_INET, SOCK_STREAM, 0);
    if (connect(fd, (struct sockaddr *)&sa, len) == -1) {
        perror("pingpong: connect");
        return 1;
    }
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (long i = 0; i < n; i++) {
        size_t got = 0;
        if (send(fd, MESSAGE, strlen(MESSAGE), MSG_NOSIGNAL) == -1)
            return 1;
        while (got < sizeof(reply)) {
            ssize_t r = recv(fd, reply + got, sizeof(reply) - got, 0);
            if (r <= 0)
                return 1;
            got += (size_t)r;
        }
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    close(fd);
    waitpid(pid, NULL, 0);
    printf("%.6f\n", (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
    return 0;
}
