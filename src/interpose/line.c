/*
 * line.c - the trace's lines, formatted by hand (see line.h): snprintf()
 * is not async-signal-safe, and a wrapper may run inside a signal handler.
 */
#include "line.h"

#include <string.h>

/* Room kept for the '\n' that ends the line when it is written. */
#define LINE_ROOM (LINE_MAX_BYTES - 2)
/* Most arguments one format takes (translations reorder them). */
#define FMT_ARGS 9

void line_init(struct line *l)
{
    l->len = 0;
    l->buf[0] = '\0';
}

void line_mem(struct line *l, const void *p, size_t n)
{
    if (n > LINE_ROOM - l->len)
        n = LINE_ROOM - l->len;
    memcpy(l->buf + l->len, p, n);
    l->len += n;
    l->buf[l->len] = '\0';
}

void line_str(struct line *l, const char *s)
{
    if (s == NULL)
        s = "(null)";
    line_mem(l, s, strlen(s));
}

static void line_char(struct line *l, char c)
{
    line_mem(l, &c, 1);
}

void line_udec(struct line *l, unsigned long long v, int width)
{
    char digits[24];
    int n = 0;

    do {
        digits[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0);
    while (n < width && n < (int)sizeof(digits))
        digits[n++] = '0';
    while (n > 0)
        line_char(l, digits[--n]);
}

void line_dec(struct line *l, long long v)
{
    if (v < 0) {
        line_char(l, '-');
        line_udec(l, 0ULL - (unsigned long long)v, 0);
    } else {
        line_udec(l, (unsigned long long)v, 0);
    }
}

void line_xdigits(struct line *l, unsigned long long v)
{
    char digits[20];
    int n = 0;

    do {
        digits[n++] = "0123456789abcdef"[v & 0xf];
        v >>= 4;
    } while (v != 0);
    while (n > 0)
        line_char(l, digits[--n]);
}

void line_hex(struct line *l, unsigned long long v)
{
    line_str(l, "0x");
    line_xdigits(l, v);
}

void line_ptr(struct line *l, const void *p)
{
    if (p == NULL)
        line_str(l, "NULL");
    else
        line_hex(l, (unsigned long long)(unsigned long)p);
}

/* ---- printf-like formats, for the translated messages ---- */

/* One conversion: its argument's type, by the letters that say it. */
enum arg_type { A_NONE, A_INT, A_UINT, A_LONG, A_ULONG, A_LLONG, A_ULLONG, A_SSIZE, A_SIZE,
                A_STR, A_CHAR };

struct conv {
    int pos;                    /* which argument, from 0 */
    enum arg_type type;
    char letter;                /* d u x s c */
    const char *end;            /* just after the conversion */
};

/* Parse the conversion after a '%' at p; *next_pos counts unnumbered ones. */
static int parse_conv(const char *p, int *next_pos, struct conv *c)
{
    int pos = 0, longs = 0, z = 0;
    const char *q = p;

    while (*q >= '0' && *q <= '9')
        pos = pos * 10 + (*q++ - '0');
    if (*q == '$' && pos > 0)
        q++;
    else {
        q = p;
        pos = ++*next_pos;
    }
    for (; *q == 'l'; q++)
        longs++;
    if (*q == 'z')
        z = 1, q++;
    c->letter = *q;
    c->pos = pos - 1;
    c->end = q + (*q != '\0');
    switch (*q) {
    case 'd': case 'i':
        c->letter = 'd';
        c->type = z ? A_SSIZE : longs == 0 ? A_INT : longs == 1 ? A_LONG : A_LLONG;
        break;
    case 'u': case 'x':
        c->type = z ? A_SIZE : longs == 0 ? A_UINT : longs == 1 ? A_ULONG : A_ULLONG;
        break;
    case 's': c->type = A_STR; break;
    case 'c': c->type = A_CHAR; break;
    default: return -1;
    }
    return c->pos >= 0 && c->pos < FMT_ARGS ? 0 : -1;
}

struct arg {
    enum arg_type type;
    long long i;
    unsigned long long u;
    const char *s;
};

/* Fetch every argument once, in the order of their positions. */
static void fetch_args(struct arg *args, va_list ap)
{
    for (int i = 0; i < FMT_ARGS && args[i].type != A_NONE; i++) {
        struct arg *a = &args[i];

        switch (a->type) {
        case A_INT: a->i = va_arg(ap, int); break;
        case A_CHAR: a->i = va_arg(ap, int); break;
        case A_UINT: a->u = va_arg(ap, unsigned); break;
        case A_LONG: a->i = va_arg(ap, long); break;
        case A_ULONG: a->u = va_arg(ap, unsigned long); break;
        case A_LLONG: a->i = va_arg(ap, long long); break;
        case A_ULLONG: a->u = va_arg(ap, unsigned long long); break;
        case A_SSIZE: a->i = (long long)va_arg(ap, long); break;   /* ssize_t is long here */
        case A_SIZE: a->u = va_arg(ap, size_t); break;
        case A_STR: a->s = va_arg(ap, const char *); break;
        case A_NONE: break;
        }
    }
}

static void put_arg(struct line *l, const struct conv *c, const struct arg *a)
{
    switch (c->letter) {
    case 'd': line_dec(l, a->i); break;
    case 'u': line_udec(l, a->u, 0); break;
    case 'x': line_xdigits(l, a->u); break;
    case 's': line_str(l, a->s); break;
    case 'c': line_char(l, (char)a->i); break;
    }
}

void line_vfmt(struct line *l, const char *fmt, va_list ap)
{
    struct arg args[FMT_ARGS];
    struct conv c;
    int next = 0;

    memset(args, 0, sizeof(args));
    for (const char *p = fmt; *p; p++)          /* first: every argument's type */
        if (*p == '%' && p[1] == '%')
            p++;
        else if (*p == '%' && parse_conv(p + 1, &next, &c) == 0)
            args[c.pos].type = c.type;
    fetch_args(args, ap);
    next = 0;
    for (const char *p = fmt; *p; ) {           /* then: the text */
        if (*p != '%') {
            const char *q = strchr(p, '%');
            size_t n = q ? (size_t)(q - p) : strlen(p);

            line_mem(l, p, n);
            p += n;
        } else if (p[1] == '%') {
            line_char(l, '%');
            p += 2;
        } else if (parse_conv(p + 1, &next, &c) == 0) {
            put_arg(l, &c, &args[c.pos]);
            p = c.end;
        } else {
            line_char(l, *p++);                 /* not a conversion we know: as it is */
        }
    }
}

void line_fmt(struct line *l, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    line_vfmt(l, fmt, ap);
    va_end(ap);
}

void line_json(struct line *l, const char *s)
{
    line_char(l, '"');
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\') {
            line_char(l, '\\');
            line_char(l, (char)*p);
        } else if (*p < 0x20) {
            line_str(l, "\\u00");
            line_char(l, "0123456789abcdef"[*p >> 4]);
            line_char(l, "0123456789abcdef"[*p & 0xf]);
        } else {
            line_char(l, (char)*p);
        }
    }
    line_char(l, '"');
}

/* ---- columns on a terminal ---- */

/* The code point at s (n bytes left) and its length; a bad byte is 1 of 1. */
static unsigned decode_utf8(const unsigned char *s, size_t n, size_t *len)
{
    unsigned cp = s[0];
    size_t need = cp >= 0xf0 ? 4 : cp >= 0xe0 ? 3 : cp >= 0xc0 ? 2 : 1;

    *len = 1;
    if (need == 1 || need > n)
        return cp;
    cp &= 0x3fu >> (need - 1);
    for (size_t i = 1; i < need; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return s[0];
        cp = cp << 6 | (s[i] & 0x3fu);
    }
    *len = need;
    return cp;
}

/* East Asian Wide and Fullwidth characters: two columns each. */
static int is_wide(unsigned cp)
{
    return (cp >= 0x1100 && cp <= 0x115f) || (cp >= 0x2e80 && cp <= 0x303e) ||
           (cp >= 0x3041 && cp <= 0x33ff) || (cp >= 0x3400 && cp <= 0x4dbf) ||
           (cp >= 0x4e00 && cp <= 0x9fff) || (cp >= 0xa000 && cp <= 0xa4cf) ||
           (cp >= 0xac00 && cp <= 0xd7a3) || (cp >= 0xf900 && cp <= 0xfaff) ||
           (cp >= 0xfe30 && cp <= 0xfe4f) || (cp >= 0xff00 && cp <= 0xff60) ||
           (cp >= 0xffe0 && cp <= 0xffe6) || (cp >= 0x20000 && cp <= 0x3fffd);
}

/* Bytes and columns of the character (or colour escape) at s. */
static size_t char_at(const char *s, size_t n, size_t *cols)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t len;

    if (p[0] == 0x1b && n > 1 && p[1] == '[') {     /* ESC [ ... m: no columns */
        for (len = 2; len < n && !(p[len] >= 0x40 && p[len] <= 0x7e); len++)
            ;
        *cols = 0;
        return len < n ? len + 1 : n;
    }
    *cols = is_wide(decode_utf8(p, n, &len)) ? 2 : 1;
    return len;
}

size_t text_columns(const char *s, size_t n)
{
    size_t cols = 0, c;

    for (size_t i = 0; i < n; ) {
        i += char_at(s + i, n - i, &c);
        cols += c;
    }
    return cols;
}

size_t text_fit(const char *s, size_t n, size_t cols)
{
    size_t used = 0, i = 0, space = 0, c;

    while (i < n) {
        size_t len = char_at(s + i, n - i, &c);

        if (used + c > cols && i > 0)
            break;
        used += c;
        i += len;
        if (s[i - 1] == ' ')
            space = i;
    }
    if (i < n && space > 0 && space * 3 >= i * 2)
        return space;                       /* break after a word, not in it */
    return i;
}

void line_wrap(const struct line *l, struct line *out, size_t cols, size_t indent)
{
    const char *p = l->buf, *end = l->buf + l->len;

    line_init(out);
    while (p < end) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        size_t n = eol ? (size_t)(eol - p) : (size_t)(end - p), lead = 0, room = cols;

        while (lead < n && p[lead] == ' ')
            lead++;
        for (int first = 1; n > 0 || first; first = 0) {
            size_t fit;

            if (!first) {                   /* a piece after the first: indented */
                while (out->len > 0 && out->buf[out->len - 1] == ' ')
                    out->buf[--out->len] = '\0';
                line_str(out, "\n");
                for (size_t i = 0; i < lead + indent; i++)
                    line_str(out, " ");
                room = cols - lead - indent;
                while (n > 0 && *p == ' ')
                    p++, n--;
            }
            fit = text_fit(p, n, room);
            line_mem(out, p, fit);
            p += fit;
            n -= fit;
        }
        if (eol == NULL)
            break;
        line_str(out, "\n");
        p = eol + 1;
    }
}
