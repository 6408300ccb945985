/*
 * nethelper.c: runs slirp4netns for a container (see nethelper.h).
 *
 * slirp4netns stays alive as long as it holds the tap device, even after
 * every process of the network namespace has gone, so its lifetime is
 * tied to ours through --exit-fd: it exits when the pipe's write end,
 * which only the monitor holds, closes (at the container's end, or when
 * the monitor is killed).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "json.h"
#include "nethelper.h"
#include "util.h"

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

#define HELPER_LOG "network.log"
#define API_SOCKET "slirp.sock"
#define HOSTFWD_FILE "hostfwd.json"
#define API_TIMEOUT_S 10

static NORETURN void exec_helper(struct net_helper *h, pid_t pid, int state_fd, const sigset_t *mask, int ready_w,
                                 int exit_r)
{
  char ready_arg[32], exit_arg[32], pid_arg[32];
  int null_fd, log_fd;

  /* Its own session: a terminal's ^C for the container must not reach it. */
  setsid();
  sigprocmask(SIG_SETMASK, mask, NULL);
  /* Relative paths (the API socket) land in the state directory, whatever
   * its length: sun_path holds 108 bytes. */
  if (fchdir(state_fd) < 0)
    _exit(125);
  null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
  log_fd = openat(state_fd, HELPER_LOG, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOCTTY, 0600);
  if (null_fd >= 0)
    {
      dup2(null_fd, STDIN_FILENO);
      dup2(null_fd, STDOUT_FILENO);
      dup2(log_fd >= 0 ? log_fd : null_fd, STDERR_FILENO);
    }
  /* Only its two pipe ends: a container's output pipe held open here would
   * keep the monitor from ever seeing EOF on it. */
  syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC);
  fcntl(ready_w, F_SETFD, 0);
  fcntl(exit_r, F_SETFD, 0);
  snprintf(ready_arg, sizeof ready_arg, "--ready-fd=%d", ready_w);
  snprintf(exit_arg, sizeof exit_arg, "--exit-fd=%d", exit_r);
  snprintf(pid_arg, sizeof pid_arg, "%d", (int) pid);
  h->args[0] = h->path;
  h->args[h->n_args + 1] = ready_arg;
  h->args[h->n_args + 2] = exit_arg;
  h->args[h->n_args + 3] = pid_arg;
  h->args[h->n_args + 4] = "tap0";
  h->args[h->n_args + 5] = NULL;
  execvp(h->path, (char *const *) h->args);
  dprintf(STDERR_FILENO, "cannot run %s: %s\n", h->path, strerror(errno));
  _exit(127);
}

/* The helper's own words for why it failed: the last line of its log. */
static char *helper_complaint(int state_fd)
{
  char buf[4096];
  ssize_t n;
  int fd = openat(state_fd, HELPER_LOG, O_RDONLY | O_CLOEXEC);
  char *end, *start;

  if (fd < 0)
    return xasprintf("no log");
  n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0)
    return xasprintf("no output");
  buf[n] = '\0';
  end = buf + n;
  while (end > buf && (end[-1] == '\n' || end[-1] == ' '))
    *--end = '\0';
  start = strrchr(buf, '\n');
  return xasprintf("%s", start ? start + 1 : buf);
}

/* One request on an API socket (one connection each, as slirp4netns
 * serves them), dir_fd/name or, with dir_fd < 0, the path name; the reply
 * in reply (NUL-terminated, newlines trimmed). -1 with errno if it cannot
 * be reached. */
static int exchange(int dir_fd, const char *name, const char *request, char *reply, size_t size)
{
  struct sockaddr_un addr = { .sun_family = AF_UNIX };
  cleanup_fd int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  cleanup_fd int parent_fd = -1;
  struct timeval timeout = { .tv_sec = API_TIMEOUT_S };
  size_t len = 0;
  ssize_t n;

  if (fd < 0)
    return -1;
  /* Through a directory's fd: its path may not fit in sun_path. */
  if (dir_fd < 0 && strlen(name) >= sizeof addr.sun_path)
    {
      const char *slash = strrchr(name, '/');
      cleanup_free char *parent = slash && slash != name ? xstrndup(name, (size_t) (slash - name)) : xstrdup("/");

      parent_fd = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      if (parent_fd < 0)
        return -1;
      dir_fd = parent_fd;
      name = slash ? slash + 1 : name;
    }
  if (dir_fd >= 0)
    snprintf(addr.sun_path, sizeof addr.sun_path, "/proc/self/fd/%d/%s", dir_fd, name);
  else
    snprintf(addr.sun_path, sizeof addr.sun_path, "%s", name);
  /* A helper that stopped answering must not hang the monitor. */
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
  if (connect(fd, (struct sockaddr *) &addr, sizeof addr) < 0)
    return -1;
  if (write_all(fd, request, strlen(request)) < 0)
    return -1;
  shutdown(fd, SHUT_WR);
  while (len < size - 1 && ((n = read(fd, reply + len, size - 1 - len)) > 0 || (n < 0 && errno == EINTR)))
    if (n > 0)
      len += (size_t) n;
  reply[len] = '\0';
  while (len > 0 && reply[len - 1] == '\n')
    reply[--len] = '\0';
  return 0;
}

static bool refused(const char *reply)
{
  return reply[0] == '\0' || strstr(reply, "\"error\"") != NULL;
}

/* One request on the helper's own API socket; dies with its reply when
 * that is an error. */
static void send_request(int state_fd, const char *request)
{
  char reply[1024];

  if (exchange(state_fd, API_SOCKET, request, reply, sizeof reply) < 0)
    die_with_error(EXIT_ENGINE, "cannot reach the network helper's API socket");
  if (refused(reply))
    die(EXIT_ENGINE, "the network helper refused %s: %s", request, reply[0] ? reply : "no reply");
}

/* The helper whose port forwards the die hook removes. */
static struct net_helper *active;

/* Removes the port forwards added through h->api_socket, and their
 * record. A network whose slirp4netns is gone has none left anyway. */
static void remove_port_forwards(struct net_helper *h)
{
  char request[128], reply[256];

  for (size_t i = 0; i < h->n_hostfwd; i++)
    {
      snprintf(request, sizeof request, "{\"execute\":\"remove_hostfwd\",\"arguments\":{\"id\":%ld}}",
               h->hostfwd_ids[i]);
      exchange(-1, h->api_socket, request, reply, sizeof reply);
    }
  if (h->n_hostfwd > 0)
    unlinkat(h->state_fd, HOSTFWD_FILE, 0);
  h->n_hostfwd = 0;
}

/* STATE/hostfwd.json: [{"socket": PATH, "id": N}, …], so that ctr can
 * remove the forwards of a monitor that was killed. */
static void record_port_forwards(struct net_helper *h)
{
  size_t cap = 16 + h->n_hostfwd * (strlen(h->api_socket) * 6 + 48), len = 0;
  cleanup_free char *text = xmalloc(cap);

  len += (size_t) snprintf(text + len, cap - len, "[");
  for (size_t i = 0; i < h->n_hostfwd; i++)
    {
      len += (size_t) snprintf(text + len, cap - len, "%s{\"socket\":\"", i ? "," : "");
      for (const char *p = h->api_socket; *p; p++)
        {
          if (*p == '"' || *p == '\\')
            len += (size_t) snprintf(text + len, cap - len, "\\%c", *p);
          else if ((unsigned char) *p < 0x20)
            len += (size_t) snprintf(text + len, cap - len, "\\u%04x", (unsigned) *p);
          else
            text[len++] = *p;
        }
      len += (size_t) snprintf(text + len, cap - len, "\",\"id\":%ld}", h->hostfwd_ids[i]);
    }
  snprintf(text + len, cap - len, "]\n");
  if (write_file_atomic(h->state_fd, HOSTFWD_FILE, text) < 0)
    die_with_error(EXIT_ENGINE, "cannot write the state file " HOSTFWD_FILE);
}

/* The requests, on a network's API socket: each add_hostfwd's id is kept
 * (and recorded) to be removed when the container ends. */
static void send_network_requests(struct net_helper *h, int state_fd)
{
  char reply[1024], err[128];

  h->state_fd = state_fd;
  h->n_hostfwd = 0;
  active = h;
  if (h->hostfwd_ids == NULL)
    h->hostfwd_ids = xcalloc(h->n_requests + 1, sizeof *h->hostfwd_ids);
  for (size_t i = 0; i < h->n_requests; i++)
    {
      struct json *doc, *ret, *id;
      uint64_t n;

      if (exchange(-1, h->api_socket, h->requests[i], reply, sizeof reply) < 0)
        {
          int saved = errno;
          remove_port_forwards(h);
          errno = saved;
          die_with_error(EXIT_ENGINE, "cannot reach the network's API socket %s", h->api_socket);
        }
      if (refused(reply))
        {
          remove_port_forwards(h);
          die(EXIT_ENGINE, "the network's slirp4netns refused %s: %s", h->requests[i], reply[0] ? reply : "no reply");
        }
      doc = json_parse(reply, strlen(reply), err, sizeof err);
      ret = doc ? json_get(doc, "return") : NULL;
      id = ret ? json_get(ret, "id") : NULL;
      if (id && json_to_u64(id, &n) && n <= LONG_MAX)
        {
          h->hostfwd_ids[h->n_hostfwd++] = (long) n;
          record_port_forwards(h);
        }
      json_free(doc);
    }
}

void net_helper_cleanup(void)
{
  if (active)
    remove_port_forwards(active);
}

void net_helper_start(struct net_helper *h, pid_t pid, int state_fd, const sigset_t *mask)
{
  int ready_pipe[2], exit_pipe[2];
  pid_t child;
  int status;
  char byte;
  ssize_t n;

  if (h->path == NULL)
    {
      if (h->api_socket)
        send_network_requests(h, state_fd);
      return;
    }
  if (pipe2(ready_pipe, O_CLOEXEC) < 0 || pipe2(exit_pipe, O_CLOEXEC) < 0)
    die_with_error(EXIT_ENGINE, "cannot create pipes for %s", h->path);
  /* A stale API socket from the previous run (restart) makes it fail. */
  unlinkat(state_fd, "slirp.sock", 0);
  child = fork();
  if (child < 0)
    die_with_error(EXIT_ENGINE, "cannot fork");
  if (child == 0)
    {
      /* Double fork: the helper is not ours to reap. */
      pid_t grandchild = fork();
      if (grandchild != 0)
        _exit(grandchild < 0 ? 125 : 0);
      exec_helper(h, pid, state_fd, mask, ready_pipe[1], exit_pipe[0]);
    }
  while (waitpid(child, &status, 0) < 0 && errno == EINTR)
    ;
  close(ready_pipe[1]);
  close(exit_pipe[0]);
  h->exit_fd = exit_pipe[1];
  do
    n = read(ready_pipe[0], &byte, 1);
  while (n < 0 && errno == EINTR);
  close(ready_pipe[0]);
  if (n != 1)
    {
      cleanup_free char *why = helper_complaint(state_fd);
      net_helper_stop(h);
      die(EXIT_ENGINE, "%s could not set up the container's network: %s", h->path, why);
    }
  for (size_t i = 0; i < h->n_requests; i++)
    send_request(state_fd, h->requests[i]);
}

void net_helper_stop(struct net_helper *h)
{
  if (h->api_socket)
    remove_port_forwards(h);
  if (h->exit_fd >= 0)
    close(h->exit_fd);
  h->exit_fd = -1;
}
