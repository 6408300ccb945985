/*
 * container.c: the container's init process. It is cloned by the monitor
 * into every namespace the config asks for, waits for its id maps, builds
 * the rootfs, becomes process.user and execs process.args.
 *
 * Failures go to the monitor as report lines (die() writes to start->
 * report_fd), which forwards them to ctr; the pipe is close-on-exec, so a
 * successful execve() is seen as EOF.
 */
#include "container.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <net/if.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include "caps.h"
#include "netattach.h"
#include "rootfs.h"
#include "terminal.h"
#include "util.h"

#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

/* The monitor blocks the signals it forwards and ignores SIGPIPE; both a
 * mask and SIG_IGN survive execve(), so the container would inherit them
 * (a process that cannot be stopped with SIGTERM, a pipeline that never
 * sees SIGPIPE). Dispositions the caller set to "ignore" are reset too, as
 * docker does: a container starts from a clean slate. */
static void reset_signals(const sigset_t *original_mask)
{
  for (int sig = 1; sig < NSIG; sig++)
    if (sig != SIGKILL && sig != SIGSTOP)
      signal(sig, SIG_DFL);
  sigprocmask(SIG_SETMASK, original_mask, NULL);
}

static void wait_for_id_maps(int start_fd)
{
  char go;
  ssize_t n;

  do
    n = read(start_fd, &go, 1);
  while (n < 0 && errno == EINTR);
  /* EOF: the monitor failed (and said why) or died; nothing to report. */
  if (n != 1)
    _exit(EXIT_ENGINE);
  close(start_fd);
}

/* Until now our ids were whatever our host ids map to (or the overflow
 * id). Root of the namespace owns the mounts and mount points we are about
 * to create. */
static void become_namespace_root(void)
{
  if (setresgid(0, 0, 0) < 0)
    die_with_error(EXIT_ENGINE, "cannot become gid 0 in the user namespace (is gid 0 mapped?)");
  if (setresuid(0, 0, 0) < 0)
    die_with_error(EXIT_ENGINE, "cannot become uid 0 in the user namespace (is uid 0 mapped?)");
}

/* A new network namespace has only a loopback device, and it is down. */
static void bring_up_loopback(void)
{
  cleanup_fd int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  struct ifreq ifr;

  if (fd < 0)
    die_with_error(EXIT_ENGINE, "cannot open a socket to configure lo");
  memset(&ifr, 0, sizeof ifr);
  strcpy(ifr.ifr_name, "lo");
  if (ioctl(fd, SIOCGIFFLAGS, &ifr) < 0)
    die_with_error(EXIT_ENGINE, "cannot read the flags of lo");
  ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
  if (ioctl(fd, SIOCSIFFLAGS, &ifr) < 0)
    die_with_error(EXIT_ENGINE, "cannot bring lo up");
}

static void set_rlimits(const struct spec *spec)
{
  for (size_t i = 0; i < spec->n_rlimits; i++)
    {
      const struct rlimit_spec *r = &spec->rlimits[i];
      struct rlimit limit = { .rlim_cur = r->soft, .rlim_max = r->hard };

      if (setrlimit(r->resource, &limit) < 0)
        die_with_error(EXIT_ENGINE, "cannot set %s to soft %llu, hard %llu%s", r->name,
                       (unsigned long long) r->soft, (unsigned long long) r->hard,
                       errno == EPERM ? " (raising a hard limit needs privileges outside the user namespace)" : "");
    }
}

/* Before exec, so the container's first process (and what it forks)
 * inherits it. Outside the initial user namespace only raising it is
 * allowed (lowering needs CAP_SYS_RESOURCE there): a lower value is
 * refused with EACCES, and the container runs with the current one, as
 * crun does. */
static void set_oom_score_adj(const struct spec *spec)
{
  char value[16];
  int fd, len;

  if (!spec->has_oom_score_adj)
    return;
  len = snprintf(value, sizeof value, "%d", spec->oom_score_adj);
  fd = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
  if (fd < 0)
    die_with_error(EXIT_ENGINE, "cannot open /proc/self/oom_score_adj");
  if (write(fd, value, len) != len)
    {
      if (errno != EACCES && errno != EPERM)
        die_with_error(EXIT_ENGINE, "cannot set the OOM score adjustment to %d", spec->oom_score_adj);
      warn("cannot set the OOM score adjustment to %d: lowering it needs privileges outside the user namespace", spec->oom_score_adj);
    }
  close(fd);
}

static int mkdir_parents(const char *path, mode_t mode)
{
  cleanup_free char *copy = xstrdup(path);

  for (char *p = copy + 1; *p; p++)
    {
      if (*p != '/')
        continue;
      *p = '\0';
      if (mkdir(copy, mode) < 0 && errno != EEXIST)
        return -1;
      *p = '/';
    }
  if (mkdir(copy, mode) < 0 && errno != EEXIST)
    return -1;
  return 0;
}

/* Entered as root of the namespace, before the user switch, so a
 * working directory the user cannot search still works (as in docker).
 * A missing one is created, as docker does for WORKDIR. */
static void enter_cwd(const char *cwd)
{
  if (chdir(cwd) == 0)
    return;
  if (errno != ENOENT || mkdir_parents(cwd, 0755) < 0 || chdir(cwd) < 0)
    die_with_error(EXIT_ENGINE, "cannot enter the working directory %s", cwd);
}

static bool setgroups_denied(void)
{
  cleanup_free char *text = read_file("/proc/self/setgroups", NULL);
  return text == NULL || strncmp(text, "deny", 4) == 0;
}

static void switch_user(const struct spec *spec)
{
  cleanup_free gid_t *groups = xcalloc(spec->n_additional_gids, sizeof *groups);

  for (size_t i = 0; i < spec->n_additional_gids; i++)
    groups[i] = spec->additional_gids[i];

  prepare_caps(&spec->caps);

  /* Groups, then gid, then uid: once the uid is not 0 the process may no
   * longer change the others. setgroups() also drops the caller's own
   * supplementary groups, which would otherwise follow it in (shown as
   * the overflow gid). */
  if (setgroups(spec->n_additional_gids, groups) < 0)
    {
      /* A single-id map is written with setgroups denied for good. */
      if (errno != EPERM || !setgroups_denied())
        die_with_error(EXIT_ENGINE, "cannot set the additional groups");
      if (spec->n_additional_gids > 0)
        warn("additional groups ignored: the user namespace maps a single gid, so setgroups is denied");
    }
  if (setresgid(spec->gid, spec->gid, spec->gid) < 0)
    die_with_error(EXIT_ENGINE, "cannot switch to gid %u (is it mapped in the user namespace?)", spec->gid);
  if (setresuid(spec->uid, spec->uid, spec->uid) < 0)
    die_with_error(EXIT_ENGINE, "cannot switch to uid %u (is it mapped in the user namespace?)", spec->uid);

  apply_caps(&spec->caps);
}

/* Nothing the monitor or ctr had open may leak into the container. */
static void close_inherited_fds(void)
{
  if (syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC) == 0)
    return;
  for (int fd = 3; fd < 65536; fd++)
    {
      int flags = fcntl(fd, F_GETFD);
      if (flags >= 0)
        fcntl(fd, F_SETFD, flags | FD_CLOEXEC);
    }
}

static NORETURN void die_exec(const char *file, int err, bool searched)
{
  switch (err)
    {
    case ENOENT:
    case ENOTDIR:
      if (searched)
        die(EXIT_NOT_FOUND, "exec: \"%s\": executable file not found in $PATH", file);
      die(EXIT_NOT_FOUND, "exec: \"%s\": no such file or directory", file);
    case EACCES:
    case EPERM:
    case EISDIR:
      die(EXIT_CANNOT_EXEC, "exec: \"%s\": permission denied", file);
    case ENOEXEC:
      die(EXIT_CANNOT_EXEC, "exec: \"%s\": exec format error", file);
    case ETXTBSY:
      die(EXIT_CANNOT_EXEC, "exec: \"%s\": %s", file, strerror(err));
    default:
      die(EXIT_ENGINE, "exec: \"%s\": %s", file, strerror(err));
    }
}

void exec_command(char *const argv[], char *const envp[], const char *path)
{
  const char *file = argv[0];
  bool denied = false;

  if (strchr(file, '/'))
    {
      execve(file, argv, envp);
      die_exec(file, errno, false);
    }
  if (path == NULL)
    path = DEFAULT_PATH;
  while (*path)
    {
      const char *end = strchrnul(path, ':');
      size_t dir_len = (size_t) (end - path);
      /* An empty PATH entry means the working directory. */
      cleanup_free char *candidate = dir_len ? xasprintf("%.*s/%s", (int) dir_len, path, file)
                                             : xasprintf("./%s", file);

      execve(candidate, argv, envp);
      switch (errno)
        {
        case EACCES:
          {
            /* Keep looking, as execvp does. Only a file that is there but
             * not executable makes it "permission denied" in the end; a
             * PATH directory we may not search just does not have it. */
            struct stat st;
            if (stat(candidate, &st) == 0 && S_ISREG(st.st_mode))
              denied = true;
            break;
          }
        case ENOENT:
        case ENOTDIR:
        case ELOOP:
        case ENAMETOOLONG:
        case ESTALE:
          break;
        default:
          die_exec(file, errno, true);
        }
      path = *end ? end + 1 : end;
    }
  die_exec(file, denied ? EACCES : ENOENT, true);
}

static const char *env_value(char *const *env, const char *name)
{
  size_t len = strlen(name);

  for (; *env; env++)
    if (strncmp(*env, name, len) == 0 && (*env)[len] == '=')
      return *env + len + 1;
  return NULL;
}

void container_main(const struct container_start *start)
{
  const struct spec *spec = start->spec;

  /* From here on failures go to the monitor, which forwards them; its own
   * die hook (kill the container) must not run in the container. */
  report_to(start->report_fd);
  report_on_die(NULL);
  reset_signals(&start->original_mask);

  /* A session of its own: a terminal's signals (^C) reach the shim, which
   * forwards them once, instead of reaching the container twice. */
  if (setsid() < 0)
    die_with_error(EXIT_ENGINE, "cannot create a session");
  wait_for_id_maps(start->start_fd);

  if (spec->clone_flags & CLONE_NEWUSER)
    become_namespace_root();
  /* If the monitor dies during setup, nobody could report or reap us.
   * Set after the id change above, which would clear it. */
  if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0)
    die_with_error(EXIT_ENGINE, "cannot set the parent-death signal");

  /* Interfaces on ctr's networks: as root of the user namespace that owns
   * both network namespaces, and while the holders' /proc/PID/ns paths
   * are still the host's (before pivot_root). */
  for (size_t i = 0; i < spec->attachments.len; i++)
    net_attach(&spec->attachments.items[i]);

  /* Mount points and the working directory are created with exactly the
   * modes we ask for; the container's umask is set just before exec. */
  umask(0);
  setup_rootfs(spec);

  if (spec->hostname && sethostname(spec->hostname, strlen(spec->hostname)) < 0)
    die_with_error(EXIT_ENGINE, "cannot set the hostname to \"%s\"", spec->hostname);
  if (spec->clone_flags & CLONE_NEWNET)
    bring_up_loopback();
  container_exec_process(start);
}

void container_exec_main(const struct container_start *start)
{
  report_to(start->report_fd);
  report_on_die(NULL);
  reset_signals(&start->original_mask);
  /* Its own session, as the init has: a terminal becomes its controlling
   * one, and the caller's ^C reaches it once, through the monitor. */
  if (setsid() < 0)
    die_with_error(EXIT_ENGINE, "cannot create a session");
  /* Enter the working directory afresh: setns put us at the root. */
  container_exec_process(start);
}

void container_exec_process(const struct container_start *start)
{
  const struct spec *spec = start->spec;

  set_rlimits(spec);
  set_oom_score_adj(spec);
  enter_cwd(spec->cwd);
  /* Opened as root of the namespace, in the container's own devpts. */
  if (start->console_fd >= 0)
    {
      terminal_setup_container(start->console_fd, &start->console_size);
      close(start->console_fd);
    }
  switch_user(spec);
  umask(spec->has_umask ? spec->umask : 022);

  /* Only what the container execs is concerned, so as late as possible. */
  if (spec->no_new_privileges && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
    die_with_error(EXIT_ENGINE, "cannot set no_new_privs");

  close_inherited_fds();
  /* The parent-death signal was for setup only: once exec'd, the
   * container outlives a monitor that is killed. */
  prctl(PR_SET_PDEATHSIG, 0, 0, 0, 0);
  exec_command(spec->args, spec->env, env_value(spec->env, "PATH"));
}
