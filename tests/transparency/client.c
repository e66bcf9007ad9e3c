/*
 * client.c - connects to 127.0.0.1:PORT, sends "ping", prints the reply:
 * the dynamic program a traced script runs.
 */
#include "common.h"

int main(int argc, char **argv)
{
    char buf[8];
    size_t n;
    int c;

    if (argc != 2)
        return 2;
    c = connect_to((unsigned short)atoi(argv[1]));
    send_all(c, "ping", 4);
    shutdown(c, SHUT_WR);
    n = recv_all(c, buf, sizeof(buf));
    printf("reply: %.*s\n", (int)n, buf);
    return 0;
}
