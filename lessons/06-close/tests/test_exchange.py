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
    msgs = [seed_message(i).decode() for i in range(1, 11)]
    for who, out in (("client", client.stdout), ("server", server.stdout)):
        at = 0
        for m in msgs:
            at = out.find(m, at)
            assert at != -1, f"steps 1-6: the {who} should show the ten messages in order; missing {m}\n{out}"
