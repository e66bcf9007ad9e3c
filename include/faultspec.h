/*
 * faultspec.h - LAB_FAULT's rules: parsed once, decided the same way by
 * both injectors, the interposer inside a program (src/interpose/fault.c)
 * and tools/sysfault from outside it (ptrace). The syntax is in
 * src/interpose/README.md.
 */
#ifndef SOCKETLAB_FAULTSPEC_H
#define SOCKETLAB_FAULTSPEC_H

#include <stddef.h>
#include <stdint.h>

/**
 * @defgroup faultspec Fault rules
 * @brief `CALL:MODE[=VALUE][@WHEN]` rules joined by `;`, as LAB_FAULT
 *        and tools/sysfault take them.
 * @{
 */

/** How many calls a rule can name: socket, bind, listen, accept, connect, send, recv, close. */
#define FAULT_CALLS 8
/** More rules than this in one spec is surely a mistake. */
#define FAULT_RULES_MAX 32

/** The names rules give the calls, in the order of enum fault_call (fault.h). */
extern const char *const fault_call_names[FAULT_CALLS];

/** What a rule does to the calls it hits. */
enum fault_mode {
    FAULT_ERRNO, /**< fail with an errno, without making the call */
    FAULT_SHORT, /**< pass at most `value` bytes */
    FAULT_DELAY  /**< wait `value` milliseconds first */
};

/** Which of its calls a rule hits. */
enum fault_when {
    FAULT_ALWAYS, /**< every one */
    FAULT_EVERY,  /**< every n-th */
    FAULT_AFTER,  /**< each after the n-th */
    FAULT_ONCE,   /**< the n-th only */
    FAULT_PROB    /**< each with chance `prob` */
};

/** One rule of a spec. */
struct fault_rule {
    int call;             /**< index into fault_call_names */
    enum fault_mode mode; /**< what it does */
    int err;              /**< FAULT_ERRNO: the errno */
    long value;           /**< FAULT_SHORT: byte cap; FAULT_DELAY: milliseconds */
    enum fault_when when; /**< which calls */
    long n;               /**< FAULT_EVERY, FAULT_AFTER, FAULT_ONCE: the call number */
    double prob;          /**< FAULT_PROB: chance per call, 0..1 */
};

/**
 * @brief Parse a spec such as `send:short=1;send:eintr=every3`.
 * @param spec  the rules, joined by `;` (empty rules and spaces are ignored)
 * @param rules where to put them, room for FAULT_RULES_MAX
 * @param why   on failure, why, in English: "bad rule 'send:short': ..."
 * @param len   the size of why
 * @return the number of rules (at least 1), or -1 with why filled in
 */
int fault_spec_parse(const char *spec, struct fault_rule *rules, char *why, size_t len);

/**
 * @brief Whether a rule hits the n-th call of its kind.
 * @param r     the rule
 * @param n     the call's number among its kind, from 1
 * @param state the random generator's state, for FAULT_PROB (xorshift64*,
 *              stepped atomically: threads and signal handlers may share it)
 * @return 1 or 0
 */
int fault_rule_fires(const struct fault_rule *r, long n, uint64_t *state);

/**
 * @brief An injectable errno's name, as the trace shows it.
 * @param err the errno
 * @return "EINTR", "ECONNRESET", ..., or "?" for one no rule can name
 */
const char *fault_errno_name(int err);

/** @} */

#endif
