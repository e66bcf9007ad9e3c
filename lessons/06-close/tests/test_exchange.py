"""Lesson 06: the whole exchange, client and server, ending in an orderly close."""
from labharness import seed_message


def test_client_and_server_exchange_the_seeds_ten_messages(lab):
    server = lab.server("06-close")
    client = lab.run_client("06-close", "-i", "0", port=server.port)
    assert client.returncode == 0, client
    assert server.wait() == 0
    sent = [f"sent: {seed_message(i).decode()}" for i in range(1, 11)]
    assert [l for l in client.stdout.splitlines() if l.startswith("sent: ")] == sent
    assert client.stdout.count("received: ok\n") == 10
    received = [l for l in server.stdout.splitlines() if l.startswith("received: ")]
    assert received == [f"received: {seed_message(i).decode()}" for i in range(1, 11)]
