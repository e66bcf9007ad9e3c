/*
 * interpose.h - the socket calls wrapped from outside the program
 * (interpose.c): what the rest of the library may ask of that layer.
 *
 * The wrappers themselves have libc's names (socket, bind, send, ...)
 * and need no declaration here.
 */
#ifndef SOCKETLAB_INTERPOSE_H
#define SOCKETLAB_INTERPOSE_H

#include <sys/types.h>

/**
 * @defgroup interpose Interposition
 * @brief The layer that sees every socket call: libc's functions, wrapped.
 * @{
 */

/**
 * @brief libc's own write(2), never traced: how the trace writes its lines.
 * @param fd   where to write.
 * @param buf  the bytes.
 * @param len  how many.
 * @return what write(2) returned.
 */
ssize_t lab_real_write(int fd, const void *buf, size_t len);

/**
 * @brief libc's own read(2), never traced: how `--pause` waits for Enter.
 * @param fd   where to read from.
 * @param buf  where the bytes go.
 * @param len  room in @p buf.
 * @return what read(2) returned.
 */
ssize_t lab_real_read(int fd, void *buf, size_t len);

/** @} */

#endif /* SOCKETLAB_INTERPOSE_H */
