/* redteam: inject make rules: plant .d files (which the Makefile includes)
 * and a GNUmakefile / makefile where a later make would read them. Any
 * file created exits 3.
 * lesson: 01-socket
 * expect: full
 */
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

static void redteam(void)
{
    const char *targets[] = {
        "build/redteam.d", "build/obj/redteam.d", "build/01-socket/redteam.d", "build/02-bind/redteam.d",
        "build/03-listen/redteam.d", "GNUmakefile", "makefile", "mk/redteam.mk",
    };
    size_t i;
    int fd;

    for (i = 0; i < sizeof targets / sizeof targets[0]; i++) {
        fd = open(targets[i], O_WRONLY | O_CREAT | O_EXCL, 0644);
        if (fd != -1) {
            dprintf(fd, "all: redteam\nredteam:\n\ttouch /tmp/redteam-pwned\n");
            fprintf(stderr, "redteam: could plant %s\n", targets[i]);
            _exit(3);
        }
    }
}
