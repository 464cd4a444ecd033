/*
 * The table catalog: the persisted encoding of a table definition survives a round trip
 * unchanged, definitions written in a transaction are loaded again when the store is
 * reopened, table ids keep counting across restarts, lookups work by name and by table ARN,
 * listings come back sorted, and published snapshots stay valid while a reader holds them.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cjson/cJSON.h>
#include "backend.h"
#include "dx_alloc.h"
#include "dx_status.h"
#include "be_catalog.h"
#include "be_store.h"
#include "be_table_priv.h"

/* A table with everything a definition can hold. */
static struct be_table *full_table(const char *name)
{
    struct be_table *t = be_table_new();
    t->id = 7;
    t->name = dx_strdup(name);
    char arn[256];
    snprintf(arn, sizeof arn, "arn:aws:dynamodb:us-east-1:000000000000:table/%s", name);
    t->arn = dx_strdup(arn);
    t->table_id = dx_strdup("0f8fad5b-d9cb-469f-a165-70867728950e");
    t->created = 1700000000.125;
    t->status = dx_strdup("ACTIVE");
    t->hash = (struct be_keydef){dx_strdup("pk"), DX_AV_S};
    t->range = (struct be_keydef){dx_strdup("sk"), DX_AV_N};
    t->n_attrdefs = 4;
    t->attrdefs = dx_calloc(4, sizeof *t->attrdefs);
    t->attrdefs[0] = (struct be_keydef){dx_strdup("pk"), DX_AV_S};
    t->attrdefs[1] = (struct be_keydef){dx_strdup("sk"), DX_AV_N};
    t->attrdefs[2] = (struct be_keydef){dx_strdup("l"), DX_AV_B};
    t->attrdefs[3] = (struct be_keydef){dx_strdup("g"), DX_AV_S};
    t->billing = BE_BILLING_PROVISIONED;
    t->rcu = 1000000000000LL;
    t->wcu = 3;
    t->last_increase = 1700000100.5;
    t->last_decrease = 1700000200.25;
    t->decreases_today = 2;
    t->n_lsi = 1;
    t->lsi = dx_calloc(1, sizeof *t->lsi);
    t->lsi[0].name = dx_strdup("by_l");
    t->lsi[0].hash = (struct be_keydef){dx_strdup("pk"), DX_AV_S};
    t->lsi[0].range = (struct be_keydef){dx_strdup("l"), DX_AV_B};
    t->lsi[0].projection = BE_PROJ_INCLUDE;
    t->lsi[0].n_nonkey = 2;
    t->lsi[0].nonkey = dx_calloc(2, sizeof(char *));
    t->lsi[0].nonkey[0] = dx_strdup("x");
    t->lsi[0].nonkey[1] = dx_strdup("y");
    t->lsi[0].status = dx_strdup("ACTIVE");
    t->lsi[0].id = 8;
    t->n_gsi = 1;
    t->gsi = dx_calloc(1, sizeof *t->gsi);
    t->gsi[0].name = dx_strdup("by_g");
    t->gsi[0].global = 1;
    t->gsi[0].hash = (struct be_keydef){dx_strdup("g"), DX_AV_S};
    t->gsi[0].projection = BE_PROJ_KEYS_ONLY;
    t->gsi[0].rcu = 4;
    t->gsi[0].wcu = 5;
    t->gsi[0].status = dx_strdup("ACTIVE");
    t->gsi[0].id = 9;
    t->deletion_protection = 1;
    t->table_class = dx_strdup("STANDARD_INFREQUENT_ACCESS");
    t->extra = cJSON_Parse("{\"Tags\":[{\"Key\":\"k\",\"Value\":\"v\"}],\"ttl\":{\"a\":1}}");
    t->settle_at = 1700000300.5;
    return t;
}

static struct be_table *simple_table(const char *name, uint32_t id)
{
    struct be_table *t = be_table_new();
    t->id = id;
    t->name = dx_strdup(name);
    char arn[256];
    snprintf(arn, sizeof arn, "arn:aws:dynamodb:us-east-1:000000000000:table/%s", name);
    t->arn = dx_strdup(arn);
    t->table_id = dx_strdup("6fa459ea-ee8a-4ca4-894e-db77e160355e");
    t->status = dx_strdup("ACTIVE");
    t->hash = (struct be_keydef){dx_strdup("id"), DX_AV_S};
    t->n_attrdefs = 1;
    t->attrdefs = dx_calloc(1, sizeof *t->attrdefs);
    t->attrdefs[0] = (struct be_keydef){dx_strdup("id"), DX_AV_S};
    t->billing = BE_BILLING_PAY_PER_REQUEST;
    return t;
}

/* Two encodings are equal exactly when the definitions are. */
static void assert_same_table(const struct be_table *a, const struct be_table *b)
{
    struct dx_buf x = DX_BUF_INIT, y = DX_BUF_INIT;
    be__table_encode(a, &x);
    be__table_encode(b, &y);
    assert_string_equal(x.p, y.p);
    dx_buf_deinit(&x);
    dx_buf_deinit(&y);
}

static void test_encoding_round_trip(void **state)
{
    (void)state;
    struct be_table *t = full_table("orders"), *d;
    struct dx_buf b = DX_BUF_INIT;
    be__table_encode(t, &b);
    assert_int_equal(be__table_decode(b.p, b.len, &d), DX_OK);
    assert_int_equal(d->refs, 1);
    assert_string_equal(d->name, "orders");
    assert_int_equal(d->id, 7);
    assert_true(d->created == 1700000000.125);
    assert_int_equal(d->rcu, 1000000000000LL);
    assert_int_equal(d->range.type, DX_AV_N);
    assert_int_equal(d->lsi[0].projection, BE_PROJ_INCLUDE);
    assert_string_equal(d->lsi[0].nonkey[1], "y");
    assert_int_equal(d->gsi[0].global, 1);
    assert_null(d->gsi[0].range.name);
    assert_int_equal(d->gsi[0].id, 9);
    assert_true(d->deletion_protection);
    assert_non_null(d->extra);
    assert_true(d->settle_at == 1700000300.5);
    assert_same_table(t, d);
    dx_buf_deinit(&b);
    be_table_unref(d);
    be_table_unref(t);
}

static void test_clone_is_deep_and_equal(void **state)
{
    (void)state;
    struct be_table *t = full_table("orders");
    struct be_table *c = be_table_clone(t);
    assert_int_equal(c->refs, 1);
    assert_ptr_not_equal(c->name, t->name);
    assert_ptr_not_equal(c->lsi[0].nonkey, t->lsi[0].nonkey);
    assert_same_table(t, c);
    assert_ptr_not_equal(c->extra, t->extra);
    be_table_unref(t); /* the clone owns all of its memory */
    assert_string_equal(c->gsi[0].name, "by_g");
    assert_non_null(cJSON_GetObjectItemCaseSensitive(c->extra, "ttl"));
    be_table_unref(c);
}

static void test_decode_rejects_garbage(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "",
        "not json",
        "[]",
        "{\"v\":1}",
        "{\"v\":99,\"name\":\"t\"}",
        "{\"v\":1,\"name\":\"t\",\"hash\":{\"n\":\"id\",\"t\":\"SS\"}}",
        "{\"v\":1,\"name\":\"t\",\"hash\":{\"n\":\"id\",\"t\":\"S\"},\"lsi\":[{\"name\":\"x\"}]}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct be_table *t = (struct be_table *)1;
        assert_int_equal(be__table_decode(bad[i], strlen(bad[i]), &t), DX_EINVAL);
        assert_null(t);
    }
}

static void test_uuid4_format(void **state)
{
    (void)state;
    char a[37], b[37];
    be__uuid4(a);
    be__uuid4(b);
    assert_int_equal(strlen(a), 36);
    assert_string_not_equal(a, b);
    for (int i = 0; i < 36; i++) {
        if (i == 8 || i == 13 || i == 18 || i == 23)
            assert_int_equal(a[i], '-');
        else
            assert_non_null(strchr("0123456789abcdef", a[i]));
    }
    assert_int_equal(a[14], '4');           /* version 4 */
    assert_non_null(strchr("89ab", a[19])); /* RFC 4122 variant */
}

/* be__table_settle: what a due transition turns into, and nothing before it is due. */
static void test_settle(void **state)
{
    (void)state;
    static const struct {
        const char *status, *gsi_status;
        double settle_at, now;
        int gone;
        const char *want_status, *want_gsi; /* want_gsi NULL: the index left */
    } cases[] = {
        {"CREATING", "ACTIVE", 100, 99.9, 0, "CREATING", "ACTIVE"}, /* not due yet */
        {"CREATING", "ACTIVE", 100, 100, 0, "ACTIVE", "ACTIVE"},
        {"UPDATING", "UPDATING", 100, 150, 0, "ACTIVE", "ACTIVE"},
        {"UPDATING", "DELETING", 100, 150, 0, "ACTIVE", NULL},
        {"UPDATING", BE_GSI_BACKFILLED, 100, 150, 0, "ACTIVE", "ACTIVE"},
        {"UPDATING", "CREATING", 100, 150, 0, "ACTIVE", "CREATING"}, /* its backfill decides */
        {"DELETING", "ACTIVE", 100, 150, 1, "DELETING", "ACTIVE"},
        {"ACTIVE", "ACTIVE", 0, 150, 0, "ACTIVE", "ACTIVE"}, /* nothing pending */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct be_table *t = full_table("t");
        dx_free(t->status);
        t->status = dx_strdup(cases[i].status);
        dx_free(t->gsi[0].status);
        t->gsi[0].status = dx_strdup(cases[i].gsi_status);
        t->settle_at = cases[i].settle_at;
        assert_int_equal(be__table_settle(t, cases[i].now), cases[i].gone);
        assert_string_equal(t->status, cases[i].want_status);
        if (cases[i].want_gsi) {
            assert_int_equal(t->n_gsi, 1);
            assert_string_equal(t->gsi[0].status, cases[i].want_gsi);
        } else {
            assert_int_equal(t->n_gsi, 0);
        }
        if (!cases[i].gone && cases[i].now >= cases[i].settle_at)
            assert_true(t->settle_at == 0);
        be_table_unref(t);
    }
}

/* ---- through a real store ---- */

struct env {
    char dir[64];
    struct be_store *s;
    struct be_catalog *c;
};

static void env_open(struct env *e)
{
    struct be_options o = {.data_dir = e->dir, .nosync = 1, .map_size = 32u << 20};
    assert_int_equal(be_store_open(&o, &e->s), DX_OK);
    assert_int_equal(be_catalog_open(e->s, &e->c), DX_OK);
}

static void env_close(struct env *e)
{
    be_catalog_free(e->c);
    be_store_close(e->s);
    e->c = NULL;
    e->s = NULL;
}

static int setup(void **state)
{
    struct env *e = calloc(1, sizeof *e);
    snprintf(e->dir, sizeof e->dir, "/tmp/ddax-catalog-XXXXXX");
    if (!mkdtemp(e->dir))
        return -1;
    env_open(e);
    *state = e;
    return 0;
}

static int teardown(void **state)
{
    struct env *e = *state;
    if (e->c)
        env_close(e);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", e->dir);
    int rc = system(cmd);
    free(e);
    return rc == 0 ? 0 : -1;
}

static MDB_txn *wtxn(struct env *e)
{
    MDB_txn *txn;
    assert_int_equal(mdb_txn_begin(be_store_env(e->s), NULL, 0, &txn), 0);
    return txn;
}

/* Stores and publishes t as the writer does, consuming the caller's reference. */
static void create(struct env *e, struct be_table *t)
{
    MDB_txn *txn = wtxn(e);
    assert_int_equal(be_catalog_next_id(e->c, txn, &t->id), DX_OK);
    assert_int_equal(be_catalog_store(e->c, txn, t), DX_OK);
    assert_int_equal(mdb_txn_commit(txn), 0);
    be_catalog_publish(e->c, t);
    be_table_unref(t);
}

static void test_store_reopen_round_trip(void **state)
{
    struct env *e = *state;
    assert_null(be_catalog_get(e->c, "orders"));
    struct be_table *t = full_table("orders");
    struct dx_buf before = DX_BUF_INIT;
    create(e, t);
    struct be_table *got = be_catalog_get(e->c, "orders");
    assert_non_null(got);
    be__table_encode(got, &before);
    be_table_unref(got);

    env_close(e);
    env_open(e);
    got = be_catalog_get(e->c, "orders");
    assert_non_null(got);
    struct dx_buf after = DX_BUF_INIT;
    be__table_encode(got, &after);
    assert_string_equal(before.p, after.p);
    be_table_unref(got);
    dx_buf_deinit(&before);
    dx_buf_deinit(&after);
}

static void test_next_id_persists_and_increases(void **state)
{
    struct env *e = *state;
    uint32_t a, b, c;
    MDB_txn *txn = wtxn(e);
    assert_int_equal(be_catalog_next_id(e->c, txn, &a), DX_OK);
    assert_int_equal(be_catalog_next_id(e->c, txn, &b), DX_OK);
    assert_int_equal(mdb_txn_commit(txn), 0);
    assert_true(a >= 1);
    assert_int_equal(b, a + 1);

    /* An aborted transaction hands out nothing for good. */
    txn = wtxn(e);
    assert_int_equal(be_catalog_next_id(e->c, txn, &c), DX_OK);
    mdb_txn_abort(txn);

    env_close(e);
    env_open(e);
    txn = wtxn(e);
    assert_int_equal(be_catalog_next_id(e->c, txn, &c), DX_OK);
    assert_int_equal(mdb_txn_commit(txn), 0);
    assert_int_equal(c, b + 1); /* never reused after a restart */
}

static void test_get_by_name_and_arn(void **state)
{
    struct env *e = *state;
    create(e, simple_table("alpha", 0));
    static const struct {
        const char *key;
        int found;
    } cases[] = {
        {"alpha", 1},
        {"arn:aws:dynamodb:us-east-1:000000000000:table/alpha", 1},
        {"alph", 0},
        {"alphaa", 0},
        {"arn:aws:dynamodb:eu-west-1:000000000000:table/alpha", 0}, /* other region */
        {"arn:aws:dynamodb:us-east-1:111111111111:table/alpha", 0}, /* other account */
        {"arn:aws:dynamodb:us-east-1:000000000000:table/alpha/index/x", 0},
        {"arn:aws:dynamodb:us-east-1:000000000000:table/", 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct be_table *t = be_catalog_get(e->c, cases[i].key);
        if (cases[i].found != (t != NULL))
            fail_msg("lookup of %s: found=%d", cases[i].key, t != NULL);
        if (t) {
            assert_string_equal(t->name, "alpha");
            be_table_unref(t);
        }
    }
}

static void test_list_sorted(void **state)
{
    struct env *e = *state;
    static const char *const names[] = {"delta", "Alpha", "bravo", "alpha", "a.b", "a-b", "a_b"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        create(e, simple_table(names[i], 0));
    size_t n;
    struct be_table **ts = be_catalog_list(e->c, &n);
    assert_int_equal(n, 7);
    for (size_t i = 1; i < n; i++)
        assert_true(strcmp(ts[i - 1]->name, ts[i]->name) < 0);
    assert_string_equal(ts[0]->name, "Alpha"); /* bytewise: upper case first */
    assert_int_equal(be__catalog_count(e->c), 7);
    be_catalog_list_free(ts, n);

    /* The same order after a reload. */
    env_close(e);
    env_open(e);
    ts = be_catalog_list(e->c, &n);
    assert_int_equal(n, 7);
    for (size_t i = 1; i < n; i++)
        assert_true(strcmp(ts[i - 1]->name, ts[i]->name) < 0);
    be_catalog_list_free(ts, n);
}

static void test_publish_replaces_and_reader_keeps_snapshot(void **state)
{
    struct env *e = *state;
    create(e, simple_table("t1", 0));
    struct be_table *old = be_catalog_get(e->c, "t1");
    assert_non_null(old);

    struct be_table *upd = be_table_clone(old);
    upd->billing = BE_BILLING_PROVISIONED;
    upd->rcu = upd->wcu = 9;
    MDB_txn *txn = wtxn(e);
    assert_int_equal(be_catalog_store(e->c, txn, upd), DX_OK);
    assert_int_equal(mdb_txn_commit(txn), 0);
    be_catalog_publish(e->c, upd);
    be_table_unref(upd);

    /* The reader's snapshot is unchanged; new lookups see the new definition. */
    assert_int_equal(old->billing, BE_BILLING_PAY_PER_REQUEST);
    struct be_table *now = be_catalog_get(e->c, "t1");
    assert_int_equal(now->rcu, 9);
    assert_int_equal(be__catalog_count(e->c), 1);
    be_table_unref(now);

    /* Unpublishing leaves a held snapshot usable. */
    be_catalog_unpublish(e->c, "t1");
    assert_null(be_catalog_get(e->c, "t1"));
    assert_string_equal(old->name, "t1");
    be_table_unref(old);
}

static void test_remove_and_load(void **state)
{
    struct env *e = *state;
    create(e, simple_table("gone", 0));
    create(e, simple_table("kept", 0));
    MDB_txn *txn = wtxn(e);
    struct be_table *t;
    assert_int_equal(be__catalog_load(e->c, txn, "gone", &t), DX_OK);
    assert_string_equal(t->name, "gone");
    be_table_unref(t);
    assert_int_equal(be_catalog_remove(e->c, txn, "gone"), DX_OK);
    assert_int_equal(be__catalog_load(e->c, txn, "gone", &t), DX_ENOTFOUND);
    assert_null(t);
    assert_int_equal(be_catalog_remove(e->c, txn, "never"), DX_OK);
    assert_int_equal(mdb_txn_commit(txn), 0);
    be_catalog_unpublish(e->c, "gone");
    be_catalog_unpublish(e->c, "never"); /* nothing to do */

    env_close(e);
    env_open(e);
    assert_null(be_catalog_get(e->c, "gone"));
    t = be_catalog_get(e->c, "kept");
    assert_non_null(t);
    be_table_unref(t);
}

/* Transitions settle lazily wherever a definition is read: the published map (get and list),
 * the writer's load, and the next open. A snapshot already handed out stays as it was. */
static void test_lazy_settle(void **state)
{
    struct env *e = *state;
    struct be_table *c = simple_table("creating", 0), *d = simple_table("deleting", 0);
    dx_free(c->status);
    c->status = dx_strdup("CREATING");
    c->settle_at = be__now() + 0.2;
    dx_free(d->status);
    d->status = dx_strdup("DELETING");
    d->settle_at = be__now() + 0.2;
    create(e, c);
    create(e, d);
    struct be_table *held = be_catalog_get(e->c, "creating");
    assert_string_equal(held->status, "CREATING");
    size_t n;
    struct be_table **ts = be_catalog_list(e->c, &n);
    assert_int_equal(n, 2);
    be_catalog_list_free(ts, n);
    usleep(250 * 1000);

    struct be_table *t = be_catalog_get(e->c, "creating");
    assert_string_equal(t->status, "ACTIVE");
    assert_true(t->settle_at == 0);
    be_table_unref(t);
    assert_string_equal(held->status, "CREATING"); /* snapshots never change */
    be_table_unref(held);
    assert_null(be_catalog_get(e->c, "deleting"));
    ts = be_catalog_list(e->c, &n);
    assert_int_equal(n, 1);
    assert_string_equal(ts[0]->name, "creating");
    be_catalog_list_free(ts, n);

    MDB_txn *txn = wtxn(e);
    assert_int_equal(be__catalog_load(e->c, txn, "creating", &t), DX_OK);
    assert_string_equal(t->status, "ACTIVE");
    be_table_unref(t);
    assert_int_equal(be__catalog_load(e->c, txn, "deleting", &t), DX_ENOTFOUND);
    mdb_txn_abort(txn);

    /* The stored records still hold the transitions; a reopen settles them too. */
    env_close(e);
    env_open(e);
    t = be_catalog_get(e->c, "creating");
    assert_string_equal(t->status, "ACTIVE");
    be_table_unref(t);
    assert_null(be_catalog_get(e->c, "deleting"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_encoding_round_trip),
        cmocka_unit_test(test_clone_is_deep_and_equal),
        cmocka_unit_test(test_decode_rejects_garbage),
        cmocka_unit_test(test_uuid4_format),
        cmocka_unit_test(test_settle),
        cmocka_unit_test_setup_teardown(test_lazy_settle, setup, teardown),
        cmocka_unit_test_setup_teardown(test_store_reopen_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_next_id_persists_and_increases, setup, teardown),
        cmocka_unit_test_setup_teardown(test_get_by_name_and_arn, setup, teardown),
        cmocka_unit_test_setup_teardown(test_list_sorted, setup, teardown),
        cmocka_unit_test_setup_teardown(test_publish_replaces_and_reader_keeps_snapshot, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_remove_and_load, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
