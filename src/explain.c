/*
 * explain.c - error messages with a cause and a hint (see explain.h).
 */
#include "explain.h"

#include <errno.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *prog_name = "socketlab";
static const char *usage_text = "";

void explain_init(const char *prog, const char *usage)
{
    prog_name = prog;
    usage_text = usage;
}

#define E(name) { name, #name }
static const struct { int err; const char *name; } errno_names[] = {
    E(EPERM), E(ENOENT), E(EINTR), E(EIO), E(EBADF), E(EAGAIN), E(ENOMEM),
    E(EACCES), E(EFAULT), E(EBUSY), E(EINVAL), E(ENFILE), E(EMFILE),
    E(ENOSPC), E(EPIPE), E(ENOTSOCK), E(EDESTADDRREQ), E(EMSGSIZE),
    E(EPROTOTYPE), E(ENOPROTOOPT), E(EPROTONOSUPPORT), E(EOPNOTSUPP),
    E(EAFNOSUPPORT), E(EADDRINUSE), E(EADDRNOTAVAIL), E(ENETDOWN),
    E(ENETUNREACH), E(ECONNABORTED), E(ECONNRESET), E(ENOBUFS), E(EISCONN),
    E(ENOTCONN), E(ETIMEDOUT), E(ECONNREFUSED), E(EHOSTDOWN),
    E(EHOSTUNREACH), E(EALREADY), E(EINPROGRESS),
};
#undef E

const char *errno_name(int err)
{
    for (size_t i = 0; i < sizeof(errno_names) / sizeof(errno_names[0]); i++)
        if (errno_names[i].err == err)
            return errno_names[i].name;
    return "E?";
}

const char *explain_hint(const char *call, int err)
{
    switch (err) {
    case EADDRINUSE:
        return "another program listens on this port, or an earlier connection on it "
               "is still in TIME_WAIT; wait, pick another port, or use port 0 "
               "(SO_REUSEADDR lets a server restart over TIME_WAIT, not over a live listener)";
    case EACCES:
        if (strcmp(call, "bind") == 0)
            return "ports below 1024 need root (CAP_NET_BIND_SERVICE); try a port above 1024";
        return "permission denied: a firewall rule or a missing privilege";
    case EADDRNOTAVAIL:
        return "that address is not one of this machine's; try 0.0.0.0 (all IPv4) or :: (all)";
    case ECONNREFUSED:
        return "nothing listens on that port: is the server running, on this host and port?";
    case ETIMEDOUT:
        return "no answer in time: the host is down, the address is wrong, "
               "or a firewall drops the packets";
    case EHOSTUNREACH:
    case ENETUNREACH:
    case EHOSTDOWN:
    case ENETDOWN:
        return "no route to that host: check the address and the network (and any firewall)";
    case ECONNRESET:
        return "the peer reset the connection: it crashed, was killed, or closed with unread data";
    case EPIPE:
        return "the peer has closed its end, so writing fails (SIGPIPE is ignored so we can say so)";
    case EMFILE:
    case ENFILE:
        return "too many open files: something is not closing its sockets (see `ulimit -n`)";
    case EAFNOSUPPORT:
        return "this address family is not available here (IPv6 switched off?)";
    case EAGAIN:
        if (strcmp(call, "recv") == 0 || strcmp(call, "send") == 0 || strcmp(call, "connect") == 0)
            return "timed out waiting for the peer (see the client's --timeout)";
        return NULL;
    case EINPROGRESS:
        if (strcmp(call, "connect") == 0)
            return "no answer within the timeout (-t): the host is down, the address is wrong, "
                   "or a firewall drops the packets";
        return NULL;
    case EINTR:
        return "a signal interrupted the call";
    default:
        return NULL;
    }
}

static void report(const char *call, int err, const char *fmt, va_list ap)
{
    const char *hint = explain_hint(call, err);

    fflush(stdout);                     /* keep stdout's lines before ours */
    fprintf(stderr, "%s: %s ", prog_name, call);
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, ": %s (%s)\n", strerror(err), errno_name(err));
    if (hint)
        fprintf(stderr, "%s: hint: %s\n", prog_name, hint);
}

void die_call(const char *call, const char *fmt, ...)
{
    int err = errno;
    va_list ap;

    va_start(ap, fmt);
    report(call, err, fmt, ap);
    va_end(ap);
    exit(EXIT_RUNTIME);
}

void warn_call(const char *call, const char *fmt, ...)
{
    int err = errno;
    va_list ap;

    va_start(ap, fmt);
    report(call, err, fmt, ap);
    va_end(ap);
    errno = err;
}

static void message(const char *fmt, va_list ap)
{
    fflush(stdout);
    fprintf(stderr, "%s: ", prog_name);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
}

void die_msg(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    message(fmt, ap);
    va_end(ap);
    exit(EXIT_RUNTIME);
}

void warn_msg(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    message(fmt, ap);
    va_end(ap);
}

void die_resolve(const char *host, const char *port, int gai_err)
{
    if (gai_err == EAI_SYSTEM)
        die_call("getaddrinfo", "%s port %s", host, port);
    fflush(stdout);                     /* keep stdout's lines before ours */
    /* Resolver errors have their own codes: gai_strerror, never perror. */
    fprintf(stderr, "%s: cannot resolve host '%s': %s\n", prog_name, host,
            gai_strerror(gai_err));
    if (gai_err == EAI_NONAME || gai_err == EAI_FAIL)
        fprintf(stderr, "%s: hint: unknown host; check the spelling, or give a numeric "
                "address such as 127.0.0.1 or ::1\n", prog_name);
    else if (gai_err == EAI_AGAIN)
        fprintf(stderr, "%s: hint: the name server did not answer; try again, or give "
                "a numeric address\n", prog_name);
    exit(EXIT_RUNTIME);
}

void die_usage(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    message(fmt, ap);
    va_end(ap);
    fprintf(stderr, "usage: %s\nTry '%s --help' for more.\n", usage_text, prog_name);
    exit(EXIT_USAGE);
}

void not_implemented(int step)
{
    fflush(stdout);
    fprintf(stderr, "%s: step %d not implemented yet: write it at TODO(step %d) in "
            "this lesson's %s.c\n", prog_name, step, step, prog_name);
    exit(EXIT_RUNTIME);
}
