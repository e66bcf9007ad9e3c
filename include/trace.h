/*
 * trace.h - trace each socket call on stderr, as it happens.
 *
 * A lesson makes the real call in main(), then hands its result to
 * trace_call(), which prints the step, the call with its arguments, the
 * result, errno on failure and, when asked, the kernel's view of a socket
 * (TCP state and queue sizes from getsockopt(TCP_INFO)).
 */
#ifndef SOCKETLAB_TRACE_H
#define SOCKETLAB_TRACE_H

#include <stddef.h>

/**
 * @defgroup trace Tracing
 * @brief Every socket call shown on stderr: step, call, result, errno, kernel view.
 *
 * Output is plain text (English, or the seed's Chinese labels with
 * `LAB_LANG=zh`), coloured only on a terminal and never with `NO_COLOR`,
 * or one JSON object per call with `--json`; `-q` turns it off.
 * @{
 */

/** Which program is tracing: the step numbers and labels differ. */
enum trace_role {
    ROLE_SERVER, /**< the seed's demo6: steps 1 socket .. 6 close */
    ROLE_CLIENT  /**< the seed's demo5: steps 1 socket .. 4 close */
};

/** Output format of the trace. */
enum trace_mode {
    TRACE_TEXT,  /**< one readable line per call (the default) */
    TRACE_JSON,  /**< one JSON object per call, for tools and graders */
    TRACE_QUIET  /**< no trace at all (`-q`) */
};

/** Pass as @p fd to trace_call() when there is no socket to inspect. */
#define NO_VIEW (-1)

/**
 * @brief Set up tracing for this program; call once at the start of main().
 * @param role  server or client: chooses the step labels.
 * @param mode  text, JSON or quiet.
 *
 * Reads `LAB_LANG` (zh for the seed's Chinese labels) and `NO_COLOR`, and
 * uses colour only when stderr is a terminal.
 */
void trace_init(enum trace_role role, enum trace_mode mode);

/**
 * @brief With @p on, before each socket call say which call comes next and
 *        wait for Enter (only when stdin and stderr are a terminal).
 * @param on  1 to pause, 0 not to.
 */
void trace_set_pause(int on);

/**
 * @brief Trace one call that has just returned.
 * @param step  the seed's step number of this call (server 1-6, client 1-4).
 * @param ret   what the call returned (-1 on failure, errno then says why).
 * @param fd    a socket whose kernel view to show after a successful call,
 *              or #NO_VIEW.
 * @param fmt   printf format of the call with its arguments, for example
 *              `"bind(%d, %s, %u)"`.
 * @param ...   the values for @p fmt.
 *
 * errno is read on entry and left as it was, so the caller can still
 * check it. When the fault-injection library made this result, the line
 * says so (`[injected: short write]`).
 */
void trace_call(int step, long ret, int fd, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/**
 * @brief Print a free-form note in the trace (not a call), such as why a
 *        loop goes round again.
 * @param step  the step the note belongs to.
 * @param fmt   printf format of the note.
 * @param ...   the values for @p fmt.
 */
void trace_note(int step, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/**
 * @brief Show what the kernel says about socket @p fd now, without a call.
 * @param step  the step this view belongs to.
 * @param fd    the socket to inspect.
 */
void trace_view(int step, int fd);

/**
 * @brief Name of a TCP state as the kernel numbers it in tcp_info.
 * @param state  `tcpi_state`, 1 (ESTABLISHED) to 11 (CLOSING).
 * @return a static string such as "LISTEN", or "UNKNOWN".
 */
const char *tcp_state_name(int state);

/**
 * @brief Read a socket's TCP state from the kernel (getsockopt TCP_INFO).
 * @param fd  a TCP socket.
 * @return the state's name ("LISTEN", "ESTABLISHED", ...), or NULL when
 *         @p fd is not a TCP socket (errno says why).
 */
const char *tcp_state_of(int fd);

/**
 * @brief The label of a step in the current language.
 * @param step  the seed's step number for this program's role.
 * @return a static string such as "bind address" or "把IP和端口绑定到socket上"; ""
 *         for a step outside the role's range (server 1-6, client 1-4).
 */
const char *trace_step_label(int step);

/**
 * @brief Whether the current language is the seed's Chinese (`LAB_LANG=zh`).
 * @return 1 for Chinese, 0 for English.
 */
int trace_lang_zh(void);

/**
 * @brief Quote up to @p len bytes of data for display: printable text and
 *        UTF-8 as they are, other bytes as `\xNN`; cut, and ended with
 *        "...", where it would not fit in @p outsz.
 * @param data  the bytes.
 * @param len   how many bytes.
 * @param out   where to write the NUL-terminated text.
 * @param outsz size of @p out (at least 5 bytes).
 * @return @p out.
 */
char *quote_bytes(const void *data, size_t len, char *out, size_t outsz);

/** @} */

#endif /* SOCKETLAB_TRACE_H */
