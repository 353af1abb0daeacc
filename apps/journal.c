/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kms-rotate: --journal and the resume of record modes.
 *
 * The journal is a text file, appended to and fdatasync'ed (at least once
 * a second, and at the end):
 *   kms-rotate-journal 1 MODE TO            the header
 *   F INODE SIZE MTIME_NS PATH              a file rewritten (as it is now)
 *   R RECORDS OFFSET                        the output holds RECORDS records
 *                                           in its first OFFSET bytes, on
 *                                           disk (fsync'ed before this line)
 * A torn last line (kill -9, power cut) is cut off when it is opened. File
 * entries are loaded as 128-bit hashes (16 bytes each).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <openssl/evp.h>
#include "rotate.h"

static struct {
    int fd;
    FILE *pending; /* entries not yet written */
    char *buf;
    size_t buf_len;
    int unsynced;
    /* file entries: open addressing, hash 0 = empty */
    uint64_t (*set)[2];
    size_t set_cap, set_n;
    /* the last R entry */
    int have_records;
    uint64_t records, offset;
} J = {.fd = -1};

static const char *mode_name(enum input_mode m)
{
    return m == MODE_FILES   ? "files"
           : m == MODE_LINES ? "lines"
           : m == MODE_JSONL ? "jsonl"
                             : "csv";
}

static void entry_hash(const char *path, const struct stat *st, uint64_t h[2])
{
    unsigned char md[32];
    char head[96];
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    int n = snprintf(head, sizeof(head), "%llu %lld %lld.%09ld ",
                     (unsigned long long)st->st_ino, (long long)st->st_size,
                     (long long)st->st_mtim.tv_sec, st->st_mtim.tv_nsec);

    if (c == NULL || !EVP_DigestInit_ex(c, EVP_sha256(), NULL) ||
        !EVP_DigestUpdate(c, head, (size_t)n) ||
        !EVP_DigestUpdate(c, path, strlen(path)) ||
        !EVP_DigestFinal_ex(c, md, NULL))
        die_oom();
    EVP_MD_CTX_free(c);
    memcpy(h, md, 16);
    if (h[0] == 0 && h[1] == 0)
        h[0] = 1;
}

static void set_insert(const uint64_t h[2])
{
    size_t i;

    if ((J.set_n + 1) * 2 > J.set_cap) {
        uint64_t(*old)[2] = J.set;
        size_t old_cap = J.set_cap, k;

        J.set_cap = old_cap ? old_cap * 2 : 1024;
        J.set = xcalloc(J.set_cap, sizeof(*J.set));
        J.set_n = 0;
        for (k = 0; k < old_cap; k++)
            if (old[k][0] != 0 || old[k][1] != 0)
                set_insert(old[k]);
        free(old);
    }
    for (i = h[0] & (J.set_cap - 1);; i = (i + 1) & (J.set_cap - 1)) {
        if (J.set[i][0] == h[0] && J.set[i][1] == h[1])
            return;
        if (J.set[i][0] == 0 && J.set[i][1] == 0) {
            J.set[i][0] = h[0];
            J.set[i][1] = h[1];
            J.set_n++;
            return;
        }
    }
}

static int set_has(const uint64_t h[2])
{
    size_t i;

    if (J.set_cap == 0)
        return 0;
    for (i = h[0] & (J.set_cap - 1);; i = (i + 1) & (J.set_cap - 1)) {
        if (J.set[i][0] == h[0] && J.set[i][1] == h[1])
            return 1;
        if (J.set[i][0] == 0 && J.set[i][1] == 0)
            return 0;
    }
}

/* Paths are written with %, CR and LF percent-encoded. */
static void put_path(FILE *f, const char *p)
{
    for (; *p != '\0'; p++)
        if (*p == '%' || *p == '\n' || *p == '\r')
            fprintf(f, "%%%02X", (unsigned char)*p);
        else
            fputc(*p, f);
}

static void get_path(char *p)
{
    char *w = p;

    for (; *p != '\0'; p++) {
        if (p[0] == '%' && p[1] != '\0' && p[2] != '\0') {
            char hex[3] = {p[1], p[2], '\0'};

            *w++ = (char)strtol(hex, NULL, 16);
            p += 2;
        } else
            *w++ = *p;
    }
    *w = '\0';
}

static int load_entry(char *line)
{
    if (line[0] == 'F' && line[1] == ' ') {
        unsigned long long ino;
        long long size, sec;
        long nsec;
        int n = 0;
        struct stat st;
        uint64_t h[2];

        if (sscanf(line + 2, "%llu %lld %lld.%ld %n", &ino, &size, &sec, &nsec,
                   &n) != 4 ||
            n == 0)
            return 0;
        memset(&st, 0, sizeof(st));
        st.st_ino = (ino_t)ino;
        st.st_size = (off_t)size;
        st.st_mtim.tv_sec = (time_t)sec;
        st.st_mtim.tv_nsec = nsec;
        get_path(line + 2 + n);
        entry_hash(line + 2 + n, &st, h);
        set_insert(h);
        return 1;
    }
    if (line[0] == 'R' && line[1] == ' ') {
        unsigned long long rec, off;

        if (sscanf(line + 2, "%llu %llu", &rec, &off) != 2)
            return 0;
        J.have_records = 1;
        J.records = rec;
        J.offset = off;
        return 1;
    }
    return 0;
}

int journal_open(const struct options *o)
{
    char *header = NULL, *line = NULL;
    size_t cap = 0, hlen;
    FILE *f;
    ssize_t n;
    off_t good = 0;
    int first = 1, ok = 1;

    if (o->journal == NULL)
        return 1;
    J.fd = open(o->journal, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (J.fd < 0) {
        msg("--journal %s: %s", o->journal, strerror(errno));
        return 0;
    }
    hlen = strlen(o->to) + 64;
    header = xmalloc(hlen);
    snprintf(header, hlen, "kms-rotate-journal 1 %s %s\n", mode_name(o->mode),
             o->to);
    if (o->no_resume && ftruncate(J.fd, 0) != 0) {
        msg("--journal %s: %s", o->journal, strerror(errno));
        free(header);
        return 0;
    }
    f = fdopen(dup(J.fd), "r");
    if (f == NULL)
        die_oom();
    while (ok && (n = getline(&line, &cap, f)) > 0) {
        if (line[n - 1] != '\n')
            break; /* torn */
        if (first) {
            if (strcmp(line, header) != 0) {
                msg("--journal %s was written by another command (its "
                    "header: %.*s); use the same --to and input kind, or "
                    "another journal",
                    o->journal, (int)n - 1, line);
                ok = 0;
            }
            first = 0;
        } else {
            line[n - 1] = '\0';
            if (!load_entry(line)) {
                msg("--journal %s: line not understood, stopping: %.80s",
                    o->journal, line);
                ok = 0;
            }
        }
        good += n;
    }
    fclose(f);
    free(line);
    if (ok && (ftruncate(J.fd, good) != 0 || lseek(J.fd, good, SEEK_SET) < 0)) {
        msg("--journal %s: %s", o->journal, strerror(errno));
        ok = 0;
    }
    if (ok && good == 0 &&
        (write(J.fd, header, strlen(header)) != (ssize_t)strlen(header) ||
         fdatasync(J.fd) != 0)) {
        msg("--journal %s: %s", o->journal, strerror(errno));
        ok = 0;
    }
    free(header);
    if (ok) {
        J.pending = open_memstream(&J.buf, &J.buf_len);
        if (J.pending == NULL)
            die_oom();
    }
    return ok;
}

int journal_has_file(const char *path, const struct stat *st)
{
    uint64_t h[2];

    if (J.set_n == 0)
        return 0;
    entry_hash(path, st, h);
    return set_has(h);
}

int journal_add_file(const char *path, const struct stat *st)
{
    if (J.pending == NULL)
        return 1;
    fprintf(J.pending, "F %llu %lld %lld.%09ld ",
            (unsigned long long)st->st_ino, (long long)st->st_size,
            (long long)st->st_mtim.tv_sec, st->st_mtim.tv_nsec);
    put_path(J.pending, path);
    fputc('\n', J.pending);
    J.unsynced = 1;
    return 1;
}

int journal_sync(void)
{
    size_t off = 0;

    if (J.pending == NULL || !J.unsynced)
        return 1;
    fflush(J.pending);
    while (off < J.buf_len) {
        ssize_t n = write(J.fd, J.buf + off, J.buf_len - off);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            msg("cannot write the journal: %s", strerror(errno));
            return 0;
        }
        off += (size_t)n;
    }
    rewind(J.pending);
    if (fdatasync(J.fd) != 0) {
        msg("cannot sync the journal: %s", strerror(errno));
        return 0;
    }
    J.unsynced = 0;
    return 1;
}

int journal_add_records(uint64_t n, uint64_t off)
{
    if (J.pending == NULL)
        return 1;
    fprintf(J.pending, "R %llu %llu\n", (unsigned long long)n,
            (unsigned long long)off);
    J.unsynced = 1;
    return journal_sync();
}

void journal_close(void)
{
    journal_sync();
    if (J.pending != NULL)
        fclose(J.pending);
    free(J.buf);
    if (J.fd >= 0)
        close(J.fd);
    free(J.set);
    memset(&J, 0, sizeof(J));
    J.fd = -1;
}

/* ---- resume -------------------------------------------------------------- */

static int cut(FILE *out, uint64_t off)
{
    if (fflush(out) != 0 || ftruncate(fileno(out), (off_t)off) != 0 ||
        fseeko(out, (off_t)off, SEEK_SET) != 0) {
        msg("cannot truncate the output: %s", strerror(errno));
        return 0;
    }
    return 1;
}

int output_truncate_lines(FILE *out, uint64_t lines, uint64_t *offset)
{
    uint64_t seen = 0, off = 0;
    char buf[65536];
    size_t n, i;

    if (fflush(out) != 0 || fseeko(out, 0, SEEK_SET) != 0)
        return 0;
    while (seen < lines && (n = fread(buf, 1, sizeof(buf), out)) > 0) {
        for (i = 0; i < n && seen < lines; i++)
            if (buf[i] == '\n')
                seen++;
        off += i; /* i stops just after the last newline wanted */
    }
    *offset = off;
    return cut(out, off);
}

int resume_point(const struct options *o, FILE *out, struct resume *rs)
{
    struct stat st;
    char buf[65536];
    size_t n, i;

    memset(rs, 0, sizeof(*rs));
    if (fstat(fileno(out), &st) != 0)
        return 0;
    if (!S_ISREG(st.st_mode))
        return 1; /* a pipe, a device: nothing to resume */
    if (o->no_resume)
        return cut(out, 0);
    if (J.have_records) {
        if ((uint64_t)st.st_size < J.offset) {
            msg("--output %s is shorter (%lld bytes) than --journal %s "
                "says (%llu): was it replaced? Use --no-resume to start "
                "afresh",
                o->output, (long long)st.st_size, o->journal,
                (unsigned long long)J.offset);
            return 0;
        }
        rs->records = J.records;
        rs->offset = J.offset;
        return cut(out, J.offset);
    }
    rs->by_lines = 1;
    if (fseeko(out, 0, SEEK_SET) != 0)
        return 0;
    while ((n = fread(buf, 1, sizeof(buf), out)) > 0)
        for (i = 0; i < n; i++)
            rs->lines += buf[i] == '\n';
    return 1;
}
