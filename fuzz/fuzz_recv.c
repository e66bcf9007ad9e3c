/*
 * fuzz_recv.c - libFuzzer target for the server's receive path: the bytes
 * a recv() returns go through quote_bytes(), print_data() and the trace,
 * the way lesson 06's talk() handles them, over a real socketpair.
 * Build and run: make fuzz (see mk/hardening.mk).
 */
#include <assert.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "sockio.h"
#include "trace.h"

/* Lesson 06's buffer: one recv() takes at most BUF_SIZE - 1 bytes. */
#define BUF_SIZE 1024
#define REPLY "ok"
#define REPLY_LEN (sizeof(REPLY) - 1)
/* The most bytes one input may hold (more would fill the socketpair). */
#define INPUT_MAX 65536

/* quote_bytes() into a buffer of outsz bytes must give a prefix of the
 * whole quotation, plus "..." when cut, always NUL-terminated in bounds. */
static void check_quote(const uint8_t *data, size_t size, size_t outsz)
{
    size_t fullsz = 4 * size + 8;
    char *full = malloc(fullsz), *cut = malloc(outsz);
    size_t fulllen, cutlen;

    assert(full != NULL && cut != NULL);
    quote_bytes(data, size, full, fullsz);
    quote_bytes(data, size, cut, outsz);
    fulllen = strlen(full);
    cutlen = strnlen(cut, outsz);
    assert(cutlen < outsz);
    if (cutlen != fulllen || memcmp(cut, full, fulllen) != 0) {
        assert(cutlen >= 3 && memcmp(cut + cutlen - 3, "...", 3) == 0);
        assert(memcmp(cut, full, cutlen - 3) == 0);
    }
    free(full);
    free(cut);
}

/* Send all len bytes, as lesson 06's send loop does (short writes, EINTR). */
static void send_whole(int fd, const void *buf, size_t len)
{
    const char *p = buf;

    while (len > 0) {
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL);

        if (n == -1 && errno == EINTR)
            continue;
        assert(n > 0);
        p += n;
        len -= (size_t)n;
    }
}

/* Read until want bytes came or the peer closed; return how many came. */
static size_t recv_whole(int fd, void *buf, size_t want)
{
    char *p = buf;
    size_t got = 0;

    while (got < want) {
        ssize_t n = recv(fd, p + got, want - got, 0);

        if (n == -1 && errno == EINTR)
            continue;
        assert(n >= 0);
        if (n == 0)
            break;
        got += (size_t)n;
    }
    return got;
}

/* The server side of the exchange: talk() from lesson 06, step 5. */
static size_t serve(int fd)
{
    char buffer[BUF_SIZE];
    size_t reads = 0;

    for (;;) {
        ssize_t n = recv(fd, buffer, sizeof(buffer) - 1, 0);

        if (n <= 0)
            return reads;
        buffer[n] = '\0';
        print_data(DATA_RECEIVED, buffer, (size_t)n);
        send_whole(fd, REPLY, REPLY_LEN);
        print_data(DATA_SENT, REPLY, REPLY_LEN);
        reads++;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int ready;
    int sv[2];
    size_t reads;
    char replies[REPLY_LEN * INPUT_MAX];   /* at most one reply per byte */

    if (!ready) {
        /* JSON mode: the quoted bytes also go through the JSON escaper. The
         * socketpair is no TCP socket: trace every fd, so its calls are traced. */
        setenv("LAB_TRACE_ALL", "1", 1);
        trace_init(ROLE_SERVER, TRACE_JSON);
        ignore_sigpipe();
        ready = 1;
    }
    if (size > INPUT_MAX)
        return 0;
    check_quote(data, size, 5 + (size % 64));
    check_quote(data, size, 4096);

    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == -1)
        abort();
    /* The client: everything at once, then end-of-file. */
    send_whole(sv[1], data, size);
    shutdown(sv[1], SHUT_WR);
    reads = serve(sv[0]);
    close(sv[0]);
    /* Every read was answered, and the client reads the answers whole. */
    assert(recv_whole(sv[1], replies, REPLY_LEN * reads) == REPLY_LEN * reads);
    for (size_t i = 0; i < reads; i++)
        assert(memcmp(replies + REPLY_LEN * i, REPLY, REPLY_LEN) == 0);
    assert(recv_whole(sv[1], replies, 1) == 0);
    close(sv[1]);
    return 0;
}
