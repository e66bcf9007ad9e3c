/*
 * line.h - one line of the trace, built in the caller's buffer: no stdio,
 * no malloc, no locks, so a wrapper may build one anywhere, even in a
 * signal handler that interrupted printf() (see README.md).
 */
#ifndef SOCKETLAB_LINE_H
#define SOCKETLAB_LINE_H

#include <stdarg.h>
#include <stddef.h>

/**
 * @addtogroup interpose
 * @{
 */

/** Longest line; a longer one is cut (and still ends its line). */
#define LINE_MAX_BYTES 1024

/** A line being built: always NUL-terminated, cut at LINE_MAX_BYTES. */
struct line {
    size_t len;                 /**< bytes in @c buf, the NUL not counted */
    char buf[LINE_MAX_BYTES];   /**< the text */
};

/**
 * @brief Empty a line.
 * @param l  the line.
 */
void line_init(struct line *l);

/**
 * @brief Append a string.
 * @param l  the line.
 * @param s  the text (NULL appends "(null)").
 */
void line_str(struct line *l, const char *s);

/**
 * @brief Append bytes as they are.
 * @param l  the line.
 * @param p  the bytes.
 * @param n  how many.
 */
void line_mem(struct line *l, const void *p, size_t n);

/**
 * @brief Append a signed decimal number.
 * @param l  the line.
 * @param v  the number.
 */
void line_dec(struct line *l, long long v);

/**
 * @brief Append an unsigned decimal number.
 * @param l      the line.
 * @param v      the number.
 * @param width  pad with zeros to this many digits (0: none).
 */
void line_udec(struct line *l, unsigned long long v, int width);

/**
 * @brief Append the lower-case hex digits of a number, no prefix (IPv6 groups).
 * @param l  the line.
 * @param v  the number.
 */
void line_xdigits(struct line *l, unsigned long long v);

/**
 * @brief Append `0x` and the hex digits of a number.
 * @param l  the line.
 * @param v  the number.
 */
void line_hex(struct line *l, unsigned long long v);

/**
 * @brief Append a pointer as strace shows one: `NULL` or `0x7ffd...`.
 * @param l  the line.
 * @param p  the pointer.
 */
void line_ptr(struct line *l, const void *p);

/**
 * @brief Append a printf-like format: `%%d %%i %%u %%x %%c %%s` with the
 *        lengths `l`, `ll`, `z`, and positions (`%%2$s`) as translations use.
 * @param l    the line.
 * @param fmt  the format.
 * @param ...  its arguments.
 */
void line_fmt(struct line *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/**
 * @brief line_fmt() with a va_list.
 * @param l    the line.
 * @param fmt  the format.
 * @param ap   its arguments.
 */
void line_vfmt(struct line *l, const char *fmt, va_list ap);

/**
 * @brief Append a string as a JSON string, quotes included.
 * @param l  the line.
 * @param s  the text.
 */
void line_json(struct line *l, const char *s);

/**
 * @brief The columns some UTF-8 text takes on a terminal: a CJK character
 *        takes two, a colour escape none.
 * @param s  the text.
 * @param n  its length in bytes.
 * @return the columns.
 */
size_t text_columns(const char *s, size_t n);

/**
 * @brief How many bytes of some text fit in a number of columns: cut at a
 *        character boundary, after a space if there is one in the last third.
 * @param s     the text.
 * @param n     its length in bytes.
 * @param cols  the columns there are.
 * @return the bytes that fit; at least one character when @p n > 0.
 */
size_t text_fit(const char *s, size_t n, size_t cols);

/**
 * @brief Lines (joined by '\n') cut into pieces of @p cols columns at most;
 *        the pieces after a line's first go under a deeper indent.
 * @param l       the lines.
 * @param out     where the pieces go, joined by '\n'.
 * @param cols    the columns a piece may take.
 * @param indent  how much deeper the pieces after the first start.
 */
void line_wrap(const struct line *l, struct line *out, size_t cols, size_t indent);

/** @} */

#endif /* SOCKETLAB_LINE_H */
