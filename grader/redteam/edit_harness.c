/* redteam: edit the harness: open the grader's test files, plugin, conftest,
 * Makefile and result folder for writing (from the working folder the
 * harness starts programs in). Any success exits 3, losing the points.
 * lesson: 01-socket
 * expect: full
 */
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

static void redteam(void)
{
    const char *targets[] = {
        "conftest.py", "pytest.ini", "Makefile", "tests/labharness.py", "grader/plugin.py",
        "grader/sandbox.py", "grader/grade.py", "lessons/01-socket/tests/test_socket.py",
        "lessons/03-listen/tests/test_listen.py", "../results/summary.json", "../results/01-socket.jsonl",
        "../results/redteam-new-file", "tests/redteam-new-file", "/grader/tests/labharness.py",
        "/out/results.json", "/autograder/results/results.json",
    };
    size_t i;
    int fd;

    for (i = 0; i < sizeof targets / sizeof targets[0]; i++) {
        fd = open(targets[i], O_WRONLY | O_APPEND | O_CREAT, 0644);
        if (fd != -1) {
            fprintf(stderr, "redteam: could write %s\n", targets[i]);
            _exit(3);
        }
    }
}
