"""Bad command lines: every mistake gets its own message and the right exit code.

One table, one row per mistake: the program, its arguments, the exit code
(2 usage, 1 runtime failure) and fragments that must appear on stderr. The
fragments are the programs' real text, written here by hand: a change of
wording must change this table on purpose. Nothing may reach stdout, and no
program may crash or hang (each run is bounded).
"""
import os
import shutil
import socket
import subprocess

import pytest

from labharness import LESSONS, ROOT, base_env, client_source, program

USAGE_SERVER = "usage: server [-q] [-k|--keep-listening] [--bind ADDR] [--json] PORT"
USAGE_CLIENT = "usage: client [-q] [-n|--count N]"
LONG_HOST = "a" * 300

# (id, lesson, program, args, exit code, fragments on stderr)
CASES = [
    # --- the server's PORT
    ("server-missing-port", "06-close", "server", [], 2, ["server: missing PORT", USAGE_SERVER]),
    ("server-extra-arg", "06-close", "server", ["5005", "6006"], 2,
     ["server: too many arguments (expected only PORT)"]),
    ("server-port-abc", "06-close", "server", ["abc"], 2,
     ["server: port 'abc' is not a number; give a number from 0 to 65535"]),
    ("server-port-minus-1", "06-close", "server", ["-1"], 2,
     ["server: '-1' is a negative number; PORT is a number from 0 to 65535"]),
    ("server-port-minus-1-after-dashdash", "06-close", "server", ["--", "-1"], 2,
     ["server: port '-1' is out of range; give a number from 0 to 65535"]),
    ("server-port-hex", "06-close", "server", ["0x10"], 2,
     ["server: port '0x10' is not a number; give a number from 0 to 65535"]),
    ("server-port-65536", "06-close", "server", ["65536"], 2,
     ["server: port '65536' is out of range; give a number from 0 to 65535"]),
    ("server-port-huge", "06-close", "server", ["99999999999"], 2,
     ["server: port '99999999999' is out of range; give a number from 0 to 65535"]),
    ("server-port-empty", "06-close", "server", [""], 2,
     ["server: port is empty; give a number from 0 to 65535"]),
    ("server-port-leading-blank", "06-close", "server", [" 80"], 2,
     ["server: port ' 80' is not a number; give a number from 0 to 65535"]),
    ("server-port-trailing-junk", "06-close", "server", ["80x"], 2,
     ["server: port '80x' is not a number"]),
    ("server-unknown-long-flag", "06-close", "server", ["--verbose", "0"], 2,
     ["server: unknown option '--verbose'", USAGE_SERVER, "Try 'server --help' for more."]),
    ("server-unknown-short-flag", "06-close", "server", ["-x", "0"], 2,
     ["server: unknown option '-x'"]),
    ("server-bind-needs-value", "06-close", "server", ["--bind"], 2,
     ["server: option '--bind' needs a value"]),
    ("server-bind-not-numeric", "06-close", "server", ["--bind", "localhost", "0"], 2,
     ["server: --bind 'localhost' is not a numeric IPv4 or IPv6 address (try 0.0.0.0, 127.0.0.1 or ::)"]),
    ("server-bind-bad-ipv4", "06-close", "server", ["--bind", "300.1.1.1", "0"], 2,
     ["server: --bind '300.1.1.1' is not a numeric IPv4 or IPv6 address"]),
    ("server-bind-foreign-address", "06-close", "server", ["--bind", "192.0.2.1", "0"], 1,
     ["server: bind 192.0.2.1:0: Cannot assign requested address (EADDRNOTAVAIL)",
      "server: hint: that address is not one of this machine's"]),
    ("lesson02-rejects-keep", "02-bind", "server", ["-k", "0"], 2,
     ["server: -k arrives in lesson 06-close; this lesson's server serves one client"]),
    ("lesson05-rejects-keep", "05-send-recv", "server", ["-k", "0"], 2,
     ["server: -k arrives in lesson 06-close"]),
    ("lesson03-port-abc", "03-listen", "server", ["abc"], 2,
     ["server: port 'abc' is not a number"]),
    # --- the client's HOST and PORT
    ("client-missing-both", "06-close", "client", [], 2,
     ["client: missing HOST and PORT", USAGE_CLIENT]),
    ("client-missing-port", "06-close", "client", ["127.0.0.1"], 2,
     ["client: missing PORT (after HOST)"]),
    ("client-extra-arg", "06-close", "client", ["127.0.0.1", "5005", "x"], 2,
     ["client: too many arguments (expected HOST PORT)"]),
    ("client-port-abc", "06-close", "client", ["127.0.0.1", "abc"], 2,
     ["client: port 'abc' is not a number; give a number from 1 to 65535"]),
    ("client-port-zero", "06-close", "client", ["127.0.0.1", "0"], 2,
     ["client: port '0' is out of range; give a number from 1 to 65535"]),
    ("client-port-minus-1", "06-close", "client", ["127.0.0.1", "-1"], 2,
     ["client: port '-1' is out of range; give a number from 1 to 65535"]),
    ("client-port-65536", "06-close", "client", ["127.0.0.1", "65536"], 2,
     ["client: port '65536' is out of range"]),
    ("client-port-empty", "06-close", "client", ["127.0.0.1", ""], 2,
     ["client: port is empty; give a number from 1 to 65535"]),
    ("client-port-leading-blank", "06-close", "client", ["127.0.0.1", " 80"], 2,
     ["client: port ' 80' is not a number"]),
    ("client-host-empty", "06-close", "client", ["", "80"], 2,
     ["client: HOST is empty; give a name such as localhost or an address such as 127.0.0.1"]),
    ("client-host-300-1-1-1", "06-close", "client", ["300.1.1.1", "80"], 2,
     ["client: HOST '300.1.1.1' is not a valid IPv4 address (four numbers 0-255, like 127.0.0.1)"]),
    ("client-host-300-chars", "06-close", "client", [LONG_HOST, "80"], 2,
     ["client: HOST is 300 characters long; host names have at most 253"]),
    ("client-host-unknown", "06-close", "client", ["-t", "5", "nonexistent.invalid", "80"], 1,
     ["client: cannot resolve host 'nonexistent.invalid'",
      "client: hint: unknown host; check the spelling, or give a numeric address"]),
    # --- the client's options
    ("client-count-zero", "06-close", "client", ["-n", "0", "127.0.0.1", "80"], 2,
     ["client: -n '0' is out of range; give a number from 1 to 2147483647"]),
    ("client-count-negative", "06-close", "client", ["-n", "-5", "127.0.0.1", "80"], 2,
     ["client: -n '-5' is out of range; give a number from 1 to 2147483647"]),
    ("client-count-abc", "06-close", "client", ["-n", "abc", "127.0.0.1", "80"], 2,
     ["client: -n 'abc' is not a number; give a number from 1 to 2147483647"]),
    ("client-count-huge", "06-close", "client", ["-n", "99999999999999999999", "127.0.0.1", "80"], 2,
     ["client: -n '99999999999999999999' is out of range"]),
    ("client-count-needs-value", "06-close", "client", ["-n"], 2,
     ["client: option '-n' needs a value"]),
    ("client-interval-negative", "06-close", "client", ["-i", "-1", "127.0.0.1", "80"], 2,
     ["client: -i '-1' is out of range; give 0 to 3600 seconds"]),
    ("client-interval-abc", "06-close", "client", ["-i", "abc", "127.0.0.1", "80"], 2,
     ["client: -i 'abc' is not a number of seconds; give 0 to 3600"]),
    ("client-interval-nan", "06-close", "client", ["-i", "nan", "127.0.0.1", "80"], 2,
     ["client: -i 'nan' is not a number of seconds"]),
    ("client-interval-hexfloat", "06-close", "client", ["-i", "0x1p3", "127.0.0.1", "80"], 2,
     ["client: -i '0x1p3' is not a number of seconds"]),
    ("client-timeout-zero", "06-close", "client", ["-t", "0", "127.0.0.1", "80"], 2,
     ["client: -t '0' is out of range; give 0.001 to 3600 seconds"]),
    ("client-unknown-long-flag", "06-close", "client", ["--verbose", "127.0.0.1", "80"], 2,
     ["client: unknown option '--verbose'", USAGE_CLIENT]),
    ("client-timeout-needs-value", "06-close", "client", ["--timeout"], 2,
     ["client: option '--timeout' needs a value"]),
    ("lesson04-client-port-abc", "04-accept", "client", ["127.0.0.1", "abc"], 2,
     ["client: port 'abc' is not a number"]),
]


def run(argv, timeout=20, preexec=None, prefix=()):
    """Run to the end, bounded; a hang fails the test."""
    return subprocess.run([*prefix, *map(str, argv)], stdin=subprocess.DEVNULL,
                          capture_output=True, env=base_env(), timeout=timeout)


@pytest.mark.parametrize("lesson,prog,args,code,fragments",
                         [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_command_line_is_refused_with_a_clear_message(lesson, prog, args, code, fragments):
    r = run([program(lesson, prog), *args])
    err = r.stderr.decode("utf-8", "replace")
    assert r.returncode == code, f"exit {r.returncode}, expected {code}\n{err}"
    for fragment in fragments:
        assert fragment in err
    # Data lines only on stdout; a refused command line has none.
    assert r.stdout == b""
    if code == 2:
        assert "Try '" in err and "--help' for more." in err


# Every program make builds: each lesson's server, and its client from lesson 04 on
# (lessons 08-10 run lesson 07's).
EVERY_PROGRAM = [(lesson, prog) for lesson in LESSONS for prog in ("server", "client")
                 if prog == "server" or client_source(lesson)]


@pytest.mark.parametrize("lesson,prog", EVERY_PROGRAM, ids=[f"{l}-{p}" for l, p in EVERY_PROGRAM])
def test_every_lesson_refuses_a_bad_port_and_a_missing_argument(lesson, prog):
    exe = program(lesson, prog)
    bad_port = ["abc"] if prog == "server" else ["127.0.0.1", "abc"]
    r = run([exe, *bad_port])
    assert r.returncode == 2
    assert f"{prog}: port 'abc' is not a number" in r.stderr.decode()
    r = run([exe])
    assert r.returncode == 2
    assert f"{prog}: missing " in r.stderr.decode()
    assert r.stdout == b""


def test_table_has_at_least_thirty_cases():
    assert len(CASES) >= 30
    assert len({c[0] for c in CASES}) == len(CASES)


@pytest.mark.parametrize("prog", ["server", "client"])
def test_help_goes_to_stdout_and_exits_0(prog):
    r = run([program("06-close", prog), "--help"])
    assert r.returncode == 0
    assert r.stdout.decode().startswith(f"usage: {prog} ")
    assert r.stderr == b""


def test_port_in_use_names_time_wait_and_so_reuseaddr():
    with socket.socket() as holder:
        holder.bind(("0.0.0.0", 0))
        holder.listen(1)
        port = holder.getsockname()[1]
        r = run([program("06-close", "server"), port])
    err = r.stderr.decode()
    assert r.returncode == 1, err
    assert f"server: bind 0.0.0.0:{port}: Address already in use (EADDRINUSE)" in err
    assert "TIME_WAIT" in err and "SO_REUSEADDR" in err
    assert "listening on" not in r.stdout.decode()


def test_port_in_use_on_loopback_bind_is_reported_too():
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen(1)
        port = holder.getsockname()[1]
        r = run([program("06-close", "server"), "--bind", "127.0.0.1", port])
    assert r.returncode == 1
    assert f"bind 127.0.0.1:{port}: Address already in use (EADDRINUSE)" in r.stderr.decode()


def _drop_privileges_prefix():
    """A command prefix that runs a program as nobody, or a reason it cannot."""
    if os.geteuid() != 0:
        return [], None
    setpriv = shutil.which("setpriv")
    if setpriv:
        return [setpriv, "--reuid=65534", "--regid=65534", "--clear-groups"], None
    runuser = shutil.which("runuser")
    if runuser:
        return [runuser, "-u", "nobody", "--"], None
    return None, "running as root and neither setpriv nor runuser is installed"


def test_port_below_1024_as_non_root_explains_the_privilege():
    prefix, why = _drop_privileges_prefix()
    if prefix is None:
        pytest.skip(why)
    start = int(open("/proc/sys/net/ipv4/ip_unprivileged_port_start").read())
    if start <= 1:
        pytest.skip(f"net.ipv4.ip_unprivileged_port_start is {start}: every port is unprivileged here")
    port = min(start - 1, 1023)
    server = program("06-close", "server")
    check = run(["test", "-x", server], prefix=prefix)
    if check.returncode != 0:
        pytest.skip(f"{server} is not executable by an unprivileged user (build dir permissions)")
    r = run([server, "--bind", "127.0.0.1", port], prefix=prefix)
    err = r.stderr.decode()
    assert r.returncode == 1, err
    assert f"server: bind 127.0.0.1:{port}: Permission denied (EACCES)" in err
    assert "server: hint: ports below 1024 need root (CAP_NET_BIND_SERVICE); try a port above 1024" in err


def test_connection_refused_explains_that_nothing_listens():
    with socket.socket() as s:          # a port that nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        r = run([program("06-close", "client"), "-t", "5", "127.0.0.1", port])
    err = r.stderr.decode()
    assert r.returncode == 1
    assert f"client: connect to 127.0.0.1 port {port}: Connection refused (ECONNREFUSED)" in err
    assert "client: hint: nothing listens on that port" in err

