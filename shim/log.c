/*
 * log.c: the container's log file, in the k8s-file format podman writes:
 *
 *   2024-11-23T12:00:00.123456789Z stdout F hello
 *
 * A record is the time it was read (UTC, nanoseconds), the stream, "F" for
 * a full line or "P" for a part of one (an overlong line, or output that
 * ended without a newline), then the text without its newline.
 */
#include "log.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "util.h"

static int log_fd = -1;
static void (*log_tap)(const struct log_stream *s, const char *data, size_t len);

void log_set_file(int fd)
{
  log_fd = fd;
}

void log_set_tap(void (*tap)(const struct log_stream *s, const char *data, size_t len))
{
  log_tap = tap;
}

static void write_record(const struct log_stream *s, const char *text, size_t len, bool full)
{
  char header[80];
  struct timespec ts;
  struct tm tm;
  size_t n;
  struct iovec iov[3];

  if (log_fd < 0)
    return;
  clock_gettime(CLOCK_REALTIME, &ts);
  gmtime_r(&ts.tv_sec, &tm);
  n = strftime(header, sizeof header, "%Y-%m-%dT%H:%M:%S", &tm);
  snprintf(header + n, sizeof header - n, ".%09ldZ %s %c ", ts.tv_nsec, s->name, full ? 'F' : 'P');
  iov[0] = (struct iovec){ header, strlen(header) };
  iov[1] = (struct iovec){ (void *) text, len };
  iov[2] = (struct iovec){ "\n", 1 };
  /* One writev on an O_APPEND file: records of the two streams do not
   * interleave. A full disk loses records, never the container. */
  while (writev(log_fd, iov, 3) < 0 && errno == EINTR)
    ;
}

static void copy_out(struct log_stream *s, const char *data, size_t len)
{
  if (s->copy_fd < 0)
    return;
  if (write_all(s->copy_fd, data, len) < 0 && errno == EPIPE)
    {
      /* Our reader is gone (`ctr run … | head`): the container's writes
       * fail the same way from now on. */
      s->copy_fd = -1;
      close(s->fd);
      s->fd = -1;
    }
}

/* Logs the complete lines in the buffer and keeps the rest; a full buffer
 * without a newline goes out as a partial record. */
static void log_lines(struct log_stream *s)
{
  size_t start = 0;

  for (size_t i = 0; i < s->len; i++)
    if (s->buf[i] == '\n')
      {
        write_record(s, s->buf + start, i - start, true);
        start = i + 1;
      }
  if (start == 0 && s->len == sizeof s->buf)
    {
      write_record(s, s->buf, s->len, false);
      start = s->len;
    }
  memmove(s->buf, s->buf + start, s->len - start);
  s->len -= start;
}

void log_pump(struct log_stream *s)
{
  while (s->fd >= 0)
    {
      ssize_t n = read(s->fd, s->buf + s->len, sizeof s->buf - s->len);

      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0 && errno == EAGAIN)
        return;
      if (n <= 0)
        {
          if (s->len > 0)
            write_record(s, s->buf, s->len, false);
          s->len = 0;
          close(s->fd);
          s->fd = -1;
          return;
        }
      if (log_tap)
        log_tap(s, s->buf + s->len, (size_t) n);
      copy_out(s, s->buf + s->len, (size_t) n);
      s->len += (size_t) n;
      log_lines(s);
    }
}
