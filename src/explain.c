/*
 * explain.c - error messages with a cause and a hint (see explain.h).
 */
#define _GNU_SOURCE             /* strerrordesc_np */
#include "explain.h"

#include <errno.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "i18n.h"

static const char *prog_name = "socketlab";
static const char *usage_text = "";

void explain_init(const char *prog, const char *usage)
{
    i18n_init();
    prog_name = prog;
    usage_text = usage;
}

/* Each errno the kit meets, with glibc's English text for it (strerror()
 * in the C locale; tests/test_i18n.py checks they match), so the text is
 * translated from our catalog, whatever language packs the system has. */
#define E(name, text) { name, #name, text }
static const struct { int err; const char *name; const char *text; } errno_names[] = {
    E(EPERM, N_("Operation not permitted")),
    E(ENOENT, N_("No such file or directory")),
    E(EINTR, N_("Interrupted system call")),
    E(EIO, N_("Input/output error")),
    E(EBADF, N_("Bad file descriptor")),
    E(EAGAIN, N_("Resource temporarily unavailable")),
    E(ENOMEM, N_("Cannot allocate memory")),
    E(EACCES, N_("Permission denied")),
    E(EFAULT, N_("Bad address")),
    E(EBUSY, N_("Device or resource busy")),
    E(EINVAL, N_("Invalid argument")),
    E(ENFILE, N_("Too many open files in system")),
    E(EMFILE, N_("Too many open files")),
    E(ENOSPC, N_("No space left on device")),
    E(EPIPE, N_("Broken pipe")),
    E(ENOTSOCK, N_("Socket operation on non-socket")),
    E(EDESTADDRREQ, N_("Destination address required")),
    E(EMSGSIZE, N_("Message too long")),
    E(EPROTOTYPE, N_("Protocol wrong type for socket")),
    E(ENOPROTOOPT, N_("Protocol not available")),
    E(EPROTONOSUPPORT, N_("Protocol not supported")),
    E(EOPNOTSUPP, N_("Operation not supported")),
    E(EAFNOSUPPORT, N_("Address family not supported by protocol")),
    E(EADDRINUSE, N_("Address already in use")),
    E(EADDRNOTAVAIL, N_("Cannot assign requested address")),
    E(ENETDOWN, N_("Network is down")),
    E(ENETUNREACH, N_("Network is unreachable")),
    E(ECONNABORTED, N_("Software caused connection abort")),
    E(ECONNRESET, N_("Connection reset by peer")),
    E(ENOBUFS, N_("No buffer space available")),
    E(EISCONN, N_("Transport endpoint is already connected")),
    E(ENOTCONN, N_("Transport endpoint is not connected")),
    E(ETIMEDOUT, N_("Connection timed out")),
    E(ECONNREFUSED, N_("Connection refused")),
    E(EHOSTDOWN, N_("Host is down")),
    E(EHOSTUNREACH, N_("No route to host")),
    E(EALREADY, N_("Operation already in progress")),
    E(EINPROGRESS, N_("Operation now in progress")),
};
#undef E
#define N_ERRNOS (sizeof(errno_names) / sizeof(errno_names[0]))

/* Each text in the user's language, once errno_texts_prepare() ran. */
static const char *errno_translated[N_ERRNOS];

void errno_texts_prepare(void)
{
    for (size_t i = 0; i < N_ERRNOS; i++)
        errno_translated[i] = _(errno_names[i].text);
}

const char *errno_name(int err)
{
    for (size_t i = 0; i < N_ERRNOS; i++)
        if (errno_names[i].err == err)
            return errno_names[i].name;
    return "E?";
}

const char *errno_text(int err)
{
    const char *desc;

    for (size_t i = 0; i < N_ERRNOS; i++)
        if (errno_names[i].err == err)
            return errno_translated[i] ? errno_translated[i] : _(errno_names[i].text);
    desc = strerrordesc_np(err);        /* unlike strerror(), no locale, no buffer */
    return desc ? desc : "Unknown error";
}

/* The hint in English; explain_hint() translates it. */
static const char *hint_for(const char *call, int err)
{
    switch (err) {
    case EADDRINUSE:
        return N_("another program listens on this port, or an earlier connection on it "
                  "is still in TIME_WAIT; wait, pick another port, or use port 0 "
                  "(SO_REUSEADDR lets a server restart over TIME_WAIT, not over a live listener)");
    case EACCES:
        if (strcmp(call, "bind") == 0)
            return N_("ports below 1024 need root (CAP_NET_BIND_SERVICE); try a port above 1024");
        return N_("permission denied: a firewall rule or a missing privilege");
    case EADDRNOTAVAIL:
        return N_("that address is not one of this machine's; try 0.0.0.0 (all IPv4) or :: (all)");
    case ECONNREFUSED:
        return N_("nothing listens on that port: is the server running, on this host and port?");
    case ETIMEDOUT:
        return N_("no answer in time: the host is down, the address is wrong, "
                  "or a firewall drops the packets");
    case EHOSTUNREACH:
    case ENETUNREACH:
    case EHOSTDOWN:
    case ENETDOWN:
        return N_("no route to that host: check the address and the network (and any firewall)");
    case ECONNRESET:
        return N_("the peer reset the connection: it crashed, was killed, or closed with unread data");
    case EPIPE:
        return N_("the peer has closed its end, so writing fails (SIGPIPE is ignored so we can say so)");
    case EMFILE:
    case ENFILE:
        return N_("too many open files: something is not closing its sockets (see `ulimit -n`)");
    case EAFNOSUPPORT:
        return N_("this address family is not available here (IPv6 switched off?)");
    case EAGAIN:
        if (strcmp(call, "recv") == 0 || strcmp(call, "send") == 0 || strcmp(call, "connect") == 0)
            return N_("timed out waiting for the peer (see the client's --timeout)");
        return NULL;
    case EINPROGRESS:
        if (strcmp(call, "connect") == 0)
            return N_("no answer within the timeout (-t): the host is down, the address is wrong, "
                      "or a firewall drops the packets");
        return NULL;
    case EINTR:
        return N_("a signal interrupted the call");
    default:
        return NULL;
    }
}

const char *explain_hint(const char *call, int err)
{
    const char *hint = hint_for(call, err);

    return hint ? _(hint) : NULL;
}

/* "server: hint: ..." on stderr. */
static void print_hint(const char *hint)
{
    fprintf(stderr, _("%s: hint: %s\n"), prog_name, hint);
}

/* FMT is the caller's English format: translated here, so the lessons
 * stay plain C and xgettext finds it as die_call's second argument. */
static void report(const char *call, int err, const char *fmt, va_list ap)
{
    const char *hint;
    char what[256];

    i18n_init();
    hint = explain_hint(call, err);
    vsnprintf(what, sizeof(what), _(fmt), ap);
    fflush(stdout);                     /* keep stdout's lines before ours */
    /* TRANSLATORS: program, call, what it did, errno's text and name:
     * "client: connect to 127.0.0.1 port 1: Connection refused (ECONNREFUSED)". */
    fprintf(stderr, _("%s: %s %s: %s (%s)\n"), prog_name, call, what, errno_text(err),
            errno_name(err));
    if (hint)
        print_hint(hint);
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
    i18n_init();
    fflush(stdout);
    fprintf(stderr, "%s: ", prog_name);
    vfprintf(stderr, _(fmt), ap);
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
    int err = errno;
    va_list ap;

    va_start(ap, fmt);
    message(fmt, ap);
    va_end(ap);
    errno = err;
}

/* getaddrinfo's error codes with glibc's English text (gai_strerror() in
 * the C locale), so they are translated from our catalog too. */
static const char *resolve_text(int gai_err)
{
    switch (gai_err) {
    case EAI_NONAME: return _("Name or service not known");
    case EAI_AGAIN: return _("Temporary failure in name resolution");
    case EAI_FAIL: return _("Non-recoverable failure in name resolution");
    case EAI_FAMILY: return _("ai_family not supported");
    case EAI_SERVICE: return _("Servname not supported for ai_socktype");
    case EAI_MEMORY: return _("Memory allocation failure");
    default: return gai_strerror(gai_err);
    }
}

void die_resolve(const char *host, const char *port, int gai_err)
{
    if (gai_err == EAI_SYSTEM)
        die_call("getaddrinfo", N_("%s port %s"), host, port);
    i18n_init();
    fflush(stdout);                     /* keep stdout's lines before ours */
    /* Resolver errors have their own codes: gai_strerror, never perror. */
    fprintf(stderr, _("%s: cannot resolve host '%s': %s\n"), prog_name, host,
            resolve_text(gai_err));
    if (gai_err == EAI_NONAME || gai_err == EAI_FAIL)
        print_hint(_("unknown host; check the spelling, or give a numeric "
                     "address such as 127.0.0.1 or ::1"));
    else if (gai_err == EAI_AGAIN)
        print_hint(_("the name server did not answer; try again, or give "
                     "a numeric address"));
    exit(EXIT_RUNTIME);
}

void die_usage(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    message(fmt, ap);
    va_end(ap);
    fprintf(stderr, _("usage: %s\nTry '%s --help' for more.\n"), usage_text, prog_name);
    exit(EXIT_USAGE);
}

void not_implemented(int step)
{
    i18n_init();
    fflush(stdout);
    fprintf(stderr, _("%s: step %d not implemented yet: write it at TODO(step %d) in "
                      "this lesson's %s.c\n"), prog_name, step, step, prog_name);
    exit(EXIT_RUNTIME);
}
