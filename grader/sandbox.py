"""sandbox.py - build and test one submission inside the grading sandbox.

    python3 -I sandbox.py CONFIG.json        (started by grade.py, as root)
    python3 -I sandbox.py --pytest ARGS...   (the harness: pytest with the kit's tests/ on sys.path)

Runs as the sandbox's first process: in fresh pid, network and mount
namespaces when grade.py could make them (`unshare`), else (in the grader
container) as a child subreaper. Two identities:

- the harness (this script, make's caller, pytest, the plugin) runs as root
  and alone writes the results directory (0700);
- the student's code (its build, its programs) runs as the run's own uid,
  which can write only the scratch folder and, while building, its lessons'
  build folders. The harness starts a program through build/<lesson>/<prog>,
  the static `runas` wrapper (runas.c), which takes that uid and the limits.

Between two builds and between two tests every process of that uid is
killed (`kill_uid`), daemons included; orphans are reaped here. With
namespaces: only loopback (up), the grader's kit tree hidden under an empty
tmpfs, private /tmp and /dev/shm, a size-limited scratch.
"""
import ctypes
import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

PR_SET_PDEATHSIG = 1
PR_SET_CHILD_SUBREAPER = 36
BUILD_LIMIT = 120           # seconds to build one lesson
SLACK = 20                  # seconds per test on top of pytest's --timeout


def kill_uid(uid):
    """Kill every process of `uid` (not root): from a child that takes the
    uid, kill(-1, SIGKILL) until no process is left to signal."""
    if os.geteuid() != 0 or not uid:
        return
    pid = os.fork()
    if pid == 0:
        try:
            os.setgroups([])
            os.setresgid(uid, uid, uid)
            os.setresuid(uid, uid, uid)
            for _ in range(1000):
                os.kill(-1, signal.SIGKILL)
        except OSError:             # ESRCH: none left
            pass
        os._exit(0)
    os.waitpid(pid, 0)


def demote(uid, gid, nproc, mem):
    """preexec_fn for the student's build: its own session, limits, its uid."""
    import resource
    os.setsid()
    for res, value in ((resource.RLIMIT_NPROC, nproc), (resource.RLIMIT_AS, mem),
                       (resource.RLIMIT_CORE, 0), (resource.RLIMIT_FSIZE, 64 << 20),
                       (resource.RLIMIT_CPU, BUILD_LIMIT)):
        resource.setrlimit(res, (value, value))
    os.setpriority(os.PRIO_PROCESS, 0, 10)
    if os.geteuid() == 0:
        os.setgroups([])
        os.setresgid(gid, gid, gid)
        os.setresuid(uid, uid, uid)


def harness_argv(python, tree):
    """The harness's command: Python isolated (-I: no user site, no PYTHON*
    variables, no script folder on sys.path), the kit's tests/ added by hand."""
    return [python, "-I", str(Path(tree) / "grader" / "sandbox.py"), "--pytest",
            "-q", "-p", "grader.plugin", "-p", "no:cacheprovider"]


def harness_preexec():
    """The harness: its own session, and killed when the sandbox dies."""
    os.setsid()
    ctypes.CDLL(None).prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


class Sandbox:
    def __init__(self, cfg):
        self.cfg = cfg
        self.tree = Path(cfg["tree"])
        self.results = Path(cfg["results"])
        self.scratch = Path(cfg["scratch"])
        self.uid, self.gid = cfg["uid"], cfg["gid"]
        self.timeout = cfg["timeout"]

    # -- the namespaces ------------------------------------------------------
    def enter(self):
        if self.cfg["namespaces"]:
            lo_up()
            run(["mount", "--make-rprivate", "/"])
            for hidden in self.cfg["hide"]:
                run(["mount", "-t", "tmpfs", "-o", "ro,size=16k,mode=0755", "tmpfs", hidden])
            for d in ("/tmp", "/dev/shm"):
                run(["mount", "-t", "tmpfs", "-o", "size=64m,mode=1777,nosuid,nodev", "tmpfs", d])
            run(["mount", "-t", "tmpfs", "-o", f"size=128m,mode=0700,uid={self.uid},gid={self.gid},nosuid,nodev",
                 "tmpfs", str(self.scratch)])
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)

    def wait(self, proc, timeout):
        """Wait for `proc`, reaping every orphan meanwhile; kill it at the deadline.
        Returns (returncode, timed_out)."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                pid, status = 0, 0
            if pid == proc.pid:
                proc.returncode = os.waitstatus_to_exitcode(status)
                return proc.returncode, False
            if pid == 0:
                if time.monotonic() > deadline:
                    try:
                        os.killpg(proc.pid, signal.SIGKILL)
                    except OSError:
                        proc.kill()
                    kill_uid(self.uid)
                    os.waitpid(proc.pid, 0)
                    proc.returncode = -9
                    return -9, True
                time.sleep(0.02)

    def reap(self):
        while True:
            try:
                if os.waitpid(-1, os.WNOHANG)[0] == 0:
                    return
            except ChildProcessError:
                return

    # -- building ------------------------------------------------------------
    def build(self, lesson, programs):
        """Build the lesson's programs as the student; '' or what went wrong."""
        missing = [p for p in programs if not (self.tree / "lessons" / lesson / f"{p}.c").exists()]
        if missing:
            return f"lesson {lesson}: the submission has no {', '.join(m + '.c' for m in missing)}"
        log = self.results / f"{lesson}.build.log"
        env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8", "HOME": str(self.scratch),
               "TMPDIR": str(self.scratch)}
        with open(log, "wb") as f:
            p = subprocess.Popen(["make", "-s", "V=1", "BUILD=build", *(f"build/{lesson}/{x}" for x in programs)],
                                 cwd=self.tree, env=env, stdin=subprocess.DEVNULL, stdout=f, stderr=f,
                                 preexec_fn=lambda: demote(self.uid, self.gid, self.cfg["nproc"], self.cfg["mem"]))
            rc, timed_out = self.wait(p, BUILD_LIMIT)
        kill_uid(self.uid)
        self.reap()
        out = tail(log, 3000).strip()
        if timed_out:
            return f"lesson {lesson}: the build took more than {BUILD_LIMIT}s"
        if rc != 0:
            return f"lesson {lesson} does not compile:\n{out}"
        return self.seal(lesson, programs)

    def seal(self, lesson, programs):
        """Move the student's programs out of their reach (root's, read-only) and
        put the runas wrapper in their place; the build folder becomes root's."""
        bdir = self.tree / "build" / lesson
        sdir = self.tree / "build" / ".student" / lesson
        sdir.mkdir(parents=True, exist_ok=True)
        note = ""
        for prog in programs:
            f = bdir / prog
            try:
                st = os.lstat(f)
            except FileNotFoundError:
                note = note or f"lesson {lesson}: the build made no {prog}"
                continue
            if not stat.S_ISREG(st.st_mode):
                note = note or f"lesson {lesson}: build/{lesson}/{prog} is not a program"
                continue
            os.rename(f, sdir / prog)
            os.chown(sdir / prog, 0, 0)
            os.chmod(sdir / prog, 0o755)
            shutil.copy(self.tree / "build" / ".grader" / "runas", f)
            os.chmod(f, 0o755)
        for entry in bdir.iterdir():
            os.chown(entry, 0, 0, follow_symlinks=False)
            if not entry.is_symlink():
                os.chmod(entry, 0o755 if entry.is_dir() or os.access(entry, os.X_OK) else 0o644)
        os.chown(bdir, 0, 0)
        os.chmod(bdir, 0o755)
        return note

    # -- testing -------------------------------------------------------------
    def harness_env(self):
        c = self.cfg
        return {"PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8", "NO_COLOR": "1",
                "HOME": str(self.scratch), "TMPDIR": str(self.scratch), "LAB_BUILD": str(self.tree / "build"),
                "LAB_SANDBOX": f"{self.uid}:{self.gid}:{c['nproc']}:{c['mem']}"}

    def pytest(self, args, log, timeout):
        argv = harness_argv(self.cfg["python"], self.tree) + list(args)
        with open(log, "ab") as f:
            p = subprocess.Popen(argv, cwd=self.tree, env=self.harness_env(), stdin=subprocess.DEVNULL,
                                 stdout=f, stderr=f, preexec_fn=harness_preexec)
            rc, timed_out = self.wait(p, timeout)
        kill_uid(self.uid)
        self.reap()
        return rc, timed_out

    def test_all(self, lessons, notes):
        """Run every lesson's tests in one pytest (the plugin logs each result as
        it comes); a test that crashes or hangs the harness is failed on its own
        and the tests after it run in a fresh pytest. Returns (listing, {nodeid: test})."""
        jsonl = self.results / "tests.jsonl"
        listing_file = self.results / "tests.json"
        note_dir = self.results / "notes"
        note_dir.mkdir()
        for lesson, note in notes.items():
            (note_dir / f"{lesson}.note").write_text(note)
        targets = [f"lessons/{l}/tests" for l in lessons]
        listing, done, rounds = None, {}, 0
        while True:
            rounds += 1
            n = len(listing) - len(done) if listing is not None else 200
            limit = n * (self.timeout + SLACK) + 60
            rc, timed_out = self.pytest(
                [f"--grade-jsonl={jsonl}", f"--grade-note-dir={note_dir}", f"--grade-sandbox-uid={self.uid}",
                 f"--junitxml={self.results / f'junit-{rounds}.xml'}", f"--timeout={self.timeout}",
                 f"--basetemp={self.results / f'pytest-{rounds}'}",
                 *([f"--grade-collect={listing_file}"] if listing is None else []), *targets],
                self.results / "pytest.log", limit)
            if listing is None:
                if not listing_file.exists():
                    return None, {}
                listing = json.loads(listing_file.read_text())
            started = []
            for rec in read_jsonl(jsonl):
                if "test" in rec:
                    done.setdefault(rec["test"]["extra_data"]["nodeid"], rec["test"])
                elif "start" in rec:
                    started.append(rec["start"])
            left = [t for t in listing if t["nodeid"] not in done]
            if not left:
                return listing, done
            names = {t["nodeid"] for t in left}
            culprit = next((n for n in reversed(started) if n in names), left[0]["nodeid"])
            t = next(t for t in left if t["nodeid"] == culprit)
            why = (f"the tests took more than {limit}s and were stopped" if timed_out else
                   f"the test run crashed (pytest exit {rc}): the program's output or behaviour "
                   "overwhelmed the test harness")
            done[culprit] = failed_test(t["lesson"], t["test"], t["max_score"], notes.get(t["lesson"], ""), why,
                                        culprit, "timed out" if timed_out else "crashed")
            targets = [t["nodeid"] for t in left if t["nodeid"] != culprit]
            if not targets:
                return listing, done

    def run(self):
        self.enter()
        lessons = self.cfg["lessons"]
        # A lesson handed in untouched (the handout's stubs) is neither built
        # nor run: the plugin fails its tests at once (grader/plugin.py).
        sys.path.insert(0, str(self.tree))
        from grader.plugin import lessons_untouched
        untouched = lessons_untouched(self.tree)
        notes = {lesson: "" if lesson in untouched else self.build(lesson, info["programs"])
                 for lesson, info in lessons.items()}
        listing, done = self.test_all(lessons, notes)
        summary = {}
        for lesson, info in lessons.items():
            tests = [t for t in (listing or []) if t["lesson"] == lesson]
            if not tests:
                summary[lesson] = {"build_error": notes[lesson], "tests": [failed_test(
                    lesson, "all tests", info["points"], notes[lesson], "the tests could not be collected",
                    f"lessons/{lesson}/tests", "error")]}
            else:
                summary[lesson] = {"build_error": notes[lesson], "tests": [done[t["nodeid"]] for t in tests]}
        tmp = self.results / "summary.json.tmp"
        tmp.write_text(json.dumps(summary, ensure_ascii=False) + "\n")
        tmp.rename(self.results / "summary.json")
        kill_uid(self.uid)
        self.reap()


def failed_test(lesson, name, max_score, note, why, nodeid, status):
    headline = note.split("\n")[0] if note else why
    output = "\n\n".join(p for p in (note, why) if p)
    return {"name": f"{lesson}: {name}", "score": 0.0, "max_score": max_score, "status": "failed",
            "visibility": "visible", "output": output[-4000:],
            "extra_data": {"lesson": lesson, "headline": headline, "nodeid": nodeid, "why": status}}


def read_jsonl(path):
    out = []
    try:
        text = Path(path).read_text(errors="replace")
    except FileNotFoundError:
        return out
    for line in text.splitlines():
        try:
            out.append(json.loads(line))
        except ValueError:
            pass
    return out


def tail(path, n):
    with open(path, "rb") as f:
        f.seek(0, os.SEEK_END)
        size = f.tell()
        f.seek(max(0, size - n))
        return f.read().decode("utf-8", "replace")


def run(argv):
    r = subprocess.run(argv, capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit(f"sandbox: {' '.join(argv)}: {r.stderr.strip()}")


def lo_up():
    """Bring the new network namespace's loopback up (SIOCSIFFLAGS, IFF_UP)."""
    import fcntl
    import socket
    import struct
    SIOCGIFFLAGS, SIOCSIFFLAGS, IFF_UP = 0x8913, 0x8914, 0x1
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        ifr = struct.pack("16sh", b"lo", 0)
        flags = struct.unpack("16sh", fcntl.ioctl(s.fileno(), SIOCGIFFLAGS, ifr))[1]
        fcntl.ioctl(s.fileno(), SIOCSIFFLAGS, struct.pack("16sh", b"lo", flags | IFF_UP))
    # ::1 too, where the new namespace starts with IPv6 off (lesson 06 tests it).
    try:
        Path("/proc/sys/net/ipv6/conf/lo/disable_ipv6").write_text("0\n")
    except OSError:
        pass


def run_pytest(args):
    """The harness: pytest with the kit's tests/ importable (python3 -I drops PYTHONPATH)."""
    sys.dont_write_bytecode = True
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    import pytest
    return pytest.main(args)


def main(argv):
    if len(argv) > 1 and argv[1] == "--pytest":
        return run_pytest(argv[2:])
    if len(argv) != 2:
        print("usage: python3 -I sandbox.py CONFIG.json (run by grade.py)", file=sys.stderr)
        return 2
    Sandbox(json.loads(Path(argv[1]).read_text())).run()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
