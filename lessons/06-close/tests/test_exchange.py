"""Lesson 06: the whole exchange, client and server, ending in an orderly close."""
import pytest

from labharness import seed_message

LESSON = "06-close"


@pytest.mark.lesson(LESSON)
@pytest.mark.points(1)
def test_client_and_server_exchange_the_seeds_ten_messages(lab):
    """steps 1-6: lesson 06's client and server exchange the seed's ten messages and both exit 0."""
    server = lab.server(LESSON)
    client = lab.run_client(LESSON, "-i", "0", port=server.port)
    assert client.returncode == 0, client
    assert server.wait() == 0, server.stderr
    sent = [f"sent: {seed_message(i).decode()}" for i in range(1, 11)]
    assert [l for l in client.stdout.splitlines() if l.startswith("sent: ")] == sent
    assert client.stdout.count("received: ok\n") == 10
    received = [l for l in server.stdout.splitlines() if l.startswith("received: ")]
    assert received == [f"received: {seed_message(i).decode()}" for i in range(1, 11)]
