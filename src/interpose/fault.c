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
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "faultspec.h"
#include "i18n.h"
#include "line.h"
#include "trace.h"

/* Exit code for a bad LAB_FAULT, as for any usage error in the kit. */
#define EXIT_BAD_SPEC 2

static struct fault_rule rules[FAULT_RULES_MAX];   /* faultspec.h: parsed once */
static int nrules;
static long calls_seen[FC_COUNT];     /* how many calls of each kind so far */
static uint64_t rng_state = 1;      /* xorshift64*, from LAB_FAULT_SEED */
static int verbose;                 /* LAB_FAULT_VERBOSE: log each injection */

/* ---- the spec (faultspec.c parses it) ---- */

static void parse_spec(const char *spec)
{
    char why[256];

    nrules = fault_spec_parse(spec, rules, why, sizeof(why));
    if (nrules == -1) {
        fprintf(stderr, "libfault: LAB_FAULT: %s%s\n", why,
                strcmp(why, "no rules") == 0 ? " (unset LAB_FAULT to run without faults)" : "");
        fprintf(stderr, "libfault: syntax: CALL:MODE[=VALUE][@WHEN] joined by ';', "
                "e.g. 'send:short=1;send:eintr=every3' (see src/interpose/README.md)\n");
        _exit(EXIT_BAD_SPEC);
    }
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

static void decide(enum fault_call c, struct fault_verdict *v)
{
    v->n = __atomic_add_fetch(&calls_seen[c], 1, __ATOMIC_RELAXED);
    for (int i = 0; i < nrules; i++) {
        const struct fault_rule *r = &rules[i];

        if (r->call != (int)c || !fault_rule_fires(r, v->n, &rng_state))
            continue;
        if (r->mode == FAULT_DELAY)
            v->delay_ms += r->value;
        else if (r->mode == FAULT_ERRNO && v->err == 0)
            v->err = r->err;        /* the first errno rule that fires wins */
        else if (r->mode == FAULT_SHORT && (v->cap == 0 || (size_t)r->value < v->cap))
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
        line_fmt(&log, "libfault: %s call %ld: %s", fault_call_names[c], v->n, l.buf);
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
        add_note(c, v, fault_errno_name(v->err), -1);
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
