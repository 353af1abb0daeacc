/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kms-rotate: PATH... inputs. Directories are walked one entry at a time
 * (memory flat); each file is one record. Rewriting is atomic: a temporary
 * file in the same directory, fsync, rename over the old one, fsync of the
 * directory; mode and ownership are kept. kill -9 at any moment leaves the
 * old or the new blob, and at most a stray ".kms-rotate-XXXXXX" temporary,
 * removed by the next run's walk.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "rotate.h"

#define MAX_DEPTH 256
#define TMP_PREFIX ".kms-rotate-"

struct frame {
    DIR *d;
    char *path;
};

struct file_walk {
    const struct options *o;
    int argi;
    struct frame stack[MAX_DEPTH];
    int depth;
    size_t root_len; /* of the directory argument being walked */
    int counting;
    uint64_t count;
};

static int is_stale_tmp(const char *name)
{
    size_t n = strlen(TMP_PREFIX);

    return strncmp(name, TMP_PREFIX, n) == 0 && strlen(name) == n + 6;
}

static int selected(const struct options *o, const char *rel, const char *name)
{
    int i;

    if (o->n_includes == 0)
        return 1;
    for (i = 0; i < o->n_includes; i++) {
        const char *g = o->includes[i];

        if (fnmatch(g, strchr(g, '/') != NULL ? rel : name, 0) == 0)
            return 1;
    }
    return 0;
}

static char *join(const char *a, const char *b)
{
    size_t n = strlen(a) + strlen(b) + 2;
    char *p = xmalloc(n);

    snprintf(p, n, "%s%s%s", a, a[0] && a[strlen(a) - 1] == '/' ? "" : "/", b);
    return p;
}

static struct record *new_file_record(const char *path, const char *rel)
{
    struct record *r = xcalloc(1, sizeof(*r));

    r->path = xstrdup(path);
    r->raw = xstrdup(rel); /* file mode: the path under --out-dir */
    r->raw_len = strlen(rel);
    return r;
}

/* Reads one blob; the record fails (unchanged) when it cannot be used. */
static void read_blob(struct record *r)
{
    unsigned char buf[ROTATE_MAX_BLOB + 1];
    struct stat st;
    size_t got = 0;
    int fd;

    fd = open(r->path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        record_fail(r, "ReadError", "%s: cannot read: %s", r->path,
                    strerror(errno));
        return;
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        record_fail(r, "NotAFile", "%s: not a regular file", r->path);
        close(fd);
        return;
    }
    while (got < sizeof(buf)) {
        ssize_t n = read(fd, buf + got, sizeof(buf) - got);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            record_fail(r, "ReadError", "%s: cannot read: %s", r->path,
                        strerror(errno));
            close(fd);
            return;
        }
        if (n == 0)
            break;
        got += (size_t)n;
    }
    close(fd);
    r->st = st;
    if (got == 0) {
        record_fail(r, "EmptyFile", "%s: empty file (no CiphertextBlob)",
                    r->path);
        return;
    }
    if (got > ROTATE_MAX_BLOB) {
        record_fail(r, "TooLarge",
                    "%s: more than %d bytes, larger than any KMS "
                    "CiphertextBlob",
                    r->path, ROTATE_MAX_BLOB);
        return;
    }
    r->blob = xmalloc(got);
    memcpy(r->blob, buf, got);
    r->blob_len = got;
}

/* A symbolic link is reported, never followed or replaced. */
static struct record *link_record(const char *path, const char *rel)
{
    struct record *r = new_file_record(path, rel);
    struct stat st;

    if (stat(path, &st) != 0 && errno == ELOOP)
        record_fail(r, "SymlinkLoop",
                    "%s: symbolic link loop (%s); not followed", path,
                    strerror(ELOOP));
    else
        record_fail(r, "Symlink",
                    "%s: symbolic link, not followed nor replaced; give "
                    "its target instead",
                    path);
    return r;
}

/*
 * One file (st from lstat). Returns a record, or NULL when the file is not
 * one (not selected, skipped by the journal, a stale temporary).
 */
static struct record *visit(struct file_walk *fw, const char *path,
                            const char *rel, const char *name,
                            const struct stat *st, int explicit)
{
    const struct options *o = fw->o;
    struct record *r;

    if (!explicit && is_stale_tmp(name)) {
        if (!fw->counting && o->out_dir == NULL && !o->dry_run &&
            unlink(path) == 0) {
            pthread_mutex_lock(&g_stats.lock);
            g_stats.stale_tmp_removed++;
            pthread_mutex_unlock(&g_stats.lock);
        }
        return NULL;
    }
    if (!explicit && !selected(o, rel, name))
        return NULL;
    if (fw->counting) {
        fw->count++;
        return NULL;
    }
    if (S_ISLNK(st->st_mode))
        return link_record(path, rel);
    if (o->journal != NULL && S_ISREG(st->st_mode) &&
        journal_has_file(path, st)) {
        pthread_mutex_lock(&g_stats.lock);
        g_stats.skipped++;
        pthread_mutex_unlock(&g_stats.lock);
        return NULL;
    }
    r = new_file_record(path, rel);
    if (!S_ISREG(st->st_mode))
        record_fail(r, "NotAFile", "%s: not a regular file", path);
    else
        read_blob(r);
    return r;
}

static struct record *dir_failure(const char *path, const char *why)
{
    struct record *r = new_file_record(path, "");

    record_fail(r, "ReadError", "%s: %s", path, why);
    return r;
}

/* Pushes a directory; NULL, or a record reporting why it cannot be read. */
static struct record *push_dir(struct file_walk *fw, const char *path)
{
    DIR *d;

    if (fw->depth == MAX_DEPTH)
        return dir_failure(path, "directories nested too deep");
    d = opendir(path);
    if (d == NULL)
        return dir_failure(path, strerror(errno));
    fw->stack[fw->depth].d = d;
    fw->stack[fw->depth].path = xstrdup(path);
    fw->depth++;
    return NULL;
}

static void pop_dir(struct file_walk *fw)
{
    fw->depth--;
    closedir(fw->stack[fw->depth].d);
    free(fw->stack[fw->depth].path);
}

int files_next(struct file_walk *fw, struct record **out)
{
    struct record *r;

    for (;;) {
        struct stat st;
        char *path;

        if (fw->depth > 0) {
            struct frame *top = &fw->stack[fw->depth - 1];
            struct dirent *e;

            errno = 0;
            e = readdir(top->d);
            if (e == NULL) {
                r = errno != 0 ? dir_failure(top->path, strerror(errno)) : NULL;
                pop_dir(fw);
                if (r != NULL && !fw->counting)
                    goto found;
                record_free(r);
                continue;
            }
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                continue;
            path = join(top->path, e->d_name);
            if (lstat(path, &st) != 0) {
                r = fw->counting ? NULL : dir_failure(path, strerror(errno));
            } else if (S_ISDIR(st.st_mode)) {
                r = push_dir(fw, path);
                if (fw->counting) {
                    record_free(r);
                    r = NULL;
                }
            } else {
                const char *rel = path + fw->root_len;

                while (*rel == '/')
                    rel++;
                r = visit(fw, path, rel, e->d_name, &st, 0);
            }
            free(path);
            if (r != NULL)
                goto found;
            continue;
        }
        if (fw->argi >= fw->o->n_paths)
            return 0;
        path = fw->o->paths[fw->argi++];
        if (lstat(path, &st) != 0) {
            if (fw->counting)
                continue;
            r = new_file_record(path, "");
            record_fail(r, "ReadError", "%s: %s", path, strerror(errno));
            goto found;
        }
        if (S_ISDIR(st.st_mode)) {
            fw->root_len = strlen(path);
            r = push_dir(fw, path);
            if (r != NULL && !fw->counting)
                goto found;
            record_free(r);
            continue;
        }
        {
            char *copy = xstrdup(path);
            char *base = xstrdup(basename(copy));

            r = visit(fw, path, base, base, &st, 1);
            free(base);
            free(copy);
        }
        if (r != NULL)
            goto found;
    }
found:
    pthread_mutex_lock(&g_stats.lock);
    g_stats.read++;
    pthread_mutex_unlock(&g_stats.lock);
    *out = r;
    return 1;
}

struct file_walk *files_open(const struct options *o)
{
    struct file_walk *fw = xcalloc(1, sizeof(*fw));

    fw->o = o;
    return fw;
}

void files_close(struct file_walk *fw)
{
    if (fw == NULL)
        return;
    while (fw->depth > 0)
        pop_dir(fw);
    free(fw);
}

/* ---- the total, counted beside the real walk ------------------------------
 */

static pthread_t count_tid;
static int count_running;

static void *count_main(void *arg)
{
    struct file_walk *fw = arg;
    struct record *r;

    while (files_next(fw, &r) > 0)
        record_free(r);
    pthread_mutex_lock(&g_stats.lock);
    g_stats.total = fw->count;
    g_stats.total_known = 1;
    pthread_mutex_unlock(&g_stats.lock);
    files_close(fw);
    return NULL;
}

void files_count_start(const struct options *o)
{
    struct file_walk *fw = files_open(o);

    fw->counting = 1;
    if (pthread_create(&count_tid, NULL, count_main, fw) == 0)
        count_running = 1;
    else
        files_close(fw);
}

void files_count_join(void)
{
    if (count_running)
        pthread_join(count_tid, NULL);
    count_running = 0;
}

/* ---- writing, atomically ----------------------------------------------------
 */

static int write_all(int fd, const unsigned char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);

        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return 0;
        p += w;
        n -= (size_t)w;
    }
    return 1;
}

static int sync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), ok;

    if (fd < 0)
        return 0;
    ok = fsync(fd) == 0;
    close(fd);
    return ok;
}

/* mkdir -p for the parents of path (--out-dir). */
static int make_parents(char *path)
{
    char *p;

    for (p = path + 1; (p = strchr(p, '/')) != NULL; p++) {
        *p = '\0';
        if (mkdir(path, 0777) != 0 && errno != EEXIST) {
            *p = '/';
            return 0;
        }
        *p = '/';
    }
    return 1;
}

int files_write(const struct options *o, struct record *r)
{
    char *target =
        o->out_dir != NULL ? join(o->out_dir, r->raw) : xstrdup(r->path);
    char *copy = xstrdup(target), *dir = xstrdup(dirname(copy)), *tmp;
    struct stat now;
    int fd, err = 0;
    const char *step = "";

    free(copy);
    tmp = join(dir, TMP_PREFIX "XXXXXX");
    if (o->out_dir != NULL && !make_parents(target)) {
        err = errno;
        step = "cannot create the directory";
        goto fail;
    }
    fd = mkstemp(tmp);
    if (fd < 0) {
        err = errno;
        step = "cannot create a temporary file";
        goto fail;
    }
    if (!write_all(fd, r->out, r->out_len))
        step = "cannot write";
    else if (fchmod(fd, r->st.st_mode & 07777) != 0)
        step = "cannot keep the mode";
    else if ((r->st.st_uid != geteuid() || r->st.st_gid != getegid()) &&
             fchown(fd, r->st.st_uid, r->st.st_gid) != 0)
        step = "cannot keep the owner";
    else if (fsync(fd) != 0)
        step = "cannot sync";
    if (*step != '\0')
        err = errno;
    if (close(fd) != 0 && *step == '\0') {
        err = errno;
        step = "cannot write";
    }
    if (*step != '\0')
        goto fail_unlink;
    /* In place: the file must still be what was read. */
    if (o->out_dir == NULL &&
        (lstat(r->path, &now) != 0 || now.st_ino != r->st.st_ino ||
         now.st_size != r->st.st_size ||
         now.st_mtim.tv_sec != r->st.st_mtim.tv_sec ||
         now.st_mtim.tv_nsec != r->st.st_mtim.tv_nsec)) {
        err = 0;
        step = "changed while it was being rotated; left alone";
        goto fail_unlink;
    }
    if (rename(tmp, target) != 0) {
        err = errno;
        step = "cannot rename the new file into place";
        goto fail_unlink;
    }
    if (!sync_dir(dir)) {
        /* The rename happened; the new blob is there, maybe not durably. */
        msg("%s: directory sync failed: %s", dir, strerror(errno));
    }
    if (lstat(target, &now) == 0 && o->out_dir == NULL)
        r->st = now; /* the journal records the file as it is now */
    free(tmp);
    free(dir);
    free(target);
    return 1;
fail_unlink:
    unlink(tmp);
fail:
    record_fail(r, "WriteError", "%s: %s%s%s", target, step, err ? ": " : "",
                err ? strerror(err) : "");
    r->local_failure = 0;
    free(tmp);
    free(dir);
    free(target);
    return 0;
}
