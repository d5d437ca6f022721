/* train/rundir.c — the run folder of `ssmkit train --checkpoint DIR`: created before any data is loaded
 * (or refused at once), locked for the run with flock(2) on DIR/.lock (the kernel drops the lock when the
 * process ends, whatever the way, so a killed run never leaves the folder locked), guarded against a new
 * run overwriting another run's checkpoint, and cleared of the temporaries an interrupted atomic write
 * leaves (io/atomic.c names them ".<name>.tmp.XXXXXX"). */
#define _POSIX_C_SOURCE 200809L
#include "train/train_impl.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

/* The folder exists (made here if absent and allowed) and is a folder. */
static ssm_status ensure_folder(ssm_train_rundir *d, int resume)
{
    struct stat sb;
    if (stat(d->dir, &sb) == 0) {
        if (!S_ISDIR(sb.st_mode))
            return SSM_ERROR(SSM_EINVAL, "--checkpoint '%s' is not a folder", d->dir);
        return SSM_OK;
    }
    if (errno != ENOENT || resume)
        return SSM_ERROR(SSM_EINVAL, "--checkpoint '%s': %s%s", d->dir, strerror(errno),
                         resume ? " (--resume continues a run from its folder)" : "");
    if (mkdir(d->dir, 0777) != 0)
        return SSM_ERROR(SSM_EINVAL, "cannot create the checkpoint folder '%s': %s", d->dir, strerror(errno));
    d->created = 1;
    return SSM_OK;
}

/* Take DIR/.lock (creating it also proves the folder takes files) and write our pid into it. */
static ssm_status take_lock(ssm_train_rundir *d)
{
    char path[1100];
    snprintf(path, sizeof path, "%s/.lock", d->dir);
    d->fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0666);
    if (d->fd < 0)
        return SSM_ERROR(SSM_EINVAL, "cannot write in the checkpoint folder '%s': %s", d->dir, strerror(errno));
    if (flock(d->fd, LOCK_EX | LOCK_NB) != 0) {
        int e = errno;
        char pid[32] = "";
        ssize_t r = pread(d->fd, pid, sizeof pid - 1, 0);
        pid[r > 0 ? r : 0] = '\0';
        pid[strcspn(pid, "\n")] = '\0';
        close(d->fd);
        d->fd = -1;
        if (e == EWOULDBLOCK)
            return SSM_ERROR(SSM_EINVAL, "the checkpoint folder '%s' is in use by another training run%s%s%s; wait "
                                         "for it to end or choose another folder", d->dir, *pid ? " (pid " : "", pid,
                             *pid ? ")" : "");
        return SSM_ERROR(SSM_EINVAL, "cannot lock '%s': %s", path, strerror(e));
    }
    char pid[32];
    int n = snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
    if (ftruncate(d->fd, 0) != 0 || pwrite(d->fd, pid, (size_t)n, 0) != n)
        return SSM_ERROR(SSM_EINVAL, "cannot write in the checkpoint folder '%s': %s", d->dir, strerror(errno));
    return SSM_OK;
}

/* A new run into a folder that holds a checkpoint: refused, or (force) the old checkpoint and log go. */
static ssm_status claim(ssm_train_rundir *d, int force)
{
    char ck[1100], log[1100];
    snprintf(ck, sizeof ck, "%s/ckpt.bin", d->dir);
    snprintf(log, sizeof log, "%s/log.tsv", d->dir);
    struct stat sb;
    if (lstat(ck, &sb) != 0)
        return SSM_OK;
    if (force) {
        if ((unlink(ck) != 0 && errno != ENOENT) || (unlink(log) != 0 && errno != ENOENT))
            return SSM_ERROR(SSM_EINVAL, "--force: cannot remove the old run from '%s': %s", d->dir, strerror(errno));
        return SSM_OK;
    }
    ssm_train_config c;
    uint64_t step, total;
    char what[200] = "";
    if (ssm_train_checkpoint_peek(&c, &step, &total, ck) == SSM_OK)
        snprintf(what, sizeof what, " (%s, init %.60s, step %llu of %llu)", ssm_train_task_name(c.task), c.init,
                 (unsigned long long)step, (unsigned long long)total);
    ssm_error_clear();
    return SSM_ERROR(SSM_EINVAL, "'%s' holds the checkpoint of another run%s: --resume to continue it, --force to "
                                 "replace it, or another --checkpoint folder", d->dir, what);
}

/* Remove DIR/.ckpt.bin.tmp.* and DIR/.log.tsv.tmp.*: only an interrupted writer leaves them, and the lock
 * says no writer is left. */
static void remove_stale(const ssm_train_rundir *d)
{
    DIR *dp = opendir(d->dir);
    if (!dp)
        return;
    struct dirent *e;
    while ((e = readdir(dp)) != NULL) {
        if (strncmp(e->d_name, ".ckpt.bin.tmp.", 14) != 0 && strncmp(e->d_name, ".log.tsv.tmp.", 13) != 0)
            continue;
        char path[1400];
        snprintf(path, sizeof path, "%s/%s", d->dir, e->d_name);
        (void)unlink(path);
    }
    closedir(dp);
}

ssm_status ssm_train_rundir_open(ssm_train_rundir *d, const char *ckpt_dir, int resume, int force)
{
    memset(d, 0, sizeof *d);
    d->fd = -1;
    if (strlen(ckpt_dir) >= sizeof d->dir)
        return SSM_ERROR(SSM_EINVAL, "--checkpoint path is too long");
    snprintf(d->dir, sizeof d->dir, "%s", ckpt_dir);
    ssm_status s = ensure_folder(d, resume);
    if (s == SSM_OK)
        s = take_lock(d);
    if (s == SSM_OK && !resume)
        s = claim(d, force);
    if (s == SSM_OK)
        remove_stale(d);
    if (s != SSM_OK)
        ssm_train_rundir_close(d, 0);
    return s;
}

void ssm_train_rundir_close(ssm_train_rundir *d, int wrote)
{
    /* made and locked by us, and nothing of the run in it: leave no trace (never without the lock: the
     * folder could be another run's by now) */
    if (d->fd >= 0 && d->created && !wrote) {
        char path[1100];
        snprintf(path, sizeof path, "%s/.lock", d->dir);
        (void)unlink(path);
        (void)rmdir(d->dir);
    }
    if (d->fd >= 0)
        close(d->fd);
    d->fd = -1;
}
