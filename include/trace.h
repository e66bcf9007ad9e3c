/*
 * trace.h - what each socket call looks like on the trace, as it happens.
 *
 * The lessons never call these: the interposer (src/interpose/) wraps the
 * socket calls and hands each one here, with the step of the seed's
 * diagram it serves, its result and the kernel's view of the socket
 * (TCP state and queue sizes from getsockopt(TCP_INFO) and ioctl).
 */
#ifndef SOCKETLAB_TRACE_H
#define SOCKETLAB_TRACE_H

#include <stddef.h>
#include <time.h>

/**
 * @defgroup trace Tracing
 * @brief Every socket call shown on the trace: step, call, result, errno, kernel view.
 *
 * Output is plain text in the user's language (gettext, see i18n.h),
 * coloured only on a terminal and never with `NO_COLOR`, or one JSON
 * object per call with `--json`; `-q` turns it off. It goes to the
 * trace's own fd, a copy of stderr taken at start-up, or to the file
 * `LAB_TRACE_FILE` names. Everything called from a wrapper is
 * async-signal-safe: no stdio, no malloc, no locks.
 * @{
 */

/** Which program is tracing: the step numbers and labels differ. */
enum trace_role {
    ROLE_SERVER, /**< the seed's demo6: steps 1 socket .. 6 close */
    ROLE_CLIENT, /**< the seed's demo5: steps 1 socket .. 4 close */
    ROLE_UNKNOWN /**< a program run by tools/trace, until its calls tell */
};

/** Output format of the trace. */
enum trace_mode {
    TRACE_TEXT,    /**< one readable line per call (the default) */
    TRACE_JSON,    /**< one JSON object per call, for tools and graders */
    TRACE_QUIET,   /**< no trace at all (`-q`) */
    TRACE_COMPACT  /**< `LAB_TRACE=compact`: short lines for a projector, no side names */
};

/** Texts the interposer puts in a trace line, translated once at start-up. */
enum trace_message {
    MSG_SHORT_WRITE,    /**< "short write: the kernel took %zd of %zu bytes; send the rest" */
    MSG_PEER_CLOSED,    /**< "0 bytes: the peer closed its end (FIN); ..." */
    MSG_HANDSHAKE_DONE, /**< "a client finished its handshake: ..." */
    MSG_COUNT           /**< how many there are */
};

/** One socket call, as the interposer saw it. */
struct trace_event {
    const char *call;       /**< the function: "bind" */
    int step;               /**< the seed's step it serves (0: none) */
    const char *family;     /**< with no step, the fd's family ("AF_UNIX"): its calls are labelled
                                 "AF_UNIX socket"; "" for an fd that is no socket; NULL: no label */
    const char *text;       /**< the call with its arguments: "bind(3, 0.0.0.0:5005, 16)" */
    long ret;               /**< what it returned */
    int err;                /**< errno when @c ret is -1 */
    int sock;               /**< the socket it was made on, or -1 */
    int view_fd;            /**< show the kernel's view of this socket after, or -1 */
    const char *injected;   /**< what fault injection did to it, or NULL */
    const char *note;       /**< a line that explains the result, or NULL */
    struct timespec start;  /**< when the call began (CLOCK_REALTIME) */
};

/**
 * @brief Set up tracing; parse_server_args() and parse_client_args() call it.
 * @param role  server or client: chooses the step labels.
 * @param mode  text, JSON or quiet. Text gives way to `LAB_TRACE`
 *              (`json`, `compact`, `quiet`), which tools/trace sets.
 *
 * Reads `NO_COLOR`, `LAB_PAUSE`, `LAB_TRACE_ALL` and `LAB_TRACE_FILE`,
 * takes the trace's own fd when there is anything to write, translates
 * the trace's texts, and uses colour only when the trace goes to a terminal.
 */
void trace_init(enum trace_role role, enum trace_mode mode);

/**
 * @brief Set up tracing from the environment alone, for a program the kit
 *        did not build (the preload library's start-up: `LAB_TRACE`, default
 *        quiet; `LAB_TRACE_ROLE`; `LAB_PAUSE`; `LAB_TRACE_ALL`).
 */
void trace_init_from_env(void);

/**
 * @brief With @p on, before each socket call say which call comes next and
 *        wait for Enter (only when stdin and the trace are a terminal).
 * @param on  1 to pause, 0 leaves it as it was.
 */
void trace_set_pause(int on);

/**
 * @brief Whether the trace has anything to do (it prints or pauses).
 * @return 1 or 0.
 */
int trace_enabled(void);

/**
 * @brief Whether the next call will wait for Enter first.
 * @return 1 or 0.
 */
int trace_pausing(void);

/**
 * @brief Whether every fd is traced (`LAB_TRACE_ALL`, tools/trace `--all`),
 *        not only TCP and UDP sockets.
 * @return 1 or 0.
 */
int trace_all(void);

/**
 * @brief How many bytes of a call's data its line shows.
 * @return 48, or 16 in the compact trace.
 */
size_t trace_data_shown(void);

/**
 * @brief A text of the trace in the user's language (translated at start-up).
 * @param m  which.
 * @return the text; a format where the message has arguments.
 */
const char *trace_message(enum trace_message m);

/**
 * @brief The program's role: set by trace_init() or guessed from its calls.
 * @return the role.
 */
enum trace_role trace_role(void);

/**
 * @brief Settle an unknown role (a bind() makes a server, a connect() a client).
 * @param role  the guess; ignored when the role is already known.
 */
void trace_guess_role(enum trace_role role);

/**
 * @brief Trace one call that has just returned, with one write(2).
 *        errno is left as it was.
 * @param ev  the call.
 */
void trace_event(const struct trace_event *ev);

/**
 * @brief Show what the kernel says about socket @p fd now, without a call.
 * @param step  the step this view belongs to.
 * @param fd    the socket to inspect.
 */
void trace_view(int step, int fd);

/**
 * @brief `--pause`: say which call comes next and wait for Enter.
 * @param step  the step the call serves.
 * @param text  the call with the arguments known before it runs.
 */
void trace_pause(int step, const char *text);

/**
 * @brief A line of the trace's own, such as fault injection's log
 *        (`LAB_FAULT_VERBOSE`), written to the trace's fd.
 * @param text  the line, without its newline.
 */
void trace_log(const char *text);

/**
 * @brief Quote up to @p len bytes of data for display: printable ASCII and
 *        valid UTF-8 as they are; control bytes (C0, DEL, the C1 range
 *        U+0080-U+009F) and invalid UTF-8 as `\xNN`; cut, and ended with
 *        "...", where it would not fit in @p outsz. Async-signal-safe.
 * @param data  the bytes.
 * @param len   how many bytes.
 * @param out   where to write the NUL-terminated text.
 * @param outsz size of @p out (at least 5 bytes).
 * @return @p out.
 */
char *quote_bytes(const void *data, size_t len, char *out, size_t outsz);

/** @} */

#endif /* SOCKETLAB_TRACE_H */
