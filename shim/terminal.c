/*
 * terminal.c: pseudo-terminals for `-t` (see terminal.h).
 */
#include "terminal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <termios.h>
#include <unistd.h>

#include "util.h"

void terminal_setup_container(int sock, const struct winsize *size)
{
  char name[64];
  char data = 't';
  struct iovec iov = { &data, 1 };
  union
  {
    char buf[CMSG_SPACE(sizeof(int))];
    struct cmsghdr align;
  } control;
  struct msghdr msg = { 0 };
  struct cmsghdr *cmsg;
  cleanup_fd int master = -1;
  int slave;

  /* /dev/ptmx is the link to the container's own devpts instance
   * (newinstance), so the slave exists in the container's /dev/pts. */
  master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (master < 0)
    die_with_error(EXIT_ENGINE, "cannot open /dev/ptmx for the container's terminal");
  if (unlockpt(master) < 0 || ptsname_r(master, name, sizeof name) != 0)
    die_with_error(EXIT_ENGINE, "cannot set up the container's terminal");
  slave = open(name, O_RDWR | O_NOCTTY);
  if (slave < 0)
    die_with_error(EXIT_ENGINE, "cannot open the container's terminal %s", name);
  if (size && size->ws_row > 0)
    ioctl(slave, TIOCSWINSZ, size);

  memset(&control, 0, sizeof control);
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control.buf;
  msg.msg_controllen = sizeof control.buf;
  cmsg = CMSG_FIRSTHDR(&msg);
  cmsg->cmsg_level = SOL_SOCKET;
  cmsg->cmsg_type = SCM_RIGHTS;
  cmsg->cmsg_len = CMSG_LEN(sizeof(int));
  memcpy(CMSG_DATA(cmsg), &master, sizeof(int));
  while (sendmsg(sock, &msg, MSG_NOSIGNAL) < 0)
    if (errno != EINTR)
      die_with_error(EXIT_ENGINE, "cannot pass the terminal to the monitor");

  /* We are a session leader (setsid) without a terminal: this one
   * becomes ours, so ^C typed in it reaches our foreground job. */
  if (ioctl(slave, TIOCSCTTY, 0) < 0)
    die_with_error(EXIT_ENGINE, "cannot make %s the controlling terminal", name);
  for (int fd = 0; fd < 3; fd++)
    if (dup2(slave, fd) < 0)
      die_with_error(EXIT_ENGINE, "cannot attach the terminal");
  if (slave > 2)
    close(slave);
}

int terminal_receive_master(int sock)
{
  char data;
  struct iovec iov = { &data, 1 };
  union
  {
    char buf[CMSG_SPACE(sizeof(int))];
    struct cmsghdr align;
  } control;
  struct msghdr msg = { 0 };
  struct cmsghdr *cmsg;
  int fd;

  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control.buf;
  msg.msg_controllen = sizeof control.buf;
  while (recvmsg(sock, &msg, MSG_CMSG_CLOEXEC | MSG_DONTWAIT) < 0)
    if (errno != EINTR)
      return -1;
  cmsg = CMSG_FIRSTHDR(&msg);
  if (cmsg == NULL || cmsg->cmsg_type != SCM_RIGHTS)
    {
      errno = EPROTO;
      return -1;
    }
  memcpy(&fd, CMSG_DATA(cmsg), sizeof fd);
  return fd;
}

bool terminal_get_size(int fd, struct winsize *size)
{
  return isatty(fd) && ioctl(fd, TIOCGWINSZ, size) == 0;
}

static struct termios saved_termios;
static int raw_fd = -1;

void terminal_make_raw(int fd)
{
  struct termios raw;

  if (raw_fd >= 0 || !isatty(fd) || tcgetattr(fd, &saved_termios) < 0)
    return;
  raw = saved_termios;
  /* Every key goes to the container's terminal, whose own line
   * discipline turns ^C into SIGINT for its foreground job. */
  cfmakeraw(&raw);
  if (tcsetattr(fd, TCSADRAIN, &raw) == 0)
    raw_fd = fd;
}

void terminal_restore(void)
{
  if (raw_fd >= 0)
    tcsetattr(raw_fd, TCSADRAIN, &saved_termios);
  raw_fd = -1;
}
