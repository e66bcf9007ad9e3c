"""cgroup.py - memory and process limits over one whole grading (a cgroup).

    cg = Cgroup.create("socketlab-grade-61234-4242", memory=2 << 30, pids=512)
    # cg is None where the kernel or our rights give no cgroup: say so
    proc = subprocess.Popen(argv, preexec_fn=cg.join)   # it and all it starts
    ...
    cg.kill(); cg.remove()                                # nothing is left

A grading's processes (the sandbox, the harness, the student's build and
programs) share one memory limit and one process limit, as a container's
do: eight children of 480 MB each cannot take eight times the limit. cgroup
v1 (the memory and pids hierarchies, as on this kit's CI machine) and v2
(one unified hierarchy) both work; the new group sits under the grader's
own (v1) or at the top of the hierarchy (v2, whose inner groups may hold no
processes). swap is limited with memory where the kernel accounts it.
"""
import os
import signal
import time
from pathlib import Path

ROOT = Path("/sys/fs/cgroup")


def _own_path(controller):
    """This process's cgroup in a v1 hierarchy (`memory`), or in v2 (None)."""
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        _, names, path = line.split(":", 2)
        if (controller is None and names == "") or (controller in names.split(",")):
            return path
    return None


def _write(path, value):
    Path(path).write_text(str(value))


class Cgroup:
    def __init__(self, dirs, version):
        self.dirs = dirs            # {controller: Path} (v1), {"": Path} (v2)
        self.version = version

    @classmethod
    def create(cls, name, memory, pids):
        """A new cgroup `name` with the limits, or None when none can be made."""
        if os.geteuid() != 0:
            return None
        try:
            if (ROOT / "cgroup.controllers").exists():
                return cls._create_v2(name, memory, pids)
            if (ROOT / "memory").is_dir() and (ROOT / "pids").is_dir():
                return cls._create_v1(name, memory, pids)
        except OSError:
            return None
        return None

    @classmethod
    def _create_v1(cls, name, memory, pids):
        dirs = {}
        try:
            for controller in ("memory", "pids"):
                own = (_own_path(controller) or "/").lstrip("/")
                d = ROOT / controller / own / name
                d.mkdir()
                dirs[controller] = d
            _write(dirs["memory"] / "memory.limit_in_bytes", memory)
            if (dirs["memory"] / "memory.memsw.limit_in_bytes").exists():
                _write(dirs["memory"] / "memory.memsw.limit_in_bytes", memory)
            _write(dirs["pids"] / "pids.max", pids)
        except OSError:
            cls(dirs, 1).remove()
            raise
        return cls(dirs, 1)

    @classmethod
    def _create_v2(cls, name, memory, pids):
        top = ROOT
        enabled = (top / "cgroup.subtree_control").read_text().split()
        for controller in ("memory", "pids"):
            if controller not in enabled:
                _write(top / "cgroup.subtree_control", f"+{controller}")
        d = top / name
        d.mkdir()
        cg = cls({"": d}, 2)
        try:
            _write(d / "memory.max", memory)
            if (d / "memory.swap.max").exists():
                _write(d / "memory.swap.max", 0)
            _write(d / "pids.max", pids)
        except OSError:
            cg.remove()
            raise
        return cg

    def describe(self):
        return f"cgroup v{self.version} " + " ".join(str(d) for d in self.dirs.values())

    def join(self, pid=0):
        """Move process `pid` (0: the caller, as a preexec_fn) into the group."""
        for d in self.dirs.values():
            _write(d / "cgroup.procs", pid or os.getpid())

    def procs(self):
        found = set()
        for d in self.dirs.values():
            try:
                found.update(int(p) for p in (d / "cgroup.procs").read_text().split())
            except OSError:
                pass
        return found

    def kill(self, timeout=10):
        """SIGKILL every process in the group until none is left (v2: cgroup.kill)."""
        for d in self.dirs.values():
            if (d / "cgroup.kill").exists():
                try:
                    _write(d / "cgroup.kill", 1)
                except OSError:
                    pass
        deadline = time.monotonic() + timeout
        while True:
            pids = self.procs()
            if not pids or time.monotonic() > deadline:
                return not pids
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
            time.sleep(0.02)

    def remove(self):
        for d in self.dirs.values():
            for _ in range(50):     # an emptied group is busy a moment longer
                try:
                    d.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    time.sleep(0.02)

    def _read(self, controller, v1_file, v2_file):
        d = self.dirs.get(controller if self.version == 1 else "")
        f = d / (v1_file if self.version == 1 else v2_file) if d else None
        try:
            return f.read_text() if f else ""
        except OSError:
            return ""

    def peak_memory(self):
        """The most memory the group used at once, in bytes (None if the kernel does not say)."""
        text = self._read("memory", "memory.max_usage_in_bytes", "memory.peak").strip()
        return int(text) if text.isdigit() else None

    def oom_kills(self):
        """How many of the group's processes the kernel killed for memory."""
        text = self._read("memory", "memory.oom_control", "memory.events")
        for line in text.splitlines():
            if line.startswith("oom_kill "):
                return int(line.split()[1])
        return 0


def leftovers(prefix):
    """The cgroups whose name starts with `prefix` (a grading that died):
    [Cgroup], to kill and remove."""
    found = []
    if (ROOT / "cgroup.controllers").exists():
        found = [Cgroup({"": d}, 2) for d in ROOT.glob(prefix + "*") if d.is_dir()]
    elif (ROOT / "memory").is_dir():
        by_name = {}
        for controller in ("memory", "pids"):
            own = (_own_path(controller) or "/").lstrip("/")
            for d in (ROOT / controller / own).glob(prefix + "*"):
                by_name.setdefault(d.name, {})[controller] = d
        found = [Cgroup(dirs, 1) for dirs in by_name.values()]
    return found
