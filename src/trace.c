/*
 * trace.c - what the interposer (interpose.c) shows of each socket call:
 * one line per call on stderr (or one JSON object), the kernel's view of
 * the socket after it, and --pause's prompt before it (see trace.h).
 */
#define _GNU_SOURCE             /* program_invocation_short_name */
#include "trace.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/sockios.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "explain.h"
#include "i18n.h"
#include "interpose.h"

/* Longest trace line; longer ones are cut. */
#define LINE_MAX_BYTES 2048
#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

static enum trace_role role = ROLE_UNKNOWN;
static int role_guessed;            /* a traced program's: its own name shows */
static enum trace_mode mode = TRACE_TEXT;
static int use_colour;
static int pausing;
static int out_fd = STDERR_FILENO;  /* LAB_TRACE_FILE moves the trace */
static pid_t main_pid;              /* children (fork) name themselves */

/* A message with a context (xgettext --keyword=NP_:1c,2): the server's
 * "create socket" and the client's are two words in Chinese. */
#define NP_(context, msgid) (msgid)
#define SERVER_CTX "server"
#define CLIENT_CTX "client"

/* Step labels, indexed by the seed's step number (0 unused). The Chinese
 * ones are the seed's own words (po/zh_CN.po). */
static const char *const server_labels[] = {
    "", NP_("server", "create socket"), NP_("server", "bind address"), NP_("server", "listen"),
    NP_("server", "accept client"), NP_("server", "talk"), NP_("server", "close")};
static const char *const any_labels[] = {"", NP_("any", "create socket")};
static const char *const client_labels[] = {
    "", NP_("client", "create socket"), NP_("client", "connect"), NP_("client", "talk"),
    NP_("client", "close")};

/* Indexed by tcpi_state: TCP_ESTABLISHED (1) .. TCP_CLOSING (11). */
static const char *const state_names[] = {
    "UNKNOWN", "ESTABLISHED", "SYN_SENT", "SYN_RECV", "FIN_WAIT1",
    "FIN_WAIT2", "TIME_WAIT", "CLOSE", "CLOSE_WAIT", "LAST_ACK", "LISTEN",
    "CLOSING"};

static enum trace_mode mode_named(const char *name, enum trace_mode fallback)
{
    if (name == NULL || *name == '\0')
        return fallback;
    if (strcmp(name, "json") == 0)
        return TRACE_JSON;
    if (strcmp(name, "quiet") == 0 || strcmp(name, "0") == 0)
        return TRACE_QUIET;
    return TRACE_TEXT;
}

/* Where the trace goes: stderr, or the file LAB_TRACE_FILE names. */
static void open_output(void)
{
    const char *file = getenv("LAB_TRACE_FILE");
    int fd;

    if (file == NULL || *file == '\0')
        return;
    fd = open(file, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd == -1) {
        fprintf(stderr, _("socketlab: cannot write the trace to LAB_TRACE_FILE '%s': %s\n"),
                file, strerror(errno));
        return;
    }
    out_fd = fd;
}

void trace_init(enum trace_role r, enum trace_mode m)
{
    const char *no_colour = getenv("NO_COLOR");
    const char *pause = getenv("LAB_PAUSE");

    i18n_init();
    role = r;
    /* tools/trace --json runs a kit program with LAB_TRACE=json; the
     * program's own -q or --json win over it. */
    mode = m == TRACE_TEXT ? mode_named(getenv("LAB_TRACE"), TRACE_TEXT) : m;
    pausing = pausing || (pause != NULL && strcmp(pause, "1") == 0);
    main_pid = getpid();
    if (out_fd == STDERR_FILENO)
        open_output();
    /* https://no-color.org: any non-empty NO_COLOR turns colour off. */
    use_colour = isatty(out_fd) && !(no_colour && *no_colour);
}

void trace_init_from_env(void)
{
    const char *r = getenv("LAB_TRACE_ROLE");
    enum trace_role guess = ROLE_UNKNOWN;

    if (r != NULL && strcmp(r, "server") == 0)
        guess = ROLE_SERVER;
    else if (r != NULL && strcmp(r, "client") == 0)
        guess = ROLE_CLIENT;
    /* Preloaded without tools/trace (LAB_FAULT alone): no trace. */
    trace_init(guess, mode_named(getenv("LAB_TRACE"), TRACE_QUIET));
}

void trace_set_pause(int on)
{
    pausing = pausing || on;
}

int trace_enabled(void)
{
    return mode != TRACE_QUIET || pausing;
}

enum trace_role trace_role(void)
{
    return role;
}

void trace_guess_role(enum trace_role r)
{
    if (role == ROLE_UNKNOWN) {
        role = r;
        role_guessed = 1;
    }
}

/* pgettext(): the catalog keys a message with a context as
 * "context\004msgid"; untranslated, dgettext returns the key itself. */
static const char *label_in(const char *context, const char *msgid)
{
    char key[128];
    const char *t;

    snprintf(key, sizeof(key), "%s\004%s", context, msgid);
    t = dgettext(I18N_DOMAIN, key);
    return t == key ? msgid : t;
}

/* The label of a step as written in the source (English): JSON carries
 * it, so a tool reads the same words whatever the user's language. */
static const char *step_msgid(int step)
{
    if (role == ROLE_CLIENT && step >= 1 && step < (int)ARRAY_LEN(client_labels))
        return client_labels[step];
    if (role == ROLE_SERVER && step >= 1 && step < (int)ARRAY_LEN(server_labels))
        return server_labels[step];
    if (role == ROLE_UNKNOWN && step == 1)
        return any_labels[step];
    return "";
}

/* The label of a step in the current language: "bind address", or the
 * seed's "把IP和端口绑定到socket上"; "" outside the role's steps. */
static const char *trace_step_label(int step)
{
    if (role == ROLE_CLIENT && step >= 1 && step < (int)ARRAY_LEN(client_labels))
        return label_in(CLIENT_CTX, client_labels[step]);
    if (role == ROLE_SERVER && step >= 1 && step < (int)ARRAY_LEN(server_labels))
        return label_in(SERVER_CTX, server_labels[step]);
    if (role == ROLE_UNKNOWN && step == 1)
        return label_in("any", any_labels[step]);
    return "";
}

/* Name of a TCP state as tcp_info numbers it: "LISTEN", or "UNKNOWN". */
static const char *tcp_state_name(int state)
{
    if (state < 1 || state >= (int)ARRAY_LEN(state_names))
        return state_names[0];
    return state_names[state];
}

/* Bytes a valid UTF-8 sequence starting at p takes (at most n), or 0. */
static size_t utf8_length(const unsigned char *p, size_t n)
{
    size_t len;
    unsigned cp;

    if (p[0] >= 0xc2 && p[0] <= 0xdf)
        len = 2, cp = p[0] & 0x1fu;
    else if (p[0] >= 0xe0 && p[0] <= 0xef)
        len = 3, cp = p[0] & 0x0fu;
    else if (p[0] >= 0xf0 && p[0] <= 0xf4)
        len = 4, cp = p[0] & 0x07u;
    else
        return 0;
    if (len > n)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((p[i] & 0xc0) != 0x80)
            return 0;
        cp = cp << 6 | (p[i] & 0x3fu);
    }
    /* Overlong forms, UTF-16 surrogates, beyond U+10FFFF, and the C1
     * controls U+0080-U+009F (U+009B is a CSI on some terminals). */
    if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
        (cp >= 0xd800 && cp <= 0xdfff) || cp < 0xa0)
        return 0;
    return len;
}

char *quote_bytes(const void *data, size_t len, char *out, size_t outsz)
{
    const unsigned char *p = data;
    size_t o = 0, i = 0;

    while (i < len) {
        size_t seq = p[i] >= 0x80 ? utf8_length(p + i, len - i) : 0;
        int escape = seq == 0 && (p[i] < 0x20 || p[i] >= 0x7f);
        size_t width = escape ? 4 : (p[i] == '\\' || p[i] == '"') ? 2 : seq ? seq : 1;

        /* After this piece there must still be room for "..." and the NUL
         * (4 bytes), so a cut can always be marked (fuzz/fuzz_recv.c). */
        if (o + width + 4 > outsz) {
            memcpy(out + o, "...", 3);
            o += 3;
            break;
        }
        if (escape) {
            o += (size_t)snprintf(out + o, outsz - o, "\\x%02x", p[i]);
            i++;
        } else if (p[i] == '\\' || p[i] == '"') {
            out[o++] = '\\';
            out[o++] = (char)p[i++];
        } else if (seq) {
            memcpy(out + o, p + i, seq);    /* a whole, valid UTF-8 character */
            o += seq;
            i += seq;
        } else {
            out[o++] = (char)p[i++];        /* printable ASCII */
        }
    }
    out[o] = '\0';
    return out;
}

/* ---- building one line, written with one write(2) ---- */

struct line {
    char buf[LINE_MAX_BYTES];
    size_t len;
};

static void add(struct line *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void add(struct line *l, const char *fmt, ...)
{
    va_list ap;
    int n;

    if (l->len + 1 >= sizeof(l->buf))
        return;
    va_start(ap, fmt);
    n = vsnprintf(l->buf + l->len, sizeof(l->buf) - l->len, fmt, ap);
    va_end(ap);
    if (n > 0)
        l->len += (size_t)n < sizeof(l->buf) - l->len ? (size_t)n : sizeof(l->buf) - l->len - 1;
}

/* s as a JSON string, quotes included. */
static void add_json_string(struct line *l, const char *s)
{
    add(l, "\"");
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\')
            add(l, "\\%c", *p);
        else if (*p < 0x20)
            add(l, "\\u%04x", *p);
        else
            add(l, "%c", *p);
    }
    add(l, "\"");
}

/* Out it goes: the data lines printed before it first, then the line. */
static void emit(struct line *l)
{
    size_t off = 0;

    if (l->len + 1 < sizeof(l->buf))
        l->buf[l->len++] = '\n';
    else
        l->buf[l->len - 1] = '\n';  /* a cut line still ends its line */
    fflush(stdout);
    while (off < l->len) {
        ssize_t n = lab_real_write(out_fd, l->buf + off, l->len - off);

        if (n <= 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return;                 /* stderr is gone: the program goes on */
        off += (size_t)n;
    }
}

/* "[server]", "[服务器]", "[server:1234]" in a forked child, or the
 * program's own name while its role is not known yet. */
static void add_who(struct line *l)
{
    const char *name = role_guessed || role == ROLE_UNKNOWN ? program_invocation_short_name
                       : role == ROLE_SERVER ? _("server") : _("client");
    pid_t pid = getpid();

    if (pid != main_pid)
        add(l, "[%s:%ld]", name, (long)pid);
    else
        add(l, "[%s]", name);
}

static const char *json_prog(void)
{
    return role == ROLE_SERVER ? "server" : role == ROLE_CLIENT ? "client" : program_invocation_short_name;
}

/* {"prog":"server","pid":N,"ts":T,"step":N  (the caller goes on) */
static void add_json_head(struct line *l, int step)
{
    struct timespec now;

    /* CLOCK_REALTIME: the clock tcpdump stamps packets with, so a trace
     * and a capture line up (tools/timeline). */
    clock_gettime(CLOCK_REALTIME, &now);
    add(l, "{\"prog\":");
    add_json_string(l, json_prog());
    add(l, ",\"pid\":%ld,\"ts\":%lld.%09ld,\"step\":%d", (long)getpid(),
        (long long)now.tv_sec, now.tv_nsec, step);
}

/* ---- the kernel's view of a socket ---- */

struct kernel_view {
    int ok;                     /* 0 when fd is not a TCP socket */
    const char *state;
    unsigned queued, backlog;   /* LISTEN: accept queue and its limit */
    int unread;                 /* bytes received, not yet read (FIONREAD) */
    int unacked;                /* bytes sent, not yet acknowledged (SIOCOUTQ) */
    int unsent;                 /* of those, not even sent yet (SIOCOUTQNSD) */
};

/* These calls are the trace's own: they are not wrapped, so they never
 * show in the trace (strace shows them: getsockopt(TCP_INFO), ioctl). */
static struct kernel_view kernel_view(int fd)
{
    struct kernel_view v = {0};
    struct tcp_info info;
    socklen_t len = sizeof(info);
    int saved = errno;

    if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &len) == 0) {
        v.ok = 1;
        v.state = tcp_state_name(info.tcpi_state);
        if (info.tcpi_state == TCP_LISTEN) {    /* see tcp_info's docs */
            v.queued = info.tcpi_unacked;
            v.backlog = info.tcpi_sacked;
        } else {
            if (ioctl(fd, FIONREAD, &v.unread) == -1)
                v.unread = 0;
            if (ioctl(fd, SIOCOUTQ, &v.unacked) == -1)
                v.unacked = 0;
            if (ioctl(fd, SIOCOUTQNSD, &v.unsent) == -1)
                v.unsent = 0;
        }
    }
    errno = saved;
    return v;
}

static void add_view_text(struct line *l, int fd, struct kernel_view v)
{
    add_who(l);
    add(l, "   %s", use_colour ? "\033[2m" : "");
    if (strcmp(v.state, "CLOSE") == 0)
        add(l, _("kernel: fd %d %s (no connection)"), fd, v.state);
    else if (strcmp(v.state, "LISTEN") == 0)
        add(l, _("kernel: fd %d %s, accept queue %u of %u"), fd, v.state, v.queued, v.backlog);
    else
        add(l, _("kernel: fd %d %s, %d bytes unread, %d unacknowledged (%d not yet sent)"),
            fd, v.state, v.unread, v.unacked, v.unsent);
    add(l, "%s", use_colour ? "\033[0m" : "");
}

static void add_view_json(struct line *l, int fd, struct kernel_view v)
{
    add(l, ",\"fd\":%d,\"state\":\"%s\"", fd, v.state);
    if (strcmp(v.state, "LISTEN") == 0)
        add(l, ",\"accept_queue\":%u,\"backlog\":%u", v.queued, v.backlog);
    else
        add(l, ",\"unread\":%d,\"unacked\":%d,\"unsent\":%d", v.unread, v.unacked, v.unsent);
}

void trace_view(int step, int fd)
{
    struct kernel_view v;
    struct line l = {.len = 0};

    if (mode == TRACE_QUIET)
        return;
    v = kernel_view(fd);
    if (!v.ok)
        return;
    if (mode == TRACE_JSON) {
        add_json_head(&l, step);
        add(&l, ",\"view\":true");
        add_view_json(&l, fd, v);
        add(&l, "}");
    } else {
        add_view_text(&l, fd, v);
    }
    emit(&l);
}

/* ---- one call ---- */

static void event_json(const struct trace_event *ev, struct kernel_view v)
{
    struct line l = {.len = 0};

    add_json_head(&l, ev->step);
    add(&l, ",\"start\":%lld.%09ld,\"label\":", (long long)ev->start.tv_sec, ev->start.tv_nsec);
    add_json_string(&l, step_msgid(ev->step));
    add(&l, ",\"call\":");
    add_json_string(&l, ev->call);
    add(&l, ",\"text\":");
    add_json_string(&l, ev->text);
    add(&l, ",\"ret\":%ld", ev->ret);
    if (ev->sock >= 0)
        add(&l, ",\"sock\":%d", ev->sock);
    if (ev->ret == -1) {
        add(&l, ",\"errno\":\"%s\",\"error\":", errno_name(ev->err));
        add_json_string(&l, strerrordesc_np(ev->err) ? strerrordesc_np(ev->err) : "");
    }
    if (ev->injected) {
        add(&l, ",\"injected\":");
        add_json_string(&l, ev->injected);
    }
    if (v.ok)
        add_view_json(&l, ev->view_fd, v);
    if (ev->note) {
        add(&l, ",\"note\":");
        add_json_string(&l, ev->note);
    }
    add(&l, "}");
    emit(&l);
}

static void event_text(const struct trace_event *ev, struct kernel_view v)
{
    const char *bold = use_colour ? "\033[1;36m" : "", *red = use_colour ? "\033[1;31m" : "";
    const char *yellow = use_colour ? "\033[33m" : "", *off = use_colour ? "\033[0m" : "";
    struct line l = {.len = 0};
    char what[128];                     /* the injection's words, translated */

    add_who(&l);
    add(&l, " %s", bold);
    if (ev->step > 0)
        add(&l, _("step %d %s"), ev->step, trace_step_label(ev->step));
    add(&l, "%s  %s = %ld", off, ev->text, ev->ret);
    if (ev->ret == -1)
        add(&l, " %s%s (%s)%s", red, errno_name(ev->err), errno_text(ev->err), off);
    if (ev->injected) {
        add(&l, "   %s", yellow);
        add(&l, _("[injected: %s]"), i18n_list(ev->injected, what, sizeof(what)));
        add(&l, "%s", off);
    }
    emit(&l);
    if (v.ok) {
        l.len = 0;
        add_view_text(&l, ev->view_fd, v);
        emit(&l);
    }
    if (ev->note) {
        l.len = 0;
        add_who(&l);
        add(&l, "   %s", ev->note);
        emit(&l);
    }
}

void trace_event(const struct trace_event *ev)
{
    struct kernel_view v = {0};

    if (mode == TRACE_QUIET)
        return;
    if (ev->view_fd >= 0)
        v = kernel_view(ev->view_fd);
    if (mode == TRACE_JSON)
        event_json(ev, v);
    else
        event_text(ev, v);
}

/* ---- --pause ---- */

void trace_pause(int step, const char *text)
{
    struct line l = {.len = 0};
    char c;

    /* Only a person at a terminal can press Enter: a test, a pipe or a
     * class's container never waits. */
    if (!pausing || !isatty(STDIN_FILENO) || !isatty(STDERR_FILENO))
        return;
    add_who(&l);
    add(&l, " %s", use_colour ? "\033[1;33m" : "");
    add(&l, _("next: step %d %s  %s   (Enter runs it)"), step, trace_step_label(step), text);
    add(&l, "%s", use_colour ? "\033[0m" : "");
    emit(&l);
    while (lab_real_read(STDIN_FILENO, &c, 1) == 1 && c != '\n')
        ;
}
