/*
 * loadgen.c - the load client of `make bench-load` and `make bench-scale`:
 * C connections at once doing framed round trips (the framed protocol of
 * lessons 07-10), optionally beside N idle connections, all from one thread
 * with epoll. libc only.
 *
 * Usage: loadgen [-c CONNS] [-n MESSAGES | -d SECONDS] [-r RATE] [-I IDLE]
 *                [-m PID] [-t SECONDS] HOST PORT
 *
 * Phases. Idle (-I N): N connections open, each does one round trip (so the
 * server has accepted it and holds it), then stays silent to the end; from
 * 127.0.0.2, 127.0.0.3, ... when HOST is a loopback address, for the ports.
 * Accept: the C active connections connect and send their first message; a
 * connection counts once its first reply is back (the kernel finishes the
 * handshake before the server's accept(), so connect() alone would time the
 * kernel, not the server). Then, all at once, the measured round trips:
 * MESSAGES-1 more per connection (-n), or as many as fit in SECONDS (-d).
 *
 * Closed loop (the default): each connection sends its next message as soon
 * as its reply is back. Open loop (-r RATE, as wrk2 does): messages are due
 * at RATE per second in all, spread evenly over the connections, and each
 * latency counts from when its message was due, not from when a connection
 * that waited for a slow reply got round to sending it: a stalled server
 * shows in the percentiles instead of slowing its clients down with it.
 *
 * Latencies go into a histogram of logarithmic buckets (no allocation per
 * sample; a value is reported within 1/64 above the true one): p50, p90,
 * p99, p99.9 and the exact max. -m PID: the server's CPU time per measured
 * round trip, and its memory at the end with every connection still open
 * (Pss summed over PID and its children, in KiB: a page that n processes
 * share counts 1/n in each, so a forking server's shared pages count once;
 * and its anonymous part alone, which other programs do not move).
 *
 * Prints one line of key=value pairs on stdout; errors also on stderr.
 * Exit 0 when every round trip succeeded, 1 otherwise, 2 on a usage error.
 */
#define _GNU_SOURCE                 /* epoll_pwait2(), IP_BIND_ADDRESS_NO_PORT */
#include <arpa/inet.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define HEADER_LEN 4
#define REPLY_FRAME "\0\0\0\2ok"
#define REPLY_FRAME_LEN 6
#define MESSAGE_FORMAT "这是第%ld个超级女生，编号%03ld。"
#define FRAME_MAX 128
#define MAX_EVENTS 512
/* Idle connections being set up at once: below the smallest listen
 * backlog of the lessons (08's 128), so no SYN is dropped and retried. */
#define IDLE_WINDOW 100
/* Idle connections per loopback source address: the ephemeral port range
 * (32768-60999 by default) has about 28,000 ports for each source address
 * towards one server port; 100,000 idle connections take ten addresses. */
#define IDLE_PER_ADDR 10000
/* The histogram: 2^SUB_BITS exact values, then HALF buckets per power of
 * two, so a bucket is at most 1/HALF of its values wide. */
#define SUB_BITS 7
#define HALF (1u << (SUB_BITS - 1))
#define NBUCKETS ((64 - SUB_BITS + 2) * HALF)
#define NS 1000000000ull
#define NEVER UINT64_MAX

/* Busy states first: a connection in one of them has work to finish. */
enum state { CONNECTING, SENDING, WAITING, DUE, PARKED, IDLE, DONE, FAILED };
enum phase { PHASE_IDLE, PHASE_ACCEPT, PHASE_MAIN };

struct conn {
    int fd;
    enum state state;
    int idle;                       /* one of the -I connections */
    long index;                     /* among the active connections */
    long done;                      /* round trips completed */
    long sent;                      /* messages sent */
    long k;                         /* open loop: measured messages sent */
    uint64_t t_from;                /* latency counts from: sent (closed), due (open loop) */
    char out[FRAME_MAX];
    size_t out_len, out_off;
    char in[REPLY_FRAME_LEN];
    size_t in_got;
};

static int epfd;
static struct sockaddr_in server_addr = {.sin_family = AF_INET};
static struct conn *conns, *idle_conns;
static long nconn = 100, nidle, messages = 10;
static double duration, rate;       /* -d, -r; 0 when not given */
static long errors, busy;           /* busy: connections in a busy state */
static const char *first_error;

static enum phase phase;
static int timing;                  /* record latencies */
static uint64_t t_main, t_stop;     /* the measured phase's start; -d: when it stops sending */
static long idle_opened, cursor;    /* idle connections opened; open loop: next message due */

static uint64_t hist[NBUCKETS];
static uint64_t nsamples, max_ns;

static uint64_t now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * NS + (uint64_t)ts.tv_nsec;
}

/* Bucket of v: v itself below 2 * HALF; above, e = log2(v) - (SUB_BITS - 1)
 * low bits are dropped, leaving HALF buckets for each power of two. */
static unsigned bucket(uint64_t v)
{
    if (v < 2 * HALF)
        return (unsigned)v;
    unsigned e = (unsigned)(63 - __builtin_clzll(v)) - (SUB_BITS - 1);
    return e * HALF + (unsigned)(v >> e);
}

/* The highest value that falls in bucket i. */
static uint64_t bucket_top(unsigned i)
{
    if (i < 2 * HALF)
        return i;
    unsigned e = i / HALF - 1;
    return ((uint64_t)(i - e * HALF + 1) << e) - 1;
}

static void record(uint64_t ns)
{
    hist[bucket(ns)]++;
    nsamples++;
    if (ns > max_ns)
        max_ns = ns;
}

/* The value that a fraction q of the samples do not exceed, in us. */
static double percentile(double q)
{
    uint64_t rank = (uint64_t)(q * (double)nsamples), seen = 0;

    if (rank < 1)
        rank = 1;
    for (unsigned i = 0; i < NBUCKETS && nsamples > 0; i++) {
        seen += hist[i];
        if (seen >= rank)
            return (double)(bucket_top(i) < max_ns ? bucket_top(i) : max_ns) / 1e3;
    }
    return (double)max_ns / 1e3;
}

static void set_state(struct conn *c, enum state s)
{
    busy += (s <= DUE) - (c->state <= DUE);
    c->state = s;
}

static void fail(struct conn *c, const char *why)
{
    if (first_error == NULL)
        first_error = why;
    errors++;
    set_state(c, FAILED);
    close(c->fd);
    c->fd = -1;
}

/* fail() for a call that failed: its name and errno's words. */
static void fail_call(struct conn *c, const char *call)
{
    static char why[128];

    if (first_error == NULL) {
        snprintf(why, sizeof(why), "%s: %s", call, strerror(errno));
        first_error = why;
    }
    fail(c, why);
}

static int rewatch(struct conn *c, uint32_t events)
{
    struct epoll_event ev = {.events = events, .data.ptr = c};

    return epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev);
}

/* Send what is left of c's frame; EPOLLOUT only while some is left. */
static void push(struct conn *c)
{
    while (c->out_off < c->out_len) {
        ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL);

        if (n == -1 && errno == EINTR)
            continue;
        if (n == -1 && errno == EAGAIN) {
            if (c->state != SENDING && rewatch(c, EPOLLIN | EPOLLOUT) == -1)
                fail(c, "epoll_ctl");
            else
                set_state(c, SENDING);
            return;
        }
        if (n == -1) {
            fail_call(c, "send");
            return;
        }
        c->out_off += (size_t)n;
    }
    if (c->state == SENDING && rewatch(c, EPOLLIN) == -1) {
        fail(c, "epoll_ctl");
        return;
    }
    set_state(c, WAITING);
}

/* Send c's next message; its latency will count from `from`. */
static void send_next(struct conn *c, uint64_t from)
{
    long i = c->sent + 1;
    int len = snprintf(c->out + HEADER_LEN, FRAME_MAX - HEADER_LEN, MESSAGE_FORMAT, i, i);
    uint32_t netlen = htonl((uint32_t)len);

    memcpy(c->out, &netlen, HEADER_LEN);
    c->out_len = HEADER_LEN + (size_t)len;
    c->out_off = 0;
    c->in_got = 0;
    c->t_from = from;
    c->sent++;
    push(c);
}

/* Open loop: when message s of the schedule is due. Connection i sends
 * messages s = k * C + i, k = 0, 1, ...: RATE in all, evenly spread. */
static uint64_t due_at(long s)
{
    return t_main + (uint64_t)((double)s * 1e9 / rate);
}

/* Whether c's measured round trips are over (it sent its last message). */
static int finished(const struct conn *c)
{
    if (duration == 0)
        return c->done >= messages;
    if (rate == 0)
        return now_ns() >= t_stop;
    return due_at(c->k * nconn + c->index) >= t_stop;
}

/* A round trip of c ended at t: what c does next. */
static void next_step(struct conn *c, uint64_t t)
{
    if (c->idle) {
        set_state(c, IDLE);
    } else if (phase == PHASE_ACCEPT) {
        set_state(c, messages == 1 && duration == 0 ? DONE : PARKED);
    } else if (finished(c)) {
        set_state(c, DONE);
    } else if (rate == 0) {
        send_next(c, t);
    } else {
        /* Open loop: message k is due at its time, whenever this reply came. */
        uint64_t due = due_at(c->k * nconn + c->index);

        if (due <= t) {
            c->k++;
            send_next(c, due);
        } else {
            set_state(c, DUE);      /* feed_open_loop() sends it */
        }
    }
}

/* A reply's bytes; a whole one ends the round trip. */
static void pull(struct conn *c)
{
    for (;;) {
        ssize_t n = recv(c->fd, c->in + c->in_got, REPLY_FRAME_LEN - c->in_got, 0);

        if (n == -1 && errno == EINTR)
            continue;
        if (n == -1 && errno == EAGAIN)
            return;
        if (n == -1) {
            fail_call(c, "recv");
            return;
        }
        if (n == 0) {
            fail(c, c->state == WAITING ? "the server closed the connection before replying"
                                        : "the server closed a connection that was not waiting for a reply");
            return;
        }
        if (c->state != WAITING) {
            fail(c, "the server sent bytes nobody asked for");
            return;
        }
        c->in_got += (size_t)n;
        if (c->in_got < REPLY_FRAME_LEN)
            continue;
        if (memcmp(c->in, REPLY_FRAME, REPLY_FRAME_LEN) != 0) {
            fail(c, "a reply was not the frame \\0\\0\\0\\2ok");
            return;
        }
        uint64_t t = now_ns();
        if (timing && !c->idle)
            record(t - c->t_from);
        c->done++;
        next_step(c, t);
        return;
    }
}

static void connected(struct conn *c)
{
    int err = 0;
    socklen_t len = sizeof(err);

    if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1 || err != 0) {
        errno = err;
        fail_call(c, "connect");
        return;
    }
    if (rewatch(c, EPOLLIN) == -1) {
        fail(c, "epoll_ctl");
        return;
    }
    set_state(c, WAITING);
    send_next(c, now_ns());
}

/* Open c's connection to the server (non-blocking: it completes later).
 * Idle connection j comes from 127.0.0.(2 + j / IDLE_PER_ADDR) when the
 * server is on loopback: each source address has its own ports. */
static void open_conn(struct conn *c, long j)
{
    struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT, .data.ptr = c};
    int one = 1;

    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    set_state(c, CONNECTING);
    if (c->fd == -1) {
        fail_call(c, "socket");
        return;
    }
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (c->idle && (ntohl(server_addr.sin_addr.s_addr) >> 24) == 127) {
        struct sockaddr_in src = {.sin_family = AF_INET,
                                  .sin_addr.s_addr = htonl(0x7f000002u + (uint32_t)(j / IDLE_PER_ADDR))};

        /* The port is picked at connect(), for the whole 4-tuple. */
        setsockopt(c->fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));
        if (bind(c->fd, (struct sockaddr *)&src, sizeof(src)) == -1) {
            fail_call(c, "bind to a loopback source address");
            return;
        }
    }
    if (connect(c->fd, (struct sockaddr *)&server_addr, sizeof(server_addr)) == -1 && errno != EINPROGRESS) {
        fail_call(c, "connect");
        return;
    }
    if (epoll_ctl(epfd, EPOLL_CTL_ADD, c->fd, &ev) == -1)
        fail(c, "epoll_ctl");
}

static void dispatch(const struct epoll_event *e)
{
    struct conn *c = e->data.ptr;

    if (c->state == FAILED)
        return;
    if (c->state == CONNECTING)
        connected(c);
    else if (c->state == SENDING && (e->events & EPOLLOUT))
        push(c);
    /* WAITING: the reply; in any other state, bytes or a close nobody
     * asked for, which pull() counts as an error. */
    if (c->state != FAILED && c->state != SENDING && c->state != CONNECTING &&
        (e->events & (EPOLLIN | EPOLLERR | EPOLLHUP)))
        pull(c);
}

/* The idle phase: open idle connections, IDLE_WINDOW at a time. */
static uint64_t feed_idle(void)
{
    while (idle_opened < nidle && busy < IDLE_WINDOW) {
        idle_conns[idle_opened].idle = 1;
        open_conn(&idle_conns[idle_opened], idle_opened);
        idle_opened++;
    }
    return NEVER;
}

/* The open loop: send each message whose time has come, to a connection
 * ready for it (one still waiting sends it as soon as its reply is in);
 * returns when the next one is due. */
static uint64_t feed_open_loop(void)
{
    uint64_t t = now_ns();

    for (;; cursor++) {
        uint64_t due = due_at(cursor);
        struct conn *c = &conns[cursor % nconn];

        if ((duration > 0 && due >= t_stop) || (duration == 0 && cursor / nconn >= messages - 1))
            return NEVER;           /* the schedule is over */
        if (due > t)
            return due;
        if (c->state == DUE && c->k == cursor / nconn) {
            c->k++;
            send_next(c, due);
        }
    }
}

/* Wait for events and handle them until no connection is busy or the
 * deadline passes (those left busy count as errors). `feed`, if any, runs
 * before each wait and returns when it wants to run again. */
static void run(uint64_t deadline, uint64_t (*feed)(void))
{
    struct epoll_event ev[MAX_EVENTS];

    for (;;) {
        uint64_t until = feed ? feed() : NEVER, t = now_ns();

        if (busy == 0)
            return;
        if (t >= deadline)
            break;
        uint64_t wait = (until < deadline ? until : deadline) - t;
        if (until <= t)
            wait = 0;
        struct timespec ts = {.tv_sec = (time_t)(wait / NS), .tv_nsec = (long)(wait % NS)};
        int k = epoll_pwait2(epfd, ev, MAX_EVENTS, &ts, NULL);
        if (k == -1 && errno == ENOSYS)         /* a kernel before 5.11: ms will do */
            k = epoll_wait(epfd, ev, MAX_EVENTS, (int)((wait + 999999) / 1000000));
        if (k == -1 && errno != EINTR) {
            perror("loadgen: epoll_wait");
            exit(1);
        }
        for (int j = 0; j < k; j++)
            dispatch(&ev[j]);
    }
    for (long i = 0; i < nidle + nconn; i++) {
        struct conn *c = i < nidle ? &idle_conns[i] : &conns[i - nidle];

        if (c->state <= DUE)
            fail(c, "timed out waiting for the server");
    }
}

/* One number from a /proc file: the first after `key` (NULL: the first). */
static int proc_number(const char *path, const char *key, unsigned long long *v)
{
    char buf[512];
    int found = 0;
    FILE *f = fopen(path, "r");

    while (f != NULL && !found && fgets(buf, sizeof(buf), f) != NULL) {
        size_t n = key ? strlen(key) : 0;

        if (key == NULL || strncmp(buf, key, n) == 0)
            found = sscanf(buf + n, "%llu", v) == 1;
    }
    if (f != NULL)
        fclose(f);
    return found ? 0 : -1;
}

/* Add one process's Pss and its anonymous part (KiB) from a single read of
 * its smaps_rollup: the kernel walks every mapping to write that file. */
static void add_rollup(const char *path, long *pss_kib, long *anon_kib)
{
    char buf[256];
    unsigned long long kib, pss_anon = 0, anonymous = 0;
    int has_pss_anon = 0;
    FILE *f = fopen(path, "r");

    if (f == NULL)
        return;
    while (fgets(buf, sizeof(buf), f) != NULL) {
        if (sscanf(buf, "Pss: %llu", &kib) == 1)
            *pss_kib += (long)kib;
        else if (sscanf(buf, "Pss_Anon: %llu", &kib) == 1) {
            pss_anon = kib;
            has_pss_anon = 1;
        } else if (sscanf(buf, "Anonymous: %llu", &kib) == 1)
            anonymous = kib;
    }
    fclose(f);
    *anon_kib += (long)(has_pss_anon ? pss_anon : anonymous);
}

/* CPU seconds and, if pss_kib is not NULL, Pss (KiB) of process pid and its
 * children, and its anonymous part (anon_kib: heap, stacks; Pss_Anon, or
 * Anonymous on a kernel without it). The CPU time is the scheduler's
 * (/proc/N/schedstat, in ns): utime and stime of /proc/N/stat lag behind by
 * up to a second. Pss moves with other processes: a libc page shared with
 * every other program counts 1/n here, and n is how many run now. The
 * anonymous part is the server's own (its forks share it among themselves
 * only), so what it gains with N is what N connections cost. */
static void server_usage(long pid, double *cpu_s, long *pss_kib, long *anon_kib)
{
    DIR *d = opendir("/proc");
    struct dirent *e;

    *cpu_s = 0;
    if (pss_kib != NULL)
        *pss_kib = *anon_kib = 0;
    while (d != NULL && (e = readdir(d)) != NULL) {
        char path[300], buf[1024], *p = NULL;
        unsigned long long ns;
        long ppid;
        FILE *f;

        if (!isdigit((unsigned char)e->d_name[0]))
            continue;
        snprintf(path, sizeof(path), "/proc/%s/stat", e->d_name);
        if ((f = fopen(path, "r")) != NULL) {
            p = fgets(buf, sizeof(buf), f);
            fclose(f);
        }
        /* pid (comm) state ppid ...: comm may hold spaces and parentheses,
         * so read after the last ')'. */
        if (p == NULL || (p = strrchr(buf, ')')) == NULL || sscanf(p + 2, "%*c %ld", &ppid) != 1)
            continue;
        if (atol(e->d_name) != pid && ppid != pid)
            continue;
        snprintf(path, sizeof(path), "/proc/%s/schedstat", e->d_name);
        if (proc_number(path, NULL, &ns) == 0)
            *cpu_s += (double)ns / 1e9;
        snprintf(path, sizeof(path), "/proc/%s/smaps_rollup", e->d_name);
        if (pss_kib != NULL)
            add_rollup(path, pss_kib, anon_kib);
    }
    if (d != NULL)
        closedir(d);
}

static void usage(void)
{
    fprintf(stderr, "usage: loadgen [-c CONNS] [-n MESSAGES | -d SECONDS] [-r RATE] [-I IDLE] "
                    "[-m PID] [-t SECONDS] HOST PORT\n");
    exit(2);
}

/* Raise the soft fd limit to the hard one; 0 when `need` fds fit. */
static int enough_fds(long need)
{
    struct rlimit rl;

    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < (rlim_t)need) {
        fprintf(stderr, "loadgen: %ld connections need %ld fds; RLIMIT_NOFILE is %lu (ulimit -Hn; "
                        "root may raise it: prlimit --nofile=N:N)\n",
                need - 16, need, (unsigned long)rl.rlim_cur);
        return -1;
    }
    return 0;
}

int main(int argc, char *argv[])
{
    long timeout = 60, server_pid = 0;
    int opt;

    while ((opt = getopt(argc, argv, "c:n:d:r:I:m:t:h")) != -1) {
        char *end = "";
        double v = optarg ? strtod(optarg, &end) : 0;
        int fraction = opt == 'd' || opt == 'r';    /* seconds, a rate: any v > 0 */

        if (opt == 'h' || opt == '?' || *end != '\0' || end == optarg || !(v < 1e12) ||
            (fraction ? v <= 0 : v != (double)(long)v || v < (opt == 'I' ? 0 : 1)))
            usage();
        if (opt == 'c') nconn = (long)v;
        if (opt == 'n') messages = (long)v;
        if (opt == 'd') duration = v;
        if (opt == 'r') rate = v;
        if (opt == 'I') nidle = (long)v;
        if (opt == 'm') server_pid = (long)v;
        if (opt == 't') timeout = (long)v;
    }
    if (argc - optind != 2 || inet_pton(AF_INET, argv[optind], &server_addr.sin_addr) != 1)
        usage();
    server_addr.sin_port = htons((unsigned short)atoi(argv[optind + 1]));
    if (nidle / IDLE_PER_ADDR > 250) {
        fprintf(stderr, "loadgen: at most %d idle connections\n", 250 * IDLE_PER_ADDR);
        return 2;
    }
    if (enough_fds(nconn + nidle + 16) == -1)
        return 1;
    conns = calloc((size_t)nconn, sizeof(*conns));
    idle_conns = calloc((size_t)nidle + 1, sizeof(*idle_conns));
    epfd = epoll_create1(0);
    if (conns == NULL || idle_conns == NULL || epfd == -1) {
        perror("loadgen: setup");
        return 1;
    }
    for (long i = 0; i < nconn; i++) {
        conns[i].index = i;
        conns[i].state = DONE;      /* not busy until it connects */
    }
    for (long i = 0; i < nidle; i++)
        idle_conns[i].state = DONE;

    uint64_t deadline = now_ns() + (uint64_t)timeout * NS;
    /* The idle connections, set up and then left alone. */
    phase = PHASE_IDLE;
    uint64_t ti = now_ns();
    run(deadline, feed_idle);

    /* The accept phase: connect and the first round trip of each. */
    phase = PHASE_ACCEPT;
    timing = messages == 1 && duration == 0;
    uint64_t t0 = now_ns();
    for (long i = 0; i < nconn; i++)
        open_conn(&conns[i], i);
    run(deadline, NULL);
    uint64_t t1 = now_ns();
    long accepted = 0;
    for (long i = 0; i < nconn; i++)
        accepted += conns[i].done >= 1;

    /* The measured phase, all connections at once. */
    double cpu0 = 0, cpu1 = 0;
    long pss = 0, anon = 0;
    if (server_pid > 0)
        server_usage(server_pid, &cpu0, NULL, NULL);
    phase = PHASE_MAIN;
    timing = 1;
    t_main = now_ns();
    t_stop = t_main + (uint64_t)(duration * 1e9);
    if (!(messages == 1 && duration == 0)) {
        for (long i = 0; i < nconn; i++) {
            struct conn *c = &conns[i];

            if (c->state != PARKED)
                continue;
            if (rate > 0)
                set_state(c, finished(c) ? DONE : DUE);
            else if (finished(c))
                set_state(c, DONE);
            else
                send_next(c, now_ns());
        }
        run(deadline, rate > 0 ? feed_open_loop : NULL);
    }
    uint64_t t2 = now_ns();
    if (server_pid > 0)
        server_usage(server_pid, &cpu1, &pss, &anon);

    long trips = 0, idle_held = 0;
    for (long i = 0; i < nconn; i++) {
        trips += conns[i].done;
        if (conns[i].fd != -1)
            close(conns[i].fd);
    }
    for (long i = 0; i < nidle; i++) {
        idle_held += idle_conns[i].state == IDLE;
        if (idle_conns[i].fd != -1)
            close(idle_conns[i].fd);
    }
    double secs = messages == 1 && duration == 0 ? (double)(t1 - t0) / 1e9 : (double)(t2 - t_main) / 1e9;
    if (duration > 0)
        printf("connections=%ld idle=%ld duration=%g", nconn, idle_held, duration);
    else
        printf("connections=%ld idle=%ld messages=%ld", nconn, idle_held, messages);
    printf(" round_trips=%ld errors=%ld seconds=%.3f "
           "rt_per_s=%.0f p50_us=%.0f p90_us=%.0f p99_us=%.0f p999_us=%.0f max_us=%.0f "
           "accept_per_s=%.0f idle_per_s=%.0f",
           trips, errors, (double)(t2 - ti) / 1e9,
           secs > 0 ? (double)nsamples / secs : 0, percentile(0.50), percentile(0.90),
           percentile(0.99), percentile(0.999), (double)max_ns / 1e3,
           t1 > t0 ? (double)accepted / ((double)(t1 - t0) / 1e9) : 0,
           nidle ? (double)idle_held / ((double)(t0 - ti) / 1e9) : 0);
    if (rate > 0)
        printf(" rate=%.0f", rate);
    if (server_pid > 0)
        printf(" rss_kib=%ld anon_kib=%ld server_cpu_us_per_rt=%.2f", pss, anon,
               nsamples ? (cpu1 - cpu0) * 1e6 / (double)nsamples : 0);
    printf("\n");
    free(conns);
    free(idle_conns);
    close(epfd);
    if (errors)
        fprintf(stderr, "loadgen: %ld of %ld connections failed; first: %s\n", errors, nconn + nidle, first_error);
    return errors ? 1 : 0;
}
