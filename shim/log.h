/*
 * log.h: the container's output as the monitor holds it: read from pipes,
 * copied to the attached caller (if any) and appended to the container's
 * log file, one line per record (see PROTOCOL.md, "Log file").
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/* Longest text in one record; a longer line is split into partial ("P")
 * records. Static: the monitor stays small. */
#define LOG_LINE_MAX 8192

struct log_stream
{
  const char *name; /* "stdout" or "stderr" */
  int fd;           /* read end of the container's pipe, non-blocking; -1 once at EOF */
  int copy_fd;      /* the attached caller's stream, or -1 */
  size_t len;
  char buf[LOG_LINE_MAX];
};

/* Where records go; -1 means nowhere (the stream is still copied). */
void log_set_file(int fd);

/* Also called with every chunk read (for attach clients), if set. */
void log_set_tap(void (*tap)(const struct log_stream *s, const char *data, size_t len));

/* Reads what is available on s->fd (until EAGAIN or EOF), copies it and
 * logs complete lines. At EOF closes s->fd, logs any partial line and sets
 * s->fd to -1. A caller that stopped reading its copy (EPIPE) stops the
 * container's stream too, as a pipeline would. */
void log_pump(struct log_stream *s);
