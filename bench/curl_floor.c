/* SPDX-License-Identifier: Apache-2.0 */
/*
 * curl_floor: the provider's captured ReEncrypt POST, sent again and again
 * through curl_easy_perform on one reused easy handle (the provider's TLS
 * settings), with no signing, no JSON and no provider: what a plain
 * libcurl client pays per request on this machine. The provider's KMS path
 * goes through the same curl_easy_perform (provider/http/curl.c); the
 * difference is what the provider adds on top.
 *
 *     curl_floor REQUEST_FILE URL CA_FILE SECONDS
 *
 * REQUEST_FILE is the request as capture_request.py wrote it (header lines,
 * an empty line, the body). Prints one line:
 *     curl-result ops=N seconds=S ops_per_s=X cpu_us_per_op=C sys_us_per_op=K
 * and exits 1 if any request fails or answers other than 200.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <sys/resource.h>
#include <curl/curl.h>

struct request {
    char *raw;
    const char *body;
    size_t body_len;
    struct curl_slist *headers;
};

static double now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double cpu_seconds(double *sys)
{
    struct rusage ru;

    getrusage(RUSAGE_SELF, &ru);
    *sys = (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
    return *sys + (double)ru.ru_utime.tv_sec +
           (double)ru.ru_utime.tv_usec / 1e6;
}

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    long n;

    if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 ||
        fseek(f, 0, SEEK_SET) != 0 || (buf = malloc((size_t)n + 1)) == NULL ||
        fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        buf = NULL;
    } else {
        buf[n] = '\0';
        *len = (size_t)n;
    }
    if (f != NULL)
        fclose(f);
    return buf;
}

/* Every captured header but Host and Content-Length, which libcurl makes
 * from the URL and the body (as wrk does): the signed ones, User-Agent and
 * Accept go out as captured. The file has no request line. */
static int load_request(const char *path, struct request *r)
{
    size_t len = 0;
    char *line, *end, *sep;

    r->raw = read_file(path, &len);
    if (r->raw == NULL || (sep = strstr(r->raw, "\r\n\r\n")) == NULL)
        return 0;
    *sep = '\0';
    r->body = sep + 4;
    r->body_len = len - (size_t)(r->body - r->raw);
    r->headers = curl_slist_append(NULL, "Expect:");
    for (line = r->raw; line != NULL && r->headers != NULL;) {
        end = strstr(line, "\r\n");
        if (end != NULL)
            *end = '\0';
        if (strncasecmp(line, "Content-Length:", 15) != 0 &&
            strncasecmp(line, "Host:", 5) != 0)
            r->headers = curl_slist_append(r->headers, line);
        line = end != NULL ? end + 2 : NULL;
    }
    return r->headers != NULL;
}

static size_t discard(char *p, size_t size, size_t n, void *userp)
{
    (void)p;
    (void)userp;
    return size * n;
}

static CURL *make_handle(const char *url, const char *ca,
                         const struct request *r)
{
    CURL *h = curl_easy_init();

    if (h == NULL)
        return NULL;
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_CAINFO, ca);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
    curl_easy_setopt(h, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, r->headers);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, r->body);
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)r->body_len);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, discard);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 30000L);
    return h;
}

static int post_once(CURL *h)
{
    long status = 0;

    return curl_easy_perform(h) == CURLE_OK &&
           curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status) == CURLE_OK &&
           status == 200;
}

int main(int argc, char **argv)
{
    struct request r = {0};
    double seconds, start, end, cpu0, cpu1, sys0, sys1;
    long ops = 0, i;
    CURL *h;

    if (argc != 5 || (seconds = atof(argv[4])) <= 0) {
        fprintf(stderr, "usage: curl_floor REQUEST_FILE URL CA_FILE SECONDS\n");
        return 2;
    }
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK ||
        !load_request(argv[1], &r) ||
        (h = make_handle(argv[2], argv[3], &r)) == NULL) {
        fprintf(stderr, "curl_floor: cannot set up (request file %s)\n",
                argv[1]);
        return 2;
    }
    for (i = 0; i < 50; i++) /* warm-up: connection, TLS session */
        if (!post_once(h)) {
            fprintf(stderr, "curl_floor: warm-up request failed\n");
            return 1;
        }
    cpu0 = cpu_seconds(&sys0);
    start = now();
    do {
        if (!post_once(h)) {
            fprintf(stderr, "curl_floor: request %ld failed\n", ops + 1);
            return 1;
        }
        ops++;
    } while ((ops & 63) != 0 || now() - start < seconds);
    end = now();
    cpu1 = cpu_seconds(&sys1);
    printf("curl-result ops=%ld seconds=%.3f ops_per_s=%.1f "
           "cpu_us_per_op=%.1f sys_us_per_op=%.1f\n",
           ops, end - start, (double)ops / (end - start),
           (cpu1 - cpu0) * 1e6 / (double)ops,
           (sys1 - sys0) * 1e6 / (double)ops);
    curl_easy_cleanup(h);
    curl_slist_free_all(r.headers);
    free(r.raw);
    curl_global_cleanup();
    return 0;
}
