/*
 * attach.h: the attach socket (see PROTOCOL.md, "Attach socket"). The
 * monitor of a detached container listens on it; `ctr attach` connects,
 * gets the container's output and sends its input and window size.
 */
#pragma once

#include <poll.h>
#include <stdbool.h>
#include <stddef.h>

#define ATTACH_MAX_CLIENTS 4

/* Listens on dirfd/name (a path too long for sun_path is reached through
 * /proc/self/fd). Dies on failure. */
void attach_listen(int dirfd, const char *name);

/* Where client input goes: the terminal master or the container's stdin
 * pipe (-1: input is dropped). master is for window sizes (-1: none). */
void attach_set_targets(int input_fd, int master_fd);

/* Adds the listening socket and the clients to fds (at most
 * 1 + ATTACH_MAX_CLIENTS entries); returns how many were added. */
size_t attach_poll_fds(struct pollfd *fds);
/* Handles what poll() reported for the entries attach_poll_fds added. */
void attach_handle(const struct pollfd *fds, size_t n);

/* Sends output to every client: stream 1 (stdout) or 2 (stderr). */
void attach_send(int stream, const char *data, size_t len);

/* Waits up to timeout_ms for a first client (`run -it`: ctr attaches
 * right after the start, and no output may go by before it has). */
void attach_wait_first(int timeout_ms);

/* The container has ended with this status: tells every client (an `e`
 * frame) and ends their connections. */
void attach_finish(int status);
