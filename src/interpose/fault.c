/*
 * fault.c - fault injection at the socket API (see fault.h and README.md):
 * LAB_FAULT says which calls return short counts, fail with an errno, or
 * wait first. The interposer asks fault_begin() before each socket call it
 * wraps. The spec is parsed at start-up; deciding is async-signal-safe:
 * counters and the random generator change atomically, the note goes in
 * the caller's verdict, and no stdio or lock is used.
 */
#include "fault.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "i18n.h"
#include "line.h"
#include "trace.h"

/* Exit code for a bad LAB_FAULT, as for any usage error in the kit. */
#define EXIT_BAD_SPEC 2
/* More rules than this in one LAB_FAULT is surely a mistake. */
#define MAX_RULES 32

/* The calls a rule can name; several libc functions share one. */
static const char *const call_names[FC_COUNT] = {
    "socket", "bind", "listen", "accept", "connect", "send", "recv", "close"};

enum mode { M_ERRNO, M_SHORT, M_DELAY };
enum when { W_ALWAYS, W_EVERY, W_AFTER, W_ONCE, W_PROB };

struct rule {
    enum fault_call call;
    enum mode mode;
    int err;                    /* M_ERRNO: the errno to fail with */
    long value;                 /* M_SHORT: byte cap; M_DELAY: milliseconds */
    enum when when;
    long n;                     /* every/after/once: the call number */
    double prob;                /* prob: chance per call, 0..1 */
};

static const struct { const char *name; int err; } errnos[] = {
    {"eintr", EINTR}, {"eagain", EAGAIN}, {"econnreset", ECONNRESET},
    {"reset", ECONNRESET}, {"epipe", EPIPE}, {"eaddrinuse", EADDRINUSE},
    {"econnrefused", ECONNREFUSED}, {"refused", ECONNREFUSED},
    {"emfile", EMFILE}, {"etimedout", ETIMEDOUT}, {"timeout", ETIMEDOUT},
};
#define NERRNOS (sizeof(errnos) / sizeof(errnos[0]))

static struct rule rules[MAX_RULES];
static int nrules;
static long calls_seen[FC_COUNT];     /* how many calls of each kind so far */
static uint64_t rng_state = 1;      /* xorshift64*, from LAB_FAULT_SEED */
static int verbose;                 /* LAB_FAULT_VERBOSE: log each injection */

/* ---- the spec: parsing and validation ---- */

static void bad_spec(const char *rule, const char *fmt, ...)
    __attribute__((format(printf, 2, 3), noreturn));

static void bad_spec(const char *rule, const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "libfault: LAB_FAULT: bad rule '%s': ", rule);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nlibfault: syntax: CALL:MODE[=VALUE][@WHEN] joined by ';', "
            "e.g. 'send:short=1;send:eintr=every3' (see src/interpose/README.md)\n");
    _exit(EXIT_BAD_SPEC);
}

/* A whole decimal number >= min, or -1. */
static long parse_count(const char *s, long min)
{
    char *end;
    long v;

    if (*s < '0' || *s > '9')
        return -1;
    errno = 0;
    v = strtol(s, &end, 10);
    if (errno != 0 || *end != '\0' || v < min)
        return -1;
    return v;
}

/* "200ms", "2s", "500us", or a bare number of milliseconds; -1 if bad. */
static long parse_delay_ms(const char *s)
{
    char *end;
    double v;

    if (*s < '0' || *s > '9')
        return -1;
    v = strtod(s, &end);
    if (strcmp(end, "ms") == 0 || *end == '\0')
        ;
    else if (strcmp(end, "s") == 0)
        v *= 1000;
    else if (strcmp(end, "us") == 0)
        v /= 1000;
    else
        return -1;
    if (v < 0 || v > 600000)        /* ten minutes: longer is a typo */
        return -1;
    return (long)v;
}

/* WHEN: always | everyN | afterN | onceN | atN | probP (keyword '=' allowed). */
static void parse_when(const char *text, const char *s, struct rule *r)
{
    static const struct { const char *kw; enum when w; } kws[] = {
        {"every", W_EVERY}, {"after", W_AFTER}, {"once", W_ONCE}, {"at", W_ONCE},
        {"prob", W_PROB}};

    if (strcasecmp(s, "always") == 0) {
        r->when = W_ALWAYS;
        return;
    }
    for (size_t i = 0; i < sizeof(kws) / sizeof(kws[0]); i++) {
        size_t k = strlen(kws[i].kw);
        const char *arg = s + k;
        char *end;

        if (strncasecmp(s, kws[i].kw, k) != 0)
            continue;
        if (*arg == '=')
            arg++;
        r->when = kws[i].w;
        if (r->when == W_PROB) {
            r->prob = strtod(arg, &end);
            if (end == arg || *end != '\0' || r->prob < 0 || r->prob > 1)
                bad_spec(text, "'%s': the probability must be a number from 0 to 1", s);
            return;
        }
        r->n = parse_count(arg, r->when == W_AFTER ? 0 : 1);
        if (r->n < 0)
            bad_spec(text, "'%s': %s needs a whole number%s", s, kws[i].kw,
                     r->when == W_AFTER ? "" : " >= 1");
        return;
    }
    bad_spec(text, "unknown when-clause '%s' (always, everyN, afterN, onceN, probP)", s);
}

static enum fault_call parse_call(const char *text, const char *s)
{
    for (int c = 0; c < FC_COUNT; c++)
        if (strcasecmp(s, call_names[c]) == 0)
            return (enum fault_call)c;
    bad_spec(text, "unknown call '%s' (socket, bind, listen, accept, connect, send, "
             "recv, close)", s);
}

/* One rule: CALL:MODE[=VALUE][@WHEN]; text is modified in place. */
static void parse_rule(const char *text, char *s, struct rule *r)
{
    char *mode = strchr(s, ':'), *value, *when;

    memset(r, 0, sizeof(*r));
    if (mode == NULL)
        bad_spec(text, "no ':' between the call and the mode");
    *mode++ = '\0';
    r->call = parse_call(text, s);
    if ((when = strchr(mode, '@')) != NULL)
        *when++ = '\0';
    if ((value = strchr(mode, '=')) != NULL)
        *value++ = '\0';

    if (strcasecmp(mode, "short") == 0) {
        r->mode = M_SHORT;
        if (r->call != FC_SEND && r->call != FC_RECV)
            bad_spec(text, "short counts exist only for send and recv");
        if (value == NULL || (r->value = parse_count(value, 1)) < 0)
            bad_spec(text, "short needs a byte count >= 1, as in short=1");
    } else if (strcasecmp(mode, "delay") == 0) {
        r->mode = M_DELAY;
        if (value == NULL || (r->value = parse_delay_ms(value)) < 0)
            bad_spec(text, "delay needs a time such as delay=200ms or delay=1s");
    } else {
        size_t i;

        for (i = 0; i < NERRNOS; i++)
            if (strcasecmp(mode, errnos[i].name) == 0)
                break;
        if (i == NERRNOS)
            bad_spec(text, "unknown mode '%s' (short=N, delay=T, or an errno: eintr, eagain, "
                     "econnreset, epipe, eaddrinuse, econnrefused, emfile, etimedout)", mode);
        r->mode = M_ERRNO;
        r->err = errnos[i].err;
        /* For an errno the value is the when-clause: eintr=every3. */
        if (value != NULL && when != NULL)
            bad_spec(text, "give the when-clause once: %s=WHEN or %s@WHEN", mode, mode);
        if (value != NULL)
            when = value;
    }
    if (when != NULL)
        parse_when(text, when, r);
}

static void parse_spec(const char *spec)
{
    char *copy = strdup(spec), *save = NULL;

    if (copy == NULL)
        bad_spec(spec, "out of memory");
    for (char *tok = strtok_r(copy, ";", &save); tok; tok = strtok_r(NULL, ";", &save)) {
        char text[128];

        while (*tok == ' ')
            tok++;
        for (char *e = tok + strlen(tok); e > tok && e[-1] == ' '; )
            *--e = '\0';
        if (*tok == '\0')
            continue;               /* "a;;b" or a trailing ';' */
        if (nrules == MAX_RULES)
            bad_spec(tok, "more than %d rules", MAX_RULES);
        snprintf(text, sizeof(text), "%s", tok);
        parse_rule(text, tok, &rules[nrules++]);
    }
    free(copy);
    if (nrules == 0)
        bad_spec(spec, "no rules (unset LAB_FAULT to run without faults)");
}

void fault_init(void)
{
    static int done;
    const char *spec = getenv("LAB_FAULT");
    const char *seed = getenv("LAB_FAULT_SEED");
    const char *v = getenv("LAB_FAULT_VERBOSE");

    if (done)
        return;
    if (seed != NULL) {
        char *end;

        errno = 0;
        rng_state = strtoull(seed, &end, 10);
        if (*seed == '\0' || *end != '\0' || errno != 0) {
            fprintf(stderr, "libfault: LAB_FAULT_SEED '%s' is not a whole number\n", seed);
            _exit(EXIT_BAD_SPEC);
        }
        if (rng_state == 0)
            rng_state = 1;          /* xorshift never leaves 0 */
    }
    done = 1;
    verbose = v != NULL && *v != '\0' && strcmp(v, "0") != 0;
    if (spec != NULL)
        parse_spec(spec);
}

int fault_enabled(void)
{
    return nrules > 0;
}

int fault_verbose(void)
{
    return nrules > 0 && verbose;
}

/* ---- deciding and applying ---- */

/* xorshift64*, one step taken atomically (threads, signal handlers). */
static double random_unit(void)
{
    uint64_t old = __atomic_load_n(&rng_state, __ATOMIC_RELAXED), x;

    do {
        x = old;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
    } while (!__atomic_compare_exchange_n(&rng_state, &old, x, 0, __ATOMIC_RELAXED,
                                          __ATOMIC_RELAXED));
    return (double)((x * 2685821657736338717ULL) >> 11) / 9007199254740992.0;
}

/* Does rule r fire on call number n (counting from 1)? */
static int fires(const struct rule *r, long n)
{
    switch (r->when) {
    case W_ALWAYS: return 1;
    case W_EVERY:  return n % r->n == 0;
    case W_AFTER:  return n > r->n;
    case W_ONCE:   return n == r->n;
    case W_PROB:   return random_unit() < r->prob;
    }
    return 0;
}


/* The injected errno's name as the trace shows it: "EINTR". */
static const char *errno_name_upper(int err)
{
    static const struct { int err; const char *name; } names[] = {
        {EINTR, "EINTR"}, {EAGAIN, "EAGAIN"}, {ECONNRESET, "ECONNRESET"}, {EPIPE, "EPIPE"},
        {EADDRINUSE, "EADDRINUSE"}, {ECONNREFUSED, "ECONNREFUSED"}, {EMFILE, "EMFILE"},
        {ETIMEDOUT, "ETIMEDOUT"}};

    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (names[i].err == err)
            return names[i].name;
    return "?";
}

static void decide(enum fault_call c, struct fault_verdict *v)
{
    v->n = __atomic_add_fetch(&calls_seen[c], 1, __ATOMIC_RELAXED);
    for (int i = 0; i < nrules; i++) {
        const struct rule *r = &rules[i];

        if (r->call != c || !fires(r, v->n))
            continue;
        if (r->mode == M_DELAY)
            v->delay_ms += r->value;
        else if (r->mode == M_ERRNO && v->err == 0)
            v->err = r->err;        /* the first errno rule that fires wins */
        else if (r->mode == M_SHORT && (v->cap == 0 || (size_t)r->value < v->cap))
            v->cap = (size_t)r->value;
    }
}

const char *const fault_words[FW_COUNT] = {
    [FW_DELAY] = N_("delay"),
    [FW_SHORT_WRITE] = N_("short write"),
    [FW_SHORT_READ] = N_("short read"),
};

/* Add what was injected to the call's note (and with LAB_FAULT_VERBOSE,
 * log it: "libfault: send call 3: EINTR"). */
static void add_note(enum fault_call c, struct fault_verdict *v, const char *what, long ms)
{
    struct line l;
    size_t used = strlen(v->note);

    line_init(&l);
    line_str(&l, what);
    if (ms >= 0)
        line_fmt(&l, " %ldms", ms);
    if (used > 0 && used + 2 < sizeof(v->note))
        memcpy(v->note + used, ", ", 3), used += 2;
    if (used + l.len < sizeof(v->note)) {
        memcpy(v->note + used, l.buf, l.len + 1);
    }
    if (verbose) {
        struct line log;

        line_init(&log);
        line_fmt(&log, "libfault: %s call %ld: %s", call_names[c], v->n, l.buf);
        trace_log(log.buf);
    }
}

void fault_begin(enum fault_call c, struct fault_verdict *v)
{
    int saved = errno;

    memset(v, 0, sizeof(*v));
    if (nrules == 0 || c == FC_NONE)
        return;
    decide(c, v);
    if (v->delay_ms > 0) {
        struct timespec ts = {v->delay_ms / 1000, (v->delay_ms % 1000) * 1000000L};

        add_note(c, v, fault_words[FW_DELAY], v->delay_ms);
        while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
            ;
    }
    if (v->err != 0)
        add_note(c, v, errno_name_upper(v->err), -1);
    errno = saved;
}

/* The length to pass on: len, or less for a short count. */
size_t fault_cap(const struct fault_verdict *v, size_t len)
{
    return v->cap != 0 && len > v->cap ? v->cap : len;
}

/* After the call: note a short count when the cap is what made it short
 * (a read that returns less than the cap, or 0, was short anyway). */
void fault_note_short(enum fault_call c, struct fault_verdict *v, size_t len, ssize_t rc)
{
    int saved = errno;

    if (v->cap != 0 && len > v->cap && rc == (ssize_t)v->cap)
        add_note(c, v, fault_words[c == FC_SEND ? FW_SHORT_WRITE : FW_SHORT_READ], -1);
    errno = saved;
}
