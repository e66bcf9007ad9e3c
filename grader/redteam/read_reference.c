/* redteam: print the reference solution into the feedback: read lesson 05's
 * server.c from the grader's tree (its path on this machine, the container's
 * /grader, Gradescope's /autograder/source) and print it. If any copy holds
 * the solution markers, it is printed and the program exits 3.
 * lesson: 01-socket
 * expect: full
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static void redteam(void)
{
    const char *paths[] = {
        "@KIT@/lessons/05-send-recv/server.c", "/grader/lessons/05-send-recv/server.c",
        "/autograder/source/lessons/05-send-recv/server.c", "/submission/../grader/lessons/05-send-recv/server.c",
        "lessons/05-send-recv/server.c", "../../lessons/05-send-recv/server.c",
        "@KIT@/grader/mutants/reply-not-ok.mutant", "@KIT@/.git/HEAD",
    };
    static char text[1 << 16];
    size_t i, n;
    FILE *f;

    for (i = 0; i < sizeof paths / sizeof paths[0]; i++) {
        f = fopen(paths[i], "r");
        if (f == NULL)
            continue;
        n = fread(text, 1, sizeof text - 1, f);
        fclose(f);
        text[n] = '\0';
        if (strstr(text, "BEGIN SOLUTION") != NULL || strstr(text, "replace:") != NULL
            || strstr(text, "ref:") != NULL) {
            fprintf(stderr, "redteam: read %s:\n%s\n", paths[i], text);
            _exit(3);
        }
    }
}
