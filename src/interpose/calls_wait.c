/*
 * calls_wait.c - the wrappers of the calls that wait for sockets: poll,
 * ppoll (and the fortified __poll_chk, __ppoll_chk), select, pselect,
 * epoll_create, epoll_create1, epoll_ctl, epoll_wait, epoll_pwait,
 * epoll_pwait2. A wait is traced when it includes a TCP or UDP socket.
 */
#define _GNU_SOURCE
#include "wrapped.h"

#include <errno.h>
#include <string.h>
#include <sys/time.h>

#include "call.h"
#include "decode.h"
#include "sockio.h"
#include "trace.h"

/* ---- poll, ppoll: the array is read after the call, as the kernel left it ---- */

/* The first fd of the array in the trace's scope, and whether a listening
 * socket is among them; each connecting socket now writable is connected.
 * Returns the index of that fd, or -1. */
static long poll_scope(const struct pollfd *fds, nfds_t n, int after, int *listening, struct fd_info *first)
{
    long found = -1;

    *listening = 0;
    for (nfds_t i = 0; i < n; i++) {
        struct fd_info info = fd_lookup(fds[i].fd, FD_KNOWN);

        if (!fd_is_inet(info) && !trace_all())
            continue;
        if (found == -1) {
            found = (long)i;
            *first = info;
        }
        *listening |= info.phase == P_LISTENING;
        if (after && info.phase == P_CONNECTING && (fds[i].revents & POLLOUT) &&
            !(fds[i].revents & (POLLERR | POLLHUP)))
            fd_set_phase(fds[i].fd, P_CONNECTED);
    }
    return found;
}

/* A "poll(" or "ppoll(" line for an array the kernel read (after the call). */
static int poll_traced(struct call *c, enum wrapped w, struct pollfd *fds, nfds_t n, int rc)
{
    struct fd_info first = {FD_UNKNOWN, P_NONE, 0, 0};
    int listening;
    long i = poll_scope(fds, n, rc >= 0, &listening, &first);

    if (i == -1 || !call_wanted_info(c, w, fds[i].fd, first))
        return 0;
    c->listening = listening;
    c->step = call_step(c);
    line_fmt(&c->text, "%s(", wrapped_calls[w].name);
    decode_pollfds(&c->text, fds, n, rc > 0);
    return 1;
}

/* Before a poll that waits, when --pause asks: the first entries, copied. */
static void poll_pause(enum wrapped w, const struct pollfd *fds, nfds_t n)
{
    struct pollfd head[4];
    nfds_t m = n < 4 ? n : 4;
    struct fd_info first = {FD_UNKNOWN, P_NONE, 0, 0};
    struct call c;
    int listening;

    if (!trace_pausing() || safe_copy(head, fds, m * sizeof(*fds)) != 0 ||
        poll_scope(head, m, 0, &listening, &first) == -1)
        return;
    call_wanted_info(&c, w, head[0].fd, first);
    c.listening = listening;
    line_fmt(&c.text, "%s(", wrapped_calls[w].name);
    decode_pollfds(&c.text, head, n, 0);
    line_str(&c.text, ", ...)");
    trace_pause(call_step(&c), c.text.buf);
}

/* After a poll: the line, its view (one socket) and its note (a listening
 * socket ready: a client waits in the accept queue). */
static void poll_end(struct call *c, const struct pollfd *fds, nfds_t n, int rc)
{
    const char *note = NULL;

    for (nfds_t i = 0; rc > 0 && i < n; i++)
        if ((fds[i].revents & POLLIN) && fd_lookup(fds[i].fd, FD_KNOWN).phase == P_LISTENING)
            note = trace_message(MSG_HANDSHAKE_DONE);
    call_end(c, rc, n == 1 && rc > 0 ? fds[0].fd : -1, note);
}

WRAPPER int poll(struct pollfd *fds, nfds_t n, int timeout)
{
    struct timespec start;
    struct call c;
    int rc, err;

    if (timeout != 0)
        flush_before_wait(-1, 0);
    if (!interpose_active())
        return REAL(poll)(fds, n, timeout);
    poll_pause(W_poll, fds, n);
    clock_gettime(CLOCK_REALTIME, &start);
    rc = REAL(poll)(fds, n, timeout);
    err = errno;
    if (!(rc == -1 && err == EFAULT) && poll_traced(&c, W_poll, fds, n, rc)) {
        c.start = start;
        line_fmt(&c.text, ", %lu, %d)", (unsigned long)n, timeout);
        errno = err;
        poll_end(&c, fds, n, rc);
    }
    errno = err;
    return rc;
}

/* A timespec the program gave, read through the kernel: {1s 500ns}. */
static void timespec_text(struct line *t, const struct timespec *ts, int *zero)
{
    struct timespec copy;

    *zero = 0;
    if (ts == NULL) {
        line_str(t, "NULL");
    } else if (safe_copy(&copy, ts, sizeof(copy)) == 0) {
        line_fmt(t, "{%llds %ldns}", (long long)copy.tv_sec, copy.tv_nsec);
        *zero = copy.tv_sec == 0 && copy.tv_nsec == 0;
    } else {
        line_ptr(t, ts);
    }
}

WRAPPER int ppoll(struct pollfd *fds, nfds_t n, const struct timespec *tmo, const sigset_t *mask)
{
    struct timespec start;
    struct line tmo_text;
    struct call c;
    int rc, err, zero = 0;

    if (data_lines_pending() || interpose_active()) {
        line_init(&tmo_text);
        timespec_text(&tmo_text, tmo, &zero);
        if (!zero)
            flush_before_wait(-1, 0);
    }
    if (!interpose_active())
        return REAL(ppoll)(fds, n, tmo, mask);
    poll_pause(W_ppoll, fds, n);
    clock_gettime(CLOCK_REALTIME, &start);
    rc = REAL(ppoll)(fds, n, tmo, mask);
    err = errno;
    if (!(rc == -1 && err == EFAULT) && poll_traced(&c, W_ppoll, fds, n, rc)) {
        c.start = start;
        line_fmt(&c.text, ", %lu, %s, %s)", (unsigned long)n, tmo_text.buf, mask ? "mask" : "NULL");
        errno = err;
        poll_end(&c, fds, n, rc);
    }
    errno = err;
    return rc;
}

/* The fortified polls (-D_FORTIFY_SOURCE=2 on an array of known size). */
extern void __chk_fail(void) __attribute__((noreturn));
WRAPPER int __poll_chk(struct pollfd *fds, nfds_t n, int timeout, size_t fdslen);
WRAPPER int __ppoll_chk(struct pollfd *fds, nfds_t n, const struct timespec *tmo,
                        const sigset_t *mask, size_t fdslen);

WRAPPER int __poll_chk(struct pollfd *fds, nfds_t n, int timeout, size_t fdslen)
{
    if (fdslen / sizeof(*fds) < n)
        __chk_fail();
    return poll(fds, n, timeout);
}

WRAPPER int __ppoll_chk(struct pollfd *fds, nfds_t n, const struct timespec *tmo,
                        const sigset_t *mask, size_t fdslen)
{
    if (fdslen / sizeof(*fds) < n)
        __chk_fail();
    return ppoll(fds, n, tmo, mask);
}

/* ---- select, pselect: the sets are copied before (the kernel rewrites them) ---- */

struct fd_sets {
    fd_set set[3];              /* read, write, except, as given */
    int given[3];               /* which were given (not NULL) */
};

/* Copy the sets select() was given; 0 if one cannot be read. */
static int copy_sets(struct fd_sets *s, int nfds, fd_set *r, fd_set *w, fd_set *e)
{
    fd_set *in[3] = {r, w, e};
    size_t bytes = nfds <= 0 ? 0 : nfds >= FD_SETSIZE ? sizeof(fd_set)
                 : ((size_t)nfds + 8 * sizeof(long) - 1) / (8 * sizeof(long)) * sizeof(long);

    for (int i = 0; i < 3; i++) {
        FD_ZERO(&s->set[i]);
        s->given[i] = in[i] != NULL;
        if (in[i] != NULL && safe_copy(&s->set[i], in[i], bytes) != 0)
            return 0;
    }
    return 1;
}

/* Whether the sets hold an fd in the trace's scope; sets c up if so. */
static int select_wanted(struct call *c, enum wrapped w, const struct fd_sets *s, int nfds)
{
    int first = -1, listening = 0;
    struct fd_info info = {FD_UNKNOWN, P_NONE, 0, 0};

    for (int fd = 0; fd < nfds && fd < FD_SETSIZE; fd++) {
        struct fd_info i;

        if (!FD_ISSET(fd, &s->set[0]) && !FD_ISSET(fd, &s->set[1]) && !FD_ISSET(fd, &s->set[2]))
            continue;
        i = fd_lookup(fd, FD_KNOWN);
        if (!fd_is_inet(i) && !trace_all())
            continue;
        if (first == -1)
            first = fd, info = i;
        listening |= i.phase == P_LISTENING;
    }
    if (first == -1 || !call_wanted_info(c, w, first, info))
        return 0;
    c->listening = listening;
    return 1;
}

/* "select(5, [3 4] => [3], NULL, NULL, " (the caller adds the timeout):
 * each set as given, and after a call that returned, as the kernel left it. */
static void select_text(struct line *t, const char *name, int nfds, const struct fd_sets *s,
                        fd_set *out[3], int rc)
{
    line_init(t);
    line_fmt(t, "%s(%d, ", name, nfds);
    for (int i = 0; i < 3; i++) {
        decode_fdset(t, s->given[i] ? &s->set[i] : NULL, nfds);
        if (rc >= 0 && out != NULL && out[i] != NULL) {
            line_str(t, " => ");
            decode_fdset(t, out[i], nfds);
        }
        line_str(t, ", ");
    }
}

static int select_common(enum wrapped w, int nfds, fd_set *r, fd_set *wr, fd_set *e,
                         struct timeval *tv, const struct timespec *ts, const sigset_t *mask)
{
    fd_set *out[3] = {r, wr, e};
    struct line tmo_text;
    struct fd_sets sets;
    struct call c;
    int rc, zero = 0, traced;

    if (!interpose_active() && !data_lines_pending())
        return w == W_select ? REAL(select)(nfds, r, wr, e, tv) : REAL(pselect)(nfds, r, wr, e, ts, mask);
    line_init(&tmo_text);
    if (w == W_select && tv != NULL) {
        struct timeval copy;

        if (safe_copy(&copy, tv, sizeof(copy)) == 0) {
            line_fmt(&tmo_text, "{%llds %lldus}", (long long)copy.tv_sec, (long long)copy.tv_usec);
            zero = copy.tv_sec == 0 && copy.tv_usec == 0;
        } else {
            line_ptr(&tmo_text, tv);
        }
    } else if (w == W_select) {
        line_str(&tmo_text, "NULL");
    } else {
        timespec_text(&tmo_text, ts, &zero);
    }
    if (!zero)
        flush_before_wait(-1, 0);
    traced = interpose_active() && copy_sets(&sets, nfds, r, wr, e) &&
             select_wanted(&c, w, &sets, nfds);
    if (!traced)
        return w == W_select ? REAL(select)(nfds, r, wr, e, tv) : REAL(pselect)(nfds, r, wr, e, ts, mask);
    select_text(&c.text, wrapped_calls[w].name, nfds, &sets, NULL, -1);
    line_fmt(&c.text, "%s)", tmo_text.buf);
    call_begin(&c);
    rc = w == W_select ? REAL(select)(nfds, r, wr, e, tv) : REAL(pselect)(nfds, r, wr, e, ts, mask);
    select_text(&c.text, wrapped_calls[w].name, nfds, &sets, out, rc);
    line_str(&c.text, tmo_text.buf);
    line_str(&c.text, w == W_select ? ")" : mask ? ", mask)" : ", NULL)");
    call_end(&c, rc, -1, NULL);
    return rc;
}

WRAPPER int select(int nfds, fd_set *r, fd_set *w, fd_set *e, struct timeval *tv)
{
    return select_common(W_select, nfds, r, w, e, tv, NULL, NULL);
}

WRAPPER int pselect(int nfds, fd_set *r, fd_set *w, fd_set *e, const struct timespec *ts,
                    const sigset_t *mask)
{
    return select_common(W_pselect, nfds, r, w, e, NULL, ts, mask);
}

/* ---- epoll ---- */

/* An epoll instance made after a TCP or UDP socket belongs to the wait
 * step: traced from its creation (lesson 10's, made after listen()). */
static int epoll_create_common(enum wrapped w, int arg)
{
    struct fd_info epoll = {FD_EPOLL, P_NONE, 0, 0};
    struct call c;
    int fd;

    epoll.watches_inet = interpose_active() && call_inet_seen();
    if (!interpose_active() || !call_wanted_info(&c, w, -1, epoll)) {
        fd = w == W_epoll_create ? REAL(epoll_create)(arg) : REAL(epoll_create1)(arg);
        if (interpose_active())
            fd_note_epoll(fd);
        return fd;
    }
    c.listening = 1;            /* made before any client: the accept step */
    if (w == W_epoll_create)
        line_fmt(&c.text, "epoll_create(%d)", arg);
    else
        line_fmt(&c.text, "epoll_create1(%s)", arg == EPOLL_CLOEXEC ? "EPOLL_CLOEXEC" : arg ? "?" : "0");
    call_begin(&c);
    fd = w == W_epoll_create ? REAL(epoll_create)(arg) : REAL(epoll_create1)(arg);
    fd_note_epoll(fd);
    call_end(&c, fd, -1, NULL);
    return fd;
}

WRAPPER int epoll_create(int size)
{
    return epoll_create_common(W_epoll_create, size);
}

WRAPPER int epoll_create1(int flags)
{
    return epoll_create_common(W_epoll_create1, flags);
}

WRAPPER int epoll_ctl(int epfd, int op, int fd, struct epoll_event *ev)
{
    struct epoll_event copy;
    struct call c;
    int rc;

    if (!call_wanted(&c, W_epoll_ctl, fd, FD_KNOWN))
        return REAL(epoll_ctl)(epfd, op, fd, ev);
    line_fmt(&c.text, "epoll_ctl(%d, ...)", epfd);
    call_begin(&c);
    rc = REAL(epoll_ctl)(epfd, op, fd, ev);
    if (rc == 0 && op == EPOLL_CTL_ADD && c.inet)
        fd_note_epoll_watches_inet(epfd);
    line_init(&c.text);
    line_fmt(&c.text, "epoll_ctl(%d, %s, %d, ", epfd, op == EPOLL_CTL_ADD ? "EPOLL_CTL_ADD"
             : op == EPOLL_CTL_MOD ? "EPOLL_CTL_MOD" : op == EPOLL_CTL_DEL ? "EPOLL_CTL_DEL" : "?", fd);
    if (ev == NULL)
        line_str(&c.text, "NULL");
    else if (rc == 0 && op != EPOLL_CTL_DEL)      /* the kernel read it */
        decode_flags(&c.text, (int)ev->events, &epoll_flags);
    else if (safe_copy(&copy, ev, sizeof(copy)) == 0)
        decode_flags(&c.text, (int)copy.events, &epoll_flags);
    else
        line_ptr(&c.text, ev);
    line_str(&c.text, ")");
    call_end(&c, rc, -1, NULL);
    return rc;
}

/* epoll_wait, epoll_pwait, epoll_pwait2: traced when the instance watches
 * a TCP or UDP socket (or with --all). */
static int epoll_wait_common(enum wrapped w, int epfd, struct epoll_event *events, int max, int timeout,
                             const struct timespec *ts, const sigset_t *mask)
{
    struct line tmo_text;
    struct call c;
    int rc, zero = timeout == 0;

    line_init(&tmo_text);
    if (w == W_epoll_pwait2 && !interpose_active() && !data_lines_pending())
        return REAL(epoll_pwait2)(epfd, events, max, ts, mask);
    if (w == W_epoll_pwait2)
        timespec_text(&tmo_text, ts, &zero);
    else
        line_dec(&tmo_text, timeout);
    if (!zero)
        flush_before_wait(-1, 0);
    if (!call_wanted(&c, w, epfd, FD_KNOWN))
        return w == W_epoll_wait ? REAL(epoll_wait)(epfd, events, max, timeout)
             : w == W_epoll_pwait ? REAL(epoll_pwait)(epfd, events, max, timeout, mask)
             : REAL(epoll_pwait2)(epfd, events, max, ts, mask);
    line_fmt(&c.text, "%s(%d, events, %d, %s%s)", wrapped_calls[w].name, epfd, max, tmo_text.buf,
             w == W_epoll_wait ? "" : mask ? ", mask" : ", NULL");
    call_begin(&c);
    rc = w == W_epoll_wait ? REAL(epoll_wait)(epfd, events, max, timeout)
       : w == W_epoll_pwait ? REAL(epoll_pwait)(epfd, events, max, timeout, mask)
       : REAL(epoll_pwait2)(epfd, events, max, ts, mask);
    call_end(&c, rc, -1, NULL);
    return rc;
}

WRAPPER int epoll_wait(int epfd, struct epoll_event *events, int max, int timeout)
{
    return epoll_wait_common(W_epoll_wait, epfd, events, max, timeout, NULL, NULL);
}

WRAPPER int epoll_pwait(int epfd, struct epoll_event *events, int max, int timeout, const sigset_t *mask)
{
    return epoll_wait_common(W_epoll_pwait, epfd, events, max, timeout, NULL, mask);
}

WRAPPER int epoll_pwait2(int epfd, struct epoll_event *events, int max, const struct timespec *ts,
                         const sigset_t *mask)
{
    return epoll_wait_common(W_epoll_pwait2, epfd, events, max, 0, ts, mask);
}
