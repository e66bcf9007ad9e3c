/*
 * closed_stderr.c - a program that closed its stderr gets its next socket
 * as fd 2. Whatever the peer receives on it must be the program's bytes
 * only: a trace line written to "stderr" would land in the protocol.
 */
#include "common.h"

int main(void)
{
    unsigned short port;
    char got[256];
    size_t n;
    int c, l, s;

    close(STDERR_FILENO);
    c = socket(AF_INET, SOCK_STREAM, 0);        /* fd 2 */
    l = listener(&port);
    {
        struct sockaddr_in a;

        memset(&a, 0, sizeof(a));
        a.sin_family = AF_INET;
        a.sin_port = htons(port);
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (connect(c, (struct sockaddr *)&a, sizeof(a)) == -1)
            return 1;
    }
    s = accept(l, NULL, NULL);
    send_all(c, "hello over fd 2", 15);
    shutdown(c, SHUT_WR);
    n = recv_all(s, got, sizeof(got) - 1);
    got[n] = '\0';
    printf("client fd %d; the peer received %zu bytes: [%s]\n", c, n, got);
    return 0;
}
