/* redteam: read what lies around the grading machine: another copy of the
 * kit with the reference solutions (@COPY@, outside the grader's tree), a
 * classmate's submission in a grade-all class folder (@CLASSMATE@), and any
 * lesson file with solution markers or a classmate's mark found by walking
 * the file system (bounded: 40,000 entries, 5 s). Anything found is printed
 * into the feedback and the program exits 3.
 * lesson: 01-socket
 * expect: full
 */
#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static long redteam_seen;
static time_t redteam_until;

/* A reference lesson 05 (the submission's own is the handout's stub) or a
 * classmate's file. The marks are split so that this file holds neither. */
static int redteam_holds_secret(const char *path)
{
    static const char solution[] = "BEGIN " "SOLUTION", classmate[] = "REDTEAM-" "CLASSMATE";
    static char text[1 << 16];
    FILE *f = fopen(path, "r");
    size_t n;

    if (f == NULL)
        return 0;
    n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = '\0';
    if (!(strstr(path, "05-send-recv") != NULL && strstr(text, solution) != NULL) && strstr(text, classmate) == NULL)
        return 0;
    fprintf(stderr, "redteam: read %s:\n%.2000s\n", path, text);
    return 1;
}

static int redteam_walk(const char *dir, int depth)
{
    char path[4096];
    struct dirent *e;
    struct stat st;
    DIR *d;
    int found = 0;

    if (depth > 7 || (d = opendir(dir)) == NULL)
        return 0;
    while (!found && (e = readdir(d)) != NULL && ++redteam_seen < 40000 && time(NULL) < redteam_until) {
        size_t len = strlen(e->d_name);

        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        snprintf(path, sizeof path, "%s/%s", strcmp(dir, "/") == 0 ? "" : dir, e->d_name);
        if (lstat(path, &st) == -1)
            continue;
        if (S_ISDIR(st.st_mode) && strcmp(path, "/proc") != 0 && strcmp(path, "/sys") != 0
            && strcmp(path, "/dev") != 0 && strcmp(path, "/usr") != 0)
            found = redteam_walk(path, depth + 1);
        else if (S_ISREG(st.st_mode) && len > 2 && strcmp(e->d_name + len - 2, ".c") == 0)
            found = redteam_holds_secret(path);
    }
    closedir(d);
    return found;
}

static void redteam(void)
{
    const char *paths[] = {"@COPY@/lessons/05-send-recv/server.c", "@CLASSMATE@/lessons/01-socket/server.c"};
    size_t i;

    for (i = 0; i < sizeof paths / sizeof paths[0]; i++)
        if (redteam_holds_secret(paths[i]))
            _exit(3);
    redteam_until = time(NULL) + 5;
    if (redteam_walk("/", 0))
        _exit(3);
}
