/*
 * fuzz_args.c - libFuzzer target for the command lines: parse_long(),
 * parse_seconds() and parse_port() on each argument, then the whole argv
 * through parse_server_args() or parse_client_args().
 * Those exit() on a mistake; linked with -Wl,--wrap=exit, exit() in the
 * parsing thread ends that thread instead of the fuzzer (no longjmp).
 */
#include <assert.h>
#include <ctype.h>
#include <getopt.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"

#define MAX_ARGS 16

void __real_exit(int status) __attribute__((noreturn));

static __thread int parsing;       /* set only in the parsing thread */
static int exit_status;

/* exit() from parse_*_args(): end the parsing thread, keep the status. */
void __wrap_exit(int status)
{
    if (parsing) {
        exit_status = status;
        pthread_exit(NULL);
    }
    __real_exit(status);
}

struct job {
    int argc;
    char **argv;
    int which;                      /* 0 server, 1 server with -k, 2 client */
};

static void *parse(void *arg)
{
    struct job *job = arg;
    struct server_args sa;
    struct client_args ca;

    parsing = 1;
    optind = 0;                     /* glibc: start getopt afresh */
    if (job->which == 2) {
        parse_client_args(job->argc, job->argv, "fuzz", &ca);
        assert(ca.count >= 1 && ca.host != NULL && *ca.host != '\0' && ca.port >= 1);
        assert(ca.interval >= 0 && ca.timeout > 0);
    } else {
        parse_server_args(job->argc, job->argv, "fuzz", job->which ? SERVER_CAN_KEEP : 0, &sa);
        assert(sa.bind_addr != NULL);
    }
    exit_status = -1;               /* parsed without exiting */
    return NULL;
}

/* What the number helpers promise for one argument. */
static void check_numbers(const char *text)
{
    char err[ARG_ERR_MAX];
    long l;
    double d;
    unsigned short port;

    if (parse_long("n", text, -5, 70000, &l, err, sizeof(err)) == 0) {
        assert(l >= -5 && l <= 70000);
        assert(text[0] == '-' || isdigit((unsigned char)text[0]));
        assert(strspn(text + (text[0] == '-'), "0123456789") == strlen(text + (text[0] == '-')));
    } else {
        assert(strnlen(err, sizeof(err)) < sizeof(err) && err[0] != '\0');
    }
    if (parse_seconds("-i", text, 0, 3600, &d, err, sizeof(err)) == 0)
        assert(isfinite(d) && d >= 0 && d <= 3600);
    if (parse_port(text, 0, &port, err, sizeof(err)) == 0)
        assert(port >= 1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *copy, *argv[MAX_ARGS + 2];
    struct job job;
    pthread_t thread;

    if (size < 1)
        return 0;
    job.which = data[0] % 3;
    /* The rest: arguments separated by NUL bytes. */
    copy = malloc(size);
    assert(copy != NULL);
    memcpy(copy, data + 1, size - 1);
    copy[size - 1] = '\0';
    argv[0] = job.which == 2 ? "client" : "server";
    job.argc = 1;
    for (char *p = copy; p < copy + size && job.argc <= MAX_ARGS; p += strlen(p) + 1) {
        argv[job.argc++] = p;
        check_numbers(p);
    }
    argv[job.argc] = NULL;
    job.argv = argv;

    if (pthread_create(&thread, NULL, parse, &job) != 0)
        abort();
    pthread_join(thread, NULL);
    /* Parsed, or exited 2 (usage) or 0 (--help): nothing else. */
    assert(exit_status == -1 || exit_status == 0 || exit_status == 2);
    free(copy);
    return 0;
}
