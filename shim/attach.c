/*
 * attach.c: the monitor's attach socket. Frames both ways are a type byte,
 * a 16-bit big-endian length and that many bytes:
 *
 *   monitor -> client: '1' stdout data, '2' stderr data, 'e' exit status
 *                      (decimal text, last frame)
 *   client -> monitor: 'i' input, 'w' window size (4 bytes: rows, cols, each
 *                      16-bit big-endian), 'c' close the container's stdin
 *
 * A client that cannot keep up is dropped rather than stalling the
 * container: output is written non-blocking, and the log has it all.
 */
#include "attach.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "util.h"

#define FRAME_HEADER 3
#define FRAME_MAX 65535

struct client
{
  int fd;
  size_t len;
  unsigned char buf[FRAME_HEADER + 4096];
};

static int listen_fd = -1;
static int input_target = -1, master_target = -1;
static struct client clients[ATTACH_MAX_CLIENTS] = { { .fd = -1 }, { .fd = -1 }, { .fd = -1 }, { .fd = -1 } };

void attach_listen(int dirfd, const char *name)
{
  struct sockaddr_un addr = { .sun_family = AF_UNIX };

  snprintf(addr.sun_path, sizeof addr.sun_path, "/proc/self/fd/%d/%s", dirfd, name);
  unlinkat(dirfd, name, 0);
  listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (listen_fd < 0)
    die_with_error(EXIT_ENGINE, "cannot create the attach socket");
  if (bind(listen_fd, (struct sockaddr *) &addr, sizeof addr) < 0 || listen(listen_fd, 4) < 0)
    die_with_error(EXIT_ENGINE, "cannot listen on the attach socket %s", name);
}

void attach_set_targets(int input_fd, int master_fd)
{
  input_target = input_fd;
  master_target = master_fd;
}

size_t attach_poll_fds(struct pollfd *fds)
{
  size_t n = 0;

  if (listen_fd < 0)
    return 0;
  fds[n++] = (struct pollfd){ .fd = listen_fd, .events = POLLIN };
  for (int i = 0; i < ATTACH_MAX_CLIENTS; i++)
    fds[n++] = (struct pollfd){ .fd = clients[i].fd, .events = POLLIN };
  return n;
}

static void drop(struct client *c)
{
  close(c->fd);
  c->fd = -1;
  c->len = 0;
}

static void handle_frame(unsigned char type, const unsigned char *data, size_t len)
{
  switch (type)
    {
    case 'i':
      if (input_target >= 0 && write_all(input_target, data, len) < 0)
        input_target = -1;
      break;
    case 'w':
      if (master_target >= 0 && len == 4)
        {
          struct winsize ws = { .ws_row = (unsigned short) (data[0] << 8 | data[1]),
                                .ws_col = (unsigned short) (data[2] << 8 | data[3]) };
          ioctl(master_target, TIOCSWINSZ, &ws);
        }
      break;
    case 'c':
      /* A terminal has no half-close: only a pipe gets EOF. */
      if (input_target >= 0 && input_target != master_target)
        {
          close(input_target);
          input_target = -1;
        }
      break;
    default:
      break;
    }
}

static void read_client(struct client *c)
{
  ssize_t n = read(c->fd, c->buf + c->len, sizeof c->buf - c->len);
  size_t at = 0;

  if (n < 0 && (errno == EINTR || errno == EAGAIN))
    return;
  if (n <= 0)
    {
      drop(c);
      return;
    }
  c->len += (size_t) n;
  while (c->len - at >= FRAME_HEADER)
    {
      size_t flen = (size_t) c->buf[at + 1] << 8 | c->buf[at + 2];
      if (flen > sizeof c->buf - FRAME_HEADER)
        {
          drop(c);
          return;
        }
      if (c->len - at < FRAME_HEADER + flen)
        break;
      handle_frame(c->buf[at], c->buf + at + FRAME_HEADER, flen);
      at += FRAME_HEADER + flen;
    }
  memmove(c->buf, c->buf + at, c->len - at);
  c->len -= at;
}

void attach_handle(const struct pollfd *fds, size_t n)
{
  if (n == 0)
    return;
  if (fds[0].revents & POLLIN)
    {
      int fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
      if (fd >= 0)
        {
          int i = 0;
          while (i < ATTACH_MAX_CLIENTS && clients[i].fd >= 0)
            i++;
          if (i == ATTACH_MAX_CLIENTS)
            close(fd);
          else
            clients[i].fd = fd;
        }
    }
  for (size_t k = 1; k < n; k++)
    if (fds[k].fd >= 0 && fds[k].revents)
      for (int i = 0; i < ATTACH_MAX_CLIENTS; i++)
        if (clients[i].fd == fds[k].fd)
          read_client(&clients[i]);
}

void attach_wait_first(int timeout_ms)
{
  struct pollfd pfd = { .fd = listen_fd, .events = POLLIN };
  int fd;

  if (listen_fd < 0)
    return;
  while (poll(&pfd, 1, timeout_ms) < 0 && errno == EINTR)
    ;
  fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
  if (fd >= 0)
    clients[0].fd = fd;
}

void attach_send(int stream, const char *data, size_t len)
{
  while (len > 0)
    {
      size_t chunk = len > FRAME_MAX ? FRAME_MAX : len;
      unsigned char header[FRAME_HEADER] = { stream == 2 ? '2' : '1', (unsigned char) (chunk >> 8), (unsigned char) chunk };
      struct iovec iov[2] = { { header, FRAME_HEADER }, { (void *) data, chunk } };

      for (int i = 0; i < ATTACH_MAX_CLIENTS; i++)
        {
          struct msghdr msg = { .msg_iov = iov, .msg_iovlen = 2 };
          ssize_t sent;
          if (clients[i].fd < 0)
            continue;
          sent = sendmsg(clients[i].fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
          /* Half a frame would garble the stream: drop a slow client. */
          if (sent != (ssize_t) (FRAME_HEADER + chunk))
            drop(&clients[i]);
        }
      data += chunk;
      len -= chunk;
    }
}

void attach_finish(int status)
{
  char text[16];
  int len = snprintf(text, sizeof text, "%d", status);
  unsigned char frame[FRAME_HEADER + sizeof text] = { 'e', 0, (unsigned char) len };

  memcpy(frame + FRAME_HEADER, text, (size_t) len);
  for (int i = 0; i < ATTACH_MAX_CLIENTS; i++)
    if (clients[i].fd >= 0)
      {
        /* Blocking for this last frame: it is small, and the client waits for it. */
        fcntl(clients[i].fd, F_SETFL, 0);
        write_all(clients[i].fd, frame, FRAME_HEADER + (size_t) len);
        drop(&clients[i]);
      }
}
