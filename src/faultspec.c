/*
 * faultspec.c - LAB_FAULT's rules (see faultspec.h): the parser and the
 * decision whether a rule hits a call, once for both injectors, the
 * interposer (src/interpose/fault.c) and tools/sysfault.
 */
#include "faultspec.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

const char *const fault_call_names[FAULT_CALLS] = {
    "socket", "bind", "listen", "accept", "connect", "send", "recv", "close"};

/* The errnos a rule may name (with a few friendlier aliases). */
static const struct { const char *name; int err; const char *upper; } errnos[] = {
    {"eintr", EINTR, "EINTR"}, {"eagain", EAGAIN, "EAGAIN"},
    {"econnreset", ECONNRESET, "ECONNRESET"}, {"reset", ECONNRESET, "ECONNRESET"},
    {"epipe", EPIPE, "EPIPE"}, {"eaddrinuse", EADDRINUSE, "EADDRINUSE"},
    {"econnrefused", ECONNREFUSED, "ECONNREFUSED"}, {"refused", ECONNREFUSED, "ECONNREFUSED"},
    {"emfile", EMFILE, "EMFILE"}, {"etimedout", ETIMEDOUT, "ETIMEDOUT"},
    {"timeout", ETIMEDOUT, "ETIMEDOUT"},
};
#define NERRNOS (sizeof(errnos) / sizeof(errnos[0]))

/* Where a parse error goes: the rule's text and the caller's buffer. */
struct parse {
    const char *text;
    char *why;
    size_t len;
};

static int bad(struct parse *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Say why the rule is bad; -1 for the caller to return. */
static int bad(struct parse *p, const char *fmt, ...)
{
    va_list ap;
    int n = snprintf(p->why, p->len, "bad rule '%s': ", p->text);

    if (n >= 0 && (size_t)n < p->len) {
        va_start(ap, fmt);
        vsnprintf(p->why + n, p->len - (size_t)n, fmt, ap);
        va_end(ap);
    }
    return -1;
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
    if (strcmp(end, "s") == 0)
        v *= 1000;
    else if (strcmp(end, "us") == 0)
        v /= 1000;
    else if (strcmp(end, "ms") != 0 && *end != '\0')
        return -1;
    return v < 0 || v > 600000 ? -1 : (long)v;     /* ten minutes: longer is a typo */
}

/* WHEN: always | everyN | afterN | onceN | atN | probP (keyword '=' allowed). */
static int parse_when(struct parse *p, const char *s, struct fault_rule *r)
{
    static const struct { const char *kw; enum fault_when w; } kws[] = {
        {"every", FAULT_EVERY}, {"after", FAULT_AFTER}, {"once", FAULT_ONCE}, {"at", FAULT_ONCE},
        {"prob", FAULT_PROB}};

    if (strcasecmp(s, "always") == 0) {
        r->when = FAULT_ALWAYS;
        return 0;
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
        if (r->when == FAULT_PROB) {
            r->prob = strtod(arg, &end);
            if (end == arg || *end != '\0' || r->prob < 0 || r->prob > 1)
                return bad(p, "'%s': the probability must be a number from 0 to 1", s);
            return 0;
        }
        r->n = parse_count(arg, r->when == FAULT_AFTER ? 0 : 1);
        if (r->n < 0)
            return bad(p, "'%s': %s needs a whole number%s", s, kws[i].kw,
                       r->when == FAULT_AFTER ? "" : " >= 1");
        return 0;
    }
    return bad(p, "unknown when-clause '%s' (always, everyN, afterN, onceN, probP)", s);
}

/* MODE[=VALUE] of a rule whose call is known; *when may become VALUE. */
static int parse_mode(struct parse *p, const char *mode, const char *value, const char **when,
                      struct fault_rule *r)
{
    size_t i;

    if (strcasecmp(mode, "short") == 0) {
        r->mode = FAULT_SHORT;
        if (strcmp(fault_call_names[r->call], "send") != 0 && strcmp(fault_call_names[r->call], "recv") != 0)
            return bad(p, "short counts exist only for send and recv");
        if (value == NULL || (r->value = parse_count(value, 1)) < 0)
            return bad(p, "short needs a byte count >= 1, as in short=1");
        return 0;
    }
    if (strcasecmp(mode, "delay") == 0) {
        r->mode = FAULT_DELAY;
        if (value == NULL || (r->value = parse_delay_ms(value)) < 0)
            return bad(p, "delay needs a time such as delay=200ms or delay=1s");
        return 0;
    }
    for (i = 0; i < NERRNOS && strcasecmp(mode, errnos[i].name) != 0; i++)
        ;
    if (i == NERRNOS)
        return bad(p, "unknown mode '%s' (short=N, delay=T, or an errno: eintr, eagain, econnreset, "
                   "epipe, eaddrinuse, econnrefused, emfile, etimedout)", mode);
    r->mode = FAULT_ERRNO;
    r->err = errnos[i].err;
    /* For an errno the value is the when-clause: eintr=every3. */
    if (value != NULL && *when != NULL)
        return bad(p, "give the when-clause once: %s=WHEN or %s@WHEN", mode, mode);
    if (value != NULL)
        *when = value;
    return 0;
}

/* One rule: CALL:MODE[=VALUE][@WHEN]; s is modified in place. */
static int parse_rule(struct parse *p, char *s, struct fault_rule *r)
{
    char *mode = strchr(s, ':'), *value, *at;
    const char *when = NULL;

    memset(r, 0, sizeof(*r));
    if (mode == NULL)
        return bad(p, "no ':' between the call and the mode");
    *mode++ = '\0';
    for (r->call = 0; r->call < FAULT_CALLS && strcasecmp(s, fault_call_names[r->call]) != 0; r->call++)
        ;
    if (r->call == FAULT_CALLS)
        return bad(p, "unknown call '%s' (socket, bind, listen, accept, connect, send, recv, close)", s);
    if ((at = strchr(mode, '@')) != NULL) {
        *at = '\0';
        when = at + 1;
    }
    if ((value = strchr(mode, '=')) != NULL)
        *value++ = '\0';
    if (parse_mode(p, mode, value, &when, r) == -1)
        return -1;
    return when != NULL ? parse_when(p, when, r) : 0;
}

int fault_spec_parse(const char *spec, struct fault_rule *rules, char *why, size_t len)
{
    char *copy = strdup(spec), *save = NULL;
    int n = 0;

    if (copy == NULL) {
        snprintf(why, len, "out of memory");
        return -1;
    }
    for (char *tok = strtok_r(copy, ";", &save); tok; tok = strtok_r(NULL, ";", &save)) {
        char text[128];
        struct parse p = {text, why, len};

        while (*tok == ' ')
            tok++;
        for (char *e = tok + strlen(tok); e > tok && e[-1] == ' '; )
            *--e = '\0';
        if (*tok == '\0')
            continue;               /* "a;;b" or a trailing ';' */
        snprintf(text, sizeof(text), "%s", tok);
        if (n == FAULT_RULES_MAX || parse_rule(&p, tok, &rules[n]) == -1) {
            if (n == FAULT_RULES_MAX)
                bad(&p, "more than %d rules", FAULT_RULES_MAX);
            free(copy);
            return -1;
        }
        n++;
    }
    free(copy);
    if (n == 0)
        snprintf(why, len, "no rules");
    return n > 0 ? n : -1;
}

/* xorshift64*, one step taken atomically (threads, signal handlers): a
 * number in [0, 1). */
static double random_unit(uint64_t *state)
{
    uint64_t old = __atomic_load_n(state, __ATOMIC_RELAXED), x;

    do {
        x = old ? old : 1;          /* xorshift never leaves 0 */
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
    } while (!__atomic_compare_exchange_n(state, &old, x, 0, __ATOMIC_RELAXED, __ATOMIC_RELAXED));
    return (double)((x * 2685821657736338717ULL) >> 11) / 9007199254740992.0;
}

int fault_rule_fires(const struct fault_rule *r, long n, uint64_t *state)
{
    switch (r->when) {
    case FAULT_ALWAYS: return 1;
    case FAULT_EVERY:  return n % r->n == 0;
    case FAULT_AFTER:  return n > r->n;
    case FAULT_ONCE:   return n == r->n;
    case FAULT_PROB:   return random_unit(state) < r->prob;
    }
    return 0;
}

const char *fault_errno_name(int err)
{
    for (size_t i = 0; i < NERRNOS; i++)
        if (errnos[i].err == err)
            return errnos[i].upper;
    return "?";
}
