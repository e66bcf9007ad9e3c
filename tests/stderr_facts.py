"""stderr_facts.py - what a program told its user: the facts, never the phrase.

A lesson's program reports trouble in its own words (warn_msg(), perror(),
fprintf): the tests never require the reference's wording. Where a message
matters they require one that names the facts: the frame length that was
too long, the message number whose reply was wrong, the errno.

    line = reported(server, [65537], after=mark)     # a line naming 65537
    assert names_errno(r.stderr, errno.ECONNREFUSED)
"""
import errno as errnos
import os
import re
import time

from diagnose import Stillness, state_of
from labharness import DEFAULT_WAIT

# Lines the kit writes, not the program: the trace ("[server] step 5 ...",
# "[server:1234]" in a forked child, --json's "{...}") and the fault
# library's notes.
KIT_LINE_RE = re.compile(r"^\s*(\[(server|client|服务端|客户端)(:\d+)?\]|\{|libfault:)")


def own_lines(text):
    """The lines of a program's stderr that it wrote itself (no trace lines)."""
    return [l for l in text.splitlines() if l.strip() and not KIT_LINE_RE.match(l)]


def names(line, facts):
    """Whether `line` names one of `facts` (numbers or words) as a whole word."""
    return any(re.search(rf"(?<![\w.]){re.escape(str(f))}(?![\w.])", line) for f in facts)


def line_naming(text, *groups):
    """The first of the program's own lines in `text` that names a fact of
    each group (a group: a list of numbers or words), or None:

        line_naming(err, [2], [1], errno_facts(errno.EPIPE))   # message 2, 1 acknowledged
    """
    return next((l for l in own_lines(text) if all(names(l, g) for g in groups)), None)


def errno_facts(err):
    """The ways a message names errno `err`: ECONNRESET, Connection reset by peer, 104."""
    return [errnos.errorcode[err], os.strerror(err), err]


def reported(proc, facts, after=0, timeout=DEFAULT_WAIT, what="it"):
    """Wait for a line of proc's own on stderr, after its first `after`
    characters, that names one of `facts`; return that line. Fails saying
    what the program did write."""
    deadline = time.monotonic() + timeout
    still = Stillness(proc)
    while True:
        text = proc.stderr[after:]
        line = next((l for l in own_lines(text) if names(l, facts)), None)
        if line is not None:
            return line
        if time.monotonic() >= deadline or proc.popen.poll() is not None or still.still(len(text)):
            said = "\n".join("    " + l for l in own_lines(text)[-5:]) or "    (nothing)"
            facts_text = " or ".join(str(f) for f in facts)
            raise AssertionError(f"expected a message on stderr about {what}, naming {facts_text}; "
                                 f"the program wrote:\n{said}\n{state_of(proc)}")
        time.sleep(0.05)


def names_errno(text, err):
    """Whether the program's own lines of stderr `text` name errno `err`: its
    symbol (ECONNREFUSED), its strerror() text (as perror() prints it) or its
    number. (The trace names it too, but the trace is the kit's.)"""
    return line_naming(text, errno_facts(err)) is not None
