/*
 * threads_bind.c - four threads, each makes 500 sockets, binds each to
 * 127.0.0.1:0 and closes it. Every bind is traced once, in a line of its
 * own (one write(2) per line: no line torn by another thread's).
 */
#include "common.h"

#include <pthread.h>

#define THREADS 4
#define BINDS 500

static void *binder(void *arg)
{
    long ok = 0;

    (void)arg;
    for (int i = 0; i < BINDS; i++) {
        struct sockaddr_in a;
        int fd = socket(AF_INET, SOCK_STREAM, 0);

        memset(&a, 0, sizeof(a));
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        ok += fd != -1 && bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
        close(fd);
    }
    return (void *)ok;
}

int main(void)
{
    pthread_t t[THREADS];
    long total = 0;

    for (int i = 0; i < THREADS; i++)
        pthread_create(&t[i], NULL, binder, NULL);
    for (int i = 0; i < THREADS; i++) {
        void *ok;

        pthread_join(t[i], &ok);
        total += (long)ok;
    }
    printf("binds that succeeded: %ld of %d\n", total, THREADS * BINDS);
    return total == THREADS * BINDS ? 0 : 1;
}
