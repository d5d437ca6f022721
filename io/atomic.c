/* io/atomic.c — every writer goes through here: temp file beside the
 * destination, fsync, rename, fsync of the folder.  A failure at any step
 * leaves the destination untouched and no temporary file behind.  A write
 * that the system refuses (disk full, quota, file-size limit) is SSM_EWRITE
 * with the system's reason ("No space left on device"); a destination that
 * cannot take a file at all (missing folder, no permission, not a regular
 * file) is SSM_EIO. */
#define _POSIX_C_SOURCE 200809L
#include "io/io.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* errno values that mean "the system refused the data", not "wrong destination" */
static int write_refused(int e)
{
    return e == ENOSPC || e == EDQUOT || e == EFBIG || e == EIO;
}

struct ssm_atomic {
    FILE *fp;
    char *tmp;
    char *path;
    char *dir;
};

static void atomic_free(ssm_atomic *a)
{
    free(a->tmp);
    free(a->path);
    free(a->dir);
    free(a);
}

ssm_status ssm_atomic_open(ssm_atomic **out, FILE **fp, const char *path)
{
    *out = NULL;
    *fp = NULL;
    if (!path || !*path)
        return SSM_ERROR(SSM_EINVAL, "empty output path");
    ssm_atomic *a = calloc(1, sizeof *a);
    char *d1 = strdup(path), *d2 = strdup(path);
    if (!a || !d1 || !d2) {
        free(a);
        free(d1);
        free(d2);
        return SSM_ERROR(SSM_ENOMEM, "out of memory");
    }
    const char *dir = dirname(d1), *base = basename(d2);
    struct stat st;
    if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
        /* a device, FIFO or socket would be replaced by the rename, not written to */
        free(a); free(d1); free(d2);
        return SSM_ERROR(SSM_EIO, "cannot write '%s': %s", path,
                         S_ISDIR(st.st_mode) ? "it is a directory" : "not a regular file (ssmkit replaces outputs)");
    }
    size_t len = strlen(dir) + strlen(base) + 16;
    a->tmp = malloc(len);
    a->path = strdup(path);
    a->dir = strdup(dir);
    if (!a->tmp || !a->path || !a->dir) {
        free(d1); free(d2);
        atomic_free(a);
        return SSM_ERROR(SSM_ENOMEM, "out of memory");
    }
    snprintf(a->tmp, len, "%s/.%s.tmp.XXXXXX", dir, base);
    free(d1);
    free(d2);
    int fd = mkstemp(a->tmp);
    if (fd < 0) {
        int e = errno;
        ssm_status s = SSM_ERROR(write_refused(e) ? SSM_EWRITE : SSM_EIO, "cannot create '%s': %s", path, strerror(e));
        atomic_free(a);
        return s;
    }
    /* mkstemp creates 0600; give the file the usual permissions (umask applies) */
    mode_t um = umask(0);
    umask(um);
    (void)fchmod(fd, 0666 & ~um);
    a->fp = fdopen(fd, "wb");
    if (!a->fp) {
        int e = errno;
        close(fd);
        unlink(a->tmp);
        ssm_status s = SSM_ERROR(SSM_EIO, "cannot open '%s': %s", a->tmp, strerror(e));
        atomic_free(a);
        return s;
    }
    *out = a;
    *fp = a->fp;
    return SSM_OK;
}

void ssm_atomic_abort(ssm_atomic *a)
{
    if (!a)
        return;
    if (a->fp)
        fclose(a->fp);
    unlink(a->tmp);
    atomic_free(a);
}

ssm_status ssm_atomic_fail(ssm_atomic *a, const char *what)
{
    int e = errno ? errno : EIO; /* the failed write's reason, before fclose and unlink touch errno */
    ssm_status s;
    if (a)
        s = SSM_ERROR(SSM_EWRITE, "cannot write %s'%s': %s", what ? what : "", a->path, strerror(e));
    else
        s = SSM_ERROR(SSM_EWRITE, "cannot write %sto the output stream: %s", what ? what : "", strerror(e));
    ssm_atomic_abort(a);
    return s;
}

ssm_status ssm_atomic_commit(ssm_atomic *a)
{
    if (!a)
        return SSM_ERROR(SSM_EINVAL, "commit of a NULL atomic file");
    int e = 0;
    if (fflush(a->fp) != 0 || ferror(a->fp))
        e = errno ? errno : EIO;
    if (!e && fsync(fileno(a->fp)) != 0)
        e = errno;
    int rc = fclose(a->fp);
    a->fp = NULL;
    if (!e && rc != 0)
        e = errno;
    if (!e && rename(a->tmp, a->path) != 0)
        e = errno;
    if (e) {
        ssm_status s = SSM_ERROR(SSM_EWRITE, "cannot write '%s': %s", a->path, strerror(e));
        unlink(a->tmp);
        atomic_free(a);
        return s;
    }
    int dfd = open(a->dir, O_RDONLY | O_DIRECTORY);
    if (dfd >= 0) {
        (void)fsync(dfd);   /* best effort: some file systems refuse directory fsync */
        close(dfd);
    }
    atomic_free(a);
    return SSM_OK;
}

ssm_status ssm_read_file(unsigned char **buf, size_t *len, const char *path)
{
    *buf = NULL;
    *len = 0;
    /* O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer
     * forever; the type is checked on the descriptor before anything is read */
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0)
        return SSM_ERROR(SSM_EIO, "cannot open '%s': %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        return SSM_ERROR(SSM_EIO, "cannot stat '%s': %s", path, strerror(e));
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return SSM_ERROR(SSM_EIO, "'%s' is not a regular file", path);
    }
    int fl = fcntl(fd, F_GETFL); /* blocking reads from here on (a FUSE file system may honour the flag) */
    if (fl >= 0)
        (void)fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
    FILE *fp = fdopen(fd, "rb");
    if (!fp) {
        close(fd);
        return SSM_ERROR(SSM_EIO, "cannot open '%s': %s", path, strerror(errno));
    }
    size_t n = (size_t)st.st_size;
    unsigned char *b = malloc(n ? n : 1);
    if (!b) {
        fclose(fp);
        return SSM_ERROR(SSM_ENOMEM, "cannot allocate %zu bytes to read '%s'", n, path);
    }
    if (n && fread(b, 1, n, fp) != n) {
        free(b);
        fclose(fp);
        return SSM_ERROR(SSM_EIO, "cannot read '%s'", path);
    }
    fclose(fp);
    *buf = b;
    *len = n;
    return SSM_OK;
}

ssm_status ssm_parse_file(const char *path, ssm_parse_fn parse, void *out)
{
    unsigned char *buf;
    size_t len;
    ssm_status s = ssm_read_file(&buf, &len, path);
    if (s != SSM_OK)
        return s;
    s = parse(out, buf, len);
    free(buf);
    if (s != SSM_OK) {
        char msg[512]; /* prefix the file name to the parser's reason */
        snprintf(msg, sizeof msg, "%s", ssm_error_message());
        return SSM_ERROR(s, "%s: %s", path, msg);
    }
    return SSM_OK;
}

ssm_status ssm_atomic_close(ssm_atomic *a, FILE *fp, ssm_status s)
{
    if (s != SSM_OK) {
        ssm_atomic_abort(a);
        return s;
    }
    if (!fp || ferror(fp))
        return ssm_atomic_fail(a, NULL);
    return ssm_atomic_commit(a);
}
