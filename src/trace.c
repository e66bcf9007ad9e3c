/*
 * trace.c - the trace of socket calls on stderr (see trace.h).
 *
 * One line per call: who, which step, the call, its result, and errno on
 * failure; after calls that change a socket, the kernel's view of it.
 */
#include "trace.h"

#include <errno.h>
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

/* Longest call text we print; longer ones are cut. */
#define CALL_TEXT_MAX 512
#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/*
 * The fault-injection library (build/libfault.so), when preloaded, defines
 * this and says whether it made the last result up. Without it the weak
 * reference stays NULL and we never call it.
 */
extern const char *lab_fault_last_note(void) __attribute__((weak));

static enum trace_role role = ROLE_SERVER;
static enum trace_mode mode = TRACE_TEXT;
static int use_colour;
static int lang_zh;

/* Step labels, indexed by the seed's step number (0 unused). */
static const char *const server_en[] = {
    "", "create socket", "bind address", "listen", "accept client",
    "talk", "close"};
static const char *const server_zh[] = {
    "", "创建服务端的socket", "把IP和端口绑定到socket上",
    "把socket设置为监听状态", "受理客户端的连接", "与客户端通信",
    "关闭socket，释放资源"};
static const char *const client_en[] = {
    "", "create socket", "connect", "talk", "close"};
static const char *const client_zh[] = {
    "", "创建客户端的socket", "向服务器发起连接请求", "与服务端通讯",
    "关闭socket，释放资源"};

/* Indexed by tcpi_state: TCP_ESTABLISHED (1) .. TCP_CLOSING (11). */
static const char *const state_names[] = {
    "UNKNOWN", "ESTABLISHED", "SYN_SENT", "SYN_RECV", "FIN_WAIT1",
    "FIN_WAIT2", "TIME_WAIT", "CLOSE", "CLOSE_WAIT", "LAST_ACK", "LISTEN",
    "CLOSING"};

void trace_init(enum trace_role r, enum trace_mode m)
{
    const char *lang = getenv("LAB_LANG");
    const char *no_colour = getenv("NO_COLOR");

    role = r;
    mode = m;
    lang_zh = lang != NULL && strncmp(lang, "zh", 2) == 0;
    /* https://no-color.org: any non-empty NO_COLOR turns colour off. */
    use_colour = isatty(STDERR_FILENO) && !(no_colour && *no_colour);
    /* One write(2) per trace line, not one per fprintf: cheaper, and lines
     * from two programs sharing a terminal do not mix mid-line. */
    setvbuf(stderr, NULL, _IOLBF, BUFSIZ);
}

void trace_set_pause(int on)
{
    (void)on;
}

int trace_lang_zh(void)
{
    return lang_zh;
}

const char *trace_step_label(int step)
{
    /* Each role's two tables have one entry per step, plus the unused 0. */
    int nsteps = role == ROLE_SERVER ? (int)ARRAY_LEN(server_en) - 1
                                     : (int)ARRAY_LEN(client_en) - 1;

    if (step < 1 || step > nsteps)
        return "";
    if (role == ROLE_SERVER)
        return lang_zh ? server_zh[step] : server_en[step];
    return lang_zh ? client_zh[step] : client_en[step];
}

const char *tcp_state_name(int state)
{
    if (state < 1 || state >= (int)ARRAY_LEN(state_names))
        return state_names[0];
    return state_names[state];
}

const char *tcp_state_of(int fd)
{
    struct tcp_info info;
    socklen_t len = sizeof(info);

    if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &len) == -1)
        return NULL;
    return tcp_state_name(info.tcpi_state);
}

char *quote_bytes(const void *data, size_t len, char *out, size_t outsz)
{
    const unsigned char *p = data;
    size_t o = 0;

    for (size_t i = 0; i < len; i++) {
        /* How much this byte takes: "\xNN", "\\" or itself. After it there
         * must still be room for "..." and the NUL (4 bytes), so a cut can
         * always be marked. (Found by fuzz/fuzz_recv.c: checking for 5
         * bytes before each byte let a "\xNN" eat the room of the "...".) */
        size_t width = p[i] < 0x20 || p[i] == 0x7f ? 4 : (p[i] == '\\' || p[i] == '"') ? 2 : 1;

        if (o + width + 4 > outsz) {
            memcpy(out + o, "...", 3);
            o += 3;
            break;
        }
        if (p[i] == '\\' || p[i] == '"') {
            out[o++] = '\\';
            out[o++] = (char)p[i];
        } else if (p[i] < 0x20 || p[i] == 0x7f) {
            o += (size_t)snprintf(out + o, outsz - o, "\\x%02x", p[i]);
        } else {
            out[o++] = (char)p[i];          /* printable ASCII or UTF-8 */
        }
    }
    out[o] = '\0';
    return out;
}

/* Write s as a JSON string (quotes included). */
static void json_string(FILE *f, const char *s)
{
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\')
            fprintf(f, "\\%c", *p);
        else if (*p < 0x20)
            fprintf(f, "\\u%04x", *p);
        else
            fputc(*p, f);
    }
    fputc('"', f);
}

/* What the kernel says about fd: state and queue sizes. */
struct kernel_view {
    int ok;                 /* 0 when fd is not a TCP socket */
    const char *state;
    unsigned queued, backlog;  /* LISTEN: accept queue and its limit */
    int unread, unsent;     /* other states: bytes waiting in each queue */
};

static struct kernel_view kernel_view(int fd)
{
    struct kernel_view v = {0};
    struct tcp_info info;
    socklen_t len = sizeof(info);
    int saved = errno;

    if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &len) == 0) {
        v.ok = 1;
        v.state = tcp_state_name(info.tcpi_state);
        if (info.tcpi_state == TCP_LISTEN) {  /* see tcp_info docs */
            v.queued = info.tcpi_unacked;
            v.backlog = info.tcpi_sacked;
        } else {
            if (ioctl(fd, FIONREAD, &v.unread) == -1)
                v.unread = 0;
            if (ioctl(fd, TIOCOUTQ, &v.unsent) == -1)
                v.unsent = 0;
        }
    }
    errno = saved;
    return v;
}

static const char *role_name(void)
{
    if (lang_zh)
        return role == ROLE_SERVER ? "服务端" : "客户端";
    return role == ROLE_SERVER ? "server" : "client";
}

/* Start a JSON trace object: {"prog":"server","step":N (caller goes on). */
static void json_open(int step)
{
    struct timespec now;

    /* CLOCK_REALTIME: the clock tcpdump stamps packets with, so a trace
     * and a capture line up (tools/timeline). */
    clock_gettime(CLOCK_REALTIME, &now);
    fprintf(stderr, "{\"prog\":\"%s\",\"pid\":%ld,\"ts\":%lld.%09ld,\"step\":%d",
            role == ROLE_SERVER ? "server" : "client", (long)getpid(),
            (long long)now.tv_sec, now.tv_nsec, step);
}

static void text_view(int fd, struct kernel_view v)
{
    const char *dim = use_colour ? "\033[2m" : "", *off = use_colour ? "\033[0m" : "";

    if (!v.ok)
        return;
    if (strcmp(v.state, "CLOSE") == 0)
        fprintf(stderr, "%s[%s]   kernel: fd %d %s (no connection)%s\n",
                dim, role_name(), fd, v.state, off);
    else if (strcmp(v.state, "LISTEN") == 0)
        fprintf(stderr, "%s[%s]   kernel: fd %d %s, accept queue %u of %u%s\n",
                dim, role_name(), fd, v.state, v.queued, v.backlog, off);
    else
        fprintf(stderr, "%s[%s]   kernel: fd %d %s, %d bytes unread, %d unsent%s\n",
                dim, role_name(), fd, v.state, v.unread, v.unsent, off);
}

static void json_view_fields(int fd, struct kernel_view v)
{
    if (!v.ok)
        return;
    fprintf(stderr, ",\"fd\":%d,\"state\":\"%s\"", fd, v.state);
    if (strcmp(v.state, "LISTEN") == 0)
        fprintf(stderr, ",\"accept_queue\":%u,\"backlog\":%u", v.queued, v.backlog);
    else
        fprintf(stderr, ",\"unread\":%d,\"unsent\":%d", v.unread, v.unsent);
}

void trace_call(int step, long ret, int fd, const char *fmt, ...)
{
    int err = errno;
    const char *injected = lab_fault_last_note ? lab_fault_last_note() : NULL;
    char call[CALL_TEXT_MAX];
    struct kernel_view v = {0};
    va_list ap;

    if (mode == TRACE_QUIET) {
        errno = err;
        return;
    }
    va_start(ap, fmt);
    vsnprintf(call, sizeof(call), fmt, ap);
    va_end(ap);
    /* Data lines printed before this call come first, even when stdout
     * and stderr share one pipe (`2>&1 | less`). Quiet runs skip this, so
     * -q costs no write(2) per line (see print_data). */
    fflush(stdout);
    if (ret != -1 && fd >= 0)
        v = kernel_view(fd);

    if (mode == TRACE_JSON) {
        size_t namelen = strcspn(call, "(");
        char name[64];

        snprintf(name, sizeof(name), "%.*s", (int)namelen, call);
        json_open(step);
        fprintf(stderr, ",\"label\":");
        json_string(stderr, trace_step_label(step));
        fprintf(stderr, ",\"call\":");
        json_string(stderr, name);
        fprintf(stderr, ",\"text\":");
        json_string(stderr, call);
        fprintf(stderr, ",\"ret\":%ld", ret);
        if (ret == -1) {
            fprintf(stderr, ",\"errno\":\"%s\",\"error\":", errno_name(err));
            json_string(stderr, strerror(err));
        }
        if (injected) {
            fprintf(stderr, ",\"injected\":");
            json_string(stderr, injected);
        }
        json_view_fields(fd, v);
        fprintf(stderr, "}\n");
    } else {
        const char *bold = use_colour ? "\033[1;36m" : "";
        const char *red = use_colour ? "\033[1;31m" : "";
        const char *yellow = use_colour ? "\033[33m" : "";
        const char *off = use_colour ? "\033[0m" : "";

        if (lang_zh)
            fprintf(stderr, "[%s] %s第%d步 %s%s  %s = %ld", role_name(), bold,
                    step, trace_step_label(step), off, call, ret);
        else
            fprintf(stderr, "[%s] %sstep %d %s%s  %s = %ld", role_name(), bold,
                    step, trace_step_label(step), off, call, ret);
        if (ret == -1)
            fprintf(stderr, " %s%s (%s)%s", red, errno_name(err), strerror(err), off);
        if (injected)
            fprintf(stderr, "   %s[injected: %s]%s", yellow, injected, off);
        fputc('\n', stderr);
        text_view(fd, v);
    }
    errno = err;
}

void trace_note(int step, const char *fmt, ...)
{
    int err = errno;
    char note[CALL_TEXT_MAX];
    va_list ap;

    if (mode == TRACE_QUIET)
        return;
    va_start(ap, fmt);
    vsnprintf(note, sizeof(note), fmt, ap);
    va_end(ap);
    fflush(stdout);                 /* keep data lines in order, as above */
    if (mode == TRACE_JSON) {
        json_open(step);
        fprintf(stderr, ",\"note\":");
        json_string(stderr, note);
        fprintf(stderr, "}\n");
    } else {
        fprintf(stderr, "[%s]   %s\n", role_name(), note);
    }
    errno = err;
}

void trace_view(int step, int fd)
{
    int err = errno;
    struct kernel_view v;

    if (mode == TRACE_QUIET)
        return;
    v = kernel_view(fd);
    fflush(stdout);                 /* keep data lines in order, as above */
    if (mode == TRACE_JSON) {
        if (v.ok) {
            json_open(step);
            fprintf(stderr, ",\"view\":true");
            json_view_fields(fd, v);
            fprintf(stderr, "}\n");
        }
    } else {
        text_view(fd, v);
    }
    errno = err;
}
