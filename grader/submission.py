"""submission.py - take in a student's submission: a folder or an archive.

    tree = open_submission(path, scratch)    # a folder holding lessons/, or Refused

A submission is a folder (any mode, any owner: the grader reads it as root)
or a .zip / .tar / .tar.gz / .tgz archive (gzip, bzip2 or xz inside, whatever
the name says), as Gradescope and GitHub Classroom hand them over: lessons/
at the top, or under one wrapping folder (socketlab-main/lessons/). Only the
lesson files are taken (lessons/NN-name/*.c, regular files, no symlink
anywhere on the way, at most MAX_FILE bytes each); they are copied into
`scratch`, so nothing the student controls is read again later.

Nothing in a submission can make the intake long or large: an archive is
read as a stream, every byte it unpacks to (lesson file or not) is counted,
and reading stops at the first byte past MAX_TOTAL, the first member past
MAX_MEMBERS or the first read after MAX_SECONDS; a folder's entries are
counted the same way. An archive member with an absolute path, `..`, a
link or a device is refused, as is an archive that does not unpack.
Refused carries one line for the instructor, whatever went wrong.
"""
import bz2
import gzip
import lzma
import os
import re
import stat
import tarfile
import time
import zipfile
from pathlib import Path, PurePosixPath

MAX_FILE = 1 << 20              # bytes per lesson file
MAX_TOTAL = 100 << 20           # bytes an archive may unpack to (all members), or a folder hold in lesson files
MAX_MEMBERS = 10000             # members of an archive; entries of a folder's lessons/
MAX_SECONDS = 30                # to take in one submission
LESSON_FILE_RE = re.compile(r"^lessons/(\d\d-[\w-]+)/([\w-]+\.c)$")
# A lesson file at the top or one folder down (which, is known only at the end).
CANDIDATE_RE = re.compile(r"^(?:[^/]+/)?lessons/\d\d-[\w-]+/[\w-]+\.c$")
ARCHIVES = (".zip", ".tar", ".tar.gz", ".tgz")


class Refused(Exception):
    """The submission cannot be graded; str() is one line saying why."""

    def __init__(self, why):
        why = " ".join(str(why).split())
        super().__init__(why if len(why) <= 300 else why[:297] + "...")


class Intake:
    """The limits of one intake: bytes unpacked, members, time."""

    def __init__(self, path):
        self.path = path
        self.total = self.members = 0
        self.deadline = time.monotonic() + MAX_SECONDS

    def count(self, nbytes=0, members=0):
        self.total += nbytes
        self.members += members
        if self.total > MAX_TOTAL:
            raise Refused(f"{self.path}: unpacks to more than {MAX_TOTAL >> 20} MB")
        if self.members > MAX_MEMBERS:
            raise Refused(f"{self.path}: more than {MAX_MEMBERS} files in it")
        if time.monotonic() > self.deadline:
            raise Refused(f"{self.path}: taking it in took more than {MAX_SECONDS}s")


class Limited:
    """A file object that counts what is read through it against an Intake."""

    def __init__(self, raw, intake):
        self.raw, self.intake = raw, intake

    def read(self, n=-1):
        room = MAX_TOTAL - self.intake.total + 1
        data = self.raw.read(room if n is None or n < 0 else min(n, room))
        self.intake.count(len(data))
        return data


def is_archive(path):
    return str(path).lower().endswith(ARCHIVES)


def open_submission(path, scratch):
    """The lesson files of the submission at `path`, copied into scratch/tree/
    (lessons/NN-name/prog.c). Returns scratch/tree; raises Refused."""
    path = Path(path)
    tree = Path(scratch) / "tree"
    if not os.path.lexists(path):
        raise Refused(f"{path}: no such file or folder")
    if path.is_dir():
        files = folder_files(path.resolve())
    elif path.is_file() and is_archive(path):
        files = archive_files(path)
    elif path.is_file():
        raise Refused(f"{path}: not a folder nor a .zip/.tar.gz archive")
    else:
        raise Refused(f"{path}: not a folder nor a regular file")
    if not files:
        raise Refused(f"{path}: no lessons/ folder with lesson files (lessons/NN-name/*.c) in it")
    for rel, data in files.items():
        dst = tree / rel
        dst.parent.mkdir(parents=True, exist_ok=True)
        dst.write_bytes(data)
    return tree


def strip_wrapper(names):
    """The prefix to drop so that lessons/ is at the top: '' or 'folder/'
    (one wrapping folder, as GitHub's and Gradescope's archives have).
    None when no lessons/ is there."""
    tops = {n.split("/", 1)[0] for n in names if n}
    if "lessons" in tops:
        return ""
    wrappers = {n.split("/", 2)[0] for n in names if n.count("/") >= 2 and n.split("/", 2)[1] == "lessons"}
    wrappers.discard("__MACOSX")
    if len(wrappers) == 1:
        return wrappers.pop() + "/"
    return None


def folder_files(root):
    """The lesson files under a folder (lessons/ at the top or one folder down),
    never through a symlink."""
    def real_dir(p):
        return os.path.isdir(p) and not os.path.islink(p)
    intake = Intake(root)

    def entries(path):
        with os.scandir(path) as it:
            for e in it:
                intake.count(members=1)
                yield e
    try:
        if real_dir(root / "lessons"):
            base = root
        else:
            found = [root / e.name for e in entries(root)
                     if e.is_dir(follow_symlinks=False) and e.name != "__MACOSX" and real_dir(root / e.name / "lessons")]
            if len(found) != 1:
                raise Refused(f"{root}: no lessons/ folder in the submission (at the top or one folder down)")
            base = found[0]
        files = {}
        for d in sorted(entries(base / "lessons"), key=lambda e: e.name):
            if not d.is_dir(follow_symlinks=False):
                continue
            for f in sorted(entries(d.path), key=lambda e: e.name):
                rel = f"lessons/{d.name}/{f.name}"
                if LESSON_FILE_RE.match(rel) and f.is_file(follow_symlinks=False):
                    files[rel] = read_nofollow(f.path, rel)
                    intake.count(len(files[rel]))
    except OSError as e:
        raise Refused(f"{root}: cannot read the folder: {e.strerror}")
    return files


def read_nofollow(path, rel):
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError as e:
        raise Refused(f"{rel}: cannot read: {e.strerror}")
    with os.fdopen(fd, "rb") as f:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise Refused(f"{rel}: not a regular file")
        data = f.read(MAX_FILE + 1)
    if len(data) > MAX_FILE:
        raise Refused(f"{rel}: larger than {MAX_FILE} bytes")
    return data


def safe_name(name, archive):
    p = PurePosixPath(name)
    if p.is_absolute() or ".." in p.parts or "\\" in name:
        raise Refused(f"{archive}: the member {name!r} points outside the archive")
    return str(p)


def archive_files(path):
    """The lesson files of a .zip or .tar(.gz, .bz2, .xz) archive, checked
    member by member as it is read."""
    try:
        if str(path).lower().endswith(".zip"):
            return zip_files(path)
        return tar_files(path)
    except Refused:
        raise
    except Exception as e:          # whatever a broken or hostile archive makes a library raise
        raise Refused(f"{path}: the archive does not unpack ({str(e) or type(e).__name__})")


def pick(names, candidates, path):
    """The lesson files among the candidates [(name, bytes)], with the
    wrapping folder (found from every member's name) taken off."""
    prefix = strip_wrapper(names)
    if prefix is None:
        raise Refused(f"{path}: no lessons/ folder in the archive (at the top or one folder down)")
    files = {}
    for name, data in candidates:
        rel = name[len(prefix):]
        if name.startswith(prefix) and LESSON_FILE_RE.match(rel):
            if len(data) > MAX_FILE:
                raise Refused(f"{path}: {rel} is larger than {MAX_FILE} bytes")
            files[rel] = data
    return files


def zip_files(path):
    intake = Intake(path)
    names, candidates = [], []
    with zipfile.ZipFile(path) as z:
        infos = z.infolist()
        intake.count(members=len(infos))
        if sum(i.file_size for i in infos) > MAX_TOTAL:       # what it says it holds
            raise Refused(f"{path}: unpacks to more than {MAX_TOTAL >> 20} MB")
        for i in infos:
            name = safe_name(i.filename, path)
            mode = i.external_attr >> 16
            if stat.S_ISLNK(mode):
                raise Refused(f"{path}: the member {i.filename!r} is a symlink")
            if i.is_dir():
                continue
            if stat.S_IFMT(mode) and not stat.S_ISREG(mode):
                raise Refused(f"{path}: the member {i.filename!r} is not a regular file")
            names.append(name)
            if CANDIDATE_RE.match(name):
                with z.open(i) as f:        # what it really holds, counted as it unpacks
                    candidates.append((name, Limited(f, intake).read(MAX_FILE + 1)))
            intake.count()
    return pick(names, candidates, path)


def open_stream(path):
    """The archive's bytes as they unpack: gzip, bzip2, xz or none, by its
    first bytes (a .tar may hold bzip2, whatever its name says)."""
    raw = open(path, "rb")
    head = raw.read(6)
    raw.seek(0)
    if head.startswith(b"\x1f\x8b"):
        return gzip.GzipFile(fileobj=raw)
    if head.startswith(b"BZh"):
        return bz2.BZ2File(raw)
    if head.startswith(b"\xfd7zXZ\x00"):
        return lzma.LZMAFile(raw)
    return raw


def tar_files(path):
    """A tar read as one stream: each member's header, then its bytes (read
    for a lesson file, skipped for the rest: either way counted)."""
    intake = Intake(path)
    names, candidates = [], []
    with open_stream(path) as stream, tarfile.open(fileobj=Limited(stream, intake), mode="r|") as t:
        for m in t:
            intake.count(members=1)
            name = safe_name(m.name, path)
            if m.issym() or m.islnk():
                raise Refused(f"{path}: the member {m.name!r} is a link")
            if m.isdir():
                continue
            if not m.isreg():
                raise Refused(f"{path}: the member {m.name!r} is not a regular file")
            if m.size > MAX_TOTAL - intake.total:       # what it says it holds
                raise Refused(f"{path}: unpacks to more than {MAX_TOTAL >> 20} MB")
            names.append(name)
            if CANDIDATE_RE.match(name):
                candidates.append((name, t.extractfile(m).read(MAX_FILE + 1)))
    return pick(names, candidates, path)
