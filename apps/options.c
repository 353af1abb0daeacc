/* SPDX-License-Identifier: Apache-2.0 */
/* kms-rotate: the command line and --help. */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include "rotate.h"

#ifndef KMSRE_VERSION
#define KMSRE_VERSION "0"
#endif

static const char help_text[] =
    "NAME\n"
    "    kms-rotate - re-encrypt AWS KMS ciphertexts under a new key, in\n"
    "    parallel, rate-limited and resumable, losing nothing\n"
    "\n"
    "SYNOPSIS\n"
    "    kms-rotate --to KEY [options] PATH...\n"
    "    kms-rotate --to KEY [options] --lines [--input F] [--output F]\n"
    "    kms-rotate --to KEY [options] --jsonl FIELD [--context-field F]\n"
    "    kms-rotate --to KEY [options] --csv COLUMN [--context-column C]\n"
    "\n"
    "DESCRIPTION\n"
    "    Calls KMS ReEncrypt once per record through the kmsreencrypt\n"
    "    OpenSSL provider (EVP_PKEY_encrypt). Decryption and encryption\n"
    "    happen inside KMS; no plaintext reaches this machine. A record is\n"
    "    replaced only by a successful answer whose KeyId is the\n"
    "    destination key's ARN; anything else leaves it as it was and is\n"
    "    reported. The options mirror `aws kms re-encrypt`.\n"
    "\n"
    "DESTINATION AND SOURCE\n"
    "    --to KEY                (required) destination key: key id, key ARN,\n"
    "                            alias name (alias/NAME), alias ARN, or a\n"
    "                            provider URI kms:KEY?region=R&profile=P.\n"
    "                            The answer's KeyId must be: the ARN itself\n"
    "                            (key ARN); an ARN ending in key/ID (key id);\n"
    "                            for an alias, the ARN of the first success,\n"
    "                            which every later answer must repeat (and,\n"
    "                            for an alias ARN, in its region and account)\n"
    "    --from KEY              SourceKeyId: required for asymmetric "
    "sources;\n"
    "                            for symmetric ones a guard: KMS refuses "
    "blobs\n"
    "                            not under KEY (IncorrectKeyException)\n"
    "    --from-context CTX      SourceEncryptionContext of every record:\n"
    "                            k1=v1,k2=v2 (AWS CLI shorthand) or JSON\n"
    "    --to-context CTX        DestinationEncryptionContext of every "
    "record;\n"
    "                            default: the source context (rotation keeps\n"
    "                            the context; '{}' drops it). Unlike\n"
    "                            `aws kms re-encrypt`, whose default is none\n"
    "    --from-algorithm ALG    SourceEncryptionAlgorithm: "
    "SYMMETRIC_DEFAULT,\n"
    "                            RSAES_OAEP_SHA_1, RSAES_OAEP_SHA_256, SM2PKE\n"
    "    --to-algorithm ALG      DestinationEncryptionAlgorithm (same values)\n"
    "    --grant-token T         a grant token; repeat for more (at most 10)\n"
    "\n"
    "AWS CONFIGURATION\n"
    "    Credentials, region, endpoint, CA bundle, timeouts and retries come\n"
    "    from the provider's configuration (OPENSSL_CONF, AWS_* environment,\n"
    "    ~/.aws profiles), as for `aws kms re-encrypt`. For convenience:\n"
    "    --region R              the key URI's ?region= (a key ARN's region\n"
    "                            wins)\n"
    "    --profile P             the key URI's ?profile=\n"
    "    --endpoint-url URL      KMS endpoint (sets AWS_ENDPOINT_URL_KMS)\n"
    "    --retry-mode MODE       standard, adaptive or legacy (sets\n"
    "                            AWS_RETRY_MODE). Default in this tool:\n"
    "                            adaptive, unless AWS_RETRY_MODE is set or\n"
    "                            the provider's configuration names one; it\n"
    "                            then overrides a profile's retry_mode\n"
    "    --max-attempts N        attempts per request, the first included\n"
    "                            (1..20; sets AWS_MAX_ATTEMPTS)\n"
    "    --provider-path DIR     where kmsreencrypt.so is (else\n"
    "                            OPENSSL_MODULES, else OpenSSL's modules dir)\n"
    "\n"
    "INPUTS (exactly one kind; each is streamed, memory stays flat)\n"
    "    PATH...                 files holding one raw CiphertextBlob each,\n"
    "                            or directories, walked recursively.\n"
    "                            Rewritten in place and atomically (temporary\n"
    "                            file in the same directory, fsync, rename,\n"
    "                            directory fsync; mode and ownership kept).\n"
    "                            Symbolic links are never followed nor\n"
    "                            replaced: each one is reported as a failure\n"
    "    --include GLOB          with PATH...: only files whose name matches\n"
    "                            GLOB (fnmatch; a GLOB with '/' matches the\n"
    "                            path under the directory given); repeatable\n"
    "    --out-dir DIR           with PATH...: write a mirrored tree under "
    "DIR\n"
    "                            (directory arguments' contents, files by\n"
    "                            name) and leave the inputs untouched\n"
    "    --lines                 one base64 CiphertextBlob per line; line i "
    "of\n"
    "                            the output answers line i of the input,\n"
    "                            whatever --jobs; blank lines pass through\n"
    "    --jsonl FIELD           JSON Lines; member FIELD (a dotted path for\n"
    "                            nested members) holds the base64 blob and is\n"
    "                            replaced; the other members are kept, in\n"
    "                            order (the line is written back compactly)\n"
    "    --context-field FIELD   with --jsonl: member holding the record's "
    "own\n"
    "                            encryption context (an object of strings),\n"
    "                            used as source and destination context\n"
    "                            unless --to-context is given\n"
    "    --csv COLUMN            CSV (RFC 4180, header row); the named column\n"
    "                            holds the base64 blob and is replaced. "
    "Fields\n"
    "                            are quoted where RFC 4180 requires; rows "
    "left\n"
    "                            unchanged are copied byte for byte\n"
    "    --context-column COL    with --csv: column holding the record's\n"
    "                            context as JSON (as --context-field)\n"
    "    --input FILE            record modes: read FILE, not stdin\n"
    "    --output FILE           record modes: write FILE, not stdout. A "
    "rerun\n"
    "                            with the same arguments resumes after the\n"
    "                            last complete record of FILE\n"
    "    --no-resume             record modes: start FILE afresh\n"
    "\n"
    "CONCURRENCY AND RATE\n"
    "    --jobs N                requests in flight (threads; default 32,\n"
    "                            1..10000)\n"
    "    --rate R                at most R requests per second across all\n"
    "                            workers, retries included: a smooth token\n"
    "                            bucket, not a burst each second. Give a job\n"
    "                            its share of the account's KMS quota\n"
    "    A record that still fails with a throttling error after the\n"
    "    provider's own retries is re-queued with backoff, never dropped;\n"
    "    --max-requeues N bounds that (default: no bound)\n"
    "\n"
    "SAFETY AND RESUMING\n"
    "    --journal FILE          record completed records durably; a rerun\n"
    "                            with the same arguments skips them. Files:\n"
    "                            path, inode, size and mtime after rewrite.\n"
    "                            Record modes (needs --output FILE): the\n"
    "                            records and bytes of FILE known on disk\n"
    "    --dry-run               send every request with DryRun: permissions\n"
    "                            are checked, nothing changes, nothing is\n"
    "                            written; reports what would have moved\n"
    "    --errors FILE           one JSON line per failed record: record "
    "(path\n"
    "                            or line), error_type, message, request_id\n"
    "    kill -9, a power cut or a full disk leave every file with its old or\n"
    "    its new blob, never a torn or empty one; rerun the same command.\n"
    "\n"
    "OUTPUT\n"
    "    --progress, --no-progress  progress line on stderr (default: when\n"
    "                            stderr is a terminal): done/total, rate now\n"
    "                            and on average, ETA, failures, throttles\n"
    "    --quiet                 no line per failed record on stderr\n"
    "    A summary is always printed on stderr at the end.\n"
    "    --help, -h              this text\n"
    "    --version               the version\n"
    "\n"
    "EXIT STATUS\n"
    "    0  every record moved (--dry-run: would move)\n"
    "    1  some records failed; they are unchanged and reported\n"
    "    2  usage or set-up error (options, provider, key, input); nothing\n"
    "       was changed\n"
    "    3  aborted: an output could not be written (disk full, ...); what\n"
    "       was written is consistent, rerun to resume\n"
    "\n"
    "EXAMPLES\n"
    "    kms-rotate --to alias/new --from-context Dept=IT ./secrets\n"
    "    kms-rotate --to alias/new --include '*.enc' --journal j.log /data\n"
    "    kms-rotate --to alias/new --lines --rate 500 < old.b64 > new.b64\n"
    "    kms-rotate --to alias/new --jsonl key.wrapped --context-field ctx \\\n"
    "        --input rows.jsonl --output rows.new.jsonl\n"
    "    kms-rotate --to arn:aws:kms:eu-west-1:111122223333:key/1234abcd-... "
    "\\\n"
    "        --csv wrapped_key --context-column ctx --input t.csv "
    "--output n.csv\n"
    "    rdd.pipe(\"kms-rotate --lines --to alias/new --rate 250\")  # Spark\n";

static void usage_hint(void)
{
    fputs("Try 'kms-rotate --help' for more information.\n", stderr);
}

enum {
    O_TO = 256,
    O_FROM,
    O_FROM_CONTEXT,
    O_TO_CONTEXT,
    O_FROM_ALG,
    O_TO_ALG,
    O_GRANT,
    O_REGION,
    O_PROFILE,
    O_ENDPOINT,
    O_RETRY_MODE,
    O_MAX_ATTEMPTS,
    O_PROVIDER_PATH,
    O_INCLUDE,
    O_OUT_DIR,
    O_LINES,
    O_JSONL,
    O_CSV,
    O_CONTEXT_FIELD,
    O_CONTEXT_COLUMN,
    O_INPUT,
    O_OUTPUT,
    O_JOBS,
    O_RATE,
    O_DRY_RUN,
    O_JOURNAL,
    O_ERRORS,
    O_PROGRESS,
    O_NO_PROGRESS,
    O_QUIET,
    O_NO_RESUME,
    O_MAX_REQUEUES,
    O_HELP,
    O_VERSION
};

static const struct option long_opts[] = {
    {"to", required_argument, NULL, O_TO},
    {"from", required_argument, NULL, O_FROM},
    {"from-context", required_argument, NULL, O_FROM_CONTEXT},
    {"to-context", required_argument, NULL, O_TO_CONTEXT},
    {"from-algorithm", required_argument, NULL, O_FROM_ALG},
    {"to-algorithm", required_argument, NULL, O_TO_ALG},
    {"grant-token", required_argument, NULL, O_GRANT},
    {"region", required_argument, NULL, O_REGION},
    {"profile", required_argument, NULL, O_PROFILE},
    {"endpoint-url", required_argument, NULL, O_ENDPOINT},
    {"retry-mode", required_argument, NULL, O_RETRY_MODE},
    {"max-attempts", required_argument, NULL, O_MAX_ATTEMPTS},
    {"provider-path", required_argument, NULL, O_PROVIDER_PATH},
    {"include", required_argument, NULL, O_INCLUDE},
    {"out-dir", required_argument, NULL, O_OUT_DIR},
    {"lines", no_argument, NULL, O_LINES},
    {"jsonl", required_argument, NULL, O_JSONL},
    {"csv", required_argument, NULL, O_CSV},
    {"context-field", required_argument, NULL, O_CONTEXT_FIELD},
    {"context-column", required_argument, NULL, O_CONTEXT_COLUMN},
    {"input", required_argument, NULL, O_INPUT},
    {"output", required_argument, NULL, O_OUTPUT},
    {"jobs", required_argument, NULL, O_JOBS},
    {"rate", required_argument, NULL, O_RATE},
    {"dry-run", no_argument, NULL, O_DRY_RUN},
    {"journal", required_argument, NULL, O_JOURNAL},
    {"errors", required_argument, NULL, O_ERRORS},
    {"progress", no_argument, NULL, O_PROGRESS},
    {"no-progress", no_argument, NULL, O_NO_PROGRESS},
    {"quiet", no_argument, NULL, O_QUIET},
    {"no-resume", no_argument, NULL, O_NO_RESUME},
    {"max-requeues", required_argument, NULL, O_MAX_REQUEUES},
    {"help", no_argument, NULL, O_HELP},
    {"version", no_argument, NULL, O_VERSION},
    {NULL, 0, NULL, 0}};

static int bad(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int bad(const char *fmt, ...)
{
    va_list ap;

    fputs("kms-rotate: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    usage_hint();
    return EXIT_USAGE;
}

static int parse_long(const char *s, long lo, long hi, long *out)
{
    char *end;
    long v;

    errno = 0;
    v = strtol(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v < lo || v > hi)
        return 0;
    *out = v;
    return 1;
}

static void append_list(char ***list, int *n, const char *v)
{
    char **nl = realloc(*list, sizeof(char *) * (size_t)(*n + 1));

    if (nl == NULL)
        die_oom();
    nl[(*n)++] = (char *)v;
    *list = nl;
}

/* kms:KEY with --region/--profile as its query. */
static int build_uri(struct options *o)
{
    const char *key = o->to;
    int is_uri = strncmp(key, "kms:", 4) == 0;
    const char *q = strchr(key, '?');
    size_t n;
    char *uri;

    if (*key == '\0')
        return bad("--to: empty key%s", "");
    if (!is_uri && q != NULL)
        return bad("--to %s: a query needs the kms: URI form", key);
    if (q != NULL && o->region != NULL && strstr(q, "region=") != NULL)
        return bad("--region given twice (also in --to %s)", key);
    if (q != NULL && o->profile != NULL && strstr(q, "profile=") != NULL)
        return bad("--profile given twice (also in --to %s)", key);
    n = strlen(key) + 16 + (o->region ? strlen(o->region) : 0) +
        (o->profile ? strlen(o->profile) : 0) + 32;
    uri = xmalloc(n);
    snprintf(uri, n, "%s%s", is_uri ? "" : "kms:", key);
    if (o->region != NULL) {
        strcat(uri, strchr(uri, '?') ? "&region=" : "?region=");
        strcat(uri, o->region);
    }
    if (o->profile != NULL) {
        strcat(uri, strchr(uri, '?') ? "&profile=" : "?profile=");
        strcat(uri, o->profile);
    }
    o->key_uri = uri;
    return 0;
}

static int check_combinations(struct options *o)
{
    int kinds = (o->n_paths > 0) + (o->mode == MODE_LINES) +
                (o->mode == MODE_JSONL) + (o->mode == MODE_CSV);

    if (o->to == NULL)
        return bad("--to KEY is required%s", "");
    if (kinds == 0)
        return bad("no input: give PATH..., --lines, --jsonl FIELD or "
                   "--csv COLUMN%s",
                   "");
    if (kinds > 1)
        return bad("give one kind of input: PATH..., --lines, --jsonl or "
                   "--csv%s",
                   "");
    if (o->n_paths > 0)
        o->mode = MODE_FILES;
    if (o->mode == MODE_FILES) {
        if (o->input || o->output)
            return bad("--input/--output are for --lines, --jsonl and "
                       "--csv; files are given as PATH...%s",
                       "");
        if (o->no_resume)
            return bad("--no-resume is for record modes%s", "");
    } else {
        if (o->n_includes > 0 || o->out_dir)
            return bad("--include and --out-dir are for PATH... inputs%s", "");
        if (o->journal && !o->output)
            return bad("--journal with --lines, --jsonl or --csv needs "
                       "--output FILE (stdout cannot be resumed)%s",
                       "");
        if (o->input && o->output && strcmp(o->input, o->output) == 0)
            return bad("--input and --output are the same file (%s)", o->input);
    }
    if (o->context_field && o->mode != MODE_JSONL && o->mode != MODE_CSV)
        return bad("--context-field/--context-column need --jsonl or "
                   "--csv%s",
                   "");
    if (o->context_field && o->from_context)
        return bad("--from-context and a per-record context "
                   "(--context-field/--context-column) exclude each "
                   "other%s",
                   "");
    if (o->field && *o->field == '\0')
        return bad("the field/column name is empty%s", "");
    return build_uri(o);
}

int options_parse(int argc, char **argv, struct options *o, int *exit_now)
{
    int c, ctx_kind = 0;
    long v;

    memset(o, 0, sizeof(*o));
    o->jobs = 32;
    o->progress = -1;
    o->max_requeues = -1;
    *exit_now = 0;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":h", long_opts, NULL)) != -1) {
        switch (c) {
        case O_TO:
            o->to = optarg;
            break;
        case O_FROM:
            o->from = optarg;
            break;
        case O_FROM_CONTEXT:
            o->from_context = optarg;
            break;
        case O_TO_CONTEXT:
            o->to_context = optarg;
            break;
        case O_FROM_ALG:
            o->from_algorithm = optarg;
            break;
        case O_TO_ALG:
            o->to_algorithm = optarg;
            break;
        case O_GRANT: {
            size_t n = (o->grant_tokens ? strlen(o->grant_tokens) : 0) +
                       strlen(optarg) + 2;
            char *g = xmalloc(n);

            if (strchr(optarg, ',') != NULL)
                return bad("--grant-token %s: one token per option", optarg);
            snprintf(g, n, "%s%s%s", o->grant_tokens ? o->grant_tokens : "",
                     o->grant_tokens ? "," : "", optarg);
            free(o->grant_tokens);
            o->grant_tokens = g;
            break;
        }
        case O_REGION:
            o->region = optarg;
            break;
        case O_PROFILE:
            o->profile = optarg;
            break;
        case O_ENDPOINT:
            o->endpoint_url = optarg;
            break;
        case O_RETRY_MODE:
            if (strcmp(optarg, "standard") != 0 &&
                strcmp(optarg, "adaptive") != 0 &&
                strcmp(optarg, "legacy") != 0)
                return bad("--retry-mode %s: standard, adaptive or legacy",
                           optarg);
            o->retry_mode = optarg;
            break;
        case O_MAX_ATTEMPTS:
            if (!parse_long(optarg, 1, 20, &v))
                return bad("--max-attempts %s: a number from 1 to 20", optarg);
            o->max_attempts = (int)v;
            break;
        case O_PROVIDER_PATH:
            o->provider_path = optarg;
            break;
        case O_INCLUDE:
            append_list(&o->includes, &o->n_includes, optarg);
            break;
        case O_OUT_DIR:
            o->out_dir = optarg;
            break;
        case O_LINES:
        case O_JSONL:
        case O_CSV: {
            enum input_mode m = c == O_LINES   ? MODE_LINES
                                : c == O_JSONL ? MODE_JSONL
                                               : MODE_CSV;

            if (o->mode != MODE_FILES && o->mode != m)
                return bad("give one of --lines, --jsonl and --csv%s", "");
            o->mode = m;
            if (c != O_LINES)
                o->field = optarg;
            break;
        }
        case O_CONTEXT_FIELD:
        case O_CONTEXT_COLUMN:
            ctx_kind = c;
            o->context_field = optarg;
            break;
        case O_INPUT:
            o->input = optarg;
            break;
        case O_OUTPUT:
            o->output = optarg;
            break;
        case O_JOBS:
            if (!parse_long(optarg, 1, 10000, &v))
                return bad("--jobs %s: a number from 1 to 10000", optarg);
            o->jobs = (int)v;
            break;
        case O_RATE: {
            char *end;

            errno = 0;
            o->rate = strtod(optarg, &end);
            if (errno != 0 || end == optarg || *end != '\0' || !(o->rate > 0) ||
                !isfinite(o->rate) || o->rate > 1e7)
                return bad("--rate %s: requests per second, a number > 0",
                           optarg);
            break;
        }
        case O_DRY_RUN:
            o->dry_run = 1;
            break;
        case O_JOURNAL:
            o->journal = optarg;
            break;
        case O_ERRORS:
            o->errors = optarg;
            break;
        case O_PROGRESS:
            o->progress = 1;
            break;
        case O_NO_PROGRESS:
            o->progress = 0;
            break;
        case O_QUIET:
            o->quiet = 1;
            break;
        case O_NO_RESUME:
            o->no_resume = 1;
            break;
        case O_MAX_REQUEUES:
            if (!parse_long(optarg, 0, 1000000, &v))
                return bad("--max-requeues %s: a number >= 0", optarg);
            o->max_requeues = (int)v;
            break;
        case 'h':
        case O_HELP:
            fputs(help_text, stdout);
            *exit_now = 1;
            return 0;
        case O_VERSION:
            printf("kms-rotate %s\n", KMSRE_VERSION);
            *exit_now = 1;
            return 0;
        case ':':
            return bad("option %s needs a value", argv[optind - 1]);
        default:
            return bad("unknown option %s", argv[optind - 1]);
        }
    }
    if (ctx_kind == O_CONTEXT_FIELD && o->mode != MODE_JSONL)
        return bad("--context-field is for --jsonl (--csv has "
                   "--context-column)%s",
                   "");
    if (ctx_kind == O_CONTEXT_COLUMN && o->mode != MODE_CSV)
        return bad("--context-column is for --csv (--jsonl has "
                   "--context-field)%s",
                   "");
    o->paths = argv + optind;
    o->n_paths = argc - optind;
    if (o->n_paths > 0 && o->mode != MODE_FILES)
        return bad("PATH arguments are not read with --lines, --jsonl or "
                   "--csv (use --input FILE): %s",
                   o->paths[0]);
    return check_combinations(o);
}

void options_free(struct options *o)
{
    free(o->grant_tokens);
    free(o->key_uri);
    free(o->includes);
}
