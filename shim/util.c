/*
 * util.c: failure reporting, cleanup helpers and small I/O helpers.
 */
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

static int report_sink = -1;
static void (*die_hook)(int code);

void report_to(int fd)
{
  report_sink = fd;
}

int report_fd(void)
{
  return report_sink;
}

void report_on_die(void (*hook)(int code))
{
  die_hook = hook;
}

/* One line, no newline inside: the protocol is line based and ctr must
 * never see half a message. */
static void sanitize_line(char *s)
{
  for (; *s; s++)
    if (*s == '\n' || *s == '\r')
      *s = ' ';
}

static void send_line(const char *line)
{
  size_t len = strlen(line);
  char buf[REPORT_MAX + 2];

  if (len > REPORT_MAX)
    len = REPORT_MAX;
  memcpy(buf, line, len);
  buf[len++] = '\n';

  /* MSG_NOSIGNAL: ctr may be gone (detached run), and a dead reader must
   * not kill the monitor. Pipes (children's report pipes) fall back to
   * write(2); SIGPIPE is ignored wherever that matters. */
  for (;;)
    {
      ssize_t n = send(report_sink, buf, len, MSG_NOSIGNAL);
      if (n < 0 && errno == ENOTSOCK)
        n = write(report_sink, buf, len);
      if (n < 0 && errno == EINTR)
        continue;
      break;
    }
}

void report_line(const char *fmt, ...)
{
  char line[REPORT_MAX + 1];
  va_list ap;

  if (report_sink < 0)
    return;
  va_start(ap, fmt);
  vsnprintf(line, sizeof line, fmt, ap);
  va_end(ap);
  sanitize_line(line);
  send_line(line);
}

static void report_message(const char *kind, int code, const char *text)
{
  int saved = errno;
  char line[REPORT_MAX + 1];

  if (report_sink < 0)
    {
      if (strcmp(kind, "warning") == 0)
        fprintf(stderr, "ctr-shim: warning: %s\n", text);
      else
        fprintf(stderr, "ctr-shim: %s\n", text);
    }
  else
    {
      if (strcmp(kind, "warning") == 0)
        snprintf(line, sizeof line, "warning %s", text);
      else
        snprintf(line, sizeof line, "error %d %s", code, text);
      sanitize_line(line);
      send_line(line);
    }
  errno = saved;
}

static NORETURN void die_message(int code, const char *text)
{
  report_message("error", code, text);
  if (die_hook)
    {
      void (*hook)(int) = die_hook;
      /* A hook that itself fails must not recurse. */
      die_hook = NULL;
      hook(code);
    }
  _exit(code);
}

void die(int code, const char *fmt, ...)
{
  char text[REPORT_MAX];
  va_list ap;

  va_start(ap, fmt);
  vsnprintf(text, sizeof text, fmt, ap);
  va_end(ap);
  die_message(code, text);
}

void die_with_error(int code, const char *fmt, ...)
{
  int err = errno;
  char text[REPORT_MAX];
  size_t len;
  va_list ap;

  va_start(ap, fmt);
  vsnprintf(text, sizeof text, fmt, ap);
  va_end(ap);
  len = strlen(text);
  snprintf(text + len, sizeof text - len, ": %s", strerror(err));
  die_message(code, text);
}

void die_with_mount_error(const char *fmt, ...)
{
  int err = errno;
  char text[REPORT_MAX];
  size_t len;
  va_list ap;

  va_start(ap, fmt);
  vsnprintf(text, sizeof text, fmt, ap);
  va_end(ap);
  len = strlen(text);
  snprintf(text + len, sizeof text - len, ": %s", mount_strerror(err));
  die_message(EXIT_ENGINE, text);
}

void warn(const char *fmt, ...)
{
  char text[REPORT_MAX];
  va_list ap;

  va_start(ap, fmt);
  vsnprintf(text, sizeof text, fmt, ap);
  va_end(ap);
  report_message("warning", 0, text);
}

const char *mount_strerror(int err)
{
  switch (err)
    {
    case ENOSPC:
      /* The kernel says "no space left on device" when a mount namespace
       * holds more mounts than fs.mount-max allows. */
      return "mount limit exceeded (see /proc/sys/fs/mount-max)";
    case EPERM:
      return "operation not permitted (the kernel refuses this mount in a user namespace)";
    default:
      return strerror(err);
    }
}

void forward_report_line(const char *line)
{
  if (strncmp(line, "warning ", 8) == 0)
    warn("%s", line + 8);
  else if (strncmp(line, "error ", 6) == 0)
    {
      char *end;
      long code = strtol(line + 6, &end, 10);
      if (end == line + 6 || code <= 0 || code > 255)
        code = EXIT_ENGINE;
      if (*end == ' ')
        end++;
      die((int) code, "%s", end);
    }
}

void cleanup_freep(void *p)
{
  void **pp = p;
  free(*pp);
}

void cleanup_fdp(int *fdp)
{
  if (*fdp >= 0)
    {
      int saved = errno;
      close(*fdp);
      errno = saved;
    }
}

void *xmalloc(size_t size)
{
  void *p = malloc(size ? size : 1);
  if (p == NULL)
    die(EXIT_ENGINE, "out of memory");
  return p;
}

void *xcalloc(size_t n, size_t size)
{
  void *p = calloc(n ? n : 1, size ? size : 1);
  if (p == NULL)
    die(EXIT_ENGINE, "out of memory");
  return p;
}

void *xrealloc(void *p, size_t size)
{
  p = realloc(p, size ? size : 1);
  if (p == NULL)
    die(EXIT_ENGINE, "out of memory");
  return p;
}

char *xstrdup(const char *s)
{
  return xstrndup(s, strlen(s));
}

char *xstrndup(const char *s, size_t n)
{
  char *p = xmalloc(n + 1);
  memcpy(p, s, n);
  p[n] = '\0';
  return p;
}

char *xasprintf(const char *fmt, ...)
{
  va_list ap;
  int len;
  char *p;

  va_start(ap, fmt);
  len = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  if (len < 0)
    die(EXIT_ENGINE, "cannot format string");
  p = xmalloc((size_t) len + 1);
  va_start(ap, fmt);
  vsnprintf(p, (size_t) len + 1, fmt, ap);
  va_end(ap);
  return p;
}

int write_all(int fd, const void *buf, size_t len)
{
  const char *p = buf;

  while (len > 0)
    {
      ssize_t n = write(fd, p, len);
      if (n < 0)
        {
          if (errno == EINTR)
            continue;
          return -1;
        }
      p += n;
      len -= (size_t) n;
    }
  return 0;
}

char *read_file(const char *path, size_t *len_out)
{
  cleanup_fd int fd = open(path, O_RDONLY | O_CLOEXEC);
  cleanup_free char *buf = NULL;
  size_t len = 0, cap = 0;

  if (fd < 0)
    return NULL;
  for (;;)
    {
      ssize_t n;
      if (cap - len < 4096)
        {
          cap = cap ? cap * 2 : 8192;
          buf = xrealloc(buf, cap + 1);
        }
      n = read(fd, buf + len, cap - len);
      if (n < 0)
        {
          if (errno == EINTR)
            continue;
          return NULL;
        }
      if (n == 0)
        break;
      len += (size_t) n;
    }
  buf = xrealloc(buf, len + 1);
  buf[len] = '\0';
  if (len_out)
    *len_out = len;
  return steal_pointer(&buf);
}

int write_proc_file(const char *path, const char *content)
{
  cleanup_fd int fd = open(path, O_WRONLY | O_CLOEXEC);
  size_t len = strlen(content);
  ssize_t n;

  if (fd < 0)
    return -1;
  do
    n = write(fd, content, len);
  while (n < 0 && errno == EINTR);
  if (n < 0)
    return -1;
  if ((size_t) n != len)
    {
      errno = EIO;
      return -1;
    }
  return 0;
}

int write_file_atomic(int dirfd, const char *name, const char *content)
{
  cleanup_free char *tmp = xasprintf(".%s.tmp", name);
  cleanup_fd int fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);

  if (fd < 0)
    return -1;
  if (write_all(fd, content, strlen(content)) < 0)
    goto fail;
  if (renameat(dirfd, tmp, dirfd, name) < 0)
    goto fail;
  return 0;

fail:
  {
    int saved = errno;
    unlinkat(dirfd, tmp, 0);
    errno = saved;
  }
  return -1;
}

char *read_child_output(int fd, size_t cap)
{
  char *buf = xmalloc(cap + 1);
  size_t len = 0;
  int flags = fcntl(fd, F_GETFL);

  /* The writer may have left a daemon holding its end open, so never wait
   * for EOF: take what is already there. */
  if (flags >= 0)
    fcntl(fd, F_SETFL, flags | O_NONBLOCK);
  while (len < cap)
    {
      ssize_t n = read(fd, buf + len, cap - len);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        break;
      len += (size_t) n;
    }
  while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == ' ' || buf[len - 1] == '\r'))
    len--;
  buf[len] = '\0';

  /* Multi-line tool output must become one protocol line. */
  {
    char *out = xmalloc(len * 2 + 1), *o = out;
    for (size_t i = 0; i < len; i++)
      {
        if (buf[i] == '\n')
          {
            *o++ = ';';
            *o++ = ' ';
          }
        else if (buf[i] != '\r')
          *o++ = buf[i];
      }
    *o = '\0';
    free(buf);
    return out;
  }
}

static char *try_dir(const char *dir, size_t dirlen, const char *name)
{
  char *candidate;

  if (dirlen == 0)
    candidate = xasprintf("./%s", name);
  else
    candidate = xasprintf("%.*s/%s", (int) dirlen, dir, name);
  if (access(candidate, X_OK) == 0)
    {
      struct stat st;
      if (stat(candidate, &st) == 0 && S_ISREG(st.st_mode))
        return candidate;
    }
  free(candidate);
  return NULL;
}

char *find_program(const char *name, const char *path, const char *const *extra_dirs)
{
  char *found;

  if (strchr(name, '/'))
    return access(name, X_OK) == 0 ? xstrdup(name) : NULL;
  while (path && *path)
    {
      const char *end = strchrnul(path, ':');
      if ((found = try_dir(path, (size_t) (end - path), name)))
        return found;
      path = *end ? end + 1 : end;
    }
  for (; extra_dirs && *extra_dirs; extra_dirs++)
    if ((found = try_dir(*extra_dirs, strlen(*extra_dirs), name)))
      return found;
  return NULL;
}

int wait_status_to_code(int status)
{
  if (WIFSIGNALED(status))
    return 128 + WTERMSIG(status);
  if (WIFEXITED(status))
    return WEXITSTATUS(status);
  return EXIT_ENGINE;
}
