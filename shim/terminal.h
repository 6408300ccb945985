/*
 * terminal.h: a container's pseudo-terminal (process.terminal). The
 * container's process opens it inside its own /dev/pts (so `tty` names a
 * device the container can see) and hands the master side to its monitor
 * over a socket, as runc's console socket does.
 */
#pragma once

#include <stdbool.h>
#include <sys/ioctl.h>

/* Container side, as root of its namespaces after the rootfs is set up:
 * opens a pty in the container's devpts, sends the master over sock, sets
 * size (if rows > 0), and makes the slave its controlling terminal and
 * stdin/stdout/stderr. Dies on failure. */
void terminal_setup_container(int sock, const struct winsize *size);

/* Monitor side: the master fd the container sent, or -1 (with errno). */
int terminal_receive_master(int sock);

/* The caller's terminal size on fd; false if fd is not a terminal. */
bool terminal_get_size(int fd, struct winsize *size);

/* Raw mode on the caller's terminal fd, undone by terminal_restore (also
 * safe to call when nothing was changed). */
void terminal_make_raw(int fd);
void terminal_restore(void);
