/*
 * libc_close.c - a socket closed inside libc (fclose() of an fdopen()ed
 * socket), then its number reused for a file. Under LAB_FAULT's
 * send:short=1 a write() to the file must still write every byte: faults
 * hit sockets only.
 * Usage: libc_close FILE
 */
#include "common.h"

#include <fcntl.h>

int main(int argc, char **argv)
{
    unsigned short port;
    int l, c, f;
    FILE *stream;
    ssize_t n;

    if (argc != 2)
        return 2;
    l = listener(&port);
    c = connect_to(port);
    stream = fdopen(c, "w");
    fputs("through stdio\n", stream);
    fclose(stream);                             /* closes c inside libc */
    f = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC, 0600);
    printf("the file got the socket's number: %s\n", f == c ? "yes" : "no");
    n = write(f, "twelve bytes", 12);
    printf("write to the file = %zd\n", n);
    close(f);
    close(l);
    return n == 12 ? 0 : 1;
}
