/*
 * netcmd.c: `ctr-shim net-attach PID JSON` and `ctr-shim net-detach PID
 * IFNAME`, for `network connect` and `network disconnect` on a running
 * container (see PROTOCOL.md, "Networks").
 *
 * Both join the container's user namespace, then its network namespace:
 * as root of the user namespace that owns both the container's and the
 * holder's network namespaces, they may create and move links between
 * them, as the container's init does at its start.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "json.h"
#include "netattach.h"
#include "shim.h"
#include "util.h"

static long parse_pid(const char *verb, const char *text)
{
  char *end;
  long pid = strtol(text, &end, 10);

  if (*text == '\0' || *end != '\0' || pid <= 0)
    die(EXIT_ENGINE, "%s: PID must be a process id, not \"%s\"", verb, text);
  return pid;
}

static bool same_namespace(int a, int b)
{
  struct stat sa, sb;

  return fstat(a, &sa) == 0 && fstat(b, &sb) == 0 && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

/* User namespace first: it gives the capabilities joining the network
 * namespace needs. Both opened first, while /proc/PID is reachable. */
static void join_container(long pid)
{
  char user_path[64], net_path[64];
  cleanup_fd int user_fd = -1;
  cleanup_fd int net_fd = -1;
  cleanup_fd int own_user = open("/proc/self/ns/user", O_RDONLY | O_CLOEXEC);

  snprintf(user_path, sizeof user_path, "/proc/%ld/ns/user", pid);
  snprintf(net_path, sizeof net_path, "/proc/%ld/ns/net", pid);
  user_fd = open(user_path, O_RDONLY | O_CLOEXEC);
  if (user_fd < 0)
    die_with_error(EXIT_ENGINE, "cannot open %s (is the container running?)", user_path);
  net_fd = open(net_path, O_RDONLY | O_CLOEXEC);
  if (net_fd < 0)
    die_with_error(EXIT_ENGINE, "cannot open %s (is the container running?)", net_path);
  /* Already in it (we run as root of that namespace): setns would refuse. */
  if (!(own_user >= 0 && same_namespace(own_user, user_fd)) && setns(user_fd, CLONE_NEWUSER) < 0)
    die_with_error(EXIT_ENGINE, "cannot join the container's user namespace");
  if (setns(net_fd, CLONE_NEWNET) < 0)
    die_with_error(EXIT_ENGINE, "cannot join the container's network namespace");
}

int cmd_net_attach(int argc, char **argv)
{
  struct net_attachment a;
  struct json *doc;
  char err[256];
  long pid;

  if (argc != 2)
    die(EXIT_ENGINE, "usage: ctr-shim net-attach PID JSON");
  pid = parse_pid("net-attach", argv[0]);
  doc = json_parse(argv[1], strlen(argv[1]), err, sizeof err);
  if (doc == NULL)
    die(EXIT_ENGINE, "net-attach: attachment: %s", err);
  if (!net_attachment_parse(doc, "attachment", &a, err, sizeof err))
    die(EXIT_ENGINE, "net-attach: %s", err);
  join_container(pid);
  net_attach(&a);
  json_free(doc);
  return 0;
}

int cmd_net_detach(int argc, char **argv)
{
  if (argc != 2)
    die(EXIT_ENGINE, "usage: ctr-shim net-detach PID IFNAME");
  join_container(parse_pid("net-detach", argv[0]));
  net_detach(argv[1]);
  return 0;
}
