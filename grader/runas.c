/* runas.c - run a student's lesson program as the grading sandbox's uid.
 *
 * Built static by grade.py into the grader's build dir and installed as
 * build/<lesson>/<program>; the student's binary itself sits in
 * build/.student/<lesson>/<program>. The test harness (root) starts this
 * wrapper as if it were the program: it reads LAB_SANDBOX="uid:gid:nproc:mem"
 * (set by the harness, out of the student's reach), removes it from the
 * environment, sets the limits, drops to uid:gid and execs the real program
 * with the same argv, so the pid, the arguments and the environment the
 * program sees are those the test gave. Static and free of socket calls, so
 * an `strace -f` of the program shows the program's calls only.
 */
#define _GNU_SOURCE
#include <grp.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#define CPU_SECONDS 30   /* a lesson program needs well under a second */
#define NICENESS    10

static void fail(const char *what)
{
    fprintf(stderr, "runas: %s\n", what);
    exit(126);
}

static void limit(int resource, rlim_t value)
{
    struct rlimit rl = { value, value };

    if (setrlimit(resource, &rl) == -1)
        fail("setrlimit failed");
}

int main(int argc, char **argv)
{
    char self[PATH_MAX], real[PATH_MAX + 32];
    char *spec = getenv("LAB_SANDBOX");
    unsigned long uid, gid, nproc, mem;
    ssize_t n;
    char *prog, *lesson;

    (void)argc;
    n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0)
        fail("cannot read /proc/self/exe");
    self[n] = '\0';
    /* self = BUILD/<lesson>/<program>  ->  BUILD/.student/<lesson>/<program> */
    prog = strrchr(self, '/');
    if (prog == NULL || prog == self)
        fail("unexpected path");
    *prog++ = '\0';
    lesson = strrchr(self, '/');
    if (lesson == NULL)
        fail("unexpected path");
    *lesson++ = '\0';
    snprintf(real, sizeof real, "%s/.student/%s/%s", self, lesson, prog);

    if (getuid() == 0) {
        if (spec == NULL || sscanf(spec, "%lu:%lu:%lu:%lu", &uid, &gid, &nproc, &mem) != 4 || uid == 0 || gid == 0)
            fail("LAB_SANDBOX=uid:gid:nproc:mem is not set: run by the grader only");
        unsetenv("LAB_SANDBOX");
        limit(RLIMIT_NPROC, nproc);
        limit(RLIMIT_AS, mem);
        limit(RLIMIT_CORE, 0);
        limit(RLIMIT_FSIZE, 64UL << 20);
        limit(RLIMIT_CPU, CPU_SECONDS);
        /* The machine grades several submissions at once: a busy loop or a
         * fork bomb must not starve the others' tests. */
        if (setpriority(PRIO_PROCESS, 0, NICENESS) == -1)
            fail("setpriority failed");
        if (setgroups(0, NULL) == -1 || setresgid(gid, gid, gid) == -1 || setresuid(uid, uid, uid) == -1)
            fail("cannot drop to the sandbox uid");
        if (getuid() == 0 || geteuid() == 0)
            fail("still root");
    } else {
        unsetenv("LAB_SANDBOX");
    }
    execv(real, argv);
    fprintf(stderr, "runas: cannot run %s\n", real);
    return 127;
}
