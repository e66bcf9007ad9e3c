"""Real peers that are not ours: netcat as a client of our server, socat as a
server for our client; and the same programs over IPv6 and by host name.
"""
import re
import shutil
import socket
import subprocess
import sys

import pytest

from labharness import free_port, listen_state_seen, seed_message

LESSON = "06-close"


def need(tool):
    if not shutil.which(tool):
        pytest.fail(f"{tool} is not installed (make test installs it: see tests/ensure-deps.sh)")


def has_ipv6_loopback():
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


def test_netcat_client_gets_ok_from_our_server(lab):
    """nc (OpenBSD) sends a message and closes its sending side (-N): ok comes back, then our close."""
    need("nc")
    server = lab.server(LESSON)
    r = subprocess.run(["nc", "-N", "127.0.0.1", str(server.port)], input=seed_message(3),
                       capture_output=True, timeout=10)
    assert r.stdout == b"ok", f"nc should read exactly b'ok' and then end of stream: {r!r}"
    assert r.returncode == 0, r
    assert server.wait() == 0, server.stderr
    assert server.stdout.splitlines()[1:] == [f"received: {seed_message(3).decode()}", "sent: ok"], server.stdout


REPLY_OK = """\
import os
# One reply "ok" per read: our client waits for it before the next message.
while True:
    data = os.read(0, 1024)
    if not data:
        break
    os.write(1, b"ok")
"""


def test_socat_server_serves_our_client(lab, tmp_path):
    """socat listens and runs a tiny script that answers each read with ok: our client is happy."""
    need("socat")
    script = tmp_path / "reply_ok.py"
    script.write_text(REPLY_OK)
    port = free_port()
    socat = lab.start(["socat", f"TCP-LISTEN:{port},bind=127.0.0.1,reuseaddr",
                       f"EXEC:{sys.executable} {script}"])
    assert listen_state_seen(port), f"socat never listened on {port}\n{socat.stderr}"
    client = lab.run_client(LESSON, "-n", "3", "-i", "0", port=port)
    assert client.returncode == 0, client
    assert client.stdout.splitlines() == [
        l for i in (1, 2, 3) for l in (f"sent: {seed_message(i).decode()}", "received: ok")], client.stdout
    assert socat.wait() == 0, socat.stderr


@pytest.mark.skipif(not has_ipv6_loopback(), reason="this machine has no IPv6 loopback (::1)")
def test_ipv6_server_on_any_address_and_client_to_loopback(lab):
    server = lab.server(LESSON, "--bind", "::")
    assert server.address == "[::]", server.stdout
    client = lab.run_client(LESSON, "-n", "2", "-i", "0", host="::1", port=server.port)
    assert client.returncode == 0, client
    assert server.wait() == 0, server.stderr
    assert re.search(r"socket\(AF_INET6, SOCK_STREAM, (0|6)\) = 3", server.stderr), server.stderr
    assert re.search(rf"connect\(3, \[::1\]:{server.port}, 28\) = 0", client.stderr), client.stderr
    assert re.search(r"accept\(3, \[::1\]:\d+, 28\) = 4", server.stderr), server.stderr
    assert server.stdout.count("sent: ok") == 2, server.stdout


def test_client_resolves_localhost(lab):
    """HOST may be a name: getaddrinfo tries each address of localhost until one connects."""
    server = lab.server(LESSON)
    client = lab.run_client(LESSON, "-n", "1", host="localhost", port=server.port)
    assert client.returncode == 0, client
    assert server.wait() == 0, server.stderr
    connects = re.findall(r"connect\(3, (\S+), \d+\) = (-?\d+)", client.stderr)
    assert connects and connects[-1] == (f"127.0.0.1:{server.port}", "0"), (
        f"the client should end up connected to 127.0.0.1 (the server is IPv4 only)\n{client.stderr}")
    # Any address tried before (::1 on some machines) failed and was closed.
    assert all(rc == "-1" for _, rc in connects[:-1]), client.stderr

