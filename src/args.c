/*
 * args.c - strict parsing of the lesson programs' command lines (see args.h).
 */
#include "args.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "explain.h"
#include "i18n.h"

#define SERVER_USAGE "server [-q] [-k|--keep-listening] [--bind ADDR] [--json] PORT"
/* Lessons 01-05 serve one client: their usage has no -k. */
#define SERVER_USAGE_ONE "server [-q] [--bind ADDR] [--json] PORT"
#define CLIENT_USAGE "client [-q] [-n|--count N] [-i|--interval SEC] [-t|--timeout SEC] [--json] HOST PORT"

/* Longest host name DNS allows (RFC 1035), so we can say so ourselves. */
#define HOST_NAME_LIMIT 253
/* Largest -i and -t we take: an hour is already longer than a class. */
#define SECONDS_LIMIT 3600.0
/* Client defaults, the seed's: ten messages, one second apart. */
#define DEFAULT_COUNT 10
#define DEFAULT_INTERVAL 1.0
/* How long the client waits for connect or a reply before giving up. */
#define DEFAULT_TIMEOUT 10.0

int parse_long(const char *what, const char *text, long min, long max,
               long *out, char *err, size_t errsz)
{
    char *end;
    long v;

    /* strtol skips leading blanks and takes a sign; atoi would take
     * anything. We take only plain decimal digits, and all of them. */
    if (*text == '\0') {
        snprintf(err, errsz, _("%s is empty; give a number from %ld to %ld"), _(what), min, max);
        return -1;
    }
    if (!isdigit((unsigned char)text[0]) && !(text[0] == '-' && isdigit((unsigned char)text[1]))) {
        snprintf(err, errsz, _("%s '%s' is not a number; give a number from %ld to %ld"),
                 _(what), text, min, max);
        return -1;
    }
    errno = 0;
    v = strtol(text, &end, 10);
    if (*end != '\0') {
        snprintf(err, errsz, _("%s '%s' is not a number; give a number from %ld to %ld"),
                 _(what), text, min, max);
        return -1;
    }
    if (errno == ERANGE || v < min || v > max) {
        snprintf(err, errsz, _("%s '%s' is out of range; give a number from %ld to %ld"),
                 _(what), text, min, max);
        return -1;
    }
    *out = v;
    return 0;
}

int parse_seconds(const char *what, const char *text, double min, double max,
                  double *out, char *err, size_t errsz)
{
    char *end;
    double v;

    if (*text == '\0' || !(isdigit((unsigned char)text[0]) || text[0] == '.' || text[0] == '-')) {
        snprintf(err, errsz, _("%s '%s' is not a number of seconds; give %g to %g"),
                 _(what), text, min, max);
        return -1;
    }
    errno = 0;
    v = strtod(text, &end);
    /* strtod also reads "0x1p3", "inf" and "nan": allow only decimals. */
    if (*end != '\0' || strpbrk(text, "xXpPiInN") != NULL || errno == ERANGE) {
        snprintf(err, errsz, _("%s '%s' is not a number of seconds; give %g to %g"),
                 _(what), text, min, max);
        return -1;
    }
    if (!(v >= min && v <= max)) {
        snprintf(err, errsz, _("%s '%s' is out of range; give %g to %g seconds"),
                 _(what), text, min, max);
        return -1;
    }
    *out = v;
    return 0;
}

int parse_port(const char *text, int allow_zero, unsigned short *out,
               char *err, size_t errsz)
{
    long v;

    if (parse_long(N_("port"), text, allow_zero ? 0 : 1, 65535, &v, err, errsz) == -1)
        return -1;
    *out = (unsigned short)v;
    return 0;
}

/* The lines of --help both programs share, after their own options. */
static void common_help(void)
{
    printf(_("  -q, --quiet          no trace; stdout keeps only the data lines\n"
             "      --json           trace as one JSON object per call\n"
             "      --pause          before each socket call, wait for Enter (on a terminal)\n"
             "  -h, --help           this help\n\n"
             "Messages follow the locale: LANG=zh_CN.UTF-8 (or LAB_LANG=zh) for Chinese,\n"
             "LAB_LANG=en for English. NO_COLOR turns colour off.\n"
             "Exit status: 0 done, 1 runtime failure, 2 usage error.\n"));
}

/* ABOUT is the lesson's English text: translated here, as it is printed. */
static void server_help(const char *about, int flags)
{
    printf(_("usage: %s\n\n"), flags & SERVER_CAN_KEEP ? SERVER_USAGE : SERVER_USAGE_ONE);
    printf("%s\n", _(about));
    printf(_("Each socket call is traced on stderr.\n\n"
             "  PORT                 1-65535, or 0 for any free port (printed on stdout)\n"));
    if (flags & SERVER_CAN_KEEP)
        printf(_("  -k, --keep-listening serve clients one after another until Ctrl-C\n"));
    printf(_("      --bind ADDR      listen on this address (default 0.0.0.0; :: for IPv6)\n"));
    common_help();
}

static void client_help(const char *about)
{
    printf(_("usage: %s\n\n"), CLIENT_USAGE);
    printf("%s\n", _(about));
    printf(_("Each socket call is traced on stderr.\n\n"
             "  HOST                 a name (localhost) or an IPv4/IPv6 address\n"
             "  PORT                 1-65535\n"
             "  -n, --count N        messages to send (default %d)\n"
             "  -i, --interval SEC   pause between messages (default %g; 0 for none)\n"
             "  -t, --timeout SEC    give up on connect or a reply after SEC (default %g)\n"),
           DEFAULT_COUNT, DEFAULT_INTERVAL, DEFAULT_TIMEOUT);
    common_help();
}

/* The element of argv that is a negative number ("-1"), if any: getopt
 * takes it for an option, but the user meant a number. */
static const char *negative_number(int argc, char **argv)
{
    for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++)
        if (argv[i][0] == '-' && argv[i][1] != '\0' &&
            strspn(argv[i] + 1, "0123456789") == strlen(argv[i] + 1))
            return argv[i];
    return NULL;
}

/* "--json=x": a long option that takes no value was given one. Its name
 * is written to NAME. */
static int value_for_flag(const char *arg, const struct option *longopts,
                          char *name, size_t namesz)
{
    const char *eq = strchr(arg, '=');

    if (strncmp(arg, "--", 2) != 0 || eq == NULL)
        return 0;
    for (; longopts->name != NULL; longopts++)
        if (longopts->has_arg == no_argument &&
            strlen(longopts->name) == (size_t)(eq - arg - 2) &&
            strncmp(arg + 2, longopts->name, (size_t)(eq - arg - 2)) == 0) {
            snprintf(name, namesz, "--%s", longopts->name);
            return 1;
        }
    return 0;
}

/* getopt is told to stay quiet (opterr = 0) and to return ':' for a missing
 * value, so the message is ours: it names the option and says what to do.
 * optopt is a character only for short options; for a long option it is
 * that option's value (OPT_JSON, 'k') or 0, so it is compared, never given
 * to isdigit(). NUMBERS is an English sentence, translated here. */
static void bad_option(int opt, int argc, char **argv, const struct option *longopts,
                       const char *numbers)
{
    const char *neg = negative_number(argc, argv);
    const char *last = optind > 1 ? argv[optind - 1] : "";
    int long_opt = strncmp(last, "--", 2) == 0;
    char name[64];

    if (opt == '?' && !long_opt && optopt >= '0' && optopt <= '9' && neg != NULL)
        die_usage("'%s' is a negative number; %s", neg, _(numbers));
    if (opt == '?' && value_for_flag(last, longopts, name, sizeof(name)))
        die_usage("option '%s' takes no value (give it alone: %s)", last, name);
    if (opt == ':' && (optopt == 0 || optopt > UCHAR_MAX || long_opt))
        die_usage("option '%s' needs a value", last);
    if (opt == ':')
        die_usage("option '-%c' needs a value", optopt);
    if (optopt == 0 || optopt > UCHAR_MAX || long_opt)
        die_usage("unknown option '%s'", last);
    die_usage("unknown option '-%c'", optopt);
}

/* Whether TEXT is a numeric IPv4 or IPv6 address, which --bind takes. */
static int is_numeric_address(const char *text)
{
    struct in6_addr scratch;

    return inet_pton(AF_INET, text, &scratch) == 1 || inet_pton(AF_INET6, text, &scratch) == 1;
}

enum { OPT_BIND = 1000, OPT_JSON, OPT_PAUSE };

void parse_server_args(int argc, char **argv, const char *about, int flags,
                       struct server_args *out)
{
    static const struct option longopts[] = {
        {"keep-listening", no_argument, NULL, 'k'},
        {"quiet", no_argument, NULL, 'q'},
        {"bind", required_argument, NULL, OPT_BIND},
        {"json", no_argument, NULL, OPT_JSON},
        {"pause", no_argument, NULL, OPT_PAUSE},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    char err[ARG_ERR_MAX];
    int opt;

    explain_init("server", flags & SERVER_CAN_KEEP ? SERVER_USAGE : SERVER_USAGE_ONE);
    memset(out, 0, sizeof(*out));
    out->bind_addr = "0.0.0.0";
    out->trace = TRACE_TEXT;
    /* "+" stops at the first non-option, so PORT may not be mistaken. */
    opterr = 0;                     /* bad_option() says what is wrong */
    while ((opt = getopt_long(argc, argv, "+:kqh", longopts, NULL)) != -1) {
        switch (opt) {
        case 'k': out->keep = 1; break;
        case 'q': out->trace = TRACE_QUIET; break;
        case OPT_JSON: out->trace = TRACE_JSON; break;
        case OPT_PAUSE: out->pause = 1; break;
        case OPT_BIND: out->bind_addr = optarg; break;
        case 'h': server_help(about, flags); exit(EXIT_OK);
        default: bad_option(opt, argc, argv, longopts, N_("PORT is a number from 0 to 65535"));
        }
    }
    if (out->keep && !(flags & SERVER_CAN_KEEP))
        die_usage("-k arrives in lesson 06-close; this lesson's server serves one client");
    if (argc - optind < 1)
        die_usage("missing PORT");
    if (argc - optind > 1)
        die_usage("too many arguments (expected only PORT)");
    out->port_text = argv[optind];
    if (parse_port(out->port_text, 1, &out->port, err, sizeof(err)) == -1)
        die_usage("%s", err);
    if (!is_numeric_address(out->bind_addr))
        die_usage("--bind '%s' is not a numeric IPv4 or IPv6 address "
                  "(try 0.0.0.0, 127.0.0.1 or ::)", out->bind_addr);
    /* From here on every socket call the program makes is traced. */
    trace_init(ROLE_SERVER, out->trace);
    trace_set_pause(out->pause);
}

/* Dotted digits that are no IPv4 address ("300.1.1.1") would go to DNS. */
static int looks_like_bad_ipv4(const char *host)
{
    struct in_addr scratch;

    if (strspn(host, "0123456789.") != strlen(host) || strchr(host, '.') == NULL)
        return 0;
    return inet_pton(AF_INET, host, &scratch) != 1;
}

void parse_client_args(int argc, char **argv, const char *about, struct client_args *out)
{
    static const struct option longopts[] = {
        {"count", required_argument, NULL, 'n'},
        {"interval", required_argument, NULL, 'i'},
        {"timeout", required_argument, NULL, 't'},
        {"quiet", no_argument, NULL, 'q'},
        {"json", no_argument, NULL, OPT_JSON},
        {"pause", no_argument, NULL, OPT_PAUSE},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    char err[ARG_ERR_MAX];
    int opt;

    explain_init("client", CLIENT_USAGE);
    memset(out, 0, sizeof(*out));
    out->count = DEFAULT_COUNT;
    out->interval = DEFAULT_INTERVAL;
    out->timeout = DEFAULT_TIMEOUT;
    out->trace = TRACE_TEXT;
    opterr = 0;                     /* bad_option() says what is wrong */
    while ((opt = getopt_long(argc, argv, "+:n:i:t:qh", longopts, NULL)) != -1) {
        switch (opt) {
        case 'n':
            if (parse_long("-n", optarg, 1, INT_MAX, &out->count, err, sizeof(err)) == -1)
                die_usage("%s", err);
            break;
        case 'i':
            if (parse_seconds("-i", optarg, 0, SECONDS_LIMIT, &out->interval, err, sizeof(err)) == -1)
                die_usage("%s", err);
            break;
        case 't':
            if (parse_seconds("-t", optarg, 0.001, SECONDS_LIMIT, &out->timeout, err, sizeof(err)) == -1)
                die_usage("%s", err);
            break;
        case 'q': out->trace = TRACE_QUIET; break;
        case OPT_JSON: out->trace = TRACE_JSON; break;
        case OPT_PAUSE: out->pause = 1; break;
        case 'h': client_help(about); exit(EXIT_OK);
        default: bad_option(opt, argc, argv, longopts, N_("options take numbers of 0 or more"));
        }
    }
    if (argc - optind == 0)
        die_usage("missing HOST and PORT");
    if (argc - optind == 1)
        die_usage("missing PORT (after HOST)");
    if (argc - optind > 2)
        die_usage("too many arguments (expected HOST PORT)");
    out->host = argv[optind];
    out->port_text = argv[optind + 1];
    if (*out->host == '\0')
        die_usage("HOST is empty; give a name such as localhost or an address such as 127.0.0.1");
    if (strlen(out->host) > HOST_NAME_LIMIT)
        die_usage("HOST is %zu characters long; host names have at most %d",
                  strlen(out->host), HOST_NAME_LIMIT);
    if (looks_like_bad_ipv4(out->host))
        die_usage("HOST '%s' is not a valid IPv4 address (four numbers 0-255, like 127.0.0.1)",
                  out->host);
    if (parse_port(out->port_text, 0, &out->port, err, sizeof(err)) == -1)
        die_usage("%s", err);
    /* From here on every socket call the program makes is traced. */
    trace_init(ROLE_CLIENT, out->trace);
    trace_set_pause(out->pause);
}
