/*
 * trace.c - what the interposer shows of each socket call: one line per
 * call (or one JSON object, or a compact line for a projector), the
 * kernel's view of the socket after it, and --pause's prompt before it
 * (see trace.h). Every text is translated in trace_init(); a traced call
 * only reads them, formats into a stack buffer and writes once.
 */
#define _GNU_SOURCE             /* program_invocation_short_name */
#include "trace.h"

#include <errno.h>
#include <linux/sockios.h>
#include <pthread.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "explain.h"
#include "fault.h"
#include "i18n.h"
#include "line.h"
#include "tracefd.h"
#include "wrapped.h"

/* How many bytes of a call's data its line shows. */
#define DATA_SHOWN 48
#define COMPACT_DATA_SHOWN 16
/* A compact line's columns: with Compose's prefix ("server_1       | ",
 * 17 columns with the slow profile's names to pad to) it fits 80. */
#define COMPACT_COLUMNS 62
/* A compact line too long for that goes on under a deeper indent. */
#define COMPACT_INDENT 4
#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

static int role = ROLE_UNKNOWN;     /* enum trace_role, read and set atomically */
static int role_guessed;            /* a traced program's: its own name shows */
static enum trace_mode mode = TRACE_QUIET;
static int use_colour;
static int pausing, pause_ok;       /* --pause, and stdin and trace are terminals */
static int scope_all;               /* LAB_TRACE_ALL: every fd, not only TCP/UDP */
static pid_t main_pid;              /* children (fork) name themselves */
static pid_t this_pid;              /* getpid(), kept: a line costs no syscall for it */

/* A message with a context (xgettext --keyword=NP_:1c,2): the server's
 * "create socket" and the client's are two words in Chinese. */
#define NP_(context, msgid) (msgid)

/* Step labels, indexed by the seed's step number (0 unused). The Chinese
 * ones are the seed's own words (po/zh_CN.po). */
static const char *const server_ids[] = {
    "", NP_("server", "create socket"), NP_("server", "bind address"), NP_("server", "listen"),
    NP_("server", "accept client"), NP_("server", "talk"), NP_("server", "close")};
static const char *const client_ids[] = {
    "", NP_("client", "create socket"), NP_("client", "connect"), NP_("client", "talk"),
    NP_("client", "close")};
static const char *const any_ids[] = {"", NP_("any", "create socket")};
static const char *server_labels[ARRAY_LEN(server_ids)];
static const char *client_labels[ARRAY_LEN(client_ids)];
static const char *any_labels[ARRAY_LEN(any_ids)];

/* The trace's own words: trace_message()'s, then the rest. */
enum { T_SERVER = MSG_COUNT, T_CLIENT, T_STEP, T_INJECTED, T_NEXT, T_VIEW_CLOSED,
       T_VIEW_LISTEN, T_VIEW, T_VIEW_COMPACT, T_OTHER_SOCKET, T_NOT_SOCKET, T_COUNT };
static const char *const word_ids[T_COUNT] = {
    [MSG_SHORT_WRITE] = N_("short write: the kernel took %zd of %zu bytes; send the rest"),
    [MSG_PEER_CLOSED] = N_("0 bytes: the peer closed its end (FIN); no more data will come"),
    [MSG_HANDSHAKE_DONE] =
        N_("a client finished its handshake: it waits in the accept queue for accept()"),
    [T_SERVER] = N_("server"),
    [T_CLIENT] = N_("client"),
    [T_STEP] = N_("step %d %s"),
    /* TRANSLATORS: what LAB_FAULT did to a call, its words already
     * translated and joined: "[injected: short write, EINTR]". */
    [T_INJECTED] = N_("[injected: %s]"),
    [T_NEXT] = N_("next: step %d %s  %s   (Enter runs it)"),
    [T_VIEW_CLOSED] = N_("kernel: fd %d %s (no connection)"),
    [T_VIEW_LISTEN] = N_("kernel: fd %d %s, accept queue %u of %u"),
    [T_VIEW] = N_("kernel: fd %d %s, %d bytes unread, %d unacknowledged (%d not yet sent)"),
    /* TRANSLATORS: the same, short, for the compact trace (LAB_TRACE=compact). */
    [T_VIEW_COMPACT] = N_("kernel: fd %d %s, unread %d, unacked %d, unsent %d"),
    /* TRANSLATORS: the label of a call on a socket that is not TCP or UDP:
     * "AF_UNIX socket" (tools/trace --all). */
    [T_OTHER_SOCKET] = N_("%s socket"),
    /* TRANSLATORS: the label of a call on a file, pipe or terminal (--all). */
    [T_NOT_SOCKET] = N_("not a socket"),
};
static const char *words[T_COUNT];
/* A fault note's words (fault_words) and the ", " between its items, translated. */
static const char *note_words[FW_COUNT];
static const char *list_sep;

/* Indexed by tcpi_state: TCP_ESTABLISHED (1) .. TCP_CLOSING (11). */
static const char *const state_names[] = {
    "UNKNOWN", "ESTABLISHED", "SYN_SENT", "SYN_RECV", "FIN_WAIT1",
    "FIN_WAIT2", "TIME_WAIT", "CLOSE", "CLOSE_WAIT", "LAST_ACK", "LISTEN",
    "CLOSING"};

/* ---- start-up: everything that may lock or allocate ---- */

static enum trace_mode mode_named(const char *name, enum trace_mode fallback)
{
    if (name == NULL || *name == '\0')
        return fallback;
    if (strcmp(name, "json") == 0)
        return TRACE_JSON;
    if (strcmp(name, "compact") == 0)
        return TRACE_COMPACT;
    if (strcmp(name, "quiet") == 0 || strcmp(name, "0") == 0)
        return TRACE_QUIET;
    return TRACE_TEXT;
}

static int env_on(const char *name)
{
    const char *v = getenv(name);

    return v != NULL && *v != '\0' && strcmp(v, "0") != 0;
}

/* pgettext(): the catalog keys a message with a context as "ctx\004msgid". */
static const char *label_in(const char *context, const char *msgid)
{
    char key[128];
    size_t c = strlen(context), m = strlen(msgid);
    const char *t;

    if (*msgid == '\0' || c + m + 2 > sizeof(key))
        return msgid;
    memcpy(key, context, c);
    key[c] = '\004';
    memcpy(key + c + 1, msgid, m + 1);
    t = i18n_pgettext(key);
    return t >= key && t < key + sizeof(key) ? msgid : t;   /* untranslated: not our buffer */
}

static void translate(void)
{
    for (size_t i = 0; i < ARRAY_LEN(server_ids); i++)
        server_labels[i] = label_in("server", server_ids[i]);
    for (size_t i = 0; i < ARRAY_LEN(client_ids); i++)
        client_labels[i] = label_in("client", client_ids[i]);
    for (size_t i = 0; i < ARRAY_LEN(any_ids); i++)
        any_labels[i] = label_in("any", any_ids[i]);
    for (int i = 0; i < T_COUNT; i++)
        words[i] = _(word_ids[i]);
    for (int i = 0; i < FW_COUNT; i++)
        note_words[i] = _(fault_words[i]);
    /* TRANSLATORS: between the items of a short list ("short write, EINTR"). */
    list_sep = C_("list", ", ");
    errno_texts_prepare();
}

/* The trace's fd is taken when there is something to write, and given
 * back when there is not (a quiet kit program holds no extra fd). */
static void settle_output(void)
{
    const char *no_colour = getenv("NO_COLOR");

    if (mode != TRACE_QUIET || pausing || fault_verbose()) {
        if (tracefd_get() == -1)
            tracefd_open();
    } else {
        tracefd_close();
    }
    /* https://no-color.org: any non-empty NO_COLOR turns colour off. */
    use_colour = tracefd_is_tty() && !(no_colour && *no_colour);
    pause_ok = tracefd_is_tty() && isatty(STDIN_FILENO);
}

/* In a forked child (pthread_atfork): its own pid from now on. */
static void note_child_pid(void)
{
    this_pid = getpid();
}

void trace_init(enum trace_role r, enum trace_mode m)
{
    static int registered;

    i18n_init();
    __atomic_store_n(&role, r, __ATOMIC_RELAXED);
    /* tools/trace --json runs a kit program with LAB_TRACE=json; the
     * program's own -q or --json win over it. */
    mode = m == TRACE_TEXT ? mode_named(getenv("LAB_TRACE"), TRACE_TEXT) : m;
    pausing = pausing || env_on("LAB_PAUSE");
    scope_all = env_on("LAB_TRACE_ALL");
    main_pid = this_pid = getpid();
    if (!registered && pthread_atfork(NULL, NULL, note_child_pid) == 0)
        registered = 1;
    translate();
    settle_output();
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
    if (on && !pausing) {
        pausing = 1;
        settle_output();
    }
}

int trace_enabled(void)
{
    return mode != TRACE_QUIET || pausing;
}

int trace_pausing(void)
{
    return pausing && pause_ok;
}

int trace_all(void)
{
    return scope_all;
}

size_t trace_data_shown(void)
{
    return mode == TRACE_COMPACT ? COMPACT_DATA_SHOWN : DATA_SHOWN;
}

const char *trace_message(enum trace_message m)
{
    return words[m] != NULL ? words[m] : word_ids[m];
}

static const char *word(int w)
{
    return words[w] != NULL ? words[w] : word_ids[w];
}

enum trace_role trace_role(void)
{
    return (enum trace_role)__atomic_load_n(&role, __ATOMIC_RELAXED);
}

void trace_guess_role(enum trace_role r)
{
    int unknown = ROLE_UNKNOWN;

    if (__atomic_compare_exchange_n(&role, &unknown, r, 0, __ATOMIC_RELAXED, __ATOMIC_RELAXED))
        role_guessed = 1;
}

/* ---- labels ---- */

/* The label of a step, translated or as in the source (JSON carries the
 * English, so a tool reads the same words whatever the user's language). */
static const char *step_label(int step, int english)
{
    enum trace_role r = trace_role();
    const char *t = "";

    if (r == ROLE_CLIENT && step >= 1 && step < (int)ARRAY_LEN(client_ids))
        t = english ? client_ids[step] : client_labels[step];
    else if (r == ROLE_SERVER && step >= 1 && step < (int)ARRAY_LEN(server_ids))
        t = english ? server_ids[step] : server_labels[step];
    else if (r == ROLE_UNKNOWN && step == 1)
        t = english ? any_ids[step] : any_labels[step];
    return t != NULL ? t : "";
}

/* A call outside the seed's steps: "AF_UNIX socket", "not a socket". */
static void add_plain_label(struct line *l, const char *family, int english)
{
    if (*family == '\0')
        line_str(l, english ? word_ids[T_NOT_SOCKET] : word(T_NOT_SOCKET));
    else
        line_fmt(l, english ? word_ids[T_OTHER_SOCKET] : word(T_OTHER_SOCKET), family);
}

/* A fault note with its words translated, item by item ("short write,
 * EINTR": 短写、EINTR; "delay 200ms": 延迟 200ms): each item's words up
 * to a digit are looked up among fault_words, the rest (an errno name, a
 * number) stays as it is. */
static void add_note_words(struct line *l, const char *note)
{
    const char *sep = "";

    while (*note != '\0') {
        size_t len = strcspn(note, ","), n = strcspn(note, "0123456789");
        const char *w = NULL;

        if (n > len)
            n = len;
        while (n > 0 && note[n - 1] == ' ')
            n--;
        for (int i = 0; i < FW_COUNT && w == NULL; i++)
            if (strlen(fault_words[i]) == n && memcmp(note, fault_words[i], n) == 0)
                w = note_words[i] != NULL ? note_words[i] : fault_words[i];
        line_str(l, sep);
        if (w != NULL)
            line_str(l, w);
        else
            line_mem(l, note, n);
        line_mem(l, note + n, len - n);
        note += len;
        note += strspn(note, ", ");
        sep = list_sep != NULL ? list_sep : ", ";
    }
}

/* "[server]", "[服务器]", "[server:1234]" in a forked child, or the
 * program's own name while its role is not known yet; in the compact
 * trace only a child's "[1234] " (Compose names the side already). */
static void add_who(struct line *l)
{
    enum trace_role r = trace_role();
    const char *name = role_guessed || r == ROLE_UNKNOWN ? program_invocation_short_name
                       : word(r == ROLE_SERVER ? T_SERVER : T_CLIENT);
    pid_t pid = this_pid;

    if (mode == TRACE_COMPACT) {
        if (pid != main_pid)
            line_fmt(l, "[%ld]", (long)pid);
        return;
    }
    if (pid != main_pid)
        line_fmt(l, "[%s:%ld]", name, (long)pid);
    else
        line_fmt(l, "[%s]", name);
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

/* The trace's own questions go to libc's functions, not the wrappers, so
 * they never show in the trace (strace shows them: getsockopt(TCP_INFO)). */
static struct kernel_view kernel_view(int fd)
{
    struct kernel_view v = {0};
    struct tcp_info info;
    socklen_t len = sizeof(info);
    int saved = errno;

    if (REAL(getsockopt)(fd, IPPROTO_TCP, TCP_INFO, &info, &len) == 0) {
        v.ok = 1;
        v.state = info.tcpi_state < ARRAY_LEN(state_names) ? state_names[info.tcpi_state]
                                                           : state_names[0];
        if (info.tcpi_state == TCP_LISTEN) {    /* see tcp_info's docs */
            v.queued = info.tcpi_unacked;
            v.backlog = info.tcpi_sacked;
        } else {
            if (REAL(ioctl)(fd, FIONREAD, &v.unread) == -1)
                v.unread = 0;
            if (REAL(ioctl)(fd, SIOCOUTQ, &v.unacked) == -1)
                v.unacked = 0;
            if (REAL(ioctl)(fd, SIOCOUTQNSD, &v.unsent) == -1)
                v.unsent = 0;
        }
    }
    errno = saved;
    return v;
}

static void add_view_text(struct line *l, int fd, struct kernel_view v)
{
    line_str(l, use_colour ? "\033[2m" : "");
    if (strcmp(v.state, "CLOSE") == 0)
        line_fmt(l, word(T_VIEW_CLOSED), fd, v.state);
    else if (strcmp(v.state, "LISTEN") == 0)
        line_fmt(l, word(T_VIEW_LISTEN), fd, v.state, v.queued, v.backlog);
    else
        line_fmt(l, word(mode == TRACE_COMPACT ? T_VIEW_COMPACT : T_VIEW), fd, v.state, v.unread,
                 v.unacked, v.unsent);
    line_str(l, use_colour ? "\033[0m" : "");
}

static void add_view_json(struct line *l, int fd, struct kernel_view v)
{
    line_fmt(l, ",\"fd\":%d,\"state\":\"%s\"", fd, v.state);
    if (strcmp(v.state, "LISTEN") == 0)
        line_fmt(l, ",\"accept_queue\":%u,\"backlog\":%u", v.queued, v.backlog);
    else
        line_fmt(l, ",\"unread\":%d,\"unacked\":%d,\"unsent\":%d", v.unread, v.unacked, v.unsent);
}

/* ---- out it goes: one write(2) per event ---- */

static void emit(struct line *l)
{
    struct line wrapped;

    if (mode == TRACE_COMPACT) {
        line_wrap(l, &wrapped, COMPACT_COLUMNS, COMPACT_INDENT);
        l = &wrapped;
    }
    l->buf[l->len] = '\n';          /* line.c keeps room for it */
    tracefd_write(l->buf, l->len + 1);
    l->buf[l->len] = '\0';
}

/* The start of a line below a call: a view, a note. */
static void add_sub_line(struct line *l)
{
    if (l->len > 0)
        line_str(l, "\n");
    add_who(l);
    line_str(l, mode == TRACE_COMPACT ? "  " : "   ");
}

/* {"prog":"server","pid":N,"ts":T,"step":N  (the caller goes on) */
static void add_json_head(struct line *l, int step)
{
    enum trace_role r = trace_role();
    struct timespec now;

    /* CLOCK_REALTIME: the clock tcpdump stamps packets with, so a trace
     * and a capture line up (tools/timeline). */
    clock_gettime(CLOCK_REALTIME, &now);
    line_str(l, "{\"prog\":");
    line_json(l, r == ROLE_SERVER ? "server" : r == ROLE_CLIENT ? "client"
                                             : program_invocation_short_name);
    line_fmt(l, ",\"pid\":%ld,\"ts\":%lld.", (long)this_pid, (long long)now.tv_sec);
    line_udec(l, (unsigned long long)now.tv_nsec, 9);
    line_fmt(l, ",\"step\":%d", step);
}

void trace_view(int step, int fd)
{
    struct kernel_view v;
    struct line l;

    if (mode == TRACE_QUIET)
        return;
    v = kernel_view(fd);
    if (!v.ok)
        return;
    line_init(&l);
    if (mode == TRACE_JSON) {
        add_json_head(&l, step);
        line_str(&l, ",\"view\":true");
        add_view_json(&l, fd, v);
        line_str(&l, "}");
    } else {
        add_who(&l);
        line_str(&l, mode == TRACE_COMPACT ? "  " : "   ");
        add_view_text(&l, fd, v);
    }
    emit(&l);
}

/* ---- one call ---- */

static void event_json(const struct trace_event *ev, struct kernel_view v)
{
    struct line l;

    line_init(&l);
    add_json_head(&l, ev->step);
    line_fmt(&l, ",\"start\":%lld.", (long long)ev->start.tv_sec);
    line_udec(&l, (unsigned long long)ev->start.tv_nsec, 9);
    line_str(&l, ",\"label\":");
    if (ev->step == 0 && ev->family != NULL) {
        struct line label;

        line_init(&label);
        add_plain_label(&label, ev->family, 1);
        line_json(&l, label.buf);
    } else {
        line_json(&l, step_label(ev->step, 1));
    }
    line_str(&l, ",\"call\":");
    line_json(&l, ev->call);
    line_str(&l, ",\"text\":");
    line_json(&l, ev->text);
    line_fmt(&l, ",\"ret\":%ld", ev->ret);
    if (ev->sock >= 0)
        line_fmt(&l, ",\"sock\":%d", ev->sock);
    if (ev->ret == -1) {
        line_fmt(&l, ",\"errno\":\"%s\",\"error\":", errno_name(ev->err));
        line_json(&l, strerrordesc_np(ev->err) ? strerrordesc_np(ev->err) : "");
    }
    if (ev->injected) {
        line_str(&l, ",\"injected\":");
        line_json(&l, ev->injected);
    }
    if (v.ok)
        add_view_json(&l, ev->view_fd, v);
    if (ev->note) {
        line_str(&l, ",\"note\":");
        line_json(&l, ev->note);
    }
    line_str(&l, "}");
    emit(&l);
}

static void event_text(const struct trace_event *ev, struct kernel_view v)
{
    const char *bold = use_colour ? "\033[1;36m" : "", *red = use_colour ? "\033[1;31m" : "";
    const char *yellow = use_colour ? "\033[33m" : "", *off = use_colour ? "\033[0m" : "";
    struct line l;

    line_init(&l);
    add_who(&l);
    if (l.len > 0)
        line_str(&l, " ");
    line_str(&l, bold);
    if (ev->step > 0)
        line_fmt(&l, word(T_STEP), ev->step, step_label(ev->step, 0));
    else if (ev->family != NULL)
        add_plain_label(&l, ev->family, 0);
    line_fmt(&l, "%s  %s = %ld", off, ev->text, ev->ret);
    if (ev->ret == -1 && mode == TRACE_COMPACT)
        line_fmt(&l, " %s%s%s", red, errno_name(ev->err), off);
    else if (ev->ret == -1)
        line_fmt(&l, " %s%s (%s)%s", red, errno_name(ev->err), errno_text(ev->err), off);
    if (ev->injected) {
        struct line what;

        line_init(&what);
        add_note_words(&what, ev->injected);
        line_fmt(&l, "   %s", yellow);
        line_fmt(&l, word(T_INJECTED), what.buf);
        line_str(&l, off);
    }
    if (v.ok) {
        add_sub_line(&l);
        add_view_text(&l, ev->view_fd, v);
    }
    if (ev->note) {
        add_sub_line(&l);
        line_str(&l, ev->note);
    }
    emit(&l);
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

void trace_log(const char *text)
{
    struct line l;

    line_init(&l);
    line_str(&l, text);
    l.buf[l.len] = '\n';
    tracefd_write(l.buf, l.len + 1);
}

/* ---- --pause ---- */

void trace_pause(int step, const char *text)
{
    struct line l;
    char c;

    /* Only a person at a terminal can press Enter: a test, a pipe or a
     * class's container never waits. */
    if (!trace_pausing())
        return;
    line_init(&l);
    add_who(&l);
    line_fmt(&l, " %s", use_colour ? "\033[1;33m" : "");
    line_fmt(&l, word(T_NEXT), step, step_label(step, 0), text);
    line_str(&l, use_colour ? "\033[0m" : "");
    emit(&l);
    while (REAL(read)(STDIN_FILENO, &c, 1) == 1 && c != '\n')
        ;
}
