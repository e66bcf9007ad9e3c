/*
 * interpose.h - what the rest of the library may ask of the layer that
 * wraps the socket calls (src/interpose/): libc's own write(2), which no
 * wrapper sees.
 *
 * The wrappers themselves have libc's names (socket, bind, send, ...)
 * and need no declaration here.
 */
#ifndef SOCKETLAB_INTERPOSE_H
#define SOCKETLAB_INTERPOSE_H

#include <sys/types.h>

/**
 * @defgroup interpose Interposition
 * @brief The layer that sees every socket call: libc's functions, wrapped
 *        (src/interpose/, its README.md tells how).
 * @{
 */

/**
 * @brief libc's own write(2), never traced: how the kit writes its data
 *        lines (sockio.h) without showing them as calls of the program's.
 * @param fd   where to write.
 * @param buf  the bytes.
 * @param len  how many.
 * @return what write(2) returned.
 */
ssize_t lab_real_write(int fd, const void *buf, size_t len);

/** @} */

#endif /* SOCKETLAB_INTERPOSE_H */
