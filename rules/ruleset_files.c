/* Rule files read and parsed: paths and directories to files, their bytes, their YAML
 * documents (on two threads for a big pack) and the ruleset hash over their bytes. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ldns/sha2.h>
#include <yaml.h>

#include "rules/ruleset_load.h"
#include "rules/suggest.h"

/* ---- files --------------------------------------------------------------------------- */

struct lfile *rs_add_file(struct loader *L, const char *path)
{
    struct lfile *f = rs_lpush(L, &L->files);
    if (!f)
        return NULL;
    f->docs = VEC(yaml_document_t);
    f->path = strdup(path);
    if (!f->path) {
        L->y.oom = true;
        L->files.n--;
        return NULL;
    }
    return f;
}

static void io_error(struct loader *L, size_t file, int err, const char *what)
{
    VAT(L->files, struct lfile, file)->nodata = true;
    if (!L->io_err)
        L->io_err = -err;
    ys_diag_at(&L->y, true, file, 0, 0, NULL, "%s: %s", what, strerror(err));
}

static int str_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool has_yaml_ext(const char *name)
{
    size_t n = strlen(name);
    return (n > 5 && !strcmp(name + n - 5, ".yaml")) || (n > 4 && !strcmp(name + n - 4, ".yml"));
}

void rs_collect_dir(struct loader *L, const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) {
        int e = errno;
        if (rs_add_file(L, dir))
            io_error(L, L->files.n - 1, e, "cannot open directory");
        return;
    }
    struct vec names = VEC(char *);
    struct dirent *de;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.' || !has_yaml_ext(de->d_name))
            continue;
        size_t dl = strlen(dir);
        char *full = malloc(dl + strlen(de->d_name) + 2);
        char **slot = full ? rs_lpush(L, &names) : NULL;
        if (!slot) {
            free(full);
            L->y.oom = true;
            break;
        }
        sprintf(full, "%s%s%s", dir, dl && dir[dl - 1] == '/' ? "" : "/", de->d_name);
        struct stat st;
        if (stat(full, &st) != 0 || !S_ISREG(st.st_mode)) {
            free(full);
            names.n--;
            continue;
        }
        *slot = full;
    }
    closedir(d);
    if (!names.n && rs_add_file(L, dir)) {
        VAT(L->files, struct lfile, L->files.n - 1)->nodata = true;
        ys_diag_at(&L->y, false, L->files.n - 1, 0, 0, NULL, "no *.yaml or *.yml files in this directory");
    }
    if (names.n)
        qsort(names.v, names.n, sizeof(char *), str_cmp);
    for (size_t i = 0; i < names.n; i++) {
        if (!L->y.oom)
            rs_add_file(L, *VAT(names, char *, i));
        free(*VAT(names, char *, i));
    }
    rs_vec_free(&names);
}

void rs_read_file(struct loader *L, size_t fi)
{
    struct lfile *f = VAT(L->files, struct lfile, fi);
    enum ys_read_stage stage;
    int rc = ys_read_file(f->path, RS_MAX_FILE_BYTES, &f->data, &f->len, &stage);
    if (rc == -ENOMEM) {
        L->y.oom = true;
    } else if (rc && stage == YS_READ_BIG) {
        ys_diag_at(&L->y, true, fi, 0, 0, NULL, "file larger than %u bytes; split it",
                   RS_MAX_FILE_BYTES);
        f->nodata = true;
        if (!L->io_err)
            L->io_err = -EFBIG;
    } else if (rc) {
        io_error(L, fi, stage == YS_READ_TYPE ? EINVAL : -rc,
                 stage == YS_READ_OPEN ? "cannot open"
                 : stage == YS_READ_TYPE ? "not a regular file" : "cannot read");
    }
}

/* Touches nothing but *f, so two threads can parse two files at once. */
static void parse_file(struct lfile *f)
{
    yaml_parser_t p;
    if (!yaml_parser_initialize(&p)) {
        f->parse_oom = true;
        return;
    }
    yaml_parser_set_input_string(&p, f->data ? f->data : (const unsigned char *)"", f->len);
    for (;;) {
        yaml_document_t doc;
        if (!yaml_parser_load(&p, &doc)) {
            if (p.error == YAML_MEMORY_ERROR) {
                f->parse_oom = true;
                break;
            }
            ys_syntax_from(&f->syntax, &p, f->data, f->len);
            break;
        }
        if (!yaml_document_get_root_node(&doc)) {
            yaml_document_delete(&doc);
            break;
        }
        yaml_document_t *slot = rs_vec_push(&f->docs);
        if (!slot) {
            f->parse_oom = true;
            yaml_document_delete(&doc);
            break;
        }
        *slot = doc;
    }
    yaml_parser_delete(&p);
}

/* Reports what parse_file found, file by file as a sequential parse would have: the first
 * file that ran out of memory ends it (the files after it count as never parsed). */
void rs_parse_report(struct loader *L)
{
    for (size_t fi = 0; fi < L->files.n; fi++) {
        const struct lfile *f = VAT(L->files, struct lfile, fi);
        if (f->parse_oom) {
            L->y.oom = true;
            return;
        }
        if (f->syntax.set)
            ys_syntax_report(&L->y, fi, &f->syntax);
    }
}

static void hash_files(const struct loader *L, uint8_t digest[LDNS_SHA256_DIGEST_LENGTH])
{
    ldns_sha256_CTX ctx;
    ldns_sha256_init(&ctx);
    for (size_t i = 0; i < L->files.n; i++) {
        const struct lfile *f = VAT(L->files, struct lfile, i);
        char len[32];
        if (f->nodata)
            continue;
        int n = snprintf(len, sizeof len, "%zu\n", f->len);
        ldns_sha256_update(&ctx, (const uint8_t *)len, (size_t)n);
        if (f->len)
            ldns_sha256_update(&ctx, f->data, f->len);
    }
    ldns_sha256_final(digest, &ctx);
}

/* Parsing (libyaml) and hashing are most of the load time of a big pack, and the files
 * are independent of each other: a helper thread hashes, then both threads take files
 * to parse, largest first. Only files (read-only here) and each file's own parse fields
 * are shared; the loader itself is touched again only after the join. */
struct par {
    const struct loader *L;
    size_t *order; /* file indices to parse, largest first */
    size_t n;
    atomic_size_t next;
    uint8_t digest[LDNS_SHA256_DIGEST_LENGTH];
};

static void parse_queued(struct par *P)
{
    for (;;) {
        size_t k = atomic_fetch_add(&P->next, 1);
        if (k >= P->n)
            return;
        parse_file(VAT(P->L->files, struct lfile, P->order[k]));
    }
}

static void *par_helper(void *arg)
{
    struct par *P = arg;
    hash_files(P->L, P->digest);
    parse_queued(P);
    return NULL;
}

/* Parses every readable file; *hashed is set when digest holds the ruleset hash. */
void rs_parse_files(struct loader *L, uint8_t digest[LDNS_SHA256_DIGEST_LENGTH],
                        bool *hashed, bool *parallel)
{
    *hashed = false;
    *parallel = false;
    size_t total = 0, n = 0;
    for (size_t i = 0; i < L->files.n; i++) {
        const struct lfile *f = VAT(L->files, struct lfile, i);
        if (!f->nodata) {
            total += f->len;
            n++;
        }
    }
    size_t *order = total >= ruleset_parallel_bytes ? malloc(n * sizeof *order) : NULL;
    if (!order) {
        for (size_t i = 0; i < L->files.n; i++)
            if (!VAT(L->files, struct lfile, i)->nodata)
                parse_file(VAT(L->files, struct lfile, i));
        return;
    }
    n = 0;
    for (size_t i = 0; i < L->files.n; i++)
        if (!VAT(L->files, struct lfile, i)->nodata)
            order[n++] = i;
    /* Largest first (insertion sort: a pack is a handful of files). */
    for (size_t i = 1; i < n; i++) {
        size_t x = order[i], j = i;
        for (; j > 0 && VAT(L->files, struct lfile, order[j - 1])->len <
                            VAT(L->files, struct lfile, x)->len; j--)
            order[j] = order[j - 1];
        order[j] = x;
    }
    *parallel = true;
    struct par P = {.L = L, .order = order, .n = n};
    atomic_init(&P.next, 0);
    pthread_t t;
    bool threaded = pthread_create(&t, NULL, par_helper, &P) == 0;
    parse_queued(&P);
    if (threaded) {
        pthread_join(t, NULL);
        memcpy(digest, P.digest, sizeof P.digest);
        *hashed = true;
    }
    free(order);
}

void rs_compute_hash(struct loader *L, const uint8_t *digest_or_null)
{
    uint8_t digest[LDNS_SHA256_DIGEST_LENGTH];
    if (digest_or_null)
        memcpy(digest, digest_or_null, sizeof digest);
    else
        hash_files(L, digest);
    char *o = L->rs->hash;
    memcpy(o, "sha256:", 7);
    for (size_t i = 0; i < sizeof digest; i++)
        snprintf(o + 7 + 2 * i, 3, "%02x", digest[i]);
}

