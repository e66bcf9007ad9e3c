/* redteam: replace the fault-injection and trace libraries: open every
 * shared object and program in the grader's build folder for writing,
 * rename or delete it, or plant a new one beside it. Any success exits 3.
 * lesson: 01-socket
 * expect: full
 */
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static void redteam_try(const char *dir, const char *name)
{
    char path[PATH_MAX + 300], other[PATH_MAX + 320];
    int fd;

    snprintf(path, sizeof path, "%s/%s", dir, name);
    snprintf(other, sizeof other, "%s.redteam", path);
    fd = open(path, O_WRONLY);
    if (fd != -1 || rename(path, other) == 0 || unlink(path) == 0) {
        fprintf(stderr, "redteam: could replace %s\n", path);
        _exit(3);
    }
    fd = open(other, O_WRONLY | O_CREAT, 0755);
    if (fd != -1) {
        fprintf(stderr, "redteam: could plant %s\n", other);
        _exit(3);
    }
}

static void redteam(void)
{
    char self[PATH_MAX], build[PATH_MAX];
    const char *dirs[3];
    struct dirent *e;
    ssize_t n;
    size_t i;
    DIR *d;

    /* This program is build/.student/<lesson>/server: the build folder is three up. */
    n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0)
        return;
    self[n] = '\0';
    for (i = 0; i < 3 && strrchr(self, '/') != NULL; i++)
        *strrchr(self, '/') = '\0';
    snprintf(build, sizeof build, "%s", self);
    dirs[0] = build;
    dirs[1] = "build";
    dirs[2] = "/grader/build";
    for (i = 0; i < 3; i++) {
        d = opendir(dirs[i]);
        if (d == NULL)
            continue;
        while ((e = readdir(d)) != NULL)
            if (strstr(e->d_name, ".so") != NULL || strstr(e->d_name, ".a") != NULL)
                redteam_try(dirs[i], e->d_name);
        closedir(d);
        redteam_try(dirs[i], "libfault.so");
        redteam_try(dirs[i], "01-socket/server");
        redteam_try(dirs[i], ".grader/runas");
    }
}
