/*
 * slowlink.c - netem's delay and loss for kernels without netem (sch_netem).
 *
 * Usage: slowlink [-q] [-o IFACE] [--queue N] [--seed N] NETEM... [-- CMD ARGS...]
 *
 * `tc qdisc add dev eth0 root netem delay 100ms loss 10%` needs the kernel's
 * netem queueing discipline, which some kernels leave out. slowlink does the
 * same two things from user space: iptables' NFQUEUE target hands each packet
 * the machine sends out of IFACE to this program (over a netfilter netlink
 * socket), which holds it for the delay and then tells the kernel to let it
 * go (NF_ACCEPT), or drops it (NF_DROP) with the loss probability. The kernel
 * keeps the packet; only its id and first bytes cross to user space. TCP sees
 * a real slow, lossy link: its round trips stretch and it retransmits.
 *
 * NETEM is netem's own words, so the same $NETEM works for both:
 *   delay TIME [JITTER]   each packet held TIME (+- JITTER, uniform), e.g. 100ms
 *   loss PERCENT          each packet dropped with that probability, e.g. 10%
 *
 * -o IFACE adds `iptables -A OUTPUT -o IFACE -j NFQUEUE --queue-num N` once the
 * queue is bound, and deletes it on exit; without -o, add a rule yourself.
 * With `-- CMD`, slowlink runs CMD, passes it SIGINT/SIGTERM/SIGHUP, and exits
 * with its status once CMD ends; without, it runs until SIGINT or SIGTERM.
 * Each drop is reported on stderr, and a summary at exit (-q: neither).
 * Needs CAP_NET_ADMIN (root in a container with cap_add: NET_ADMIN).
 * Exit 0 (or CMD's status), 1 on a failure, 2 on a usage error. libc only,
 * and the kit's error messages (explain.h), in the user's language as the
 * lessons' are (i18n.h, po/zh_CN.po).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_queue.h>
#include <linux/netlink.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "explain.h"
#include "i18n.h"

#define PROG "slowlink"
#define USAGE "slowlink [-q] [-o IFACE] [--queue N] [--seed N] NETEM... [-- CMD ARGS...]"
/* Packets held at once: a 100 ms delay at loopback speed holds thousands.
 * The kernel's queue gets the same limit, and drops what is past it. */
#define MAX_HELD 8192
/* Bytes of each packet copied to us: the IPv4 and TCP headers, for the drop
 * report. The rest of the packet stays in the kernel. */
#define COPY_BYTES 64
#define NL_BUF 65536

struct held {
    uint32_t id;            /* the kernel's packet id, for the verdict */
    struct timespec due;    /* when to let it go */
};

static struct held held[MAX_HELD];
static size_t nheld;
static int nl_fd = -1;
static uint16_t queue_num;
static uint32_t nl_seq;
static volatile sig_atomic_t got_stop, got_child;
static sigset_t unblocked;          /* the mask we started with */
static unsigned long n_seen, n_dropped, n_overflow;

/* ---- NETEM words ------------------------------------------------------ */

struct netem {
    double delay, jitter;   /* seconds */
    double loss;            /* 0..1 */
};

/* "100ms", "0.1s", "1500us"; a bare number is microseconds, as in tc. */
static double parse_time(const char *word)
{
    char *end;
    errno = 0;
    double v = strtod(word, &end);
    if (errno != 0 || end == word || !(v >= 0 && v <= 60e6))   /* NaN fails too */
        die_usage("bad time '%s' (try 100ms, 0.5s, 1500us)", word);
    if (strcmp(end, "s") == 0 || strcmp(end, "sec") == 0 || strcmp(end, "secs") == 0)
        return v;
    if (strcmp(end, "ms") == 0 || strcmp(end, "msec") == 0 || strcmp(end, "msecs") == 0)
        return v / 1e3;
    if (strcmp(end, "us") == 0 || strcmp(end, "usec") == 0 || strcmp(end, "usecs") == 0 ||
        *end == '\0')
        return v / 1e6;
    die_usage("bad time '%s' (try 100ms, 0.5s, 1500us)", word);
}

static double parse_percent(const char *word)
{
    char *end;
    errno = 0;
    double v = strtod(word, &end);
    if (errno != 0 || end == word || (strcmp(end, "%") != 0 && *end != '\0') ||
        !(v >= 0 && v <= 100))
        die_usage("bad loss '%s' (a percentage from 0 to 100, e.g. 10%%)", word);
    return v / 100;
}

static int is_number(const char *word)
{
    return (*word >= '0' && *word <= '9') || *word == '.';
}

/* netem's words, as many argv words as the shell made of $NETEM (or one
 * quoted string holding them all): split again on blanks. */
static void parse_netem(int argc, char **argv, struct netem *n)
{
    char text[1024] = "";
    for (int i = 0; i < argc; i++) {
        if (strlen(text) + strlen(argv[i]) + 2 > sizeof text)
            die_usage("NETEM is too long");
        strcat(text, argv[i]);
        strcat(text, " ");
    }
    char *save, *word = strtok_r(text, " \t\n", &save);
    if (word == NULL)
        die_usage("no NETEM given (e.g. delay 100ms loss 10%%)");
    for (; word != NULL; word = strtok_r(NULL, " \t\n", &save)) {
        if (strcmp(word, "delay") == 0) {
            char *t = strtok_r(NULL, " \t\n", &save);
            if (t == NULL)
                die_usage("'delay' needs a time (e.g. delay 100ms)");
            n->delay = parse_time(t);
            /* An optional jitter follows, as in tc: "delay 100ms 10ms". */
            char *rest = save;
            while (*rest == ' ' || *rest == '\t')
                rest++;
            if (is_number(rest)) {
                n->jitter = parse_time(strtok_r(NULL, " \t\n", &save));
                if (n->jitter > n->delay)
                    die_usage("jitter %gs is larger than the delay %gs", n->jitter, n->delay);
            }
        } else if (strcmp(word, "loss") == 0) {
            char *p = strtok_r(NULL, " \t\n", &save);
            if (p == NULL)
                die_usage("'loss' needs a percentage (e.g. loss 10%%)");
            if (strcmp(p, "random") == 0)   /* tc's "loss random 10%" */
                p = strtok_r(NULL, " \t\n", &save);
            if (p == NULL)
                die_usage("'loss' needs a percentage (e.g. loss 10%%)");
            n->loss = parse_percent(p);
        } else {
            die_usage("'%s' is not something slowlink does: only delay TIME [JITTER] and "
                        "loss PERCENT (the kernel's netem has the rest)", word);
        }
    }
}

/* ---- randomness: splitmix64, seeded, so a --seed run drops the same packets */

static uint64_t rng_state;

static double random_unit(void)
{
    uint64_t z = (rng_state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    return (double)(z >> 11) / (double)(1ull << 53);
}

/* ---- time ------------------------------------------------------------- */

static struct timespec now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t;
}

static struct timespec plus(struct timespec t, double seconds)
{
    long long ns = t.tv_nsec + (long long)(seconds * 1e9);
    t.tv_sec += ns / 1000000000;
    t.tv_nsec = ns % 1000000000;
    return t;
}

static double until(struct timespec later, struct timespec earlier)
{
    return (double)(later.tv_sec - earlier.tv_sec) + (later.tv_nsec - earlier.tv_nsec) / 1e9;
}

/* ---- netfilter netlink: config and verdict messages ------------------- */

/* A message to the queue subsystem: nlmsghdr, nfgenmsg, then attributes. */
struct nl_msg {
    union {
        struct nlmsghdr hdr;
        char buf[256];
    } u;
};

static void msg_begin(struct nl_msg *m, int type, int flags)
{
    memset(m, 0, sizeof *m);
    m->u.hdr.nlmsg_len = NLMSG_LENGTH(sizeof(struct nfgenmsg));
    m->u.hdr.nlmsg_type = (NFNL_SUBSYS_QUEUE << 8) | type;
    m->u.hdr.nlmsg_flags = NLM_F_REQUEST | flags;
    m->u.hdr.nlmsg_seq = ++nl_seq;
    struct nfgenmsg *g = NLMSG_DATA(&m->u.hdr);
    g->nfgen_family = AF_UNSPEC;
    g->version = NFNETLINK_V0;
    g->res_id = htons(queue_num);
}

static void msg_attr(struct nl_msg *m, int type, const void *data, size_t len)
{
    struct nlattr *a = (struct nlattr *)(m->u.buf + NLMSG_ALIGN(m->u.hdr.nlmsg_len));
    a->nla_type = type;
    a->nla_len = NLA_HDRLEN + len;
    memcpy((char *)a + NLA_HDRLEN, data, len);
    m->u.hdr.nlmsg_len = NLMSG_ALIGN(m->u.hdr.nlmsg_len) + NLA_ALIGN(a->nla_len);
}

/* NLMSG_OK() for an int length (the macro compares it with an unsigned one). */
static int msg_ok(const struct nlmsghdr *h, int len)
{
    return len >= (int)sizeof *h && h->nlmsg_len >= sizeof *h && h->nlmsg_len <= (unsigned)len;
}

static int msg_send(struct nl_msg *m)
{
    struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };
    return sendto(nl_fd, m->u.buf, m->u.hdr.nlmsg_len, 0,
                  (struct sockaddr *)&kernel, sizeof kernel) < 0 ? -1 : 0;
}

/* Send a config message and wait for the kernel's answer (NLM_F_ACK):
 * 0, or -1 with errno set to the kernel's error. */
static int config(int attr, const void *data, size_t len)
{
    struct nl_msg m;
    msg_begin(&m, NFQNL_MSG_CONFIG, NLM_F_ACK);
    msg_attr(&m, attr, data, len);
    if (msg_send(&m) < 0)
        return -1;
    char buf[4096];
    for (;;) {
        int n = (int)recv(nl_fd, buf, sizeof buf, 0);
        if (n < 0)
            return -1;
        for (struct nlmsghdr *h = (struct nlmsghdr *)buf; msg_ok(h, n);
             h = NLMSG_NEXT(h, n)) {
            if (h->nlmsg_type == NLMSG_ERROR && h->nlmsg_seq == nl_seq) {
                struct nlmsgerr *e = NLMSG_DATA(h);
                if (e->error == 0)
                    return 0;
                errno = -e->error;
                return -1;
            }
        }
    }
}

static void verdict(uint32_t id_be, uint32_t what)
{
    struct nl_msg m;
    struct nfqnl_msg_verdict_hdr v = { .verdict = htonl(what), .id = id_be };
    msg_begin(&m, NFQNL_MSG_VERDICT, 0);
    msg_attr(&m, NFQA_VERDICT_HDR, &v, sizeof v);
    if (msg_send(&m) < 0)
        die_msg("verdict on packet %u: %s", ntohl(id_be), errno_text(errno));
}

/* Whether CAP_NET_ADMIN is in our effective set (/proc/self/status, CapEff). */
static int have_net_admin(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    unsigned long long caps = 0;
    if (f == NULL)
        return 0;
    while (fgets(line, sizeof line, f) != NULL)
        if (sscanf(line, "CapEff: %llx", &caps) == 1)
            break;
    fclose(f);
    return (caps >> 12) & 1;            /* CAP_NET_ADMIN is capability 12 */
}

/* Bind queue N to this socket: from now on the kernel sends us every packet
 * a NFQUEUE --queue-num N rule catches, and waits for our verdict. */
static void bind_queue(void)
{
    nl_fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_NETFILTER);
    if (nl_fd < 0)
        die_msg("socket(AF_NETLINK, NETLINK_NETFILTER): %s", errno_text(errno));
    struct sockaddr_nl me = { .nl_family = AF_NETLINK };
    if (bind(nl_fd, (struct sockaddr *)&me, sizeof me) < 0)
        die_msg("bind netlink socket: %s", errno_text(errno));
    /* A burst must not overflow the socket between two recv()s. */
    int rcvbuf = 4 << 20;
    setsockopt(nl_fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof rcvbuf);

    struct nfqnl_msg_config_cmd cmd = { .command = NFQNL_CFG_CMD_BIND, .pf = htons(AF_INET) };
    if (config(NFQA_CFG_CMD, &cmd, sizeof cmd) < 0) {
        /* EPERM is both "no CAP_NET_ADMIN" and "another socket has it". */
        if (errno == EPERM && !have_net_admin())
            die_msg("cannot bind netfilter queue %u: %s - needs CAP_NET_ADMIN (root; in a "
                "container, cap_add: NET_ADMIN)", queue_num, errno_text(errno));
        if (errno == EPERM || errno == EBUSY)
            die_msg("netfilter queue %u is taken by another program: pick another with --queue",
                queue_num);
        die_msg("cannot bind netfilter queue %u: %s (kernel without nfnetlink_queue?)",
            queue_num, errno_text(errno));
    }
    struct nfqnl_msg_config_params params = { .copy_range = htonl(COPY_BYTES),
                                              .copy_mode = NFQNL_COPY_PACKET };
    if (config(NFQA_CFG_PARAMS, &params, sizeof params) < 0)
        die_msg("netfilter queue %u: copy mode: %s", queue_num, errno_text(errno));
    uint32_t maxlen = htonl(MAX_HELD);
    if (config(NFQA_CFG_QUEUE_MAXLEN, &maxlen, sizeof maxlen) < 0)
        die_msg("netfilter queue %u: length: %s", queue_num, errno_text(errno));
}

/* ---- the iptables rule (-o IFACE) -------------------------------------- */

/* Run iptables -A or -D for our rule; return its exit status (127: missing). */
static int iptables(const char *action, const char *iface)
{
    char num[16];
    snprintf(num, sizeof num, "%u", queue_num);
    pid_t ipt = fork();
    if (ipt < 0)
        die_msg("fork: %s", errno_text(errno));
    if (ipt == 0) {
        sigprocmask(SIG_SETMASK, &unblocked, NULL);
        /* -w: wait for the xtables lock rather than fail beside another iptables. */
        execlp("iptables", "iptables", "-w", action, "OUTPUT", "-o", iface,
               "-j", "NFQUEUE", "--queue-num", num, (char *)NULL);
        _exit(127);
    }
    int status;
    while (waitpid(ipt, &status, 0) < 0)
        if (errno != EINTR)
            return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static const char *rule_iface;      /* our NFQUEUE rule is on it; NULL: no rule */

/* At any exit, a failure's too: take the rule away, or every packet on the
 * interface would wait for a verdict nobody gives. */
static void remove_rule(void)
{
    const char *iface = rule_iface;

    rule_iface = NULL;
    if (iface != NULL && iptables("-D", iface) != 0)
        fprintf(stderr, _("%s: could not delete the NFQUEUE rule for %s: delete it with "
                          "iptables -D OUTPUT -o %s -j NFQUEUE --queue-num %u\n"),
                PROG, iface, iface, queue_num);
}

/* ---- the packets ------------------------------------------------------- */

/* "TCP 172.18.0.2:40000 > 172.18.0.3:5005 [S.] 9 bytes" from an IPv4 packet's
 * first bytes, for the drop report. */
static void describe(const unsigned char *p, size_t len, char *out, size_t size)
{
    if (len < 20 || (p[0] >> 4) != 4) {
        snprintf(out, size, "%s", _("a packet that is not IPv4"));
        return;
    }
    size_t ihl = (size_t)(p[0] & 0x0f) * 4;
    unsigned total = (unsigned)p[2] << 8 | p[3];
    char src[INET_ADDRSTRLEN], dst[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, p + 12, src, sizeof src);
    inet_ntop(AF_INET, p + 16, dst, sizeof dst);
    if (p[9] != IPPROTO_TCP || len < ihl + 20) {
        snprintf(out, size, _("IPv4 %s > %s protocol %u"), src, dst, p[9]);
        return;
    }
    const unsigned char *t = p + ihl;
    size_t doff = (size_t)(t[12] >> 4) * 4;
    char flags[8], *f = flags;
    if (t[13] & 0x02) *f++ = 'S';
    if (t[13] & 0x01) *f++ = 'F';
    if (t[13] & 0x04) *f++ = 'R';
    if (t[13] & 0x08) *f++ = 'P';
    if (t[13] & 0x10) *f++ = '.';
    *f = '\0';
    snprintf(out, size, _("TCP %s:%u > %s:%u [%s] %zu bytes"), src, (unsigned)(t[0] << 8 | t[1]),
             dst, (unsigned)(t[2] << 8 | t[3]), flags,
             total > ihl + doff ? (size_t)total - ihl - doff : 0);
}

/* One packet from the kernel: drop it now, or hold it until its time. */
static void take_packet(struct nlmsghdr *h, const struct netem *n, int quiet)
{
    struct nfqnl_msg_packet_hdr *ph = NULL;
    const unsigned char *payload = NULL;
    size_t payload_len = 0;
    int room = (int)h->nlmsg_len - NLMSG_LENGTH(sizeof(struct nfgenmsg));
    struct nlattr *a = (struct nlattr *)((char *)NLMSG_DATA(h) + NLMSG_ALIGN(sizeof(struct nfgenmsg)));
    for (; room >= NLA_HDRLEN && a->nla_len >= NLA_HDRLEN && a->nla_len <= room;
         room -= NLA_ALIGN(a->nla_len), a = (struct nlattr *)((char *)a + NLA_ALIGN(a->nla_len))) {
        int type = a->nla_type & NLA_TYPE_MASK;
        if (type == NFQA_PACKET_HDR)
            ph = (struct nfqnl_msg_packet_hdr *)((char *)a + NLA_HDRLEN);
        else if (type == NFQA_PAYLOAD) {
            payload = (const unsigned char *)a + NLA_HDRLEN;
            payload_len = a->nla_len - NLA_HDRLEN;
        }
    }
    if (ph == NULL)
        return;
    n_seen++;
    if (n->loss > 0 && random_unit() < n->loss) {
        verdict(ph->packet_id, NF_DROP);
        n_dropped++;
        if (!quiet) {
            char what[160];
            describe(payload, payload_len, what, sizeof what);
            fprintf(stderr, _("%s: dropped %s\n"), PROG, what);
        }
        return;
    }
    if (nheld == MAX_HELD) {            /* full: let it through late rather than lose it */
        verdict(ph->packet_id, NF_ACCEPT);
        n_overflow++;
        return;
    }
    double wait = n->delay;
    if (n->jitter > 0)
        wait += n->jitter * (2 * random_unit() - 1);
    held[nheld].id = ph->packet_id;
    held[nheld].due = plus(now(), wait);
    nheld++;
}

/* Let go of every packet whose time has come; return ms until the next one
 * (-1: none held). Jitter may make a later packet due first: netem reorders
 * then too. */
static int release_due(void)
{
    struct timespec t = now();
    double next = -1;
    size_t kept = 0;
    for (size_t i = 0; i < nheld; i++) {
        double left = until(held[i].due, t);
        if (left <= 0) {
            verdict(held[i].id, NF_ACCEPT);
        } else {
            if (next < 0 || left < next)
                next = left;
            held[kept++] = held[i];
        }
    }
    nheld = kept;
    return next < 0 ? -1 : (int)(next * 1000) + 1;
}

static void read_packets(const struct netem *n, int quiet)
{
    static char buf[NL_BUF];
    for (;;) {
        int len = (int)recv(nl_fd, buf, sizeof buf, MSG_DONTWAIT);
        if (len < 0) {
            if (errno == EAGAIN || errno == EINTR)
                return;
            if (errno == ENOBUFS) {     /* the kernel dropped some: go on */
                n_overflow++;
                continue;
            }
            die_msg("recv from netfilter queue: %s", errno_text(errno));
        }
        for (struct nlmsghdr *h = (struct nlmsghdr *)buf; msg_ok(h, len);
             h = NLMSG_NEXT(h, len)) {
            if (NFNL_MSG_TYPE(h->nlmsg_type) == NFQNL_MSG_PACKET)
                take_packet(h, n, quiet);
            else if (h->nlmsg_type == NLMSG_ERROR) {
                struct nlmsgerr *e = NLMSG_DATA(h);
                if (e->error != 0)
                    die_msg("netfilter queue: %s", errno_text(-e->error));
            }
        }
    }
}

/* ---- main -------------------------------------------------------------- */

static void on_signal(int sig)
{
    if (sig == SIGCHLD)
        got_child = 1;
    else
        got_stop = sig;
}

static void catch_signals(sigset_t *blocked)
{
    /* Blocked except inside ppoll(): a signal either wakes the wait or is
     * seen before it, never lost between the check and the wait. */
    sigemptyset(blocked);
    int sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGCHLD };
    for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++) {
        struct sigaction sa = { .sa_handler = on_signal };
        sigemptyset(&sa.sa_mask);
        sigaction(sigs[i], &sa, NULL);
        sigaddset(blocked, sigs[i]);
    }
    sigprocmask(SIG_BLOCK, blocked, &unblocked);
}

static pid_t start_command(char **cmd)
{
    pid_t runner = fork();
    if (runner < 0)
        die_msg("fork: %s", errno_text(errno));
    if (runner == 0) {
        sigprocmask(SIG_SETMASK, &unblocked, NULL);
        execvp(cmd[0], cmd);
        fprintf(stderr, _("%s: cannot run '%s': %s\n"), PROG, cmd[0], errno_text(errno));
        _exit(errno == ENOENT ? 127 : 126);
    }
    return runner;
}

static void help(void)
{
    printf(_("usage: %s\n\n"), USAGE);
    fputs(_("netem's delay and loss without netem: packets that iptables' NFQUEUE target\n"
            "queues are held for the delay, or dropped, then let go.\n\n"
            "  NETEM          delay TIME [JITTER] and/or loss PERCENT (netem's words)\n"
            "  -o IFACE       add (and on exit delete) the rule\n"
            "                 iptables -A OUTPUT -o IFACE -j NFQUEUE --queue-num N\n"
            "  --queue N      the netfilter queue number (default 0)\n"
            "  --seed N       the random seed of loss and jitter (same seed, same drops)\n"
            "  -q             no report of each drop and no summary\n"
            "  -- CMD ARGS    run CMD, exit with its status when it ends\n\n"
            "example: slowlink -o eth0 delay 100ms loss 10% -- ./client server 5005\n"), stdout);
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        { "queue", required_argument, NULL, 'Q' },
        { "seed", required_argument, NULL, 'S' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    const char *iface = NULL;
    int quiet = 0, opt;
    unsigned long long seed = (unsigned long long)time(NULL) ^ ((unsigned long long)getpid() << 32);
    char *end;

    explain_init(PROG, USAGE);
    /* '+': stop at the first NETEM word, so "-- CMD" and CMD's own options stay CMD's. */
    while ((opt = getopt_long(argc, argv, "+qo:h", longopts, NULL)) != -1) {
        switch (opt) {
        case 'q': quiet = 1; break;
        case 'o': iface = optarg; break;
        case 'Q':
            errno = 0;
            unsigned long q = strtoul(optarg, &end, 10);
            if (errno || *end || end == optarg || q > 65535)
                die_usage("bad --queue '%s' (0 to 65535)", optarg);
            queue_num = (uint16_t)q;
            break;
        case 'S':
            errno = 0;
            seed = strtoull(optarg, &end, 10);
            if (errno || *end || end == optarg)
                die_usage("bad --seed '%s' (a whole number)", optarg);
            break;
        case 'h': help(); return 0;
        default:
            die_usage("unknown option");
        }
    }
    int nwords = 0;
    while (optind + nwords < argc && strcmp(argv[optind + nwords], "--") != 0)
        nwords++;
    char **cmd = optind + nwords < argc ? argv + optind + nwords + 1 : NULL;
    if (cmd != NULL && cmd[0] == NULL)
        die_usage("'--' but no command after it");
    struct netem n = { 0 };
    parse_netem(nwords, argv + optind, &n);
    rng_state = seed;

    sigset_t blocked;
    catch_signals(&blocked);
    bind_queue();
    if (iface != NULL) {
        int rc = iptables("-A", iface);
        if (rc == 127)
            die_msg("needs iptables to queue %s's packets (apt-get install iptables)", iface);
        if (rc != 0)
            die_msg("iptables could not add the NFQUEUE rule for %s (exit %d)", iface, rc);
        rule_iface = iface;
        atexit(remove_rule);
    }
    if (!quiet) {
        char jitter[32] = "";

        if (n.jitter > 0)
            snprintf(jitter, sizeof jitter, " +- %g ms", n.jitter * 1e3);
        if (iface != NULL)
            fprintf(stderr, _("%s: queue %u: holding each packet %g ms%s, dropping %g%% on %s\n"),
                    PROG, queue_num, n.delay * 1e3, jitter, n.loss * 100, iface);
        else
            fprintf(stderr, _("%s: queue %u: holding each packet %g ms%s, dropping %g%% "
                              "(add an NFQUEUE rule)\n"),
                    PROG, queue_num, n.delay * 1e3, jitter, n.loss * 100);
    }

    pid_t child = cmd != NULL ? start_command(cmd) : -1;
    int status = 0;
    for (;;) {
        if (got_child && child > 0) {
            got_child = 0;
            int st;
            if (waitpid(child, &st, WNOHANG) == child) {
                status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
                break;
            }
        }
        if (got_stop) {
            if (child < 0)
                break;
            kill(child, got_stop);      /* pass it on; CMD's end ends us */
            got_stop = 0;
        }
        int timeout = release_due();
        struct pollfd p = { .fd = nl_fd, .events = POLLIN };
        struct timespec ts = { timeout / 1000, (timeout % 1000) * 1000000L };
        int r = ppoll(&p, 1, timeout < 0 ? NULL : &ts, &unblocked);
        if (r < 0 && errno != EINTR)
            die_msg("ppoll: %s", errno_text(errno));
        if (r > 0)
            read_packets(&n, quiet);
    }

    /* Stop queueing first, then let go of what is still held. */
    remove_rule();
    read_packets(&n, quiet);
    for (size_t i = 0; i < nheld; i++)
        verdict(held[i].id, NF_ACCEPT);
    if (!quiet)
        fprintf(stderr, _("%s: %lu packets: %lu held %g ms, %lu dropped%s\n"), PROG, n_seen,
                n_seen - n_dropped, n.delay * 1e3, n_dropped,
                n_overflow ? _(" (some went through undelayed: queue full)") : "");
    return status;
}
