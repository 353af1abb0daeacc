/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kms-rotate: re-encrypts KMS ciphertexts at scale through the kmsreencrypt
 * provider, driven only through OpenSSL's public API.
 *
 * One file per concern:
 *   options.c   command line and --help
 *   kms.c       the provider and the key (OSSL_PROVIDER, OSSL_STORE), one
 *               ReEncrypt per record (EVP_PKEY_encrypt), the KeyId check
 *   pool.c      reader, worker threads, rate limit, re-queue of throttled
 *               records, in-order completion
 *   files.c     PATH... mode: directory walk, atomic in-place rewrite
 *   records.c   --lines, --jsonl and --csv: parsing and writing records
 *   journal.c   --journal and the resume of record modes
 *   progress.c  the progress line, --errors, the final summary
 *   util.c      base64, small string helpers
 */
#ifndef KMS_ROTATE_H
#define KMS_ROTATE_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>
#include <sys/stat.h>

#define ROTATE_MAX_BLOB 6144 /* largest CiphertextBlob (bytes) */

/* Exit statuses. */
#define EXIT_ALL_MOVED 0
#define EXIT_SOME_FAILED 1
#define EXIT_USAGE 2
#define EXIT_ABORTED 3

enum input_mode { MODE_FILES, MODE_LINES, MODE_JSONL, MODE_CSV };

struct options {
    enum input_mode mode;
    const char *to;   /* --to as given */
    char *key_uri;    /* kms:KEY?region=&profile= */
    const char *from; /* --from */
    const char *from_context, *to_context;
    const char *from_algorithm, *to_algorithm;
    char *grant_tokens; /* comma-joined */
    const char *region, *profile, *endpoint_url, *retry_mode;
    const char *provider_path;
    int max_attempts; /* 0: provider default */
    /* inputs */
    char **paths;
    int n_paths;
    char **includes;
    int n_includes;
    const char *out_dir;
    const char *field;         /* --jsonl FIELD or --csv COLUMN */
    const char *context_field; /* --context-field / --context-column */
    const char *input, *output;
    /* behaviour */
    int jobs;
    double rate; /* 0: unlimited */
    int dry_run;
    const char *journal;
    const char *errors;
    int progress; /* -1 auto, 0 off, 1 on */
    int quiet;
    int no_resume;
    int max_requeues; /* -1: unbounded (the default) */
};

/* What became of a record. */
enum outcome {
    OUT_PENDING = 0,
    OUT_MOVED,      /* replaced by the new blob */
    OUT_WOULD_MOVE, /* --dry-run: KMS said it would succeed */
    OUT_FAILED,     /* left as it was, reported */
    OUT_PASS,       /* not a record (blank line, CSV header): copied */
};

struct record {
    uint64_t seq;    /* order of reading, from 0 */
    uint64_t lineno; /* 1-based input line of its start (record modes) */
    char *path;      /* file mode: the file; NULL otherwise */
    struct stat st;  /* file mode: what was read */
    unsigned char *blob;
    size_t blob_len;
    char *src_ctx, *dst_ctx; /* per-record contexts (JSON) or NULL */
    /* the record's own text, as read (record modes), and what to write */
    char *raw;
    size_t raw_len;
    void *parsed; /* struct jsonl_rec * or struct csv_row * (records.c) */
    enum { PARSED_NONE, PARSED_JSONL, PARSED_CSV } parsed_kind;
    long csv_col;       /* CSV: the column replaced */
    uint64_t last_line; /* record modes: its last physical input line */
    const char *eol;    /* line terminator as read: "\n", "\r\n" or "" */
    int local_failure;  /* failed before any request (why in error_msg) */
    /* outcome */
    enum outcome outcome;
    unsigned char *out;
    size_t out_len;
    char error_type[96];
    char error_msg[512];
    char request_id[96];
    int attempts, throttles, requeues;
    double due; /* monotonic time before which a re-queued record waits */
    int done;   /* set under the pool's lock when the outcome is final */
    struct record *next;
};

void record_free(struct record *r);
void record_fail(struct record *r, const char *type, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* ---- options.c ---- */
/* Returns 0 to go on, else an exit status (help printed: 0 -> -1). */
int options_parse(int argc, char **argv, struct options *o, int *exit_now);
void options_free(struct options *o);

/* ---- util.c ---- */
double now_mono(void);
double now_wall(void);
/* Strict base64 (RFC 4648, padded); returns decoded length or -1. */
long b64_decode(const char *in, size_t len, unsigned char *out, size_t cap);
/* Returns a malloc'd NUL-terminated string. */
char *b64_encode(const unsigned char *in, size_t len);
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t m);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
void die_oom(void);
/* JSON string literal of s, appended to FILE. */
void json_fputs(FILE *f, const char *s);
/* Trims a trailing "\r\n" / "\n"; returns the terminator. */
const char *chomp(char *line, size_t *len);
int is_blank(const char *s, size_t len);
void msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* ---- kms.c ---- */
struct kms;
/* Loads the providers and the key; NULL with a message on failure. */
struct kms *kms_open(const struct options *o);
void kms_close(struct kms *k);
struct kms_worker;
struct kms_worker *kms_worker_new(struct kms *k);
void kms_worker_free(struct kms_worker *w);
enum kms_result { KMS_OK, KMS_WOULD_MOVE, KMS_THROTTLED, KMS_FAILED };
/* One ReEncrypt of r->blob; fills r->out or r->error_*, r->attempts... */
enum kms_result kms_reencrypt(struct kms_worker *w, struct record *r);
int kms_is_throttling(const char *error_type);
const char *kms_destination_arn(struct kms *k); /* the pinned ARN or NULL */

/* ---- progress.c ---- */
struct stats {
    pthread_mutex_t lock;
    uint64_t read, done, moved, would_move, failed, skipped, passed;
    uint64_t total;                   /* records in all, when known */
    int total_known;                  /* 1 once total is final */
    uint64_t bytes_read, bytes_total; /* record modes, regular input */
    uint64_t attempts, throttles, requeues;
    uint64_t stale_tmp_removed;
    double start;
    /* failures by error type */
    struct type_count {
        char type[96];
        uint64_t n;
    } * by_type;
    size_t n_types;
};
extern struct stats g_stats;
void stats_init(void);
void stats_failure_type(const char *type);
int progress_start(const struct options *o);
void progress_stop(void);
int errors_open(const char *path);
void errors_report(const struct record *r);
void errors_close(void);
void summary_print(const struct options *o);

/* ---- journal.c ---- */
int journal_open(const struct options *o);
/* File mode: whether the file as it is now was completed by a run. */
int journal_has_file(const char *path, const struct stat *st);
int journal_add_file(const char *path, const struct stat *st);
/* Record modes: records 1..n written up to byte offset off, durably. */
int journal_add_records(uint64_t n, uint64_t off);
int journal_sync(void);
void journal_close(void);
/* Record modes, --output FILE: where a rerun resumes. With a journal, its
 * last entry (records, byte offset: the output is truncated there now);
 * without, the complete lines of FILE (truncated once the reader knows
 * where the last whole record ends, see output_truncate_lines). Returns 0
 * on an error (message printed). */
struct resume {
    int by_lines;
    uint64_t records, lines, offset;
};
int resume_point(const struct options *o, FILE *out, struct resume *rs);
/* Cuts the output after its first `lines` lines; positions it there. */
int output_truncate_lines(FILE *out, uint64_t lines, uint64_t *offset);

/* ---- files.c ---- */
/* Producer of file records; returns 1 with a record, 0 at the end. */
struct file_walk;
struct file_walk *files_open(const struct options *o);
int files_next(struct file_walk *fw, struct record **out);
void files_close(struct file_walk *fw);
/* Counts the matching files (for the progress total), in its own thread. */
void files_count_start(const struct options *o);
void files_count_join(void);
/* Worker side: reads nothing; writes r->out for r (atomically). */
int files_write(const struct options *o, struct record *r);

/* ---- records.c ---- */
struct rec_reader;
struct rec_reader *records_open(const struct options *o, FILE *in);
/* 1 with a record, 0 at the end, -1 on a read error (message printed). */
int records_next(struct rec_reader *rr, struct record **out);
void records_close(struct rec_reader *rr);
/* Writes the record's output form (new value, or the original text). */
int records_write(const struct options *o, FILE *out, struct record *r);
/* Frees a record and what records.c parsed for it. */
void records_release(struct record *r);

/* ---- pool.c ---- */
struct pool_io {
    const struct options *o;
    struct kms *kms;
    /* exactly one of these producers */
    struct file_walk *fw;
    struct rec_reader *rr;
    struct resume resume; /* record modes: what the output already holds */
    FILE *out;            /* record modes: where output goes (or NULL) */
    int out_fd;
    uint64_t out_offset; /* bytes of out at the start */
    int read_error;      /* the input could not be read to its end */
};
/* Runs everything; returns 0, or -1 when the run was aborted (message
 * printed: an output could not be written). */
int pool_run(struct pool_io *io);

#endif
