/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The credentials layer in C: the value type and its parsers, the cache's
 * refresh rules on an injectable clock, the chain's precedence with real
 * shared files, and each source against a fake transport (credential_process
 * against real helper scripts).
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <openssl/crypto.h>
#include "aws/creds_cache.h"
#include "aws/creds_chain.h"
#include "aws/creds_sts.h"
#include "fake_http.h"
#include "test.h"

#define AKID "AKIDEXAMPLE"
#define SECRET "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
#define T0 1780000000 /* 2026-05-28T20:26:40Z */

static struct kmsre_sigv4_algs algs;

/* Every variable a source reads, so that each case starts from nothing. */
static void clear_environment(void)
{
    static const char *const vars[] = {"AWS_ACCESS_KEY_ID",
                                       "AWS_SECRET_ACCESS_KEY",
                                       "AWS_SESSION_TOKEN",
                                       "AWS_SECURITY_TOKEN",
                                       "AWS_CREDENTIAL_EXPIRATION",
                                       "AWS_PROFILE",
                                       "AWS_WEB_IDENTITY_TOKEN_FILE",
                                       "AWS_ROLE_ARN",
                                       "AWS_ROLE_SESSION_NAME",
                                       "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
                                       "AWS_CONTAINER_CREDENTIALS_FULL_URI",
                                       "AWS_CONTAINER_AUTHORIZATION_TOKEN",
                                       "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
                                       "AWS_ENDPOINT_URL",
                                       "AWS_ENDPOINT_URL_STS",
                                       "AWS_ENDPOINT_URL_SSO",
                                       "AWS_ENDPOINT_URL_SSO_OIDC",
                                       "AWS_EC2_METADATA_SERVICE_ENDPOINT",
                                       "AWS_EC2_METADATA_V1_DISABLED",
                                       "AWS_CONFIG_FILE",
                                       "AWS_SHARED_CREDENTIALS_FILE"};
    size_t i;

    for (i = 0; i < sizeof(vars) / sizeof(vars[0]); i++)
        unsetenv(vars[i]);
    setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
}

/* ---- the value and its parsers ------------------------------------------ */

static void test_value(void)
{
    const char *epoch = "{\"AccessKeyId\":\"A\",\"SecretAccessKey\":\"S\","
                        "\"Token\":\"T\",\"Expiration\":"
                        "\"1970-01-01T00:00:00Z\"}";
    const char *forever = "{\"AccessKeyId\":\"A\",\"SecretAccessKey\":\"S\"}";
    struct kmsre_creds c;
    struct kmsre_err err = {0};
    time_t t = 1;

    test_check(kmsre_parse_iso8601("1970-01-01T00:00:00Z", &t) && t == 0,
               "ISO 8601: the epoch itself is a time (0), not an error");
    test_check(kmsre_parse_iso8601("2026-01-01T00:00:00.123+01:00", &t) &&
                   t == 1767222000,
               "ISO 8601: fraction and offset");
    test_check(kmsre_parse_iso8601("2026-01-01T00:00:00UTC", &t),
               "ISO 8601: the UTC spelling of old CLI v2 token files");
    test_check(!kmsre_parse_iso8601("2026-01-01 00:00:00", &t),
               "ISO 8601: no T, refused");
    test_check(kmsre_creds_parse_json(epoch, strlen(epoch), "Token", "test", &c,
                                      &err) == KMSRE_OK &&
                   c.expires && c.expiration == 0 &&
                   !kmsre_creds_valid_at(&c, T0),
               "an Expiration of 1970-01-01 means expired, not 'never'");
    kmsre_creds_clear(&c);
    test_check(kmsre_creds_parse_json(forever, strlen(forever), "Token", "test",
                                      &c, &err) == KMSRE_OK &&
                   !c.expires && kmsre_creds_valid_at(&c, T0) &&
                   c.session_token == NULL,
               "no Expiration: long-term, valid");
    kmsre_creds_clear(&c);
    test_check(c.access_key_id == NULL && c.secret_access_key == NULL,
               "clear leaves nothing behind");
    test_check(kmsre_creds_parse_json("{\"AccessKeyId\":\"A\"}", 18, "Token",
                                      "test", &c, &err) == KMSRE_ERR_RESPONSE,
               "no SecretAccessKey: refused");
}

static void test_sts_parse(void)
{
    const char *ok = "<AssumeRoleResponse><AssumeRoleResult><Credentials>"
                     "<AccessKeyId>ASIA1</AccessKeyId>"
                     "<SecretAccessKey>s&amp;x</SecretAccessKey>"
                     "<SessionToken>tok</SessionToken>"
                     "<Expiration>2026-05-28T21:26:40Z</Expiration>"
                     "</Credentials></AssumeRoleResult></AssumeRoleResponse>";
    const char *bad = "<ErrorResponse><Error><Code>AccessDenied</Code>"
                      "<Message>no\nway</Message></Error></ErrorResponse>";
    struct kmsre_creds c;
    struct kmsre_err err = {0};

    test_check(kmsre_sts_parse(ok, strlen(ok), "sts", &c, &err) == KMSRE_OK &&
                   strcmp(c.secret_access_key, "s&x") == 0 && c.expires &&
                   c.expiration == T0 + 3600,
               "STS answer: entities decoded, Expiration read");
    kmsre_creds_clear(&c);
    test_check(kmsre_sts_parse(bad, strlen(bad), "assume role", &c, &err) ==
                   KMSRE_ERR_SERVICE,
               "STS error document: a service error");
    test_expect_str(kmsre_err_text(&err),
                    "assume role: STS AccessDenied: no way",
                    "  ... with its code and a one-line message");
}

/* ---- the cache ----------------------------------------------------------- */

static time_t now_value = T0;

static time_t fake_clock(void)
{
    return now_value;
}

struct fetcher {
    int calls;
    enum kmsre_status result;
    time_t lifetime; /* 0: long-term */
};

static enum kmsre_status fetch(void *arg, struct kmsre_creds *out,
                               struct kmsre_err *err)
{
    struct fetcher *f = arg;
    char akid[32];

    f->calls++;
    if (f->result != KMSRE_OK)
        return kmsre_fail(err, f->result, "fetch %d failed", f->calls);
    snprintf(akid, sizeof(akid), "ASIA%d", f->calls);
    return kmsre_creds_set(out, akid, SECRET, "token", f->lifetime != 0,
                           now_value + f->lifetime, "fake");
}

static int get_akid(struct kmsre_creds_cache *cache, char *buf, size_t len,
                    char date8[9])
{
    struct kmsre_identity *id;
    struct kmsre_err err = {0};

    if (kmsre_creds_cache_get(cache, &id, &err) != KMSRE_OK)
        return 0;
    snprintf(buf, len, "%s", id->creds.access_key_id);
    if (date8 != NULL)
        memcpy(date8, id->key.date8, 9);
    kmsre_creds_cache_put(cache, id);
    return 1;
}

static void test_cache_refresh(void)
{
    struct fetcher f = {0, KMSRE_OK, 3600};
    struct kmsre_creds_cache cache;
    struct kmsre_err err = {0};
    struct kmsre_identity *id;
    char akid[32] = "", date[9] = "";

    now_value = T0;
    kmsre_creds_cache_init(&cache, fetch, &f, fake_clock, &algs, "us-east-1",
                           "kms");
    test_check(get_akid(&cache, akid, sizeof(akid), date) && f.calls == 1 &&
                   strcmp(akid, "ASIA1") == 0 && strcmp(date, "20260528") == 0,
               "first use fetches, with a key for today");
    now_value = T0 + 3600 - 301;
    test_check(get_akid(&cache, akid, sizeof(akid), NULL) && f.calls == 1,
               "more than 5 minutes before Expiration: no fetch");
    now_value = T0 + 3600 - 299;
    test_check(get_akid(&cache, akid, sizeof(akid), NULL) && f.calls == 2 &&
                   strcmp(akid, "ASIA2") == 0,
               "within 5 minutes of Expiration: refreshed");
    f.result = KMSRE_ERR_TRANSPORT;
    now_value += 3600 - 299;
    test_check(get_akid(&cache, akid, sizeof(akid), NULL) && f.calls == 3 &&
                   strcmp(akid, "ASIA2") == 0,
               "a failed refresh keeps the still valid credentials");
    now_value += 5;
    test_check(get_akid(&cache, akid, sizeof(akid), NULL) && f.calls == 3,
               "  ... and does not try again at every request");
    now_value += 6;
    test_check(get_akid(&cache, akid, sizeof(akid), NULL) && f.calls == 4,
               "  ... but 10 s later");
    now_value += 300;
    test_check(kmsre_creds_cache_get(&cache, &id, &err) == KMSRE_ERR_TRANSPORT,
               "expired and the refresh fails: the fetch's error");
    test_expect_contains(kmsre_err_text(&err), "failed", "  ... its message");
    f.result = KMSRE_OK;
    kmsre_err_clear(&err);
    test_check(kmsre_creds_cache_get(&cache, &id, &err) == KMSRE_OK,
               "the next fetch recovers");
    kmsre_creds_cache_expire(&cache, id);
    kmsre_creds_cache_put(&cache, id);
    test_check(get_akid(&cache, akid, sizeof(akid), NULL) && f.calls == 7,
               "expire (KMS said ExpiredToken) forces a fetch");
    kmsre_creds_cache_clear(&cache);
}

static void test_cache_rules(void)
{
    struct fetcher f = {0, KMSRE_OK, 0};
    struct kmsre_creds c = {0};
    struct kmsre_creds_cache cache;
    struct kmsre_identity *id;
    struct kmsre_err err = {0};
    char akid[32], date[9];

    c.expires = 1;
    c.expiration = T0 + 3600;
    test_check(kmsre_creds_refresh_at(T0, &c) == T0 + 3300,
               "refresh 5 minutes ahead of a long life");
    c.expiration = T0 + 240;
    test_check(kmsre_creds_refresh_at(T0, &c) == T0 + 120,
               "half-way through a life shorter than 10 minutes");
    c.expires = 0;
    test_check(kmsre_creds_refresh_at(T0, &c) == 0, "long-term: never");
    now_value = T0;
    kmsre_creds_cache_init(&cache, fetch, &f, fake_clock, &algs, "us-east-1",
                           "kms");
    get_akid(&cache, akid, sizeof(akid), NULL);
    now_value = T0 + 86400 * 400;
    test_check(get_akid(&cache, akid, sizeof(akid), date) && f.calls == 1 &&
                   strcmp(date, "20270702") == 0,
               "long-term keys: never fetched again; a new day, a new key");
    kmsre_creds_cache_clear(&cache);
    f.lifetime = -10;
    f.calls = 0;
    kmsre_creds_cache_init(&cache, fetch, &f, fake_clock, &algs, "us-east-1",
                           "kms");
    test_check(kmsre_creds_cache_get(&cache, &id, &err) ==
                   KMSRE_ERR_CREDENTIALS,
               "credentials that arrive expired are refused");
    test_expect_contains(kmsre_err_text(&err), "expired already",
                         "  ... saying so");
    kmsre_creds_cache_clear(&cache);
}

/* ---- the chain's precedence, with real shared files ---------------------- */

static struct fake_http fake;

static enum kmsre_status resolve(const char *explicit_profile,
                                 struct kmsre_creds *out, struct kmsre_err *err)
{
    struct kmsre_shared_config sc;
    struct kmsre_http http = fake_http_transport(&fake);
    struct kmsre_creds_env env = {&http,       &algs, &sc, NULL,
                                  "us-east-1", T0,    NULL};
    enum kmsre_status st;

    memset(out, 0, sizeof(*out));
    if (kmsre_shared_config_load(&sc) != KMSRE_OK)
        return KMSRE_ERR_IO;
    st = kmsre_creds_resolve(&env, explicit_profile, out, err);
    kmsre_shared_config_clear(&sc);
    return st;
}

/* The access key id the chain picks, or the error message. */
static void expect_source(const char *explicit_profile, const char *want,
                          const char *what)
{
    struct kmsre_creds c;
    struct kmsre_err err = {0};
    enum kmsre_status st = resolve(explicit_profile, &c, &err);

    test_expect_str(st == KMSRE_OK ? c.access_key_id : kmsre_err_text(&err),
                    want, "%s", what);
    kmsre_creds_clear(&c);
}

static void expect_failure(const char *explicit_profile, const char *want,
                           const char *what)
{
    struct kmsre_creds c;
    struct kmsre_err err = {0};
    enum kmsre_status st = resolve(explicit_profile, &c, &err);

    test_check(st != KMSRE_OK, "%s: fails", what);
    test_expect_contains(kmsre_err_text(&err), want, "  ... %s", want);
    kmsre_creds_clear(&c);
}

static void use_files(const char *config, const char *credentials)
{
    setenv("AWS_CONFIG_FILE", test_write_file("config", config, 0600), 1);
    setenv("AWS_SHARED_CREDENTIALS_FILE",
           test_write_file("credentials", credentials, 0600), 1);
}

static void test_chain(void)
{
    clear_environment();
    use_files("[default]\naws_access_key_id = CFGKEY\n"
              "aws_secret_access_key = s\n"
              "[profile proc]\ncredential_process = /bin/false\n"
              "aws_access_key_id = CFGPROC\naws_secret_access_key = s\n"
              "[profile both]\naws_access_key_id = CFGBOTH\n"
              "aws_secret_access_key = s\n"
              "[profile loop-a]\nrole_arn = arn:aws:iam::1:role/a\n"
              "source_profile = loop-b\n"
              "[profile loop-b]\nrole_arn = arn:aws:iam::1:role/b\n"
              "source_profile = loop-a\n"
              "[profile envrole]\nrole_arn = arn:aws:iam::1:role/r\n"
              "credential_source = Nowhere\n",
              "[both]\naws_access_key_id = CREDBOTH\n"
              "aws_secret_access_key = s\n");
    expect_source(NULL, "CFGKEY", "the default profile's keys");
    setenv("AWS_ACCESS_KEY_ID", "ENVKEY", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "s", 1);
    expect_source(NULL, "ENVKEY", "the environment wins over the files");
    setenv("AWS_PROFILE", "both", 1);
    expect_source(NULL, "ENVKEY", "  ... also over AWS_PROFILE's profile");
    expect_source("both", "CREDBOTH",
                  "an explicit profile skips the environment; the "
                  "credentials file wins over the config file");
    expect_failure("proc", "credential_process /bin/false: exit status 1",
                   "credential_process comes before the config file's keys");
    expect_failure("loop-a", "chain longer than", "a source_profile loop");
    expect_failure("envrole", "credential_source \"Nowhere\" is not",
                   "an unknown credential_source");
    expect_failure("absent", "profile \"absent\" not found",
                   "an unknown explicit profile");
    unsetenv("AWS_PROFILE");
    unsetenv("AWS_ACCESS_KEY_ID");
    setenv("AWS_WEB_IDENTITY_TOKEN_FILE", "/nonexistent/token", 1);
    expect_failure(NULL, "AWS_ROLE_ARN is not",
                   "web identity before the profile, and its own error");
    unsetenv("AWS_WEB_IDENTITY_TOKEN_FILE");
    use_files("", "");
    expect_failure(NULL,
                   "no credentials found; tried: environment "
                   "(AWS_ACCESS_KEY_ID), web identity",
                   "nothing anywhere: one message naming every source");
    clear_environment();
}

/* ---- each source against the fake transport ------------------------------ */

static const char *const creds_json =
    "{\"AccessKeyId\":\"ASIAFAKE\",\"SecretAccessKey\":\"x\","
    "\"Token\":\"t\",\"Expiration\":\"2026-05-28T21:26:40Z\"}";

static void container_case(const char *url, int allowed)
{
    size_t before = fake.n_seen;

    setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", url, 1);
    if (allowed)
        expect_source(NULL, "ASIAFAKE", url);
    else
        expect_failure(NULL, "must be https, or http to a loopback", url);
    test_check(allowed == (fake.n_seen > before), "  ... %s request was sent",
               allowed ? "a" : "no");
}

static void test_container(void)
{
    const struct fake_seen *s;

    clear_environment();
    use_files("", "");
    fake_http_answer(&fake, "GET", "/creds", 200, creds_json, NULL);
    container_case("http://127.0.0.1:9/creds", 1);
    container_case("http://127.2.3.4/creds", 1);
    container_case("http://[::1]:9/creds", 1);
    container_case("http://169.254.170.23/creds", 1);
    container_case("http://[fd00:ec2::23]/creds", 1);
    container_case("http://localhost:9/creds", 1);
    container_case("https://anything.example/creds", 1);
    container_case("http://127.0.0.1.example.com/creds", 0);
    container_case("http://127.example/creds", 0);
    container_case("http://169.254.170.3/creds", 0);
    setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://127.0.0.1:9/creds", 1);
    setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN", "tok-from-env", 1);
    setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
           test_write_file("ecs-token", "tok-from-file\n", 0600), 1);
    expect_source(NULL, "ASIAFAKE", "container with a token file");
    s = fake_http_last(&fake, "/creds");
    test_expect_contains(s != NULL ? s->headers : NULL,
                         "Authorization: tok-from-file\n",
                         "  ... the file wins over the variable");
    setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
           test_write_file("ecs-bad", "a\r\nX-Evil: 1", 0600), 1);
    expect_failure(NULL, "line break", "a token with a line break is refused");
    clear_environment();
}

static void test_imds(void)
{
    const struct fake_seen *s;

    clear_environment();
    use_files("", "");
    unsetenv("AWS_EC2_METADATA_DISABLED");
    setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", "http://192.0.2.1:81", 1);
    fake_http_answer(&fake, "PUT", "/latest/api/token", 200, "imds-token",
                     NULL);
    fake_http_answer(&fake, "GET", "/security-credentials/", 200, "kms-role",
                     NULL);
    fake_http_answer(&fake, "GET", "/security-credentials/kms-role", 200,
                     creds_json, NULL);
    expect_source(NULL, "ASIAFAKE", "IMDSv2: token, role, credentials");
    s = fake_http_last(&fake, "/security-credentials/kms-role");
    test_expect_contains(s != NULL ? s->headers : NULL,
                         "X-aws-ec2-metadata-token: imds-token\n",
                         "  ... the role's credentials asked with the token");
    setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
    expect_failure(NULL, "no credentials found",
                   "AWS_EC2_METADATA_DISABLED: not asked");
    clear_environment();
}

static void test_assume_role(void)
{
    const char *xml = "<AssumeRoleResponse><AssumeRoleResult><Credentials>"
                      "<AccessKeyId>ASIAROLE</AccessKeyId>"
                      "<SecretAccessKey>rs</SecretAccessKey>"
                      "<SessionToken>rt</SessionToken>"
                      "<Expiration>2026-05-28T21:26:40Z</Expiration>"
                      "</Credentials></AssumeRoleResult></AssumeRoleResponse>";
    const struct fake_seen *s;

    clear_environment();
    setenv("AWS_ENDPOINT_URL_STS", "https://sts.test:4443", 1);
    use_files("[profile base]\naws_access_key_id = BASEKEY\n"
              "aws_secret_access_key = bs\n"
              "[profile role]\nrole_arn = arn:aws:iam::1:role/r\n"
              "source_profile = base\nexternal_id = ext-1\n"
              "role_session_name = job\nduration_seconds = 900\n",
              "");
    fake_http_answer(&fake, "POST", "sts.test", 200, xml, NULL);
    expect_source("role", "ASIAROLE",
                  "role_arn + source_profile: STS AssumeRole");
    s = fake_http_last(&fake, "sts.test");
    test_expect_contains(s != NULL ? s->body : NULL,
                         "Action=AssumeRole&Version=2011-06-15&RoleArn="
                         "arn%3Aaws%3Aiam%3A%3A1%3Arole%2Fr&RoleSessionName="
                         "job&ExternalId=ext-1&DurationSeconds=900",
                         "  ... the form");
    test_expect_contains(s != NULL ? s->headers : NULL,
                         "Authorization: AWS4-HMAC-SHA256 Credential="
                         "BASEKEY/20260528/us-east-1/sts/aws4_request",
                         "  ... signed by the source profile for sts");
    clear_environment();
}

/* ---- credential_process, for real ---------------------------------------- */

static const char *script(const char *name, const char *body)
{
    char text[2048];

    snprintf(text, sizeof(text), "#!/bin/sh\n%s\n", body);
    return test_write_file(name, text, 0700);
}

/* Whether an `ls -l /proc/PID/fd` listing shows the pipe whose inode is
 * given (a descriptor of the test, open without close-on-exec). */
static int listing_has_pipe(const char *listing, unsigned long inode)
{
    char line[512], want[64];
    FILE *f = fopen(listing, "r");
    int found = f == NULL;

    snprintf(want, sizeof(want), "pipe:[%lu]", inode);
    while (f != NULL && fgets(line, sizeof(line), f) != NULL)
        if (strstr(line, want) != NULL)
            found = 1;
    if (f != NULL)
        fclose(f);
    return found;
}

static enum kmsre_status run_process(const char *command, long timeout_ms,
                                     struct kmsre_creds *out,
                                     struct kmsre_err *err)
{
    struct kmsre_creds_source *src =
        kmsre_creds_process_source(command, timeout_ms);
    struct kmsre_creds_env env = {NULL,        &algs, NULL, NULL,
                                  "us-east-1", T0,    NULL};
    enum kmsre_status st = kmsre_creds_source_get(src, &env, out, err);

    kmsre_creds_source_free(src);
    return st;
}

static void test_process(void)
{
    char cmd[4300], pidfile[4200], fds[4200], line[64] = "";
    int leak[2];
    struct stat sb;
    struct kmsre_creds c = {0};
    struct kmsre_err err = {0};
    FILE *f;
    pid_t pid = 0;
    time_t start;

    /* A descriptor without close-on-exec, as an application may have. */
    if (pipe(leak) != 0)
        leak[0] = leak[1] = -1;
    snprintf(fds, sizeof(fds), "%s/fds", test_tmpdir());
    snprintf(cmd, sizeof(cmd), "%s '%s'",
             script("ok.sh", "ls -l /proc/$$/fd > \"$1\"\n"
                             "echo '{\"Version\": 1, \"AccessKeyId\": \"P1\","
                             " \"SecretAccessKey\": \"s\"}'"),
             fds);
    test_check(run_process(cmd, 5000, &c, &err) == KMSRE_OK &&
                   strcmp(c.access_key_id, "P1") == 0,
               "credential_process: quoted argument, credentials read");
    kmsre_creds_clear(&c);
    test_check(fstat(leak[0], &sb) == 0 &&
                   !listing_has_pipe(fds, (unsigned long)sb.st_ino),
               "  ... a descriptor of ours without close-on-exec does not "
               "reach the helper");
    close(leak[0]);
    close(leak[1]);
    snprintf(pidfile, sizeof(pidfile), "%s/pid", test_tmpdir());
    snprintf(cmd, sizeof(cmd), "%s %s",
             script("linger.sh", "echo $$ > \"$1\"; exec >&- 2>&-; sleep 30"),
             pidfile);
    start = time(NULL);
    test_check(run_process(cmd, 700, &c, &err) == KMSRE_ERR_CREDENTIALS &&
                   time(NULL) - start < 5,
               "a helper that closes its output and lingers: bounded");
    test_expect_contains(kmsre_err_text(&err), "no answer within 0.7 s",
                         "  ... saying so");
    f = fopen(pidfile, "r");
    if (f != NULL && fgets(line, sizeof(line), f) != NULL)
        pid = (pid_t)atol(line);
    if (f != NULL)
        fclose(f);
    test_check(pid > 0 && kill(pid, 0) != 0 && errno == ESRCH,
               "  ... killed and reaped (no process, no zombie left)");
}

int main(void)
{
    if (kmsre_sigv4_algs_fetch(&algs, NULL, NULL) != KMSRE_OK) {
        fprintf(stderr, "cannot fetch SHA-256 and HMAC\n");
        return 2;
    }
    test_value();
    test_sts_parse();
    test_cache_refresh();
    test_cache_rules();
    test_chain();
    test_container();
    test_imds();
    test_assume_role();
    test_process();
    kmsre_sigv4_algs_free(&algs);
    test_cleanup();
    return test_summary();
}
