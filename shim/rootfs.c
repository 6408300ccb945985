/*
 * rootfs.c: the container's filesystem tree.
 *
 * Runs in the container's own mount namespace, as root of its user
 * namespace (when there is one). Mount points inside the image are
 * resolved with openat2(RESOLVE_IN_ROOT) and mounted on through
 * /proc/self/fd, so a symlink in an image (/dev -> /) can never lead a
 * mount, or the creation of a missing mount point, out of the rootfs.
 */
#include "rootfs.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/vfs.h>
#include <sys/wait.h>

#include "util.h"

/* The new mount API (Linux 5.2), for overlay lower lists longer than the
 * one page that mount(2) copies. Not in musl's headers. */
#define FSOPEN_CLOEXEC 0x00000001
#define FSCONFIG_SET_FLAG 0
#define FSCONFIG_SET_STRING 1
#define FSCONFIG_CMD_CREATE 6
#define FSMOUNT_CLOEXEC 0x00000001
#define MOVE_MOUNT_F_EMPTY_PATH 0x00000004

#define FUSE_SUPER_MAGIC 0x65735546

/* statvfs() reports per-mount flags as ST_*, which share their values with
 * the MS_* flags mount(2) takes (ST_RDONLY == MS_RDONLY, …). */
#define LOCKED_FLAGS (MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC)
#define ATIME_FLAGS (MS_NOATIME | MS_NODIRATIME | MS_RELATIME | MS_STRICTATIME)

struct fd_path
{
  char path[32];
};

static struct fd_path path_of_fd(int fd)
{
  struct fd_path p;
  snprintf(p.path, sizeof p.path, "/proc/self/fd/%d", fd);
  return p;
}

/* An fd for path, resolved as if rootfd were "/": absolute symlinks and
 * ".." stay inside the image. */
static int open_in_root(int rootfd, const char *path, int flags)
{
  static bool no_openat2;
  struct open_how how = { .flags = (uint64_t) (flags | O_CLOEXEC), .resolve = RESOLVE_IN_ROOT };

  if (!no_openat2)
    {
      int fd = (int) syscall(SYS_openat2, rootfd, path, &how, sizeof how);
      if (fd >= 0 || errno != ENOSYS)
        return fd;
      no_openat2 = true;
    }
  /* Kernels before 5.6: resolve lexically below the root. An image's
   * absolute symlink can then lead out of it, with the caller's own
   * rights; such kernels lack rootless overlayfs too, so are rare here. */
  while (*path == '/')
    path++;
  return openat(rootfd, *path ? path : ".", flags | O_CLOEXEC);
}

/* Symlinks followed while creating one mount point, as the kernel's
 * own limit for a path lookup. */
#define MAX_SYMLINKS 40

static int create_in_root(int rootfd, const char *path, bool as_file, int depth);

/* O_PATH fd of path inside the root, creating it and its parents when
 * missing: a directory, or an empty regular file to mount a file on. A
 * dangling symlink on the way (/var/run -> /run, no /run) gets its target
 * created, inside the root. */
static int open_or_create_in_root(int rootfd, const char *path, bool as_file, int depth)
{
  int fd = open_in_root(rootfd, path, O_PATH);

  if (fd >= 0 || errno != ENOENT)
    return fd;
  if (depth > MAX_SYMLINKS)
    {
      errno = ELOOP;
      return -1;
    }
  if (create_in_root(rootfd, path, as_file, depth) < 0)
    return -1;
  return open_in_root(rootfd, path, O_PATH);
}

static int create_in_root(int rootfd, const char *path, bool as_file, int depth)
{
  cleanup_free char *parent = xstrdup(path);
  cleanup_fd int parent_fd = -1;
  char *slash, *leaf;
  char link[PATH_MAX];
  ssize_t link_len;

  for (size_t len = strlen(parent); len > 1 && parent[len - 1] == '/'; len--)
    parent[len - 1] = '\0';
  slash = strrchr(parent, '/');
  if (slash == NULL)
    {
      errno = EINVAL;
      return -1;
    }
  leaf = slash + 1;
  if (leaf[0] == '\0' || strcmp(leaf, ".") == 0 || strcmp(leaf, "..") == 0)
    {
      errno = EINVAL;
      return -1;
    }
  *slash = '\0';

  parent_fd = open_or_create_in_root(rootfd, parent[0] ? parent : "/", false, depth);
  if (parent_fd < 0)
    return -1;
  if (as_file)
    {
      /* O_EXCL: never follow a dangling symlink out of the image. */
      int f = openat(parent_fd, leaf, O_WRONLY | O_CREAT | O_EXCL | O_NOCTTY | O_CLOEXEC, 0644);
      if (f >= 0)
        {
          close(f);
          return 0;
        }
    }
  else if (mkdirat(parent_fd, leaf, 0755) == 0)
    return 0;
  if (errno != EEXIST)
    return -1;

  /* Something is there yet the path does not resolve: a dangling
   * symlink. Create its target, resolved within the root. */
  link_len = readlinkat(parent_fd, leaf, link, sizeof link - 1);
  if (link_len < 0)
    return errno == EINVAL ? 0 : -1; /* not a symlink: created meanwhile */
  link[link_len] = '\0';
  {
    cleanup_free char *target = link[0] == '/' ? xstrdup(link) : xasprintf("%s/%s", parent, link);
    cleanup_fd int fd = open_or_create_in_root(rootfd, target, as_file, depth + 1);
    return fd < 0 ? -1 : 0;
  }
}

/* Remount a bind mount with new per-mount flags. In a user namespace the
 * kernel locks the flags a mount had when it came from a more privileged
 * namespace (nosuid, nodev, noexec, ro and the atime mode: MNT_LOCK_*) and
 * fails with EPERM a remount that would clear them, so read them back and
 * keep them. */
static void remount_bind(const char *target, const char *what, unsigned long flags, bool explicit_atime)
{
  struct statvfs sv;
  unsigned long current, want;

  if (statvfs(target, &sv) < 0)
    die_with_error(EXIT_ENGINE, "cannot read the mount flags of %s", what);
  current = sv.f_flag;
  want = MS_REMOUNT | MS_BIND | flags | (current & LOCKED_FLAGS);
  if (!explicit_atime)
    want |= current & ATIME_FLAGS;
  if (mount(NULL, target, NULL, want, NULL) == 0)
    return;
  if (errno == EPERM && explicit_atime)
    {
      /* The requested atime mode differs from a locked one: keep the
       * locked one rather than failing the container. */
      want = (want & ~ATIME_FLAGS) | (current & ATIME_FLAGS);
      if (mount(NULL, target, NULL, want, NULL) == 0)
        return;
    }
  die_with_mount_error("cannot remount %s with its options", what);
}

/* After mounting on /proc/self/fd/N, fd N still names the directory
 * underneath; remounts and propagation changes must address the new mount,
 * so look the path up again. */
static int reopen_target(int rootfd, int fd, const char *destination)
{
  close(fd);
  fd = open_in_root(rootfd, destination, O_PATH);
  if (fd < 0)
    die_with_error(EXIT_ENGINE, "cannot open %s after mounting it", destination);
  return fd;
}

/* Data for devpts without "gid=…": the tty group (5) is often unmapped in
 * a user namespace, and devpts refuses an unmapped gid with EINVAL. */
static char *without_gid_option(const char *data)
{
  char *out = xmalloc(strlen(data) + 1), *o = out;
  const char *p = data;

  while (*p)
    {
      const char *end = strchrnul(p, ',');
      if (strncmp(p, "gid=", 4) != 0)
        {
          if (o != out)
            *o++ = ',';
          memcpy(o, p, (size_t) (end - p));
          o += end - p;
        }
      p = *end ? end + 1 : end;
    }
  *o = '\0';
  return out;
}

static bool is_directory(const char *path)
{
  struct stat st;
  return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static void mount_entry(int rootfd, const struct mount_spec *m)
{
  cleanup_fd int fd = -1;
  bool source_is_dir = true;
  bool remount = false;
  unsigned long remount_flags = m->flags;
  struct fd_path target;

  if (m->bind)
    {
      struct stat st;
      if (stat(m->source, &st) < 0)
        die_with_error(EXIT_ENGINE, "cannot bind mount %s on %s", m->source, m->destination);
      source_is_dir = S_ISDIR(st.st_mode);
    }
  fd = open_or_create_in_root(rootfd, m->destination, !source_is_dir, 0);
  if (fd < 0)
    die_with_error(EXIT_ENGINE, "cannot create the mount point %s", m->destination);
  target = path_of_fd(fd);

  if (m->bind)
    {
      if (mount(m->source, target.path, NULL, MS_BIND | (m->recursive ? MS_REC : 0), NULL) < 0)
        die_with_mount_error("cannot bind mount %s on %s", m->source, m->destination);
      /* A bind mount ignores every flag but MS_REC; ro, nosuid, … take a
       * remount. */
      remount = m->flags != 0;
    }
  else if (mount(m->source, target.path, m->type, m->flags, m->data) < 0)
    {
      int err = errno;

      if (strcmp(m->type, "sysfs") == 0)
        {
          /* A user namespace may mount sysfs only if it also owns the
           * network namespace; with the host's network, show the host's
           * /sys, read-only. */
          if (mount("/sys", target.path, NULL, MS_BIND | MS_REC, NULL) < 0)
            die_with_mount_error("cannot mount sysfs on %s (nor bind /sys there)", m->destination);
          remount = true;
          remount_flags |= MS_RDONLY;
        }
      else if (strcmp(m->type, "mqueue") == 0 && err == EPERM)
        {
          /* Same for mqueue without an ipc namespace of our own: show the
           * host's, or go without (few programs use POSIX queues). */
          if (!is_directory("/dev/mqueue"))
            {
              warn("%s left empty: mqueue needs an ipc namespace, and the host has no /dev/mqueue to share",
                   m->destination);
              return;
            }
          if (mount("/dev/mqueue", target.path, NULL, MS_BIND | MS_REC, NULL) < 0)
            die_with_mount_error("cannot mount mqueue on %s (nor bind /dev/mqueue there)", m->destination);
          remount = m->flags != 0;
        }
      else if (strcmp(m->type, "devpts") == 0 && err == EINVAL && m->data && strstr(m->data, "gid="))
        {
          cleanup_free char *data = without_gid_option(m->data);
          if (mount(m->source, target.path, m->type, m->flags, data) < 0)
            die_with_mount_error("cannot mount devpts on %s", m->destination);
        }
      else
        {
          errno = err;
          die_with_mount_error("cannot mount %s on %s", m->type, m->destination);
        }
    }

  if (remount || m->propagation)
    {
      fd = reopen_target(rootfd, fd, m->destination);
      target = path_of_fd(fd);
    }
  if (remount)
    remount_bind(target.path, m->destination, remount_flags, m->has_atime_option);
  if (m->propagation && mount(NULL, target.path, NULL, m->propagation, NULL) < 0)
    die_with_mount_error("cannot set the propagation of %s", m->destination);
}

/* overlayfs through fsopen/fsconfig: one "lowerdir+" per layer, so a deep
 * image is not limited by the one page of options mount(2) copies, and a
 * failure names the directory the kernel refused. 1 when the kernel lacks
 * this interface for overlayfs (before Linux 6.8), else 0 or -1 with
 * errno and the failed step in why. */
static int mount_overlay_fsconfig(const struct spec *spec, char *why, size_t why_size)
{
  cleanup_fd int fs = (int) syscall(SYS_fsopen, "overlay", FSOPEN_CLOEXEC);
  cleanup_fd int mnt = -1;
  const char *p = spec->overlay_lower;
  bool first = true;

  if (fs < 0)
    return 1;
  /* What mountinfo and df show as the device, as with mount(2). */
  if (syscall(SYS_fsconfig, fs, FSCONFIG_SET_STRING, "source", "overlay", 0) < 0)
    return 1;
  while (*p)
    {
      const char *end = strchrnul(p, ':');
      cleanup_free char *layer = xstrndup(p, (size_t) (end - p));
      if (syscall(SYS_fsconfig, fs, FSCONFIG_SET_STRING, "lowerdir+", layer, 0) < 0)
        {
          if (first && errno == EINVAL)
            return 1;
          snprintf(why, why_size, "lower layer %s", layer);
          return -1;
        }
      first = false;
      p = *end ? end + 1 : end;
    }
  if (syscall(SYS_fsconfig, fs, FSCONFIG_SET_STRING, "upperdir", spec->overlay_upper, 0) < 0)
    {
      snprintf(why, why_size, "upperdir %s", spec->overlay_upper);
      return -1;
    }
  if (syscall(SYS_fsconfig, fs, FSCONFIG_SET_STRING, "workdir", spec->overlay_work, 0) < 0)
    {
      snprintf(why, why_size, "workdir %s", spec->overlay_work);
      return -1;
    }
  if (syscall(SYS_fsconfig, fs, FSCONFIG_SET_FLAG, "userxattr", NULL, 0) < 0 ||
      syscall(SYS_fsconfig, fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
    return -1;
  mnt = (int) syscall(SYS_fsmount, fs, FSMOUNT_CLOEXEC, 0);
  if (mnt < 0)
    return -1;
  if (syscall(SYS_move_mount, mnt, "", AT_FDCWD, spec->root_path, MOVE_MOUNT_F_EMPTY_PATH) < 0)
    return -1;
  return 0;
}

/* Native overlayfs; -1 with errno (and the failed step in why, when
 * known) on failure. "userxattr" keeps overlay's own metadata in
 * user.overlay.* xattrs, the only ones an unprivileged user namespace may
 * write (Linux 5.11). */
static int mount_overlay_native(const struct spec *spec, char *why, size_t why_size)
{
  cleanup_free char *data = NULL;
  long page = sysconf(_SC_PAGESIZE);
  int r;

  why[0] = '\0';
  r = mount_overlay_fsconfig(spec, why, why_size);
  if (r <= 0)
    return r;
  data = xasprintf("lowerdir=%s,upperdir=%s,workdir=%s,userxattr", spec->overlay_lower, spec->overlay_upper,
                   spec->overlay_work);
  if ((long) strlen(data) >= (page > 0 ? page : 4096))
    {
      snprintf(why, why_size, "too many layers for this kernel's overlayfs options (Linux 6.8 lifts the limit)");
      errno = E2BIG;
      return -1;
    }
  return mount("overlay", spec->root_path, "overlay", 0, data);
}

static void mount_overlay_fuse(const struct spec *spec)
{
  static const char *const no_extra_dirs[] = { NULL };
  cleanup_free char *program = find_program("fuse-overlayfs", getenv("PATH"), no_extra_dirs);
  cleanup_free char *options = NULL;
  cleanup_free char *output = NULL;
  cleanup_fd int out_r = -1;
  int pipefd[2], status;
  struct statfs sfs;
  pid_t pid;

  if (program == NULL)
    die(EXIT_ENGINE, "fuse-overlayfs not found in PATH: install fuse-overlayfs, or use a kernel whose overlayfs "
                     "works in a user namespace (5.11 or later)");
  options = xasprintf("lowerdir=%s,upperdir=%s,workdir=%s", spec->overlay_lower, spec->overlay_upper,
                      spec->overlay_work);
  if (pipe2(pipefd, O_CLOEXEC) < 0)
    die_with_error(EXIT_ENGINE, "cannot create a pipe for fuse-overlayfs");
  out_r = pipefd[0];
  pid = fork();
  if (pid < 0)
    die_with_error(EXIT_ENGINE, "cannot fork fuse-overlayfs");
  if (pid == 0)
    {
      int null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
      if (null_fd >= 0)
        dup2(null_fd, STDIN_FILENO);
      /* Not the container's stdout/stderr: the daemon must not hold the
       * caller's pipes open after the container ends. */
      dup2(pipefd[1], STDOUT_FILENO);
      dup2(pipefd[1], STDERR_FILENO);
      execl(program, "fuse-overlayfs", "-o", options, spec->root_path, (char *) NULL);
      dprintf(STDERR_FILENO, "cannot execute %s: %s", program, strerror(errno));
      _exit(127);
    }
  close(pipefd[1]);
  /* fuse-overlayfs returns once the mount is up and its daemon (a child
   * of ours, in the container's pid namespace, so it dies with the
   * container) serves it. */
  while (waitpid(pid, &status, 0) < 0)
    if (errno != EINTR)
      die_with_error(EXIT_ENGINE, "cannot wait for fuse-overlayfs");
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    {
      output = read_child_output(out_r, 512);
      die(EXIT_ENGINE, "fuse-overlayfs failed to mount %s: %s", spec->root_path,
          output[0] ? output : "no error message");
    }
  if (statfs(spec->root_path, &sfs) < 0 || sfs.f_type != FUSE_SUPER_MAGIC)
    die(EXIT_ENGINE, "fuse-overlayfs exited without mounting %s", spec->root_path);

  /* The daemon lives in this mount namespace with "/" as its root and
   * cwd; pivot_root would move both onto its own filesystem, where every
   * path it looks up would go through itself. Give the container a mount
   * namespace of its own (a private copy, as "/" is private by now) and
   * leave the daemon's as it is. */
  if (unshare(CLONE_NEWNS) < 0)
    die_with_error(EXIT_ENGINE, "cannot create a mount namespace apart from fuse-overlayfs");
}

static void mount_rootfs(const struct spec *spec)
{
  char why[256];

  switch (spec->overlay)
    {
    case OVERLAY_NONE:
      /* pivot_root needs the new root to be a mount point. */
      if (mount(spec->root_path, spec->root_path, NULL, MS_BIND | MS_REC, NULL) < 0)
        die_with_mount_error("cannot bind mount the rootfs %s on itself", spec->root_path);
      return;
    case OVERLAY_NATIVE:
      if (mount_overlay_native(spec, why, sizeof why) < 0)
        die(EXIT_ENGINE, "cannot mount overlayfs on %s: %s%s%s", spec->root_path, why, why[0] ? ": " : "",
            mount_strerror(errno));
      return;
    case OVERLAY_AUTO:
      if (mount_overlay_native(spec, why, sizeof why) == 0)
        return;
      warn("native overlayfs failed on %s (%s%s%s), falling back to fuse-overlayfs", spec->root_path, why,
           why[0] ? ": " : "", mount_strerror(errno));
      mount_overlay_fuse(spec);
      return;
    case OVERLAY_FUSE:
      mount_overlay_fuse(spec);
      return;
    }
}

static void pivot_into(const char *root)
{
  if (chdir(root) < 0)
    die_with_error(EXIT_ENGINE, "cannot enter the rootfs %s", root);
  /* pivot_root(".", ".") stacks the old root on top of the new one, so no
   * put_old directory has to exist (or be writable) in the image. */
  if (syscall(SYS_pivot_root, ".", ".") < 0)
    die_with_error(EXIT_ENGINE, "cannot pivot_root into %s", root);
  /* Detach the old root, now mounted over ".": nothing in the container
   * may reach the caller's tree through it. It is private (see
   * make_root_private), so this does not propagate. */
  if (umount2(".", MNT_DETACH) < 0)
    die_with_error(EXIT_ENGINE, "cannot detach the old root");
  if (chdir("/") < 0)
    die_with_error(EXIT_ENGINE, "cannot enter the new root");
}

static void make_root_private(const struct spec *spec)
{
  unsigned long flags = MS_REC | MS_PRIVATE;

  /* Our mounts must not propagate back into the caller's namespace (the
   * kernel already turns shared mounts into slaves for a less privileged
   * namespace, but a root caller has no such guard), and the caller's
   * later mounts must not appear in the container unless it asks for
   * slave propagation. */
  if (spec->rootfs_propagation & MS_SLAVE)
    flags = MS_REC | MS_SLAVE;
  if (mount(NULL, "/", NULL, flags, NULL) < 0)
    die_with_mount_error("cannot make the mount tree private");
}

static void create_dev_symlinks(void)
{
  static const struct
  {
    const char *target;
    const char *path;
  } links[] = {
    { "/proc/self/fd", "/dev/fd" },
    { "/proc/self/fd/0", "/dev/stdin" },
    { "/proc/self/fd/1", "/dev/stdout" },
    { "/proc/self/fd/2", "/dev/stderr" },
    /* The devpts instance mounted with newinstance has its own ptmx. */
    { "pts/ptmx", "/dev/ptmx" },
  };

  if (!is_directory("/dev"))
    return;
  for (size_t i = 0; i < sizeof links / sizeof links[0]; i++)
    if (symlink(links[i].target, links[i].path) < 0 && errno != EEXIST && errno != EROFS)
      die_with_error(EXIT_ENGINE, "cannot create %s", links[i].path);
}

static void mask_path(const char *path)
{
  struct stat st;

  if (lstat(path, &st) < 0)
    {
      if (errno == ENOENT || errno == ENOTDIR)
        return;
      die_with_error(EXIT_ENGINE, "cannot mask %s", path);
    }
  if (S_ISDIR(st.st_mode))
    {
      if (mount("tmpfs", path, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
        die_with_mount_error("cannot mask %s", path);
    }
  else if (mount("/dev/null", path, NULL, MS_BIND, NULL) < 0)
    die_with_mount_error("cannot mask %s with /dev/null", path);
}

static void make_path_readonly(const char *path)
{
  struct stat st;

  if (lstat(path, &st) < 0)
    {
      if (errno == ENOENT || errno == ENOTDIR)
        return;
      die_with_error(EXIT_ENGINE, "cannot make %s read-only", path);
    }
  if (mount(path, path, NULL, MS_BIND | MS_REC, NULL) < 0)
    die_with_mount_error("cannot make %s read-only", path);
  remount_bind(path, path, MS_RDONLY, false);
}

void setup_rootfs(const struct spec *spec)
{
  cleanup_fd int rootfd = -1;

  make_root_private(spec);
  mount_rootfs(spec);

  /* Opened only now: after a fuse-overlayfs mount we are in a new mount
   * namespace, and mounts must target this namespace's copy. */
  rootfd = open(spec->root_path, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (rootfd < 0)
    die_with_error(EXIT_ENGINE, "cannot open the rootfs %s", spec->root_path);
  for (size_t i = 0; i < spec->n_mounts; i++)
    mount_entry(rootfd, &spec->mounts[i]);

  pivot_into(spec->root_path);

  create_dev_symlinks();
  for (size_t i = 0; i < spec->n_masked_paths; i++)
    mask_path(spec->masked_paths[i]);
  for (size_t i = 0; i < spec->n_readonly_paths; i++)
    make_path_readonly(spec->readonly_paths[i]);
  if (spec->root_readonly)
    remount_bind("/", "the rootfs", MS_RDONLY, false);
  /* Shared or unbindable root, if asked for; private and slave were set
   * before anything was mounted. */
  if (spec->rootfs_propagation && mount(NULL, "/", NULL, spec->rootfs_propagation, NULL) < 0)
    die_with_mount_error("cannot set the rootfs propagation");
}
