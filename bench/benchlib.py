"""benchlib.py - what the benchmarks in bench/ share: a server started on
port 0 and pinned to a CPU, the load client's key=value line, and honest
figures: the machine's load and CPU steal before and after a run, the median
and spread (min-max) of each ratio over interleaved rounds, and the marks
`noisy` (spread above 10%, or the machine was busy) and `missed` (a target
not met), with one summary line that says which.

Python 3 standard library only. bench/bench.sh uses it as a command:
    python3 bench/benchlib.py snapshot             (prints the machine's state, one JSON line)
"""
import json
import os
import re
import resource
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# A row whose ratio moved more than this between rounds is noisy.
NOISE_SPREAD = 0.10
# The machine counts as busy when, during the run, CPU steal passed this
# share of its CPU time, or other processes than ours used more than this
# share of its CPUs, or when the load average before the run passed half
# the CPUs.
BUSY_STEAL = 0.05
BUSY_OTHERS = 0.10


def cpus():
    return os.cpu_count() or 1


def server_command(build, name):
    """The command of a server the load benchmarks name: "baseline" (the bare
    epoll server) or a lesson and its flags ("10-epoll --edge"), quiet."""
    if name == "baseline":
        return [f"{build}/bench/epoll_baseline", "-q"]
    lesson, *flags = name.split()
    return [f"{build}/{lesson}/server", "-q"] + flags


def pinning():
    """(server prefix, client prefix, words): the server on CPU 0 and the
    load client on CPU 1, where there are two CPUs and taskset."""
    if cpus() >= 2 and subprocess.run(["sh", "-c", "command -v taskset && taskset -c 1 true"],
                                      capture_output=True).returncode == 0:
        return ["taskset", "-c", "0"], ["taskset", "-c", "1"], "server on CPU 0, load client on CPU 1"
    return [], [], "not pinned (taskset missing or one CPU)"


def in_private_netns(argv):
    """Re-run argv in a network namespace of its own, when root can: only
    loopback there, no firewall or connection tracking on the path, and
    ports and source addresses nobody else on the machine is using.
    Returns the words for the table's header (when it stays where it is)."""
    if os.environ.get("BENCH_NETNS") == "inside":
        subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
        return "in a network namespace of its own (loopback only: no firewall, no conntrack)"
    if os.environ.get("BENCH_NETNS") == "0":
        return "in the machine's network namespace (BENCH_NETNS=0)"
    if os.geteuid() == 0 and subprocess.run(["sh", "-c", "command -v unshare && command -v ip && unshare -n true"],
                                            capture_output=True).returncode == 0:
        os.environ["BENCH_NETNS"] = "inside"
        os.execvp("unshare", ["unshare", "-n", "--"] + argv)
    return "in the machine's network namespace (not root, or no unshare/ip)"


class Server:
    """A server on port 0, started under `prefix` (taskset, prlimit); its
    stdout (the data lines) goes to a file, read for 'listening on ADDR:PORT'.
    port is None when it did not start; then `error` says why."""

    def __init__(self, cmd, prefix=(), wait=10.0):
        self.out = tempfile.NamedTemporaryFile(prefix="bench-server-", suffix=".out")
        self.err = tempfile.NamedTemporaryFile(prefix="bench-server-", suffix=".err")
        self.proc = subprocess.Popen(list(prefix) + list(cmd) + ["0"], stdout=self.out, stderr=self.err)
        self.port, self.error = None, None
        end = time.monotonic() + wait
        while time.monotonic() < end and self.proc.poll() is None:
            with open(self.out.name, "rb") as f:
                m = re.search(rb"^listening on \S+:(\d+)$", f.read(4096), re.M)
            if m:
                self.port = int(m.group(1))
                return
            time.sleep(0.01)
        with open(self.err.name, errors="replace") as f:
            self.error = f"{' '.join(cmd)} did not start: " + (f.read().strip().splitlines() or ["no output"])[0]

    @property
    def pid(self):
        return self.proc.pid

    def stop(self):
        """SIGTERM (the lessons finish and exit 0), then its exit status."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.out.close()
        self.err.close()
        return self.proc.returncode


_may_raise = {}


def fd_prefix(need):
    """What to start a process under so it may open `need` fds: [] when it
    already may, a prlimit command, or None when it may not (the hard limit
    is lower and this process may not raise it: not root, or a container
    without CAP_SYS_RESOURCE)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    inf = resource.RLIM_INFINITY
    if soft == inf or soft >= need:
        return []
    if hard == inf or hard >= need:
        return ["prlimit", f"--nofile={need}:{'unlimited' if hard == inf else hard}"]
    if need not in _may_raise:
        _may_raise[need] = subprocess.run(["prlimit", f"--nofile={need}:{need}", "true"],
                                          capture_output=True).returncode == 0
    return ["prlimit", f"--nofile={need}:{need}"] if _may_raise[need] else None


def fd_ceiling():
    """The most fds a process started from here may open."""
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    with open("/proc/sys/fs/nr_open") as f:
        nr_open = int(f.read())
    if hard != resource.RLIM_INFINITY and hard < nr_open and fd_prefix(nr_open) is None:
        return hard
    return nr_open


def parse_kv(line):
    """The load client's line, key=value pairs, numbers as floats."""
    out = {}
    for kv in line.split():
        if "=" in kv:
            k, v = kv.split("=", 1)
            try:
                out[k] = float(v)
            except ValueError:
                out[k] = v
    return out


def loadgen(build, args, port, prefix=(), timeout=600):
    """Run bench/loadgen against 127.0.0.1:port: (its figures, its stderr).
    A run that printed nothing counts every connection as an error."""
    cmd = list(prefix) + [str(Path(build) / "bench" / "loadgen")] + [str(a) for a in args] + ["127.0.0.1", str(port)]
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        out, err = r.stdout, r.stderr
    except subprocess.TimeoutExpired:
        out, err = "", f"loadgen: no answer in {timeout}s\n"
    lines = out.strip().splitlines()
    res = parse_kv(lines[-1]) if lines else {}
    if "errors" not in res:
        res["errors"] = 1.0
        res.setdefault("rt_per_s", 0.0)
    return res, err


# The machine: load average and CPU time from /proc, ours from os.times().

def snapshot(own_cpu=None):
    """The machine's state now: load average, CPU ticks (all, idle, steal),
    and the CPU seconds our own processes used so far (own_cpu, or this
    process and the children it waited for)."""
    with open("/proc/loadavg") as f:
        load1 = float(f.read().split()[0])
    with open("/proc/stat") as f:
        fields = [int(x) for x in f.readline().split()[1:]]
    # user nice system idle iowait irq softirq steal guest guest_nice
    total = sum(fields[:8])
    if own_cpu is None:
        t = os.times()
        own_cpu = t.user + t.system + t.children_user + t.children_system
    return {"time": time.monotonic(), "load1": load1, "total": total, "idle": fields[3] + fields[4],
            "steal": fields[7] if len(fields) > 7 else 0, "own_cpu": own_cpu}


def machine(before, after, own_unknown=None):
    """What the machine did between two snapshots: a dict with load_before,
    load_after, steal (share of CPU time), others (share of the CPUs that
    processes other than ours used; None when our own is not known, and
    own_unknown says why: work in Docker containers or in sandboxes runs
    outside the CPU times our waited-for children add up), busy (bool), why
    (the reasons it was busy) and words to print."""
    hz = os.sysconf("SC_CLK_TCK")
    ticks = max(after["total"] - before["total"], 1)
    busy_ticks = ticks - (after["idle"] - before["idle"])
    steal = (after["steal"] - before["steal"]) / ticks
    own = (after["own_cpu"] - before["own_cpu"]) * hz
    others = max(busy_ticks - (after["steal"] - before["steal"]) - own, 0) / ticks if not own_unknown else None
    reasons = []
    # The load average trails by a minute, so it still counts the bench run
    # just before this one: it decides only where the CPU other processes
    # used is not known (work in containers or sandboxes); else that share decides.
    if others is None and before["load1"] > cpus() / 2:
        reasons.append(f"load average {before['load1']:.1f} before the run, on {cpus()} CPUs")
    if steal > BUSY_STEAL:
        reasons.append(f"CPU steal {steal:.0%}")
    if others is not None and others > BUSY_OTHERS:
        reasons.append(f"other processes used {others:.0%} of the CPUs")
    words = (f"load average {before['load1']:.2f} before, {after['load1']:.2f} after; "
             f"CPU steal {steal:.1%}; other processes " +
             (f"{others:.0%} of the CPUs" if others is not None else f"not known ({own_unknown})"))
    return {"load_before": before["load1"], "load_after": after["load1"], "steal": steal,
            "others": others, "busy": bool(reasons), "why": "; ".join(reasons), "words": words}


def spread(values):
    """(median, min, max, (max - min) / median) of a row's values."""
    values = [v for v in values if v is not None]
    if not values:
        return 0.0, 0.0, 0.0, 0.0
    med = statistics.median(values)
    return med, min(values), max(values), (max(values) - min(values)) / med if med else 0.0


def mark(rel_spread, busy, missed, rounds):
    """The row's marks: 'noisy' and/or 'missed', or ''."""
    marks = []
    if busy or (rounds > 1 and rel_spread > NOISE_SPREAD):
        marks.append("noisy")
    if missed:
        marks.append("missed")
    return ",".join(marks)


def plural(n, word):
    return f"{n} {word}" + ("" if n == 1 else "s")


def spread_words(lo, hi, rel, rounds, own):
    """A row's spread column: min-max of its ratio; for the row the others
    are compared with, how far its own figure moved (+-half its spread);
    '-' with one round."""
    if rounds < 2:
        return "-"
    return f"rt ±{rel / 2:.0%}" if own else f"{lo:.2f}-{hi:.2f}"


def summary(name, rows, mach, rounds):
    """The closing lines: one that says OK, NOISY or MISSED and how many
    targets held, then which rows missed and which are noisy, and why.
    rows: dicts with 'label', 'marks', 'target' (or None), 'figure' (what
    was measured against the target), 'spread' and, for a row noisy for a
    reason of its own, 'why'."""
    targets = [r for r in rows if r.get("target")]
    missed = [r for r in rows if "missed" in r["marks"]]
    noisy = [r for r in rows if "noisy" in r["marks"]]
    verdict = " and ".join(w for w, rs in (("MISSED", missed), ("NOISY", noisy)) if rs) or "OK"
    met = len(targets) - len([r for r in missed if r.get("target")])
    met_words = f"{met} of {plural(len(targets), 'target')} met" if targets else "no target to meet"
    lines = [f"{name}: {verdict}: {met_words}, {plural(len(missed), 'row')} missed, "
             f"{len(noisy)} of {plural(len(rows), 'row')} noisy"]
    lines += [f"  missed: {r['label']} ({r['figure']})" for r in missed]
    if mach["busy"]:
        lines.append("  noisy: the machine was busy: " + mach["why"])
    lines += [f"  noisy: {r['label']}: {r['why']}" for r in noisy if r.get("why")]
    wide = [r["label"] for r in noisy if rounds > 1 and r.get("spread", 0) > NOISE_SPREAD]
    if wide:
        lines.append(f"  noisy: spread above {NOISE_SPREAD:.0%} in " +
                     ("every row" if len(wide) == len(rows) else plural(len(wide), "row") + ": " + ", ".join(wide)))
    if noisy and mach["busy"]:
        lines.append("  (noisy figures say little: run again on an idle machine)")
    elif wide:
        lines.append("  (the machine was idle, so the spread is its own jitter (a VM's, often): more rounds "
                     "narrow the median, not the spread; compare ratios, and trust a target only well clear "
                     "of its spread)")
    return "\n".join(lines)


def read_times(text):
    """CPU seconds of a shell and its children from bash's `times` output."""
    total = 0.0
    for m in re.finditer(r"(\d+)m([\d.]+)s", text):
        total += int(m.group(1)) * 60 + float(m.group(2))
    return total


if __name__ == "__main__":
    if sys.argv[1:2] == ["snapshot"]:
        print(json.dumps(snapshot(own_cpu=0.0)))
    else:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
