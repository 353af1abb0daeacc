/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kms-rotate: --lines, --jsonl and --csv records: reading them one at a
 * time (memory flat), writing the new value or, for anything that did not
 * move, the record's own text unchanged.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <csv.h>
#include <json-c/json.h>
#include "rotate.h"

#define MAX_RECORD (16u << 20) /* a longer line stops the run */
#define MAX_PATH_DEPTH 32

struct csv_row {
    char **fields;
    size_t n, cap;
};

struct jsonl_rec {
    json_object *root, *parent;
    char *key;
};

struct rec_reader {
    const struct options *o;
    FILE *in;
    uint64_t lineno; /* physical lines read */
    char *line;
    size_t cap;
    /* --jsonl: the dotted paths */
    char *field_path[MAX_PATH_DEPTH], *ctx_path[MAX_PATH_DEPTH];
    int n_field, n_ctx;
    /* --csv */
    struct csv_parser p;
    struct csv_row row;
    int rows_done; /* rows completed by the last csv_parse calls */
    long col, ctx_col;
    struct record *header; /* handed out first */
};

/* ---- reading lines ------------------------------------------------------- */

/* One physical line; 1, 0 at EOF, -1 on an error (message printed). */
static int read_line(struct rec_reader *rr, size_t *len)
{
    ssize_t n;

    errno = 0;
    n = getline(&rr->line, &rr->cap, rr->in);
    if (n < 0) {
        if (ferror(rr->in)) {
            msg("cannot read the input: %s", strerror(errno));
            return -1;
        }
        return 0;
    }
    rr->lineno++;
    if ((size_t)n > MAX_RECORD) {
        msg("input line %llu is longer than %u bytes: stopping here",
            (unsigned long long)rr->lineno, MAX_RECORD);
        return -1;
    }
    pthread_mutex_lock(&g_stats.lock);
    g_stats.bytes_read += (uint64_t)n;
    pthread_mutex_unlock(&g_stats.lock);
    *len = (size_t)n;
    return 1;
}

static struct record *new_record(struct rec_reader *rr, const char *raw,
                                 size_t len)
{
    struct record *r = xcalloc(1, sizeof(*r));

    r->lineno = rr->lineno;
    r->last_line = rr->lineno;
    r->raw = xstrndup(raw, len);
    r->raw_len = len;
    r->eol = "";
    return r;
}

/* Decodes a base64 value into r->blob, or fails the record. */
static int take_blob(struct record *r, const char *what, const char *s,
                     size_t len)
{
    long n;

    while (len > 0 && (*s == ' ' || *s == '\t')) {
        s++;
        len--;
    }
    while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t'))
        len--;
    if (len == 0) {
        record_fail(r, "EmptyValue", "%s is empty", what);
        return 0;
    }
    if (len > (ROTATE_MAX_BLOB + 2) / 3 * 4) {
        record_fail(r, "TooLarge",
                    "%s decodes to more than %d bytes (KMS's largest "
                    "CiphertextBlob)",
                    what, ROTATE_MAX_BLOB);
        return 0;
    }
    r->blob = xmalloc(len);
    n = b64_decode(s, len, r->blob, len);
    if (n < 0) {
        record_fail(r, "NotBase64", "%s is not base64", what);
        return 0;
    }
    if (n > ROTATE_MAX_BLOB) {
        record_fail(r, "TooLarge",
                    "%s decodes to %ld bytes, more than %d (KMS's largest "
                    "CiphertextBlob)",
                    what, n, ROTATE_MAX_BLOB);
        return 0;
    }
    r->blob_len = (size_t)n;
    return 1;
}

static int next_line_record(struct rec_reader *rr, struct record **out)
{
    size_t len;
    int rc = read_line(rr, &len);
    struct record *r;
    char what[64];

    if (rc <= 0)
        return rc;
    r = new_record(rr, rr->line, len);
    r->eol = chomp(r->raw, &r->raw_len);
    snprintf(what, sizeof(what), "the line");
    if (is_blank(r->raw, r->raw_len))
        r->outcome = OUT_PASS;
    else
        take_blob(r, what, r->raw, r->raw_len);
    *out = r;
    return 1;
}

/* ---- JSON Lines ---------------------------------------------------------- */

static int split_path(const char *spec, char **parts, int *n)
{
    char *copy = xstrdup(spec), *save = NULL, *tok;

    *n = 0;
    for (tok = strtok_r(copy, ".", &save); tok != NULL;
         tok = strtok_r(NULL, ".", &save)) {
        if (*n == MAX_PATH_DEPTH) {
            free(copy);
            return 0;
        }
        parts[(*n)++] = xstrdup(tok);
    }
    free(copy);
    return *n > 0;
}

/* Walks a dotted path; *parent gets the object holding the last member. */
static json_object *walk(json_object *root, char **parts, int n,
                         json_object **parent)
{
    json_object *cur = root, *next;
    int i;

    for (i = 0; i < n; i++) {
        if (!json_object_is_type(cur, json_type_object))
            return NULL;
        if (parent != NULL)
            *parent = cur;
        if (!json_object_object_get_ex(cur, parts[i], &next))
            return NULL;
        cur = next;
    }
    return cur;
}

/* A context object (every value a string) as JSON text, or NULL. */
static char *context_json(json_object *ctx)
{
    if (!json_object_is_type(ctx, json_type_object))
        return NULL;
    json_object_object_foreach(ctx, k, v)
    {
        (void)k;
        if (!json_object_is_type(v, json_type_string))
            return NULL;
    }
    return xstrdup(json_object_to_json_string_ext(
        ctx, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
}

static void parse_jsonl(struct rec_reader *rr, struct record *r)
{
    const struct options *o = rr->o;
    json_tokener *tok = json_tokener_new();
    json_object *root, *parent = NULL, *v;
    struct jsonl_rec *j;
    char what[96];
    size_t off;

    if (tok == NULL)
        die_oom();
    root = json_tokener_parse_ex(tok, r->raw, (int)r->raw_len);
    off = json_tokener_get_parse_end(tok);
    if (root == NULL || json_tokener_get_error(tok) != json_tokener_success ||
        !is_blank(r->raw + off, r->raw_len - off)) {
        record_fail(r, "NotJson", "not one JSON value");
        json_object_put(root);
        json_tokener_free(tok);
        return;
    }
    json_tokener_free(tok);
    if (!json_object_is_type(root, json_type_object)) {
        record_fail(r, "NotAnObject", "JSON, but not an object");
        json_object_put(root);
        return;
    }
    j = xcalloc(1, sizeof(*j));
    j->root = root;
    r->parsed = j;
    r->parsed_kind = PARSED_JSONL;
    v = walk(root, rr->field_path, rr->n_field, &parent);
    snprintf(what, sizeof(what), "member %s", o->field);
    if (v == NULL) {
        record_fail(r, "FieldMissing", "%s: no such member", what);
        return;
    }
    if (!json_object_is_type(v, json_type_string)) {
        record_fail(r, "NotBase64", "%s is not a string", what);
        return;
    }
    j->parent = parent;
    j->key = rr->field_path[rr->n_field - 1];
    if (!take_blob(r, what, json_object_get_string(v),
                   (size_t)json_object_get_string_len(v)))
        return;
    if (o->context_field != NULL) {
        json_object *c = walk(root, rr->ctx_path, rr->n_ctx, NULL);

        if (c == NULL || (r->src_ctx = context_json(c)) == NULL) {
            record_fail(r, "BadContext",
                        "member %s is missing or not an object of strings",
                        o->context_field);
            return;
        }
        r->dst_ctx = xstrdup(r->src_ctx);
    }
}

static int next_jsonl_record(struct rec_reader *rr, struct record **out)
{
    size_t len;
    int rc = read_line(rr, &len);
    struct record *r;

    if (rc <= 0)
        return rc;
    r = new_record(rr, rr->line, len);
    r->eol = chomp(r->raw, &r->raw_len);
    if (is_blank(r->raw, r->raw_len))
        r->outcome = OUT_PASS;
    else
        parse_jsonl(rr, r);
    *out = r;
    return 1;
}

/* ---- CSV (libcsv) ----------------------------------------------------------
 */

static void csv_field_cb(void *s, size_t len, void *data)
{
    struct rec_reader *rr = data;
    struct csv_row *row = &rr->row;

    if (row->n == row->cap) {
        size_t cap = row->cap ? row->cap * 2 : 16;
        char **f = realloc(row->fields, cap * sizeof(*f));

        if (f == NULL)
            die_oom();
        row->fields = f;
        row->cap = cap;
    }
    row->fields[row->n++] = xstrndup(s != NULL ? s : "", s != NULL ? len : 0);
}

static void csv_row_cb(int c, void *data)
{
    struct rec_reader *rr = data;

    (void)c;
    rr->rows_done++;
}

static int no_space(unsigned char c)
{
    (void)c;
    return 0;
}

static void csv_reset(struct rec_reader *rr)
{
    csv_free(&rr->p);
    csv_init(&rr->p, CSV_STRICT | CSV_STRICT_FINI | CSV_APPEND_NULL);
    csv_set_space_func(&rr->p, no_space);
}

static struct csv_row *row_take(struct rec_reader *rr)
{
    struct csv_row *row = xcalloc(1, sizeof(*row));

    *row = rr->row;
    memset(&rr->row, 0, sizeof(rr->row));
    return row;
}

static void row_free(struct csv_row *row)
{
    size_t i;

    if (row == NULL)
        return;
    for (i = 0; i < row->n; i++)
        free(row->fields[i]);
    free(row->fields);
    free(row);
}

static void row_clear(struct rec_reader *rr)
{
    size_t i;

    for (i = 0; i < rr->row.n; i++)
        free(rr->row.fields[i]);
    rr->row.n = 0;
}

/* One CSV record (physical lines until the row completes). Its raw text
 * keeps the line terminators. */
static int next_csv_raw(struct rec_reader *rr, struct record **out)
{
    struct record *r = NULL;
    char *raw = NULL;
    size_t raw_len = 0, len;
    uint64_t first = rr->lineno + 1;
    int rc;

    row_clear(rr);
    rr->rows_done = 0;
    for (;;) {
        rc = read_line(rr, &len);
        if (rc < 0) {
            free(raw);
            return -1;
        }
        if (rc == 0) {
            if (raw == NULL)
                return 0;
            if (csv_fini(&rr->p, csv_field_cb, csv_row_cb, rr) != 0) {
                r = xcalloc(1, sizeof(*r));
                r->lineno = first;
                record_fail(r, "CsvParseError",
                            "line %llu: quoted field not closed before the "
                            "end of the input",
                            (unsigned long long)first);
                row_clear(rr);
                csv_reset(rr);
            }
            break;
        }
        raw = realloc(raw, raw_len + len + 1);
        if (raw == NULL)
            die_oom();
        memcpy(raw + raw_len, rr->line, len);
        raw_len += len;
        raw[raw_len] = '\0';
        if (raw_len > MAX_RECORD) {
            msg("CSV record from line %llu is longer than %u bytes: stopping "
                "here",
                (unsigned long long)first, MAX_RECORD);
            free(raw);
            return -1;
        }
        if (csv_parse(&rr->p, rr->line, len, csv_field_cb, csv_row_cb, rr) !=
            len) {
            r = xcalloc(1, sizeof(*r));
            r->lineno = first;
            record_fail(r, "CsvParseError", "line %llu: %s",
                        (unsigned long long)rr->lineno,
                        csv_strerror(csv_error(&rr->p)));
            row_clear(rr);
            csv_reset(rr);
            break;
        }
        if (rr->rows_done > 0)
            break;
        if (rr->p.pstate == 0 && rr->row.n == 0) { /* a blank line */
            r = xcalloc(1, sizeof(*r));
            r->lineno = first;
            r->outcome = OUT_PASS;
            break;
        }
    }
    if (r == NULL) {
        r = xcalloc(1, sizeof(*r));
        r->lineno = first;
        if (rr->rows_done > 1)
            record_fail(r, "CsvParseError",
                        "line %llu: a bare carriage return inside a line",
                        (unsigned long long)first);
    }
    r->raw = raw;
    r->raw_len = raw_len;
    r->eol = "";
    r->last_line = rr->lineno;
    *out = r;
    return 1;
}

static int next_csv_record(struct rec_reader *rr, struct record **out)
{
    const struct options *o = rr->o;
    struct record *r;
    struct csv_row *row;
    char what[128];
    int rc;

    if (rr->header != NULL) {
        *out = rr->header;
        rr->header = NULL;
        return 1;
    }
    if ((rc = next_csv_raw(rr, &r)) <= 0)
        return rc;
    *out = r;
    if (r->outcome != OUT_PENDING)
        return 1;
    row = row_take(rr);
    r->parsed = row;
    r->parsed_kind = PARSED_CSV;
    r->csv_col = rr->col;
    if ((long)row->n <= rr->col ||
        (rr->ctx_col >= 0 && (long)row->n <= rr->ctx_col)) {
        record_fail(r, "ColumnMissing", "%zu fields, fewer than the header's",
                    row->n);
        return 1;
    }
    snprintf(what, sizeof(what), "column %s", o->field);
    if (!take_blob(r, what, row->fields[rr->col], strlen(row->fields[rr->col])))
        return 1;
    if (rr->ctx_col >= 0) {
        json_object *c = json_tokener_parse(row->fields[rr->ctx_col]);

        r->src_ctx = c != NULL ? context_json(c) : NULL;
        json_object_put(c);
        if (r->src_ctx == NULL) {
            record_fail(r, "BadContext",
                        "column %s is not a JSON object of strings",
                        o->context_field);
            return 1;
        }
        r->dst_ctx = xstrdup(r->src_ctx);
    }
    return 1;
}

static int csv_open_header(struct rec_reader *rr)
{
    const struct options *o = rr->o;
    struct record *h;
    struct csv_row *row;
    size_t i;
    int rc;

    rr->col = rr->ctx_col = -1;
    csv_init(&rr->p, CSV_STRICT | CSV_STRICT_FINI | CSV_APPEND_NULL);
    csv_set_space_func(&rr->p, no_space);
    rc = next_csv_raw(rr, &h);
    if (rc <= 0 || h->outcome != OUT_PENDING) {
        msg("--csv: no header row (%s)", rc < 0    ? "read error"
                                         : rc == 0 ? "empty input"
                                                   : h->error_msg);
        if (rc > 0)
            record_free(h);
        return 0;
    }
    row = row_take(rr);
    for (i = 0; i < row->n; i++) {
        if (strcmp(row->fields[i], o->field) == 0 && rr->col < 0)
            rr->col = (long)i;
        if (o->context_field != NULL &&
            strcmp(row->fields[i], o->context_field) == 0 && rr->ctx_col < 0)
            rr->ctx_col = (long)i;
    }
    row_free(row);
    if (rr->col < 0 || (o->context_field != NULL && rr->ctx_col < 0)) {
        msg("--csv: the header has no column named \"%s\"",
            rr->col < 0 ? o->field : o->context_field);
        record_free(h);
        return 0;
    }
    h->outcome = OUT_PASS;
    rr->header = h;
    return 1;
}

/* ---- the reader ---------------------------------------------------------- */

struct rec_reader *records_open(const struct options *o, FILE *in)
{
    struct rec_reader *rr = xcalloc(1, sizeof(*rr));

    rr->o = o;
    rr->in = in;
    if (o->mode == MODE_JSONL &&
        (!split_path(o->field, rr->field_path, &rr->n_field) ||
         (o->context_field != NULL &&
          !split_path(o->context_field, rr->ctx_path, &rr->n_ctx)))) {
        msg("--jsonl: bad member path \"%s\"", o->field);
        records_close(rr);
        return NULL;
    }
    if (o->mode == MODE_CSV && !csv_open_header(rr)) {
        records_close(rr);
        return NULL;
    }
    return rr;
}

int records_next(struct rec_reader *rr, struct record **out)
{
    switch (rr->o->mode) {
    case MODE_LINES:
        return next_line_record(rr, out);
    case MODE_JSONL:
        return next_jsonl_record(rr, out);
    case MODE_CSV:
        return next_csv_record(rr, out);
    default:
        return 0;
    }
}

void records_close(struct rec_reader *rr)
{
    int i;

    if (rr == NULL)
        return;
    for (i = 0; i < rr->n_field; i++)
        free(rr->field_path[i]);
    for (i = 0; i < rr->n_ctx; i++)
        free(rr->ctx_path[i]);
    if (rr->o->mode == MODE_CSV)
        csv_free(&rr->p);
    row_clear(rr);
    free(rr->row.fields);
    if (rr->header != NULL)
        record_free(rr->header);
    free(rr->line);
    free(rr);
}

void records_release(struct record *r)
{
    if (r == NULL)
        return;
    if (r->parsed_kind == PARSED_JSONL) {
        struct jsonl_rec *j = r->parsed;

        json_object_put(j->root);
        free(j);
    } else if (r->parsed_kind == PARSED_CSV) {
        row_free(r->parsed);
    }
    record_free(r);
}

/* ---- writing ------------------------------------------------------------- */

/* RFC 4180: quote a field holding a comma, quote, CR or LF. */
static int put_csv_field(FILE *out, const char *s)
{
    if (strpbrk(s, ",\"\r\n") == NULL)
        return fputs(s, out) >= 0;
    if (fputc('"', out) == EOF)
        return 0;
    for (; *s != '\0'; s++) {
        if (*s == '"' && fputc('"', out) == EOF)
            return 0;
        if (fputc(*s, out) == EOF)
            return 0;
    }
    return fputc('"', out) != EOF;
}

static const char *raw_eol(const struct record *r)
{
    size_t n = r->raw_len;

    if (n >= 2 && r->raw[n - 2] == '\r' && r->raw[n - 1] == '\n')
        return "\r\n";
    return n >= 1 && r->raw[n - 1] == '\n' ? "\n" : "";
}

int records_write(const struct options *o, FILE *out, struct record *r)
{
    const char *rep;
    char *b64;
    int ok = 1;

    if (r->outcome != OUT_MOVED) {
        if (r->raw_len > 0 && fwrite(r->raw, 1, r->raw_len, out) != r->raw_len)
            return 0;
        return fputs(r->eol, out) >= 0;
    }
    b64 = b64_encode(r->out, r->out_len);
    switch (o->mode) {
    case MODE_LINES:
        ok = fputs(b64, out) >= 0 && fputs(r->eol, out) >= 0;
        break;
    case MODE_JSONL: {
        struct jsonl_rec *j = r->parsed;

        json_object_object_add(j->parent, j->key, json_object_new_string(b64));
        rep = json_object_to_json_string_ext(
            j->root, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
        ok = fputs(rep, out) >= 0 && fputs(r->eol, out) >= 0;
        break;
    }
    case MODE_CSV: {
        struct csv_row *row = r->parsed;
        size_t i;

        for (i = 0; ok && i < row->n; i++) {
            if (i > 0)
                ok = fputc(',', out) != EOF;
            if (ok)
                ok = put_csv_field(out, (long)i == r->csv_col ? b64
                                                              : row->fields[i]);
        }
        if (ok)
            ok = fputs(raw_eol(r), out) >= 0;
        break;
    }
    default:
        break;
    }
    free(b64);
    return ok;
}
