/*
 * i18n.c - choose the messages' language and find the catalog (see i18n.h).
 *
 * The catalog is found next to the code that runs, so a program works from
 * the build tree and when installed: build/06-close/server reads
 * build/locale/, bin/socketlab-server reads share/locale/.
 *
 * The catalog is UTF-8; gettext converts each message to the codeset the
 * locale names (zh_CN.GBK: GBK), or we speak English where that codeset
 * cannot write Chinese. Data lines are not messages: they stay the bytes
 * the peer sent.
 */
#define _GNU_SOURCE                     /* dladdr(), Dl_info */
#include "i18n.h"

#include <dlfcn.h>
#include <errno.h>
#include <iconv.h>
#include <langinfo.h>
#include <libgen.h>
#include <limits.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Where `make install` puts the catalog; the Makefile passes PREFIX's. */
#ifndef LOCALEDIR
#define LOCALEDIR "/usr/local/share/locale"
#endif

/* The catalog's path under a locale directory. */
#define CATALOG "/zh_CN/LC_MESSAGES/" I18N_DOMAIN ".mo"

static int zh = -1;
/* The kit's own override: LAB_LANG=zh or LAB_LANG=en. */
static const char *const lab[] = {"LAB_LANG", NULL};

/* The first non-empty variable of NAMES, or NULL. */
static const char *first_set(const char *const names[])
{
    for (; *names != NULL; names++) {
        const char *v = getenv(*names);
        if (v != NULL && *v != '\0')
            return v;
    }
    return NULL;
}

static int is_c_locale(const char *name)
{
    return name == NULL || strcmp(name, "C") == 0 || strcmp(name, "POSIX") == 0;
}

/*
 * Whether the user asks for Chinese: LAB_LANG first (zh or en), then the
 * messages' locale as POSIX orders it (LC_ALL, LC_MESSAGES, LANG), and
 * GNU's LANGUAGE list, which counts only when that locale is not C.
 */
static int wants_zh(void)
{
    static const char *const posix[] = {"LC_ALL", "LC_MESSAGES", "LANG", NULL};
    static const char *const gnu[] = {"LANGUAGE", NULL};
    const char *v = first_set(lab);
    const char *loc;

    if (v != NULL)
        return strncmp(v, "zh", 2) == 0;
    loc = first_set(posix);
    v = first_set(gnu);
    if (v != NULL && !is_c_locale(loc))
        return strncmp(v, "zh", 2) == 0;
    return loc != NULL && strncmp(loc, "zh", 2) == 0;
}

/* Whether DIR holds our Chinese catalog. */
static int has_catalog(const char *dir)
{
    char path[PATH_MAX];

    if (snprintf(path, sizeof(path), "%s" CATALOG, dir) >= (int)sizeof(path))
        return 0;
    return access(path, R_OK) == 0;
}

/* DIR/REL if it holds the catalog: written to OUT, returns 1. */
static int try_dir(const char *dir, const char *rel, char *out, size_t outsz)
{
    if (snprintf(out, outsz, "%s%s", dir, rel) >= (int)outsz)
        return 0;
    return has_catalog(out);
}

/*
 * The catalog's directory: $LAB_LOCALEDIR; else beside the file this code
 * is in (a lesson program, or build/libsocketlab.so preloaded into any
 * program): FILE_DIR/../locale (build/06-close/server), FILE_DIR/locale
 * (build/libsocketlab.so), FILE_DIR/../share/locale (installed); else the
 * program's own directory the same way; else LOCALEDIR.
 */
static const char *locale_dir(char *out, size_t outsz)
{
    static const char *const rel[] = {"/../locale", "/locale", "/../share/locale"};
    const char *env = getenv("LAB_LOCALEDIR");
    char file[PATH_MAX], exe[PATH_MAX];
    Dl_info info;
    ssize_t n;

    if (env != NULL && *env != '\0')
        return env;
    file[0] = exe[0] = '\0';
    if (dladdr((void *)i18n_init, &info) != 0 && info.dli_fname != NULL &&
        realpath(info.dli_fname, file) != NULL)
        dirname(file);
    n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    if (n > 0) {
        exe[n] = '\0';
        dirname(exe);
    }
    for (size_t i = 0; i < sizeof(rel) / sizeof(rel[0]); i++) {
        if (file[0] != '\0' && try_dir(file, rel[i], out, outsz))
            return out;
        if (exe[0] != '\0' && try_dir(exe, rel[i], out, outsz))
            return out;
    }
    return LOCALEDIR;
}

/*
 * The codeset messages are written in: the locale's (nl_langinfo); where
 * the locale named is not generated (setlocale fell back to C), the codeset
 * its name gives (zh_CN.GBK: GBK), else UTF-8, as the data lines are.
 */
static const char *out_codeset(const char *msgs_locale, char *out, size_t outsz)
{
    const char *name = first_set((const char *const[]){"LC_ALL", "LC_CTYPE", "LANG", NULL});
    const char *dot;
    size_t n;

    if (!is_c_locale(msgs_locale) && !is_c_locale(setlocale(LC_CTYPE, NULL)))
        return nl_langinfo(CODESET);
    dot = name != NULL ? strchr(name, '.') : NULL;
    if (dot == NULL)
        return "UTF-8";
    n = strcspn(dot + 1, "@");
    if (n == 0 || n >= outsz)
        return "UTF-8";
    memcpy(out, dot + 1, n);
    out[n] = '\0';
    return out;
}

/* Whether CODESET can write Chinese (GBK, GB18030, UTF-8 can; ASCII,
 * Latin-1 and BIG5, which lacks simplified characters, cannot). */
static int writes_chinese(const char *codeset)
{
    char sample[] = "连接被拒绝", buf[64];
    char *in = sample, *out = buf;
    size_t inleft = strlen(sample), outleft = sizeof(buf);
    iconv_t cd = iconv_open(codeset, "UTF-8");
    int ok;

    if (cd == (iconv_t)-1)
        return 0;
    ok = iconv(cd, &in, &inleft, &out, &outleft) != (size_t)-1 && inleft == 0;
    iconv_close(cd);
    return ok;
}

/*
 * Only the categories messages need change: LC_MESSAGES (which catalog)
 * and LC_CTYPE (which codeset out). LC_NUMERIC stays "C", so "-i 0.5", strtod()
 * and the JSON "ts" never see a decimal comma; the rest stays as the host
 * program has it when this runs inside another program (the preloaded
 * tracer calls us from a constructor, before that program's main()).
 */
void i18n_init(void)
{
    char dir[PATH_MAX], named[64];
    const char *msgs, *codeset = "UTF-8";
    int saved = errno;

    if (zh != -1)
        return;
    zh = wants_zh();
    setlocale(LC_CTYPE, "");
    msgs = setlocale(LC_MESSAGES, "");
    if (zh) {
        codeset = out_codeset(msgs, named, sizeof(named));
        zh = writes_chinese(codeset);           /* else English */
    }
    if (zh && is_c_locale(msgs)) {
        /* No zh_CN locale is generated here (a fresh Debian has only C,
         * C.UTF-8 and POSIX), or the user gave LAB_LANG=zh under C. glibc
         * ignores LANGUAGE in the C locale, but C.UTF-8 is not "C". */
        setlocale(LC_CTYPE, "C.UTF-8");
        setlocale(LC_MESSAGES, "C.UTF-8");
        setenv("LANGUAGE", "zh_CN", 1);
    } else if (zh && first_set(lab) != NULL) {
        setenv("LANGUAGE", "zh_CN", 1);         /* over any other LANGUAGE */
    } else if (!zh) {
        setlocale(LC_MESSAGES, "C");            /* English: no catalog at all */
    }
    bindtextdomain(I18N_DOMAIN, locale_dir(dir, sizeof(dir)));
    /* gettext converts the UTF-8 catalog to it. */
    bind_textdomain_codeset(I18N_DOMAIN, codeset);
    errno = saved;
}

const char *i18n_pgettext(const char *ctx_msgid)
{
    const char *t = dgettext(I18N_DOMAIN, ctx_msgid);

    if (t == ctx_msgid) {                       /* not translated */
        const char *eot = strchr(ctx_msgid, '\004');
        return eot ? eot + 1 : ctx_msgid;
    }
    return t;
}

int i18n_zh(void)
{
    if (zh == -1)
        i18n_init();
    return zh;
}
