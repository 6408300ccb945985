/*
 * util.h: failure reporting, scope-bound cleanup and small I/O helpers
 * shared by every part of ctr-shim.
 *
 * Failures are reported where they happen: die() and friends format one
 * line, send it to the current report sink and exit. The sink is the sync
 * fd in the monitor (ctr reads `error <code> <text>`), a pipe in processes
 * the monitor forks (it forwards the line), or stderr when nobody listens.
 */
#pragma once

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <unistd.h>

/* Exit codes shared with ctr and docker: the engine failed, the command
 * exists but cannot be executed, the command was not found. */
#define EXIT_ENGINE 125
#define EXIT_CANNOT_EXEC 126
#define EXIT_NOT_FOUND 127

/* Longest message we send; keeps a report line under PIPE_BUF so a write
 * of it is atomic. */
#define REPORT_MAX 1024

#define NORETURN __attribute__((noreturn))
#define PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))

/* Send die()/warn() lines to fd as protocol lines; fd < 0 means stderr as
 * human text ("ctr-shim: …"). */
void report_to(int fd);
int report_fd(void);

/* Called by die() before it exits, with the exit code: the monitor uses it
 * to kill a half-set-up container and to wake a waiting --detach caller. */
void report_on_die(void (*hook)(int code));

/* Send one protocol line ("hello 1", "ready 42", …) to the report fd.
 * EPIPE is ignored: ctr may have closed its end and left. */
void report_line(const char *fmt, ...) PRINTF(1, 2);

NORETURN void die(int code, const char *fmt, ...) PRINTF(2, 3);
/* Appends ": <strerror(errno)>". */
NORETURN void die_with_error(int code, const char *fmt, ...) PRINTF(2, 3);
/* Like die_with_error, with mount(2)'s misleading errnos explained. */
NORETURN void die_with_mount_error(const char *fmt, ...) PRINTF(1, 2);
void warn(const char *fmt, ...) PRINTF(1, 2);

const char *mount_strerror(int err);

/* Forward a line received from a child process (already in protocol
 * form): warnings are passed on, an error line ends this process with the
 * child's code and text. Anything else is ignored. */
void forward_report_line(const char *line);

/* Scope-bound cleanup. */
void cleanup_freep(void *p);
void cleanup_fdp(int *fdp);
#define cleanup_free __attribute__((cleanup(cleanup_freep)))
#define cleanup_fd __attribute__((cleanup(cleanup_fdp)))

static inline void *steal_pointer_impl(void **pp)
{
  void *p = *pp;
  *pp = NULL;
  return p;
}
#define steal_pointer(pp) steal_pointer_impl((void **) (pp))

static inline int steal_fd(int *fdp)
{
  int fd = *fdp;
  *fdp = -1;
  return fd;
}

void *xmalloc(size_t size);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t size);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
char *xasprintf(const char *fmt, ...) PRINTF(1, 2);

/* write(2) until done, retrying EINTR; -1 with errno on failure. */
int write_all(int fd, const void *buf, size_t len);
/* Whole file into a NUL-terminated buffer; NULL with errno on failure. */
char *read_file(const char *path, size_t *len_out);
/* Write content to a file that must already exist (procfs), as a single
 * write(2): the kernel's id map files accept exactly one. */
int write_proc_file(const char *path, const char *content);
/* Write dirfd/name through a temporary file and rename(2), so a reader
 * sees the old content or the whole new one. -1 with errno on failure. */
int write_file_atomic(int dirfd, const char *name, const char *content);

/* Read what a child wrote to fd (non-blocking, at most cap bytes), with
 * newlines turned into "; " and trailing space trimmed. */
char *read_child_output(int fd, size_t cap);

/* Search an executable the way execvp does, in path (":"-separated), then
 * in the extra directories; NULL if none. */
char *find_program(const char *name, const char *path, const char *const *extra_dirs);

/* "128+signal" for a signal death, the exit code otherwise. */
int wait_status_to_code(int status);
