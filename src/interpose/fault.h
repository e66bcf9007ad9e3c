/*
 * fault.h - fault injection at the socket API, driven by LAB_FAULT.
 *
 * The interposer asks fault_begin() before each wrapped socket call: wait,
 * fail with an errno, or cap the byte count. The spec's syntax is in
 * README.md (this folder's).
 */
#ifndef SOCKETLAB_FAULT_H
#define SOCKETLAB_FAULT_H

#include <stddef.h>
#include <sys/types.h>

/**
 * @defgroup fault Fault injection
 * @brief Short writes, EINTR, resets and delays on demand (`LAB_FAULT`).
 * @{
 */

/** The calls a rule can name; several libc functions share one. */
enum fault_call {
    FC_NONE = -1, /**< a call no rule names (poll, setsockopt, ...) */
    FC_SOCKET,    /**< socket, socketpair */
    FC_BIND,      /**< bind */
    FC_LISTEN,    /**< listen */
    FC_ACCEPT,    /**< accept, accept4 */
    FC_CONNECT,   /**< connect */
    FC_SEND,      /**< send, sendto, sendmsg, sendmmsg, sendfile, and write, writev on a socket */
    FC_RECV,      /**< recv, recvfrom, recvmsg, recvmmsg, and read, readv on a socket */
    FC_CLOSE,     /**< close of a socket */
    FC_COUNT      /**< how many there are */
};

/** Longest note of what was injected into one call. */
#define FAULT_NOTE_MAX 48

/** The words a note is made of, besides errno names and numbers. */
enum fault_word {
    FW_DELAY,       /**< "delay", before the milliseconds: "delay 200ms" */
    FW_SHORT_WRITE, /**< "short write" */
    FW_SHORT_READ,  /**< "short read" */
    FW_COUNT        /**< how many there are */
};

/**
 * The English of each fault_word, marked for the catalog with N_(): a
 * note stays English (`--json`'s "injected"), the trace translates its
 * words (at start-up, so a traced call never calls gettext).
 */
extern const char *const fault_words[FW_COUNT];

/** What to do to one call, and then what was done. */
struct fault_verdict {
    long delay_ms;                  /**< wait this long first (0: no wait) */
    int err;                        /**< fail with this errno without making the call (0: make it) */
    size_t cap;                     /**< pass at most this many bytes (0: no cap) */
    long n;                         /**< the call's number among its kind, from 1 */
    char note[FAULT_NOTE_MAX];      /**< what was injected: "short write", "EINTR" ("": nothing) */
};

/**
 * @brief Read LAB_FAULT, LAB_FAULT_SEED and LAB_FAULT_VERBOSE, once, at
 *        start-up. A bad spec is reported on stderr and ends the program
 *        with exit code 2.
 */
void fault_init(void);

/**
 * @brief Whether any rule is in force.
 * @return 1 when LAB_FAULT holds rules, else 0.
 */
int fault_enabled(void);

/**
 * @brief Whether each injection is also logged (`LAB_FAULT_VERBOSE`).
 * @return 1 or 0.
 */
int fault_verbose(void);

/**
 * @brief Decide what happens to this call (counting it), and wait first
 *        if a delay rule fires. Async-signal-safe.
 * @param c  which call.
 * @param v  the verdict, filled in.
 */
void fault_begin(enum fault_call c, struct fault_verdict *v);

/**
 * @brief The byte count to pass on.
 * @param v    the call's verdict.
 * @param len  what the program asked for.
 * @return @p len, or less when a short rule fired.
 */
size_t fault_cap(const struct fault_verdict *v, size_t len);

/**
 * @brief After the call: note a short count when the cap is what made it
 *        short (a read that returns less than the cap was short anyway).
 * @param c    which call.
 * @param v    the call's verdict.
 * @param len  what the program asked for.
 * @param rc   what the call returned.
 */
void fault_note_short(enum fault_call c, struct fault_verdict *v, size_t len, ssize_t rc);

/** @} */

#endif /* SOCKETLAB_FAULT_H */
