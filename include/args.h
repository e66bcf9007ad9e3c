/*
 * args.h - the command lines of the lesson programs, checked strictly.
 *
 * Numbers go through one strtol/strtod helper that rejects what atoi()
 * would quietly turn into 0 ("abc", "", " 80", "0x10", "70000").
 */
#ifndef SOCKETLAB_ARGS_H
#define SOCKETLAB_ARGS_H

#include <stddef.h>

#include "trace.h"

/**
 * @defgroup args Command lines
 * @brief Parsing and checking the programs' arguments.
 * @{
 */

/** Longest error text the parse helpers write. */
#define ARG_ERR_MAX 256

/** Options of the server: `server [-q] [-k] [--bind ADDR] [--json] PORT`. */
struct server_args {
    enum trace_mode trace;  /**< text, JSON (`--json`) or quiet (`-q`) */
    int pause;              /**< `--pause`: wait for Enter before each socket call */
    int keep;               /**< `-k`: serve clients one after another */
    const char *bind_addr;  /**< `--bind ADDR`, a numeric IPv4 or IPv6 address */
    const char *port_text;  /**< PORT as given, checked (getaddrinfo's service) */
    unsigned short port;    /**< PORT as a number; 0 lets the kernel choose */
};

/** Options of the client: `client [-q] [-n N] [-i SEC] [-t SEC] [--json] HOST PORT`. */
struct client_args {
    enum trace_mode trace;  /**< text, JSON (`--json`) or quiet (`-q`) */
    int pause;              /**< `--pause`: wait for Enter before each socket call */
    long count;             /**< `-n N`: messages to send, 1 or more */
    double interval;        /**< `-i SEC`: pause between messages, 0 for none */
    double timeout;         /**< `-t SEC`: longest wait for connect or a reply */
    const char *host;       /**< HOST: a name or a numeric address */
    const char *port_text;  /**< PORT as given, checked */
    unsigned short port;    /**< PORT as a number, 1-65535 */
};

/** Lessons that teach `-k` pass this to parse_server_args(). */
#define SERVER_CAN_KEEP 1

/**
 * @brief Parse a whole decimal integer within [@p min, @p max].
 * @param what  what the number is, for the message ("port", "-n").
 * @param text  the text to parse.
 * @param min   smallest value allowed.
 * @param max   largest value allowed.
 * @param out   where the value goes on success.
 * @param err   buffer for the reason on failure.
 * @param errsz size of @p err.
 * @return 0 on success; -1 with the reason in @p err.
 */
int parse_long(const char *what, const char *text, long min, long max,
               long *out, char *err, size_t errsz);

/**
 * @brief Parse a decimal number of seconds within [@p min, @p max].
 * @param what  what the number is, for the message ("-i").
 * @param text  the text to parse, such as "1" or "0.25".
 * @param min   smallest value allowed.
 * @param max   largest value allowed.
 * @param out   where the value goes on success.
 * @param err   buffer for the reason on failure.
 * @param errsz size of @p err.
 * @return 0 on success; -1 with the reason in @p err.
 */
int parse_seconds(const char *what, const char *text, double min, double max,
                  double *out, char *err, size_t errsz);

/**
 * @brief Parse a TCP port number, 0 to 65535.
 * @param text      the text to parse.
 * @param allow_zero 1 when 0 ("any free port") is allowed (servers).
 * @param out       where the port goes on success.
 * @param err       buffer for the reason on failure.
 * @param errsz     size of @p err.
 * @return 0 on success; -1 with the reason in @p err.
 */
int parse_port(const char *text, int allow_zero, unsigned short *out,
               char *err, size_t errsz);

/**
 * @brief Parse the server's command line; exits 2 on a mistake, 0 on --help.
 * @param argc   from main().
 * @param argv   from main().
 * @param about  what this lesson's program does, one or two lines for `--help`.
 * @param flags  #SERVER_CAN_KEEP when this lesson supports `-k`, else 0.
 * @param out    the options.
 */
void parse_server_args(int argc, char **argv, const char *about, int flags,
                       struct server_args *out);

/**
 * @brief Parse the client's command line; exits 2 on a mistake, 0 on --help.
 * @param argc  from main().
 * @param argv  from main().
 * @param about what this lesson's program does, one or two lines for `--help`.
 * @param out   the options.
 */
void parse_client_args(int argc, char **argv, const char *about, struct client_args *out);

/** @} */

#endif /* SOCKETLAB_ARGS_H */
