"""submission.py - take in a student's submission: a folder or an archive.

    tree = open_submission(path, scratch)    # a folder holding lessons/, or Refused

A submission is a folder (any mode, any owner: the grader reads it as root)
or a .zip / .tar / .tar.gz / .tgz archive, as Gradescope and GitHub
Classroom hand them over: lessons/ at the top, or under one wrapping folder
(socketlab-main/lessons/). Only the lesson files are taken
(lessons/NN-name/*.c, regular files, no symlink anywhere on the way, at most
MAX_FILE bytes each); they are copied into `scratch`, so nothing the
student controls is read again later. An archive member with an absolute
path, `..`, a link or a device is refused, as is an archive that does not
unpack or unpacks too large. Refused carries one line for the instructor.
"""
import os
import re
import stat
import tarfile
import zipfile
from pathlib import Path, PurePosixPath

MAX_FILE = 1 << 20              # bytes per lesson file
MAX_TOTAL = 200 << 20           # bytes an archive may unpack to
MAX_MEMBERS = 20000
LESSON_FILE_RE = re.compile(r"^lessons/(\d\d-[\w-]+)/([\w-]+\.c)$")
ARCHIVES = (".zip", ".tar", ".tar.gz", ".tgz")


class Refused(Exception):
    """The submission cannot be graded; str() is one line saying why."""


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
    try:
        if real_dir(root / "lessons"):
            base = root
        else:
            found = [root / e.name for e in os.scandir(root)
                     if e.is_dir(follow_symlinks=False) and e.name != "__MACOSX" and real_dir(root / e.name / "lessons")]
            if len(found) != 1:
                raise Refused(f"{root}: no lessons/ folder in the submission (at the top or one folder down)")
            base = found[0]
        files = {}
        for d in sorted(os.scandir(base / "lessons"), key=lambda e: e.name):
            if not d.is_dir(follow_symlinks=False):
                continue
            for f in sorted(os.scandir(d.path), key=lambda e: e.name):
                rel = f"lessons/{d.name}/{f.name}"
                if LESSON_FILE_RE.match(rel) and f.is_file(follow_symlinks=False):
                    files[rel] = read_nofollow(f.path, rel)
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
    """The lesson files of a .zip or .tar(.gz) archive, checked member by member."""
    try:
        if str(path).lower().endswith(".zip"):
            return zip_files(path)
        return tar_files(path)
    except Refused:
        raise
    except (zipfile.BadZipFile, tarfile.TarError, EOFError, OSError, ValueError, UnicodeDecodeError) as e:
        raise Refused(f"{path}: the archive does not unpack: {e}")


def pick(members, path):
    """members: [(name, size, read)] of regular files -> {lessons/... : bytes}."""
    prefix = strip_wrapper([m[0] for m in members])
    if prefix is None:
        raise Refused(f"{path}: no lessons/ folder in the archive (at the top or one folder down)")
    files, total = {}, 0
    for name, size, read in members:
        if not name.startswith(prefix):
            continue
        rel = name[len(prefix):]
        if not LESSON_FILE_RE.match(rel):
            continue
        if size > MAX_FILE:
            raise Refused(f"{path}: {rel} is larger than {MAX_FILE} bytes")
        total += size
        if total > MAX_TOTAL:
            raise Refused(f"{path}: the archive unpacks to more than {MAX_TOTAL >> 20} MB")
        data = read()
        if len(data) > MAX_FILE:
            raise Refused(f"{path}: {rel} is larger than {MAX_FILE} bytes")
        files[rel] = data
    return files


def zip_files(path):
    with zipfile.ZipFile(path) as z:
        infos = z.infolist()
        if len(infos) > MAX_MEMBERS:
            raise Refused(f"{path}: more than {MAX_MEMBERS} members in the archive")
        members = []
        for i in infos:
            name = safe_name(i.filename, path)
            mode = i.external_attr >> 16
            if stat.S_ISLNK(mode):
                raise Refused(f"{path}: the member {i.filename!r} is a symlink")
            if i.is_dir():
                continue
            if stat.S_IFMT(mode) and not stat.S_ISREG(mode):
                raise Refused(f"{path}: the member {i.filename!r} is not a regular file")
            members.append((name, i.file_size, lambda i=i: z.open(i).read(MAX_FILE + 1)))
        return pick(members, path)


def tar_files(path):
    with tarfile.open(path) as t:
        members = []
        for n, m in enumerate(t):
            if n >= MAX_MEMBERS:
                raise Refused(f"{path}: more than {MAX_MEMBERS} members in the archive")
            name = safe_name(m.name, path)
            if m.issym() or m.islnk():
                raise Refused(f"{path}: the member {m.name!r} is a link")
            if m.isdir():
                continue
            if not m.isreg():
                raise Refused(f"{path}: the member {m.name!r} is not a regular file")
            members.append((name, m.size, lambda m=m: t.extractfile(m).read(MAX_FILE + 1)))
        return pick(members, path)
