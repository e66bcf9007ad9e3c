/*
 * explain.h - errors that teach: what failed, why, and what to try.
 *
 * Three ways to report trouble, as TLPI does: die with errno's text
 * (exit 1), die with a message (exit 1), or warn and carry on. Usage
 * errors exit 2. The formats are English string literals; these functions
 * translate them (gettext, see i18n.h), so callers never write _().
 */
#ifndef SOCKETLAB_EXPLAIN_H
#define SOCKETLAB_EXPLAIN_H

/**
 * @defgroup explain Errors that explain themselves
 * @brief Messages with a cause and a hint, and the kit's exit codes.
 * @{
 */

/** Exit code: the program did its job. */
#define EXIT_OK 0
/** Exit code: something failed at run time (network, peer, system). */
#define EXIT_RUNTIME 1
/** Exit code: the command line was wrong. */
#define EXIT_USAGE 2

/**
 * @brief Set the program name and usage text used in messages.
 * @param prog   the name shown before each message ("server").
 * @param usage  the one-line usage text, shown on usage errors.
 */
void explain_init(const char *prog, const char *usage);

/**
 * @brief The symbolic name of an errno value.
 * @param err  an errno value.
 * @return "EADDRINUSE", "ECONNREFUSED", ...; "E?" for values not listed.
 */
const char *errno_name(int err);

/**
 * @brief What an errno value means, in the user's language.
 * @param err  an errno value.
 * @return glibc's text for @p err ("Address already in use"), translated
 *         from the kit's catalog; glibc's English text for values not
 *         listed. Async-signal-safe once errno_texts_prepare() has run.
 */
const char *errno_text(int err);

/**
 * @brief Translate every listed errno's text now, so that errno_text()
 *        later takes no lock (the trace calls it from inside a wrapper).
 */
void errno_texts_prepare(void);

/**
 * @brief A hint for a failed call: what usually causes @p err there and
 *        what to try.
 * @param call  the call that failed ("bind", "connect", "send", ...).
 * @param err   its errno.
 * @return a static sentence in the user's language, or NULL when there is
 *         nothing useful to add.
 */
const char *explain_hint(const char *call, int err);

/**
 * @brief Report a failed call with errno's text and a hint, then exit 1.
 * @param call  the call that failed, as in the trace ("bind").
 * @param fmt   printf format of what it was doing, such as the address.
 * @param ...   the values for @p fmt.
 *
 * Prints `server: bind 0.0.0.0:80: Permission denied (EACCES)` and, on the
 * next line, the hint from explain_hint().
 */
void die_call(const char *call, const char *fmt, ...)
    __attribute__((format(printf, 2, 3), noreturn));

/**
 * @brief Report a failed call like die_call(), but carry on.
 * @param call  the call that failed.
 * @param fmt   printf format of what it was doing.
 * @param ...   the values for @p fmt.
 */
void warn_call(const char *call, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/**
 * @brief Report a failure that has no errno, then exit 1.
 * @param fmt  printf format of the message.
 * @param ...  the values for @p fmt.
 */
void die_msg(const char *fmt, ...)
    __attribute__((format(printf, 1, 2), noreturn));

/**
 * @brief Report a problem that has no errno and go on (a server's one bad
 *        client: a frame above the maximum, a close mid-frame).
 * @param fmt  printf format of the message.
 * @param ...  the values for @p fmt.
 */
void warn_msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/**
 * @brief Report a failed name lookup (getaddrinfo) with a hint, then exit 1.
 * @param host     the name that was looked up.
 * @param port     the port that went with it.
 * @param gai_err  getaddrinfo()'s return value (an EAI_* code).
 */
void die_resolve(const char *host, const char *port, int gai_err)
    __attribute__((noreturn));

/**
 * @brief Report a command-line mistake and the usage line, then exit 2.
 * @param fmt  printf format of what is wrong.
 * @param ...  the values for @p fmt.
 */
void die_usage(const char *fmt, ...)
    __attribute__((format(printf, 1, 2), noreturn));

/**
 * @brief Stand-in for a step the student has not written yet (the
 *        handout's stubs call it): explain, then exit 1.
 * @param step  the seed's step number that is missing.
 *
 * Prints `server: step 3 not implemented yet: write it at TODO(step 3) in
 * this lesson's server.c`, so a handout program stops with a clear message
 * instead of crashing on a socket it never made.
 */
void not_implemented(int step) __attribute__((noreturn));

/** @} */

#endif /* SOCKETLAB_EXPLAIN_H */
