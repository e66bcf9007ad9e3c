/*
 * wrapped.c - the table of wrapped calls and libc's own functions behind
 * them (see wrapped.h), and the interposer's start-up.
 *
 * Everything that may take a lock or allocate happens here, once, before
 * main(): dlsym() of every real function, LAB_FAULT's parsing, the trace's
 * fd, and (in the preload library) the catalog of messages. After that a
 * wrapper only reads what start-up wrote.
 */
#define _GNU_SOURCE             /* RTLD_NEXT, RTLD_DEFAULT */
#include "wrapped.h"

#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>

#include "i18n.h"
#include "interpose.h"
#include "trace.h"
#include "tracefd.h"

const struct wrapped_call wrapped_calls[W_COUNT] = {
#define WRAPPED_ROW(name, kind, fc) [W_##name] = {#name, kind, fc},
    WRAPPED_CALLS(WRAPPED_ROW)
#undef WRAPPED_ROW
};

static void *real[W_COUNT];

static void *look_up(enum wrapped w)
{
    void *f = dlsym(RTLD_NEXT, wrapped_calls[w].name);

    if (f != NULL)
        __atomic_store_n(&real[w], f, __ATOMIC_RELEASE);
    return f;
}

void *real_fn(enum wrapped w)
{
    void *f = __atomic_load_n(&real[w], __ATOMIC_ACQUIRE);

    if (f == NULL)
        f = look_up(w);         /* only a call made before start-up gets here */
    if (f == NULL) {
        /* A libc below us without it: nothing sensible can follow. */
        static const char what[] = "socketlab: libc has no function named ";

        syscall(SYS_write, 2, what, sizeof(what) - 1);
        syscall(SYS_write, 2, wrapped_calls[w].name, strlen(wrapped_calls[w].name));
        syscall(SYS_write, 2, "\n", 1);
        _exit(127);
    }
    return f;
}

ssize_t lab_real_write(int fd, const void *buf, size_t len)
{
    return REAL(write)(fd, buf, len);
}

#ifdef LAB_PRELOAD
/*
 * Preloaded into a program that links the kit's library itself (a lesson
 * program run by tools/trace), this copy steps aside: the program's own
 * traces, or every call would show twice.
 */
static int stepped_aside;
#else
/* The mark the preload copy looks for (exported: see the Makefile). */
const int lab_static_interposer = 1;
#define stepped_aside 0
#endif

int interpose_active(void)
{
    return !stepped_aside && (trace_enabled() || fault_enabled());
}

__attribute__((constructor))
static void interpose_start(void)
{
    for (int w = 0; w < W_COUNT; w++)
        if (real[w] == NULL)
            look_up((enum wrapped)w);       /* epoll_pwait2 may be missing: fine */
#ifdef LAB_PRELOAD
    stepped_aside = dlsym(RTLD_DEFAULT, "lab_static_interposer") != NULL;
    if (stepped_aside)
        return;
    i18n_init();
#endif
    fault_init();
    tracefd_open();
#ifdef LAB_PRELOAD
    /* Not a kit program: its options come from the environment
     * tools/trace sets (LAB_TRACE, LAB_TRACE_ROLE, LAB_PAUSE, ...). */
    trace_init_from_env();
#endif
}
