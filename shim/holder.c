/*
 * holder.c: `ctr-shim net-holder DIR`, the process that holds a
 * user-defined network (see PROTOCOL.md, "Networks"): a network namespace
 * with a bridge, owned by the network user namespace, and the one
 * slirp4netns that gives every container on the network its way out.
 *
 * Three processes: the command ctr runs, which only relays the outcome
 * (`ready PID` on stdout, or `error: …` on stderr) and exits; a setup
 * process, which stays in the caller's namespaces to write id maps and
 * start slirp4netns from outside, as a container's monitor does; and the
 * holder itself, which enters the namespaces, builds the bridge, and then
 * sleeps until SIGTERM. The holder alone holds the write end of
 * slirp4netns's --exit-fd pipe, so slirp4netns ends with it, however it
 * ends. A failed setup kills the holder: nothing is left running.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <arpa/inet.h>

#include "idmap.h"
#include "json.h"
#include "netlink.h"
#include "shim.h"
#include "util.h"

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

#define HOLDER_CONFIG "holder.json"
#define HOLDER_LOG "holder.log"
#define HOLDER_PID "holder.pid"
#define SLIRP_PID "slirp.pid"
#define API_SOCKET "slirp.sock"

struct holder_config
{
  struct json *document;
  const char *userns_path; /* join it; else create one with the maps */
  struct id_maps uid_maps, gid_maps;
  const char *bridge;
  struct in_addr address;
  int prefix;
  uint32_t mtu;
  const char *slirp_path; /* NULL: no slirp4netns (an internal network) */
  const char **slirp_args; /* NULL-terminated, argv[0] included, room for the ones we add */
  const char *slirp_device;
};

static NORETURN void die_config(const char *fmt, const char *detail)
{
  die(EXIT_ENGINE, HOLDER_CONFIG ": %s%s", fmt, detail ? detail : "");
}

static const char *config_string(const struct json *obj, const char *key, bool required)
{
  struct json *v = json_get(obj, key);

  if (v == NULL || v->type == JSON_NULL)
    {
      if (required)
        die(EXIT_ENGINE, HOLDER_CONFIG ": %s is required", key);
      return NULL;
    }
  if (v->type != JSON_STRING)
    die(EXIT_ENGINE, HOLDER_CONFIG ": %s must be a string", key);
  return v->string.value;
}

static void load_maps(struct id_maps *maps, const struct json *userns, const char *key)
{
  struct json *v = json_get(userns, key);

  if (v == NULL || v->type != JSON_ARRAY || v->array.len == 0)
    die(EXIT_ENGINE, HOLDER_CONFIG ": userns needs a path, or uidMappings and gidMappings");
  for (size_t i = 0; i < v->array.len; i++)
    {
      struct json *item = v->array.items[i];
      struct json *c = json_get(item, "containerID"), *h = json_get(item, "hostID"), *s = json_get(item, "size");
      uint64_t cv, hv, sv;

      if (!c || !h || !s || !json_to_u64(c, &cv) || !json_to_u64(h, &hv) || !json_to_u64(s, &sv) || cv > UINT32_MAX ||
          hv > UINT32_MAX || sv == 0 || sv > UINT32_MAX)
        die(EXIT_ENGINE, HOLDER_CONFIG ": userns.%s[%zu] must be {containerID, hostID, size}", key, i);
      append_id_map(maps, (struct id_map){ .container_id = (uint32_t) cv, .host_id = (uint32_t) hv, .size = (uint32_t) sv });
    }
}

static void load_config(int dir_fd, struct holder_config *c)
{
  cleanup_free char *text = NULL;
  char err[256], buf[INET_ADDRSTRLEN];
  struct json *userns, *slirp, *mtu;
  const char *address, *slash;
  size_t len;
  int fd = openat(dir_fd, HOLDER_CONFIG, O_RDONLY | O_CLOEXEC);

  if (fd < 0)
    die_with_error(EXIT_ENGINE, "cannot open " HOLDER_CONFIG);
  {
    cleanup_free char *path = xasprintf("/proc/self/fd/%d", fd);
    text = read_file(path, &len);
  }
  close(fd);
  if (text == NULL)
    die_with_error(EXIT_ENGINE, "cannot read " HOLDER_CONFIG);
  c->document = json_parse(text, len, err, sizeof err);
  if (c->document == NULL)
    die_config(err, NULL);
  if (c->document->type != JSON_OBJECT)
    die_config("the document must be an object", NULL);

  userns = json_get(c->document, "userns");
  if (userns == NULL || userns->type != JSON_OBJECT)
    die_config("userns must be an object", NULL);
  c->userns_path = config_string(userns, "path", false);
  if (c->userns_path == NULL)
    {
      load_maps(&c->uid_maps, userns, "uidMappings");
      load_maps(&c->gid_maps, userns, "gidMappings");
    }

  c->bridge = config_string(c->document, "bridge", true);
  if (strlen(c->bridge) >= 16 || strchr(c->bridge, '/'))
    die(EXIT_ENGINE, HOLDER_CONFIG ": bridge \"%s\" is not an interface name", c->bridge);
  address = config_string(c->document, "address", true);
  slash = strchr(address, '/');
  if (slash == NULL || (size_t) (slash - address) >= sizeof buf)
    die(EXIT_ENGINE, HOLDER_CONFIG ": address must be ADDRESS/PREFIX, not \"%s\"", address);
  memcpy(buf, address, (size_t) (slash - address));
  buf[slash - address] = '\0';
  c->prefix = atoi(slash + 1);
  if (inet_pton(AF_INET, buf, &c->address) != 1 || c->prefix < 1 || c->prefix > 30)
    die(EXIT_ENGINE, HOLDER_CONFIG ": address must be an IPv4 ADDRESS/PREFIX, not \"%s\"", address);
  mtu = json_get(c->document, "mtu");
  if (mtu && mtu->type != JSON_NULL)
    {
      uint64_t n;
      if (!json_to_u64(mtu, &n) || n < 68 || n > 65535)
        die_config("mtu must be an integer from 68 to 65535", NULL);
      c->mtu = (uint32_t) n;
    }

  slirp = json_get(c->document, "slirp");
  if (slirp && slirp->type == JSON_OBJECT)
    {
      struct json *args = json_get(slirp, "args");
      size_t n = args && args->type == JSON_ARRAY ? args->array.len : 0;

      c->slirp_path = config_string(slirp, "path", true);
      c->slirp_device = config_string(slirp, "device", false);
      if (c->slirp_device == NULL)
        c->slirp_device = "tap0";
      if (strlen(c->slirp_device) >= 16 || strchr(c->slirp_device, '/'))
        die(EXIT_ENGINE, HOLDER_CONFIG ": slirp.device \"%s\" is not an interface name", c->slirp_device);
      c->slirp_args = xcalloc(n + 10, sizeof *c->slirp_args);
      c->slirp_args[0] = c->slirp_path;
      for (size_t i = 0; i < n; i++)
        {
          if (args->array.items[i]->type != JSON_STRING)
            die(EXIT_ENGINE, HOLDER_CONFIG ": slirp.args[%zu] must be a string", i);
          c->slirp_args[i + 1] = args->array.items[i]->string.value;
        }
    }
  else if (slirp && slirp->type != JSON_NULL)
    die_config("slirp must be an object", NULL);
}

/* Lines between the holder and the setup process: the holder sends
 * `maps`, `net`, `done` (or an `error` line, through die()); the setup
 * process answers `maps` and `net` with one byte when it has done its part. */
static bool read_line(int fd, char *buf, size_t size)
{
  size_t len = 0;

  while (len < size - 1)
    {
      ssize_t n = read(fd, buf + len, 1);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        break;
      if (buf[len] == '\n')
        {
          buf[len] = '\0';
          return true;
        }
      len++;
    }
  buf[len] = '\0';
  return false;
}

static void wait_byte(int fd)
{
  char go;
  ssize_t n;

  do
    n = read(fd, &go, 1);
  while (n < 0 && errno == EINTR);
  /* EOF: the setup process failed (and says why) or was killed. */
  if (n != 1)
    _exit(EXIT_ENGINE);
}

static void send_line(int fd, const char *line)
{
  if (write_all(fd, line, strlen(line)) < 0)
    _exit(EXIT_ENGINE);
}

static void link_up(struct nl_socket *nl, const char *name, int master, uint32_t mtu, const char *what)
{
  int index = nl_link_index(nl, name), err;

  if (index < 0)
    die(EXIT_ENGINE, "cannot find %s %s: %s", what, name, strerror(-index));
  err = nl_link_set(nl, index, master, mtu, true);
  if (err < 0)
    die(EXIT_ENGINE, "cannot bring %s %s up: %s", what, name, strerror(-err));
}

/* The holder: from fork to its sleep. Never returns. */
static NORETURN void run_holder(const struct holder_config *c, int dir_fd, int sock, int exit_w)
{
  struct nl_socket nl;
  sigset_t stop;
  int log_fd, null_fd, bridge, err;

  report_to(sock);
  report_on_die(NULL);
  /* A session of its own: ctr's terminal and process group are not ours. */
  setsid();
  null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
  log_fd = openat(dir_fd, HOLDER_LOG, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOCTTY, 0600);
  if (null_fd < 0 || log_fd < 0)
    die_with_error(EXIT_ENGINE, "cannot open " HOLDER_LOG);
  dup2(null_fd, STDIN_FILENO);
  dup2(log_fd, STDOUT_FILENO);
  dup2(log_fd, STDERR_FILENO);
  close(null_fd);
  close(log_fd);
  close(dir_fd);
  if (chdir("/") < 0)
    die_with_error(EXIT_ENGINE, "cannot enter /");

  if (c->userns_path)
    {
      int fd = open(c->userns_path, O_RDONLY | O_CLOEXEC);
      /* Allowed without privileges: we own it (its creator was us). */
      if (fd < 0 || setns(fd, CLONE_NEWUSER) < 0)
        die_with_error(EXIT_ENGINE, "cannot join the user namespace %s", c->userns_path);
      close(fd);
    }
  else
    {
      if (unshare(CLONE_NEWUSER) < 0)
        die_with_error(EXIT_ENGINE, "cannot create a user namespace");
      /* Maps are written from the parent namespace, by the setup process. */
      send_line(sock, "maps\n");
      wait_byte(sock);
    }
  if (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0)
    die_with_error(EXIT_ENGINE, "cannot become root of the user namespace (is id 0 mapped?)");
  if (setgroups(0, NULL) < 0 && errno != EPERM)
    die_with_error(EXIT_ENGINE, "cannot drop supplementary groups");

  /* Owned by the network user namespace: every container on the network
   * is root there too, and may move its veth peer between the two. */
  if (unshare(CLONE_NEWNET) < 0)
    die_with_error(EXIT_ENGINE, "cannot create a network namespace");
  err = nl_open(&nl);
  if (err < 0)
    die(EXIT_ENGINE, "cannot open a netlink socket: %s", strerror(-err));
  link_up(&nl, "lo", -1, 0, "interface");
  err = nl_create_bridge(&nl, c->bridge, c->mtu);
  if (err < 0)
    die(EXIT_ENGINE, "cannot create the bridge %s: %s", c->bridge, strerror(-err));
  bridge = nl_link_index(&nl, c->bridge);
  if (bridge < 0)
    die(EXIT_ENGINE, "cannot find the bridge %s: %s", c->bridge, strerror(-bridge));
  err = nl_addr_add(&nl, bridge, c->address, c->prefix);
  if (err < 0)
    die(EXIT_ENGINE, "cannot set the address of the bridge %s: %s", c->bridge, strerror(-err));
  link_up(&nl, c->bridge, -1, 0, "bridge");

  send_line(sock, "net\n");
  wait_byte(sock);
  /* slirp4netns made its tap device here but, without --configure, left
   * it down: it becomes a port of the bridge, with the network's MTU (a
   * bridge drops frames larger than the port they leave by). */
  if (c->slirp_path)
    link_up(&nl, c->slirp_device, bridge, c->mtu, "slirp4netns's device");
  nl_close(&nl);

  sigemptyset(&stop);
  sigaddset(&stop, SIGTERM);
  sigaddset(&stop, SIGINT);
  sigaddset(&stop, SIGHUP);
  sigprocmask(SIG_BLOCK, &stop, NULL);
  send_line(sock, "done\n");
  close(sock);
  report_to(-1);
  /* Nothing more to do: the namespaces live as long as we do, and
   * slirp4netns as long as exit_w is open, i.e. as long as we are. */
  (void) exit_w;
  for (;;)
    {
      int sig = sigwaitinfo(&stop, NULL);
      if (sig > 0)
        _exit(0);
    }
}

static pid_t holder_pid = -1;

static void kill_holder(int code)
{
  (void) code;
  /* Its death closes slirp4netns's exit fd: that ends slirp4netns too. */
  if (holder_pid > 0)
    kill(holder_pid, SIGKILL);
}

/* The last line slirp4netns wrote to the log, for an error message. */
static char *last_log_line(int dir_fd)
{
  char buf[4096];
  int fd = openat(dir_fd, HOLDER_LOG, O_RDONLY | O_CLOEXEC);
  off_t size;
  ssize_t n;
  char *end, *start;

  if (fd < 0)
    return xstrdup("no log");
  size = lseek(fd, 0, SEEK_END);
  if (size > (off_t) sizeof buf - 1)
    lseek(fd, size - (off_t) sizeof buf + 1, SEEK_SET);
  else
    lseek(fd, 0, SEEK_SET);
  n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0)
    return xstrdup("no output");
  buf[n] = '\0';
  end = buf + n;
  while (end > buf && (end[-1] == '\n' || end[-1] == ' '))
    *--end = '\0';
  start = strrchr(buf, '\n');
  return xstrdup(start ? start + 1 : buf);
}

/* slirp4netns for the holder's namespaces, started from outside them (it
 * joins them itself) in a session of its own, stdout on /dev/null and
 * stderr in the log. Returns its pid once it said it is ready. */
static pid_t start_slirp(struct holder_config *c, int dir_fd, pid_t holder, int exit_r)
{
  char userns_arg[64], netns_arg[64], exit_arg[32], ready_arg[32];
  int ready[2];
  size_t n = 0;
  pid_t pid;
  ssize_t got;
  char byte;

  while (c->slirp_args[n])
    n++;
  if (pipe2(ready, O_CLOEXEC) < 0)
    die_with_error(EXIT_ENGINE, "cannot create a pipe");
  snprintf(userns_arg, sizeof userns_arg, "--userns-path=/proc/%d/ns/user", (int) holder);
  snprintf(netns_arg, sizeof netns_arg, "/proc/%d/ns/net", (int) holder);
  snprintf(exit_arg, sizeof exit_arg, "--exit-fd=%d", exit_r);
  snprintf(ready_arg, sizeof ready_arg, "--ready-fd=%d", ready[1]);
  c->slirp_args[n++] = "--netns-type=path";
  c->slirp_args[n++] = userns_arg;
  /* Relative to its working directory, DIR: sun_path holds 108 bytes. */
  c->slirp_args[n++] = "--api-socket=" API_SOCKET;
  c->slirp_args[n++] = exit_arg;
  c->slirp_args[n++] = ready_arg;
  c->slirp_args[n++] = netns_arg;
  c->slirp_args[n++] = c->slirp_device;
  c->slirp_args[n] = NULL;
  /* A stale socket from a holder that was killed makes it fail. */
  unlinkat(dir_fd, API_SOCKET, 0);

  pid = fork();
  if (pid < 0)
    die_with_error(EXIT_ENGINE, "cannot fork");
  if (pid == 0)
    {
      int null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
      int log_fd = openat(dir_fd, HOLDER_LOG, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOCTTY, 0600);

      sigset_t none;

      /* Its own session, and signals as a fresh process has them (we
       * ignore SIGPIPE; ctr's mask is ctr's business). */
      setsid();
      sigemptyset(&none);
      sigprocmask(SIG_SETMASK, &none, NULL);
      signal(SIGPIPE, SIG_DFL);
      if (fchdir(dir_fd) < 0 || null_fd < 0)
        _exit(EXIT_ENGINE);
      dup2(null_fd, STDIN_FILENO);
      dup2(null_fd, STDOUT_FILENO);
      dup2(log_fd >= 0 ? log_fd : null_fd, STDERR_FILENO);
      /* Only its two pipe ends. */
      syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC);
      fcntl(ready[1], F_SETFD, 0);
      fcntl(exit_r, F_SETFD, 0);
      execvp(c->slirp_path, (char *const *) c->slirp_args);
      dprintf(STDERR_FILENO, "cannot run %s: %s\n", c->slirp_path, strerror(errno));
      _exit(127);
    }
  close(ready[1]);
  do
    got = read(ready[0], &byte, 1);
  while (got < 0 && errno == EINTR);
  close(ready[0]);
  if (got != 1)
    {
      cleanup_free char *why = last_log_line(dir_fd);
      kill(pid, SIGKILL);
      die(EXIT_ENGINE, "%s could not start: %s", c->slirp_path, why);
    }
  return pid;
}

/* The setup process: forks the holder, does the parts that need the
 * caller's namespaces, reports `ready PID` through report_fd. */
static NORETURN void run_setup(int dir_fd, int report_fd)
{
  struct holder_config c = { 0 };
  int sock[2], exit_pipe[2];
  char line[REPORT_MAX + 16], text[32];
  pid_t slirp = -1;

  report_to(report_fd);
  load_config(dir_fd, &c);
  unlinkat(dir_fd, HOLDER_PID, 0);
  unlinkat(dir_fd, SLIRP_PID, 0);

  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sock) < 0 || pipe2(exit_pipe, O_CLOEXEC) < 0)
    die_with_error(EXIT_ENGINE, "cannot create the holder's pipes");
  holder_pid = fork();
  if (holder_pid < 0)
    die_with_error(EXIT_ENGINE, "cannot fork");
  if (holder_pid == 0)
    {
      close(sock[0]);
      close(exit_pipe[0]);
      close(report_fd);
      run_holder(&c, dir_fd, sock[1], exit_pipe[1]);
    }
  report_on_die(kill_holder);
  close(sock[1]);
  /* Only the holder holds the write end. */
  close(exit_pipe[1]);

  for (;;)
    {
      if (!read_line(sock[0], line, sizeof line))
        die(EXIT_ENGINE, "the network holder ended during its setup");
      forward_report_line(line);
      if (strcmp(line, "maps") == 0)
        write_id_maps(holder_pid, &c.uid_maps, &c.gid_maps);
      else if (strcmp(line, "net") == 0 && c.slirp_path)
        slirp = start_slirp(&c, dir_fd, holder_pid, exit_pipe[0]);
      else if (strcmp(line, "done") == 0)
        break;
      if (write_all(sock[0], "1", 1) < 0)
        die_with_error(EXIT_ENGINE, "cannot reach the network holder");
    }
  if (slirp > 0)
    {
      snprintf(text, sizeof text, "%d\n", (int) slirp);
      if (write_file_atomic(dir_fd, SLIRP_PID, text) < 0)
        die_with_error(EXIT_ENGINE, "cannot write " SLIRP_PID);
    }
  snprintf(text, sizeof text, "%d\n", (int) holder_pid);
  if (write_file_atomic(dir_fd, HOLDER_PID, text) < 0)
    die_with_error(EXIT_ENGINE, "cannot write " HOLDER_PID);
  report_line("ready %d", (int) holder_pid);
  _exit(0);
}

int cmd_net_holder(int argc, char **argv)
{
  char line[REPORT_MAX + 16];
  int dir_fd, pipefd[2], status;
  pid_t setup;

  if (argc != 1 || argv[0][0] == '-')
    {
      fputs("error: usage: ctr-shim net-holder DIR\n", stderr);
      return EXIT_ENGINE;
    }
  dir_fd = open(argv[0], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd < 0)
    {
      fprintf(stderr, "error: cannot open %s: %s\n", argv[0], strerror(errno));
      return EXIT_ENGINE;
    }
  signal(SIGCHLD, SIG_DFL);
  signal(SIGPIPE, SIG_IGN);
  if (pipe2(pipefd, O_CLOEXEC) < 0)
    {
      fprintf(stderr, "error: cannot create a pipe: %s\n", strerror(errno));
      return EXIT_ENGINE;
    }
  setup = fork();
  if (setup < 0)
    {
      fprintf(stderr, "error: cannot fork: %s\n", strerror(errno));
      return EXIT_ENGINE;
    }
  if (setup == 0)
    {
      close(pipefd[0]);
      run_setup(dir_fd, pipefd[1]);
    }
  close(pipefd[1]);
  do
    if (!read_line(pipefd[0], line, sizeof line))
      snprintf(line, sizeof line, "error 125 the network holder's setup ended without a word");
  while (strncmp(line, "warning ", 8) == 0);
  while (waitpid(setup, &status, 0) < 0 && errno == EINTR)
    ;
  if (strncmp(line, "ready ", 6) == 0)
    {
      printf("%s\n", line);
      return 0;
    }
  if (strncmp(line, "error ", 6) == 0)
    {
      const char *text = strchr(line + 6, ' ');
      fprintf(stderr, "error: %s\n", text ? text + 1 : line + 6);
    }
  else
    fprintf(stderr, "error: %s\n", line);
  return EXIT_ENGINE;
}
