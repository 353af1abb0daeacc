/* SPDX-License-Identifier: Apache-2.0 */
/* What every transport shares: the calls through the ops table and the
 * response buffers. */
#include <string.h>
#include <strings.h>
#include <openssl/crypto.h>
#include "http/http.h"

enum kmsre_status kmsre_http_send(const struct kmsre_http *http,
                                  const struct kmsre_http_request *req,
                                  struct kmsre_http_response *resp,
                                  struct kmsre_err *err)
{
    memset(resp, 0, sizeof(*resp));
    return http->ops->send(http->impl, req, resp, err);
}

void kmsre_http_free(struct kmsre_http *http)
{
    if (http->ops != NULL)
        http->ops->free(http->impl);
    http->ops = NULL;
    http->impl = NULL;
}

/* A "name: value" line of the headers block whose name is `name`. */
static const char *find_header(const char *block, size_t blen, const char *name,
                               size_t *vlen)
{
    size_t nlen = strlen(name), llen;
    const char *line = block, *end = block + blen, *nl, *found = NULL;

    for (; line < end; line = nl + 1) {
        nl = memchr(line, '\n', (size_t)(end - line));
        if (nl == NULL)
            nl = end;
        llen = (size_t)(nl - line);
        if (llen > nlen && line[nlen] == ':' &&
            strncasecmp(line, name, nlen) == 0) {
            found = line + nlen + 1;
            *vlen = llen - nlen - 1;
        }
    }
    return found;
}

const char *kmsre_http_response_header(const struct kmsre_http_response *resp,
                                       const char *name, char *buf, size_t len)
{
    size_t vlen = 0;
    const char *v;

    buf[0] = '\0';
    if (resp->headers == NULL)
        return buf;
    v = find_header(resp->headers, resp->headers_len, name, &vlen);
    if (v == NULL)
        return buf;
    while (vlen > 0 && (*v == ' ' || *v == '\t'))
        v++, vlen--;
    while (vlen > 0 &&
           (v[vlen - 1] == '\r' || v[vlen - 1] == ' ' || v[vlen - 1] == '\t'))
        vlen--;
    if (vlen >= len)
        vlen = len - 1;
    memcpy(buf, v, vlen);
    buf[vlen] = '\0';
    return buf;
}

void kmsre_http_response_clear(struct kmsre_http_response *resp)
{
    OPENSSL_clear_free(resp->body, resp->body_cap);
    OPENSSL_free(resp->headers);
    memset(resp, 0, sizeof(*resp));
}

enum kmsre_status kmsre_http_response_append(struct kmsre_http_response *resp,
                                             const char *data, size_t len)
{
    size_t cap = resp->body_cap != 0 ? resp->body_cap : 1024;
    char *grown;

    if (len > KMSRE_HTTP_MAX_RESPONSE - resp->body_len)
        return KMSRE_ERR_LIMIT;
    while (cap < resp->body_len + len + 1)
        cap *= 2;
    if (cap != resp->body_cap) {
        /* The old buffer may hold credentials: wiped, not just freed. */
        grown = OPENSSL_clear_realloc(resp->body, resp->body_cap, cap);
        if (grown == NULL)
            return KMSRE_ERR_NOMEM;
        resp->body = grown;
        resp->body_cap = cap;
    }
    memcpy(resp->body + resp->body_len, data, len);
    resp->body_len += len;
    resp->body[resp->body_len] = '\0';
    return KMSRE_OK;
}
