/* redteam: leave System V IPC behind: four 16 MB shared memory segments
 * (touched, so they hold memory), a message queue with messages in it and a
 * semaphore set, all under keys from this run's mark (@KEY@) and never
 * removed. Each grading has its own IPC namespace, gone with it: the test
 * finds none of them on the machine afterwards.
 * lesson: 01-socket
 * expect: full
 */
#include <string.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>

static void redteam(void)
{
    struct { long type; char text[512]; } msg = {1, "left by a submission"};
    key_t key = (key_t)@KEY@;
    int i, id, q;
    void *p;

    for (i = 0; i < 4; i++) {
        id = shmget(key + i, 16 << 20, IPC_CREAT | 0600);
        if (id != -1 && (p = shmat(id, NULL, 0)) != (void *)-1) {
            memset(p, 0x5a, 16 << 20);
            shmdt(p);
        }
    }
    q = msgget(key + 8, IPC_CREAT | 0600);
    for (i = 0; q != -1 && i < 16; i++)
        if (msgsnd(q, &msg, sizeof msg.text, IPC_NOWAIT) == -1)
            break;
    semget(key + 9, 4, IPC_CREAT | 0600);
}
