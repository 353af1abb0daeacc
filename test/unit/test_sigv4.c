/* SPDX-License-Identifier: Apache-2.0 */
/* SigV4 signer checked stage by stage against the AWS suite and KMS vectors. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <sys/stat.h>
#include <json-c/json.h>
#include <openssl/evp.h>
#include "aws/creds.h"
#include "aws/sigv4.h"

struct blob {
    char *data; /* always NUL-terminated */
    size_t len;
};

struct http_header {
    char *name;
    char *value; /* obsolete line folding undone, as the HTTP layer would */
};

struct http_request {
    char *method;
    char *path;
    char *query;
    struct http_header *headers;
    size_t n_headers;
    char **lines; /* raw header lines, continuation lines included */
    size_t n_lines;
    const char *body;
    size_t body_len;
};

struct test_case {
    const char *dir;
    const char *name;
    json_object *context;
    struct blob request_txt;
    struct http_request req;
    char amz_date[17];
    struct http_header *sign_headers;
    size_t n_sign_headers;
    struct http_header *wire_extra; /* headers added to the wire */
    size_t n_wire_extra;
};

static int n_passed, n_failed;
static struct kmsre_sigv4_algs algs;

static void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n != 0 ? n : 1, size);

    if (p == NULL) {
        fprintf(stderr, "out of memory\n");
        exit(2);
    }
    return p;
}

static char *xstrndup(const char *s, size_t n)
{
    char *d = xcalloc(n + 1, 1);

    memcpy(d, s, n);
    return d;
}

static char *xstrdup(const char *s)
{
    return xstrndup(s, strlen(s));
}

static char *path_join(const char *a, const char *b)
{
    size_t n = strlen(a) + strlen(b) + 2;
    char *p = xcalloc(n, 1);

    snprintf(p, n, "%s/%s", a, b);
    return p;
}

static int read_blob(const char *dir, const char *file, struct blob *out)
{
    char *path = path_join(dir, file);
    FILE *f = fopen(path, "rb");
    size_t cap = 4096;

    free(path);
    out->len = 0;
    out->data = NULL;
    if (f == NULL)
        return 0;
    out->data = xcalloc(cap + 1, 1);
    for (;;) {
        size_t got = fread(out->data + out->len, 1, cap - out->len, f);

        out->len += got;
        if (got == 0)
            break;
        if (out->len == cap) {
            cap *= 2;
            out->data = realloc(out->data, cap + 1);
            if (out->data == NULL)
                exit(2);
        }
    }
    out->data[out->len] = '\0';
    fclose(f);
    return 1;
}

/* --- request.txt ------------------------------------------------------- */

/* Next line of buf starting at *pos, without its "\n" (and "\r"). Returns
 * 0 at the end of the buffer. */
static int next_line(const char *buf, size_t len, size_t *pos,
                     const char **line, size_t *n)
{
    const char *nl;

    if (*pos >= len)
        return 0;
    *line = buf + *pos;
    nl = memchr(*line, '\n', len - *pos);
    *n = nl != NULL ? (size_t)(nl - *line) : len - *pos;
    *pos += *n + (nl != NULL);
    if (*n > 0 && (*line)[*n - 1] == '\r')
        (*n)--;
    return 1;
}

static int parse_request_line(const char *line, size_t n,
                              struct http_request *req)
{
    const char *sp1 = memchr(line, ' ', n), *sp2 = line + n, *q;

    while (sp2 > line && sp2[-1] != ' ')
        sp2--;
    if (sp1 == NULL || sp2 - 1 <= sp1)
        return 0;
    sp2--;
    req->method = xstrndup(line, (size_t)(sp1 - line));
    q = memchr(sp1 + 1, '?', (size_t)(sp2 - sp1 - 1));
    if (q == NULL)
        q = sp2;
    req->path = xstrndup(sp1 + 1, (size_t)(q - sp1 - 1));
    req->query = q < sp2 ? xstrndup(q + 1, (size_t)(sp2 - q - 1)) : xstrdup("");
    return 1;
}

static void append_folded(struct http_header *h, const char *line, size_t n)
{
    size_t old = strlen(h->value);
    char *v = xcalloc(old + n + 2, 1);

    memcpy(v, h->value, old);
    v[old] = ' ';
    memcpy(v + old + 1, line, n);
    free(h->value);
    h->value = v;
}

static int parse_header_line(const char *line, size_t n,
                             struct http_request *req)
{
    const char *colon;
    struct http_header *h;

    req->lines[req->n_lines++] = xstrndup(line, n);
    if (line[0] == ' ' || line[0] == '\t') {
        if (req->n_headers == 0)
            return 0;
        append_folded(&req->headers[req->n_headers - 1], line, n);
        return 1;
    }
    colon = memchr(line, ':', n);
    if (colon == NULL)
        return 0;
    h = &req->headers[req->n_headers++];
    h->name = xstrndup(line, (size_t)(colon - line));
    h->value = xstrndup(colon + 1, n - (size_t)(colon - line) - 1);
    return 1;
}

static size_t count_lines(const char *buf, size_t len)
{
    size_t i, n = 1;

    for (i = 0; i < len; i++)
        n += buf[i] == '\n';
    return n;
}

static int parse_request(const char *buf, size_t len, struct http_request *req)
{
    size_t pos = 0, n, max = count_lines(buf, len);
    const char *line;

    memset(req, 0, sizeof(*req));
    req->headers = xcalloc(max, sizeof(*req->headers));
    req->lines = xcalloc(max, sizeof(*req->lines));
    req->body = buf + len;
    if (!next_line(buf, len, &pos, &line, &n) ||
        !parse_request_line(line, n, req))
        return 0;
    while (next_line(buf, len, &pos, &line, &n)) {
        if (n == 0) {
            req->body = buf + pos;
            break;
        }
        if (!parse_header_line(line, n, req))
            return 0;
    }
    req->body_len = (size_t)(buf + len - req->body);
    return 1;
}

static void free_headers(struct http_header *h, size_t n)
{
    size_t i;

    for (i = 0; h != NULL && i < n; i++) {
        free(h[i].name);
        free(h[i].value);
    }
    free(h);
}

static void free_request(struct http_request *req)
{
    size_t i;

    free(req->method);
    free(req->path);
    free(req->query);
    free_headers(req->headers, req->n_headers);
    for (i = 0; i < req->n_lines; i++)
        free(req->lines[i]);
    free(req->lines);
    memset(req, 0, sizeof(*req));
}

/* --- context.json ------------------------------------------------------ */

static const char *ctx_string(json_object *o, const char *a, const char *b)
{
    json_object *v;

    if (!json_object_object_get_ex(o, a, &v))
        return NULL;
    if (b != NULL && !json_object_object_get_ex(v, b, &v))
        return NULL;
    return json_object_is_type(v, json_type_string) ? json_object_get_string(v)
                                                    : NULL;
}

static int ctx_bool(json_object *o, const char *name, int dflt)
{
    json_object *v;

    if (!json_object_object_get_ex(o, name, &v))
        return dflt;
    return json_object_get_boolean(v);
}

/* "2015-08-30T12:36:00Z" -> "20150830T123600Z" */
static int amz_date_from_timestamp(const char *ts, char out[17])
{
    size_t o = 0;

    for (; ts != NULL && *ts != '\0' && o < 16; ts++)
        if (*ts != '-' && *ts != ':')
            out[o++] = *ts;
    out[o] = '\0';
    return o == 16 && ts != NULL && *ts == '\0';
}

static void add_header(struct http_header *list, size_t *n, const char *name,
                       const char *value)
{
    list[*n].name = xstrdup(name);
    list[*n].value = xstrdup(value);
    (*n)++;
}

/* The headers the signer signs: the request's own plus the ones a signer
 * adds (date, token unless omitted, content hash when sign_body). */
static int prepare_headers(struct test_case *tc)
{
    const char *token = ctx_string(tc->context, "credentials", "token");
    char hash[KMSRE_SIGV4_HEX_LEN + 1];
    size_t i;

    tc->sign_headers =
        xcalloc(tc->req.n_headers + 3, sizeof(struct http_header));
    tc->wire_extra = xcalloc(3, sizeof(struct http_header));
    for (i = 0; i < tc->req.n_headers; i++)
        add_header(tc->sign_headers, &tc->n_sign_headers,
                   tc->req.headers[i].name, tc->req.headers[i].value);
    add_header(tc->sign_headers, &tc->n_sign_headers, "X-Amz-Date",
               tc->amz_date);
    add_header(tc->wire_extra, &tc->n_wire_extra, "X-Amz-Date", tc->amz_date);
    if (token != NULL) {
        if (!ctx_bool(tc->context, "omit_session_token", 0))
            add_header(tc->sign_headers, &tc->n_sign_headers,
                       "X-Amz-Security-Token", token);
        add_header(tc->wire_extra, &tc->n_wire_extra, "X-Amz-Security-Token",
                   token);
    }
    if (ctx_bool(tc->context, "sign_body", 0)) {
        if (kmsre_sigv4_hex_sha256(&algs, tc->req.body, tc->req.body_len,
                                   hash) != KMSRE_OK)
            return 0;
        add_header(tc->sign_headers, &tc->n_sign_headers,
                   "x-amz-content-sha256", hash);
        add_header(tc->wire_extra, &tc->n_wire_extra, "x-amz-content-sha256",
                   hash);
    }
    return 1;
}

/* --- reporting --------------------------------------------------------- */

static void dump(const char *prefix, const char *s, size_t n)
{
    size_t pos = 0, len;
    const char *line;

    printf("#   %s (%zu bytes)\n", prefix[0] == '<' ? "expected" : "got", n);
    while (next_line(s, n, &pos, &line, &len))
        printf("# %s %.*s\n", prefix, (int)len, line);
}

static int fail(const struct test_case *tc, const char *stage)
{
    printf("not ok - %s: %s differs\n", tc->name, stage);
    return 0;
}

static int fail_diff(const struct test_case *tc, const char *stage,
                     const char *want, size_t wlen, const char *got)
{
    fail(tc, stage);
    dump("<", want, wlen);
    dump(">", got != NULL ? got : "(null)", got != NULL ? strlen(got) : 6);
    return 0;
}

static int check_file(const struct test_case *tc, const char *file,
                      const char *stage, const char *got)
{
    struct blob want;
    int ok;

    if (!read_blob(tc->dir, file, &want)) {
        printf("not ok - %s: %s missing\n", tc->name, file);
        return 0;
    }
    ok = got != NULL && strlen(got) == want.len &&
         memcmp(want.data, got, want.len) == 0;
    if (!ok)
        fail_diff(tc, stage, want.data, want.len, got);
    free(want.data);
    return ok;
}

/* --- header-signed-request.txt ---------------------------------------- */

static char *normalize_wire_line(const char *line)
{
    char *d = xstrdup(line);
    char *p;

    if (d[0] == ' ' || d[0] == '\t')
        return d;
    for (p = d; *p != '\0' && *p != ':'; p++)
        if (*p >= 'A' && *p <= 'Z')
            *p = (char)(*p - 'A' + 'a');
    return d;
}

static int compare_strings(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static char *header_line(const char *name, const char *value)
{
    size_t n = strlen(name) + strlen(value) + 2;
    char *s = xcalloc(n, 1);

    snprintf(s, n, "%s:%s", name, value);
    return s;
}

/* The wire header lines we would send, name-lower-cased and sorted: the
 * file does not fix their order. */
static char **our_wire_lines(const struct test_case *tc, const char *auth,
                             size_t *n)
{
    char **lines =
        xcalloc(tc->req.n_lines + tc->n_wire_extra + 1, sizeof(char *));
    size_t i, k = 0;
    char *tmp;

    for (i = 0; i < tc->req.n_lines; i++)
        lines[k++] = normalize_wire_line(tc->req.lines[i]);
    for (i = 0; i < tc->n_wire_extra; i++) {
        tmp = header_line(tc->wire_extra[i].name, tc->wire_extra[i].value);
        lines[k++] = normalize_wire_line(tmp);
        free(tmp);
    }
    tmp = header_line("Authorization", auth);
    lines[k++] = normalize_wire_line(tmp);
    free(tmp);
    qsort(lines, k, sizeof(char *), compare_strings);
    *n = k;
    return lines;
}

static void free_lines(char **lines, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        free(lines[i]);
    free(lines);
}

static char *join_lines(char **lines, size_t n)
{
    size_t i, len = 1;
    char *s, *p;

    for (i = 0; i < n; i++)
        len += strlen(lines[i]) + 1;
    p = s = xcalloc(len, 1);
    for (i = 0; i < n; i++)
        p += sprintf(p, "%s\n", lines[i]);
    return s;
}

static const char *find_authorization(const struct http_request *sreq)
{
    size_t i;

    for (i = 0; i < sreq->n_headers; i++)
        if (strcmp(sreq->headers[i].name, "Authorization") == 0)
            return sreq->headers[i].value;
    return NULL;
}

static int compare_wire_headers(const struct test_case *tc,
                                const struct http_request *sreq,
                                const char *auth)
{
    size_t n_ours, i;
    char **ours = our_wire_lines(tc, auth, &n_ours);
    char **theirs = xcalloc(sreq->n_lines, sizeof(char *));
    char *want, *got;
    int ok;

    for (i = 0; i < sreq->n_lines; i++)
        theirs[i] = normalize_wire_line(sreq->lines[i]);
    qsort(theirs, sreq->n_lines, sizeof(char *), compare_strings);
    want = join_lines(theirs, sreq->n_lines);
    got = join_lines(ours, n_ours);
    ok = strcmp(want, got) == 0;
    if (!ok)
        fail_diff(tc, "signed request headers", want, strlen(want), got);
    free(want);
    free(got);
    free_lines(ours, n_ours);
    free_lines(theirs, sreq->n_lines);
    return ok;
}

static int check_signed_request(const struct test_case *tc, const char *auth)
{
    struct blob file;
    struct http_request sreq;
    const char *want;
    int ok;

    if (!read_blob(tc->dir, "header-signed-request.txt", &file)) {
        printf("not ok - %s: header-signed-request.txt missing\n", tc->name);
        return 0;
    }
    ok = parse_request(file.data, file.len, &sreq);
    want = ok ? find_authorization(&sreq) : NULL;
    if (want == NULL)
        ok = fail(tc, "signed request (unparsable)");
    else if (strcmp(want, auth) != 0)
        ok = fail_diff(tc, "Authorization", want, strlen(want), auth);
    else if (sreq.body_len != tc->req.body_len ||
             memcmp(sreq.body, tc->req.body, sreq.body_len) != 0)
        ok = fail(tc, "signed request body");
    else
        ok = compare_wire_headers(tc, &sreq, auth);
    free_request(&sreq);
    free(file.data);
    return ok;
}

/* --- one case ---------------------------------------------------------- */

static void fill_sigv4_request(const struct test_case *tc,
                               struct kmsre_http_header *hdrs,
                               struct kmsre_sigv4_request *r)
{
    size_t i;

    for (i = 0; i < tc->n_sign_headers; i++) {
        hdrs[i].name = tc->sign_headers[i].name;
        hdrs[i].value = tc->sign_headers[i].value;
    }
    memset(r, 0, sizeof(*r));
    r->method = tc->req.method;
    r->path = tc->req.path;
    r->query = tc->req.query;
    r->headers = hdrs;
    r->n_headers = tc->n_sign_headers;
    r->payload = (const unsigned char *)tc->req.body;
    r->payload_len = tc->req.body_len;
    r->normalize_path = ctx_bool(tc->context, "normalize", 1);
}

static int run_stages(const struct test_case *tc,
                      const struct kmsre_sigv4_request *r,
                      const struct kmsre_sigv4_scope *scope, const char *akid,
                      const struct kmsre_sigv4_key *key,
                      struct kmsre_sigv4_state *st)
{
    if (kmsre_sigv4_build_canonical_request(&algs, st, r) != KMSRE_OK)
        return fail(tc, "canonical request (error)");
    if (!check_file(tc, "header-canonical-request.txt", "canonical request",
                    st->canonical_request))
        return 0;
    if (kmsre_sigv4_build_string_to_sign(&algs, st, scope) != KMSRE_OK)
        return fail(tc, "string to sign (error)");
    if (!check_file(tc, "header-string-to-sign.txt", "string to sign",
                    st->string_to_sign))
        return 0;
    if (kmsre_sigv4_build_signature(st, key) != KMSRE_OK)
        return fail(tc, "signature (error)");
    if (!check_file(tc, "header-signature.txt", "signature", st->signature))
        return 0;
    if (kmsre_sigv4_build_authorization(st, akid, scope) != KMSRE_OK)
        return fail(tc, "authorization (error)");
    return check_signed_request(tc, st->authorization);
}

/* The signer, given the request as the caller has it (without the
 * headers it adds itself), must agree with the stages. */
static int run_signer(const struct test_case *tc, const char *secret,
                      const char *want)
{
    const char *token = ctx_string(tc->context, "credentials", "token");
    struct kmsre_http_header *h =
        xcalloc(tc->n_sign_headers, sizeof(struct kmsre_http_header));
    struct kmsre_creds creds = {0};
    struct kmsre_signed_headers out;
    struct kmsre_err err = {0};
    struct tm tm = {0};
    size_t i, n = 0;
    int ok;

    for (i = 0; i < tc->n_sign_headers; i++)
        if (strcasecmp(tc->sign_headers[i].name, "X-Amz-Date") != 0 &&
            strcasecmp(tc->sign_headers[i].name, "X-Amz-Security-Token") != 0)
            h[n++] = *(struct kmsre_http_header *)&tc->sign_headers[i];
    sscanf(tc->amz_date, "%4d%2d%2dT%2d%2d%2d", &tm.tm_year, &tm.tm_mon,
           &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec);
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    ok = kmsre_creds_set(
             &creds, ctx_string(tc->context, "credentials", "access_key_id"),
             secret, token, 0, 0, "test") == KMSRE_OK;
    {
        struct kmsre_signing_input in = {
            tc->req.method,
            tc->req.path,
            tc->req.query,
            h,
            n,
            tc->req.body,
            tc->req.body_len,
            &creds,
            ctx_string(tc->context, "region", NULL),
            ctx_string(tc->context, "service", NULL),
            timegm(&tm),
            NULL};

        ok = ok && kmsre_sigv4_sign_request(&algs, &in, &out, &err) == KMSRE_OK;
    }
    ok = ok && strcmp(out.headers[out.n_headers - 1].value, want) == 0 &&
         strcmp(out.amz_date, tc->amz_date) == 0 &&
         out.n_headers == (token != NULL ? 3u : 2u);
    if (!ok)
        fail(tc, "kmsre_sigv4_sign_request");
    if (out.n_headers > 0)
        kmsre_signed_headers_clear(&out);
    kmsre_creds_clear(&creds);
    free(h);
    return ok;
}

/* Cases the signer cannot reproduce as callers use it: an unsigned
 * session token, or a path not normalised. */
static int signer_applies(const struct test_case *tc)
{
    return !ctx_bool(tc->context, "omit_session_token", 0) &&
           ctx_bool(tc->context, "normalize", 1);
}

static int sign_and_check(const struct test_case *tc)
{
    const char *akid = ctx_string(tc->context, "credentials", "access_key_id");
    const char *secret =
        ctx_string(tc->context, "credentials", "secret_access_key");
    struct kmsre_sigv4_scope scope = {tc->amz_date,
                                      ctx_string(tc->context, "region", NULL),
                                      ctx_string(tc->context, "service", NULL)};
    struct kmsre_http_header *hdrs =
        xcalloc(tc->n_sign_headers, sizeof(struct kmsre_http_header));
    struct kmsre_sigv4_state st = {0};
    struct kmsre_sigv4_key key = {0};
    struct kmsre_sigv4_request r;
    char date8[9];
    int ok;

    snprintf(date8, sizeof(date8), "%.8s", tc->amz_date);
    fill_sigv4_request(tc, hdrs, &r);
    ok = akid != NULL && secret != NULL &&
         kmsre_sigv4_key_derive(&algs, secret, date8, scope.region,
                                scope.service, &key) == KMSRE_OK;
    if (!ok)
        fail(tc, "signing key (error)");
    else
        ok = run_stages(tc, &r, &scope, akid, &key, &st) &&
             (!signer_applies(tc) || run_signer(tc, secret, st.authorization));
    kmsre_sigv4_state_clear(&st);
    kmsre_sigv4_key_clear(&key);
    free(hdrs);
    return ok;
}

static int load_case(struct test_case *tc)
{
    char *path = path_join(tc->dir, "context.json");

    tc->context = json_object_from_file(path);
    free(path);
    if (tc->context == NULL)
        return fail(tc, "context.json (unreadable)");
    if (!amz_date_from_timestamp(ctx_string(tc->context, "timestamp", NULL),
                                 tc->amz_date))
        return fail(tc, "context.json timestamp");
    if (!read_blob(tc->dir, "request.txt", &tc->request_txt) ||
        !parse_request(tc->request_txt.data, tc->request_txt.len, &tc->req))
        return fail(tc, "request.txt (unparsable)");
    if (!prepare_headers(tc))
        return fail(tc, "payload hash (error)");
    return 1;
}

static void run_case(const char *suite, const char *name)
{
    struct test_case tc;
    char *dir = path_join(suite, name);
    int ok;

    memset(&tc, 0, sizeof(tc));
    tc.dir = dir;
    tc.name = name;
    ok = load_case(&tc) && sign_and_check(&tc);
    if (ok)
        printf("ok - %s\n", name);
    ok ? n_passed++ : n_failed++;
    free_request(&tc.req);
    free(tc.request_txt.data);
    free_headers(tc.sign_headers, tc.n_sign_headers);
    free_headers(tc.wire_extra, tc.n_wire_extra);
    json_object_put(tc.context);
    free(dir);
}

static int is_case_dir(const char *suite, const char *name)
{
    char *dir, *ctx;
    struct stat sb;
    int ok;

    if (name[0] == '.')
        return 0;
    dir = path_join(suite, name);
    ctx = path_join(dir, "context.json");
    ok = stat(dir, &sb) == 0 && S_ISDIR(sb.st_mode) && stat(ctx, &sb) == 0;
    free(dir);
    free(ctx);
    return ok;
}

/* Every case folder, in name order so that runs are comparable. */
static void run_suite(const char *suite)
{
    DIR *d = opendir(suite);
    struct dirent *e;
    char **names = NULL;
    size_t n = 0, cap = 0, i;

    while (d != NULL && (e = readdir(d)) != NULL) {
        if (!is_case_dir(suite, e->d_name))
            continue;
        if (n == cap) {
            cap = cap != 0 ? 2 * cap : 64;
            names = realloc(names, cap * sizeof(*names));
            if (names == NULL)
                exit(2);
        }
        names[n++] = xstrdup(e->d_name);
    }
    if (d != NULL)
        closedir(d);
    qsort(names, n, sizeof(*names), compare_strings);
    for (i = 0; i < n; i++)
        run_case(suite, names[i]);
    if (n == 0) {
        printf("not ok - %s: no case found\n", suite);
        n_failed++;
    }
    free_lines(names, n);
}

/* --- API checks beyond the vectors ------------------------------------- */

static void report(const char *what, int ok)
{
    printf("%s - api: %s\n", ok ? "ok" : "not ok", what);
    ok ? n_passed++ : n_failed++;
}

/* Canonical request of GET path?query with the given headers. */
static enum kmsre_status canon(const char *path, const char *query,
                               int normalize, const struct kmsre_http_header *h,
                               size_t n, struct kmsre_sigv4_state *st)
{
    struct kmsre_sigv4_request r = {"GET", path, query, h,
                                    n,     NULL, 0,     normalize};

    return kmsre_sigv4_build_canonical_request(&algs, st, &r);
}

/* Line `line` (0-based) of the canonical request equals want. */
static int canon_line_is(const struct kmsre_sigv4_state *st, int line,
                         const char *want)
{
    const char *p = st->canonical_request;
    size_t n;

    for (; p != NULL && line > 0; line--) {
        p = strchr(p, '\n');
        if (p != NULL)
            p++;
    }
    if (p == NULL)
        return 0;
    n = strcspn(p, "\n");
    return strlen(want) == n && strncmp(p, want, n) == 0;
}

static void check_paths_and_queries(void)
{
    static const struct kmsre_http_header host[] = {{"Host", "h"}};
    struct kmsre_sigv4_state st = {0};

    report("normalize /a/b/../c/./d//",
           canon("/a/b/../c/./d//", "", 1, host, 1, &st) == KMSRE_OK &&
               canon_line_is(&st, 1, "/a/c/d/"));
    report("path %20 is encoded again (%2520)",
           canon("/a%20b", "", 0, host, 1, &st) == KMSRE_OK &&
               canon_line_is(&st, 1, "/a%2520b"));
    report("empty path is /", canon("", "", 1, host, 1, &st) == KMSRE_OK &&
                                  canon_line_is(&st, 1, "/"));
    report("query: empty pieces skipped, bare key gets =, + kept",
           canon("/", "b&&a=x+y&a=%7e", 1, host, 1, &st) == KMSRE_OK &&
               canon_line_is(&st, 2, "a=x%2By&a=~&b="));
    report("query: bad %-escape rejected",
           canon("/", "a=%zz", 1, host, 1, &st) == KMSRE_ERR_INVALID &&
               st.canonical_request == NULL);
    report("relative path rejected",
           canon("a/b", "", 1, host, 1, &st) == KMSRE_ERR_INVALID);
    kmsre_sigv4_state_clear(&st);
}

static void check_headers(void)
{
    static const struct kmsre_http_header crlf[] = {{"Host", "h"},
                                                    {"X-A", "v\r\nX-B: evil"}};
    static const struct kmsre_http_header badname[] = {{"Host", "h"},
                                                       {"Bad Name", "v"}};
    static const struct kmsre_http_header nohost[] = {{"X-A", "v"}};
    static const struct kmsre_http_header mixed[] = {
        {"X-B", "\t a \t b  "}, {"x-a", "2"}, {"Host", "h"}, {"X-A", "1"}};
    struct kmsre_sigv4_state st = {0};

    report("CR/LF in a header value rejected",
           canon("/", "", 1, crlf, 2, &st) == KMSRE_ERR_INVALID);
    report("bad header name rejected",
           canon("/", "", 1, badname, 2, &st) == KMSRE_ERR_INVALID);
    report("missing Host rejected",
           canon("/", "", 1, nohost, 1, &st) == KMSRE_ERR_INVALID);
    report("names case-folded, joined in order, values squeezed",
           canon("/", "", 1, mixed, 4, &st) == KMSRE_OK &&
               canon_line_is(&st, 3, "host:h") &&
               canon_line_is(&st, 4, "x-a:2,1") &&
               canon_line_is(&st, 5, "x-b:a b") &&
               strcmp(st.signed_headers, "host;x-a;x-b") == 0);
    kmsre_sigv4_state_clear(&st);
}

static void check_long_header(void)
{
    size_t n = 256 * 1024;
    char *big = xcalloc(n + 1, 1);
    struct kmsre_http_header h[] = {{"Host", "h"}, {"X-Big", big}};
    struct kmsre_sigv4_state st = {0};

    memset(big, 'a', n);
    report("256 KiB header value",
           canon("/", "", 1, h, 2, &st) == KMSRE_OK &&
               strstr(st.canonical_request, big) != NULL);
    kmsre_sigv4_state_clear(&st);
    free(big);
}

static void check_stage_order(void)
{
    static const struct kmsre_http_header host[] = {{"Host", "h"}};
    struct kmsre_sigv4_scope bad = {"2015-08-30", "us-east-1", "kms"};
    struct kmsre_sigv4_scope good = {"20150830T123600Z", "us-east-1", "kms"};
    unsigned char raw[KMSRE_SIGV4_KEY_LEN] = {0};
    struct kmsre_sigv4_key key = {0};
    struct kmsre_sigv4_state st = {0};
    char hex[KMSRE_SIGV4_HEX_LEN + 1];

    kmsre_sigv4_key_init(&algs, raw, "20150830", "us-east-1", "kms", &key);
    report("string to sign needs a canonical request",
           kmsre_sigv4_build_string_to_sign(&algs, &st, &good) ==
               KMSRE_ERR_INVALID);
    report("bad X-Amz-Date rejected",
           canon("/", "", 1, host, 1, &st) == KMSRE_OK &&
               kmsre_sigv4_build_string_to_sign(&algs, &st, &bad) ==
                   KMSRE_ERR_INVALID);
    report("rebuilding a stage drops the later ones",
           kmsre_sigv4_build_string_to_sign(&algs, &st, &good) == KMSRE_OK &&
               kmsre_sigv4_build_signature(&st, &key) == KMSRE_OK &&
               canon("/x", "", 1, host, 1, &st) == KMSRE_OK &&
               st.string_to_sign == NULL && st.signature[0] == '\0');
    report("hex SHA-256 of nothing",
           kmsre_sigv4_hex_sha256(&algs, NULL, 0, hex) == KMSRE_OK &&
               strcmp(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934c"
                           "a495991b7852b855") == 0);
    kmsre_sigv4_state_clear(&st);
    kmsre_sigv4_key_clear(&key);
}

/* OpenSSL's own HMAC, as the reference for the signer's (RFC 2104). */
static int ref_hmac(const unsigned char *key, size_t keylen, const void *msg,
                    size_t msglen, unsigned char out[32])
{
    size_t outlen = 0;

    return EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, key, keylen, msg,
                     msglen, out, 32, &outlen) != NULL &&
           outlen == 32;
}

static int ref_derive_key(const char *secret, unsigned char key[32])
{
    const char *msgs[] = {"20150830", "us-east-1", "kms", "aws4_request"};
    unsigned char k0[256];
    size_t n = strlen(secret), i;
    int ok;

    memcpy(k0, "AWS4", 4);
    memcpy(k0 + 4, secret, n);
    ok = ref_hmac(k0, n + 4, msgs[0], strlen(msgs[0]), key);
    for (i = 1; ok && i < 4; i++)
        ok = ref_hmac(key, 32, msgs[i], strlen(msgs[i]), key);
    return ok;
}

/* Keys of every length around the 64-byte block (longer ones are hashed
 * first) and messages around the padding boundaries, against OpenSSL. */
static void check_hmac(void)
{
    unsigned char key[KMSRE_SIGV4_KEY_LEN], ref[32], mac[32];
    char secret[200], hex[KMSRE_SIGV4_HEX_LEN + 1], msg[300];
    struct kmsre_sigv4_state st = {0};
    struct kmsre_sigv4_key k;
    int keys_ok = 1, sigs_ok = 1;
    size_t n, i;

    for (n = 0; n < 140; n++) {
        for (i = 0; i < n; i++)
            secret[i] = (char)('A' + (i * 7 + n) % 26);
        secret[n] = '\0';
        keys_ok &=
            kmsre_sigv4_derive_key_bytes(&algs, secret, "20150830", "us-east-1",
                                         "kms", key) == KMSRE_OK &&
            ref_derive_key(secret, ref) && memcmp(key, ref, 32) == 0;
    }
    for (n = 0; n < 260; n++) {
        for (i = 0; i < n; i++)
            msg[i] = (char)('a' + (i * 5 + n) % 26);
        msg[n] = '\0';
        st.string_to_sign = msg;
        for (i = 0; i < 32; i++)
            mac[i] = (unsigned char)(i * 3 + n);
        sigs_ok &= kmsre_sigv4_key_init(&algs, mac, "20150830", "r", "s", &k) ==
                       KMSRE_OK &&
                   kmsre_sigv4_build_signature(&st, &k) == KMSRE_OK &&
                   ref_hmac(mac, 32, msg, n, ref);
        kmsre_sigv4_key_clear(&k);
        for (i = 0; sigs_ok && i < 32; i++)
            snprintf(hex + 2 * i, 3, "%02x", ref[i]);
        sigs_ok &= strcmp(hex, st.signature) == 0;
        st.string_to_sign = NULL; /* borrowed: not the state's to free */
    }
    report("signing keys from secrets of 0..139 bytes match OpenSSL's HMAC",
           keys_ok);
    report("signatures of 0..259-byte strings match OpenSSL's HMAC", sigs_ok);
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: %s SUITE_DIR KMS_VECTORS_DIR\n", argv[0]);
        return 2;
    }
    if (kmsre_sigv4_algs_fetch(&algs, NULL, NULL) != KMSRE_OK) {
        fprintf(stderr, "cannot fetch SHA-256\n");
        return 2;
    }
    run_suite(argv[1]);
    run_suite(argv[2]);
    check_paths_and_queries();
    check_headers();
    check_long_header();
    check_stage_order();
    check_hmac();
    kmsre_sigv4_algs_free(&algs);
    printf("%d passed, %d failed\n", n_passed, n_failed);
    return n_failed != 0 || n_passed == 0;
}
