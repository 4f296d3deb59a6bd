/*
 * A command run in an image's tree under bwrap(1), with a timeout (sandbox.h).
 */
#include "sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "base/xalloc.h"

extern char **environ;

struct argv {
    char **v;
    size_t n, cap;
};

static void
add(struct argv *a, const char *s)
{
    if (a->n + 2 > a->cap) {
        a->cap = a->cap != 0 ? 2 * a->cap : 64;
        a->v = xreallocarray(a->v, a->cap, sizeof(*a->v));
    }
    a->v[a->n++] = xstrdup(s);
    a->v[a->n] = NULL;
}

static void
argv_release(struct argv *a)
{
    for (size_t i = 0; i < a->n; i++)
        free(a->v[i]);
    free(a->v);
}

/* bwrap's command line for cmd in tree dir. */
static void
bwrap_argv(const char *dir, const struct sandbox_command *cmd, struct argv *a)
{
    char id[16];

    add(a, "bwrap");
    add(a, "--unshare-user");
    add(a, "--unshare-ipc");
    add(a, "--unshare-pid");
    add(a, "--unshare-uts");
    add(a, "--unshare-cgroup-try");
    if (!cmd->network)
        add(a, "--unshare-net");
    add(a, "--die-with-parent");
    add(a, "--new-session"); /* no TIOCSTI into the terminal temper runs in */
    add(a, "--ro-bind");
    add(a, dir);
    add(a, "/");
    add(a, "--proc");
    add(a, "/proc");
    add(a, "--dev");
    add(a, "/dev");
    add(a, "--tmpfs");
    add(a, "/tmp");
    if (cmd->emulator != NULL) {
        add(a, "--ro-bind");
        add(a, cmd->emulator);
        add(a, SANDBOX_EMULATOR);
    }
    snprintf(id, sizeof(id), "%u", (unsigned)cmd->uid);
    add(a, "--uid");
    add(a, id);
    snprintf(id, sizeof(id), "%u", (unsigned)cmd->gid);
    add(a, "--gid");
    add(a, id);
    add(a, "--chdir");
    add(a, cmd->work_dir != NULL ? cmd->work_dir : "/");
    add(a, "--clearenv");
    for (size_t i = 0; cmd->env != NULL && cmd->env[i] != NULL; i++) {
        const char *eq = strchr(cmd->env[i], '=');
        char *key;

        if (eq == NULL || eq == cmd->env[i])
            continue; /* not KEY=VALUE: nothing a runtime would set either */
        key = xstrndup(cmd->env[i], (size_t)(eq - cmd->env[i]));
        add(a, "--setenv");
        add(a, key);
        add(a, eq + 1);
        free(key);
    }
    add(a, "--");
    if (cmd->emulator != NULL)
        add(a, SANDBOX_EMULATOR);
    for (size_t i = 0; cmd->argv[i] != NULL; i++)
        add(a, cmd->argv[i]);
}

static int64_t
now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits for pid, at most timeout_s seconds (0: for ever); true when it had to be killed. */
static bool
wait_for(pid_t pid, unsigned timeout_s, int *status)
{
    int pidfd = timeout_s != 0 ? (int)syscall(SYS_pidfd_open, pid, 0) : -1;
    int64_t deadline = now_ms() + (int64_t)timeout_s * 1000;
    bool killed = false;

    while (pidfd >= 0) {
        struct pollfd p = {.fd = pidfd, .events = POLLIN};
        int64_t left = deadline - now_ms();
        int n = left > 0 ? poll(&p, 1, (int)(left > 60000 ? 60000 : left)) : 0;

        if (n > 0 || (n < 0 && errno != EINTR))
            break;
        if (n == 0 && now_ms() >= deadline) {
            /* bwrap's --die-with-parent takes every process of the sandbox with it */
            kill(pid, SIGKILL);
            killed = true;
            break;
        }
    }
    if (pidfd >= 0)
        close(pidfd);
    while (waitpid(pid, status, 0) < 0 && errno == EINTR)
        ;
    return killed;
}

int
sandbox_run(const struct sandbox_tree *t, const struct sandbox_command *cmd,
            struct sandbox_result *out, struct temper_err *err)
{
    struct argv a = {0};
    posix_spawn_file_actions_t fa;
    pid_t pid;
    int rc, status = 0;

    /* the emulator's mount point: the root is bound read-only, so it is made in the tree */
    if (cmd->emulator != NULL) {
        cleanup_free char *point = xasprintf("%s%s", sandbox_tree_dir(t), SANDBOX_EMULATOR);
        int fd = open(point, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0755);

        if (fd < 0)
            return temper_err_sys(err, TEMPER_E_IO, errno, "cannot make '%s'", point);
        close(fd);
    }
    bwrap_argv(sandbox_tree_dir(t), cmd, &a);
    posix_spawn_file_actions_init(&fa);
    if (cmd->out_fd >= 0)
        posix_spawn_file_actions_adddup2(&fa, cmd->out_fd, STDOUT_FILENO);
    if (cmd->err_fd >= 0)
        posix_spawn_file_actions_adddup2(&fa, cmd->err_fd, STDERR_FILENO);
    rc = posix_spawn(&pid, SANDBOX_BWRAP, &fa, NULL, a.v, environ);
    posix_spawn_file_actions_destroy(&fa);
    argv_release(&a);
    if (rc != 0)
        return temper_err_sys(err, TEMPER_E_MISSING, rc,
                              "cannot start %s, which runs the image's commands in a "
                              "sandbox: install bubblewrap (apt-get install bubblewrap)",
                              SANDBOX_BWRAP);
    *out = (struct sandbox_result){0};
    out->timed_out = wait_for(pid, cmd->timeout_s, &status);
    out->exit_status = WIFEXITED(status)     ? WEXITSTATUS(status)
                       : WIFSIGNALED(status) ? 128 + WTERMSIG(status)
                                             : 255;
    return 0;
}
