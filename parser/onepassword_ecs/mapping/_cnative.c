/* The native mapper: item usages and sign-in attempts of the documented shape, from
 * JSON text straight to the canonical (sorted-key) document bytes.
 *
 * Why C, and why this shape: see docs/performance.md, "Native mapper". In short, the
 * pure path pays for building the input's Python objects and ~100 dict and string
 * operations per record; this file never builds them. It scans the top-level object
 * by hand, takes only what it can prove the Python fast mappers (_fast.py) would map
 * the same way, and returns None for everything else, so Python decides every record
 * this code does not take (every other shape, every error).
 *
 * What keeps it equal to the Python path by construction:
 * - values come from Python at start-up (configure): the action and category tables,
 *   message templates already split into literal pieces and field numbers, the
 *   dataset names, the ECS version object;
 * - the `user`/`target_user`, `client` and `location` sub-objects (and a sign-in's lone
 *   `country`) are mapped by Python callbacks that run the fast mapper's own code on
 *   the sub-object's text; the finished JSON fragments are memoized on that raw text,
 *   and a hit is confirmed by comparing the whole text (memcmp);
 * - top-level strings are taken only when they are printable ASCII without escapes,
 *   so their JSON text *is* their encoding and their message text is printable;
 * - tests/test_native.py requires byte-identical output or a hand-back on the golden
 *   fixtures, the benchmark corpus, Hypothesis records and a mutation corpus.
 *
 * Memory: the output grows in a heap buffer (a stack buffer first) with a bound check
 * on every append; memo slots are direct-mapped and reference counted, so a record
 * never holds a freed entry even when a callback lets another thread in.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

/* ---------------------------------------------------------------- output buffer */

typedef struct {
    char *p;
    size_t len;
    size_t cap;
    int heap;
    int failed;
} Buf;

static int buf_grow(Buf *b, size_t need) {
    size_t cap = b->cap ? b->cap : 256;
    while (cap - b->len < need) {
        if (cap > ((size_t)PY_SSIZE_T_MAX) / 2) {
            b->failed = 1;
            return -1;
        }
        cap *= 2;
    }
    char *fresh;
    if (b->heap) {
        fresh = (char *)PyMem_Realloc(b->p, cap);
    } else {
        fresh = (char *)PyMem_Malloc(cap);
        if (fresh != NULL && b->len) memcpy(fresh, b->p, b->len);
    }
    if (fresh == NULL) {
        b->failed = 1;
        return -1;
    }
    b->p = fresh;
    b->cap = cap;
    b->heap = 1;
    return 0;
}

static inline void put(Buf *b, const char *s, size_t n) {
    if (b->failed) return;
    if (b->cap - b->len < n && buf_grow(b, n) < 0) return;
    memcpy(b->p + b->len, s, n);
    b->len += n;
}

#define PUTS(b, lit) put((b), (lit), sizeof(lit) - 1)

static void buf_free(Buf *b) {
    if (b->heap) PyMem_Free(b->p);
}

/* ---------------------------------------------------------------- owned byte strings */

typedef struct {
    char *p; /* NULL: absent (None) */
    Py_ssize_t n;
} Str;

static int str_from(PyObject *obj, Str *out) {
    out->p = NULL;
    out->n = 0;
    if (obj == Py_None) return 0;
    if (!PyBytes_Check(obj)) {
        PyErr_SetString(PyExc_TypeError, "native mapper: expected bytes or None");
        return -1;
    }
    Py_ssize_t n = PyBytes_GET_SIZE(obj);
    char *p = (char *)PyMem_Malloc(n ? (size_t)n : 1);
    if (p == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    memcpy(p, PyBytes_AS_STRING(obj), (size_t)n);
    out->p = p;
    out->n = n;
    return 0;
}

static void str_free(Str *s) {
    PyMem_Free(s->p);
    s->p = NULL;
    s->n = 0;
}

static inline void put_str(Buf *b, const Str *s) { put(b, s->p, (size_t)s->n); }

/* ---------------------------------------------------------------- templates */

/* A message template split once: literal pieces (JSON-escaped, no quotes) and field
 * numbers. FIELD_* are the names the Python side numbers the same way. */
enum { F_USER = 0, F_ITEM, F_VAULT, F_ACTION, F_REASON, F_CATEGORY, F_COUNT };

typedef struct {
    Py_ssize_t count;
    Str *lits;  /* count literal pieces */
    int *field; /* count fields: -1 after the last literal */
} Template;

static void template_free(Template *t) {
    for (Py_ssize_t i = 0; i < t->count; i++) str_free(&t->lits[i]);
    PyMem_Free(t->lits);
    PyMem_Free(t->field);
    t->lits = NULL;
    t->field = NULL;
    t->count = 0;
}

/* From a tuple of (literal bytes, field int) pairs; field -1 means none. */
static int template_from(PyObject *obj, Template *t) {
    t->count = 0;
    t->lits = NULL;
    t->field = NULL;
    if (!PyTuple_Check(obj)) {
        PyErr_SetString(PyExc_TypeError, "native mapper: a template is a tuple");
        return -1;
    }
    Py_ssize_t n = PyTuple_GET_SIZE(obj);
    t->lits = (Str *)PyMem_Calloc(n ? (size_t)n : 1, sizeof(Str));
    t->field = (int *)PyMem_Calloc(n ? (size_t)n : 1, sizeof(int));
    if (t->lits == NULL || t->field == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *pair = PyTuple_GET_ITEM(obj, i);
        if (!PyTuple_Check(pair) || PyTuple_GET_SIZE(pair) != 2) {
            PyErr_SetString(PyExc_TypeError, "native mapper: a template piece is a pair");
            return -1;
        }
        if (str_from(PyTuple_GET_ITEM(pair, 0), &t->lits[i]) < 0) return -1;
        t->count = i + 1;
        long field = PyLong_AsLong(PyTuple_GET_ITEM(pair, 1));
        if (field == -1 && PyErr_Occurred()) return -1;
        if (field < -1 || field >= F_COUNT) {
            PyErr_SetString(PyExc_ValueError, "native mapper: unknown template field");
            return -1;
        }
        t->field[i] = (int)field;
    }
    return 0;
}

/* ---------------------------------------------------------------- tables */

/* One row of a small table keyed by a plain ASCII string (actions, categories, types).
 * `usable` 0: the row exists but the native path must hand such records back. */
typedef struct {
    Str key;
    int usable;
    Str a;       /* item usages: activity JSON; sign-ins: outcome JSON; types: reason */
    Str b;       /* types: detail (escaped), absent when none */
    Template t;  /* message template (actions, categories) */
} Row;

typedef struct {
    Py_ssize_t count;
    Row *rows;
} Table;

static void table_free(Table *tab) {
    for (Py_ssize_t i = 0; i < tab->count; i++) {
        str_free(&tab->rows[i].key);
        str_free(&tab->rows[i].a);
        str_free(&tab->rows[i].b);
        template_free(&tab->rows[i].t);
    }
    PyMem_Free(tab->rows);
    tab->rows = NULL;
    tab->count = 0;
}

/* A row from (a bytes, b bytes|None, template tuple|None), or None for "hand back". */
static int row_from(PyObject *value, Row *row) {
    row->usable = 0;
    if (value == Py_None) return 0;
    if (!PyTuple_Check(value) || PyTuple_GET_SIZE(value) != 3) {
        PyErr_SetString(PyExc_TypeError, "native mapper: a table row is a 3-tuple");
        return -1;
    }
    if (str_from(PyTuple_GET_ITEM(value, 0), &row->a) < 0) return -1;
    if (str_from(PyTuple_GET_ITEM(value, 1), &row->b) < 0) return -1;
    PyObject *tmpl = PyTuple_GET_ITEM(value, 2);
    if (tmpl != Py_None && template_from(tmpl, &row->t) < 0) return -1;
    row->usable = 1;
    return 0;
}

/* From a dict of bytes key -> row. */
static int table_from(PyObject *obj, Table *tab) {
    tab->count = 0;
    tab->rows = NULL;
    if (!PyDict_Check(obj)) {
        PyErr_SetString(PyExc_TypeError, "native mapper: a table is a dict");
        return -1;
    }
    Py_ssize_t n = PyDict_GET_SIZE(obj);
    tab->rows = (Row *)PyMem_Calloc(n ? (size_t)n : 1, sizeof(Row));
    if (tab->rows == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    Py_ssize_t pos = 0;
    PyObject *key, *value;
    while (PyDict_Next(obj, &pos, &key, &value)) {
        Row *row = &tab->rows[tab->count++];
        if (str_from(key, &row->key) < 0 || row->key.p == NULL) {
            if (!PyErr_Occurred())
                PyErr_SetString(PyExc_TypeError, "native mapper: a table key is bytes");
            return -1;
        }
        if (row_from(value, row) < 0) return -1;
    }
    return 0;
}

static const Row *table_get(const Table *tab, const char *p, Py_ssize_t n) {
    for (Py_ssize_t i = 0; i < tab->count; i++) {
        const Row *row = &tab->rows[i];
        if (row->key.n == n && memcmp(row->key.p, p, (size_t)n) == 0) return row;
    }
    return NULL;
}

/* ---------------------------------------------------------------- memo */

/* Memo kinds: a person object, a client's software (its six strings), a client's
 * address, a location object, a sign-in's lone country. Direct-mapped: a collision
 * replaces the slot, so memory is bounded by the slot counts. Addresses get the most
 * slots: a stream carries thousands of them (the pure path's indexable_ip keeps 16,384). */
enum { K_PERSON = 0, K_SOFTWARE, K_ADDRESS, K_PLACE, K_COUNTRY, K_KINDS };
static const unsigned memo_slots[K_KINDS] = {4096, 1024, 16384, 1024, 1024};
#define PARTS 4

typedef struct {
    Py_ssize_t refs;
    int declined; /* the callback said None: such records are handed back */
    uint64_t hash;
    Py_ssize_t rawlen;
    char *raw;
    Str part[PARTS];
} Entry;

static Entry **memo[K_KINDS];
static PyObject *callbacks[K_KINDS];

static void entry_release(Entry *e) {
    if (e == NULL) return;
    if (--e->refs > 0) return;
    for (int i = 0; i < PARTS; i++) str_free(&e->part[i]);
    PyMem_Free(e->raw);
    PyMem_Free(e);
}

static void memo_clear(void) {
    for (int k = 0; k < K_KINDS; k++) {
        if (memo[k] == NULL) continue;
        for (unsigned i = 0; i < memo_slots[k]; i++) {
            Entry *e = memo[k][i];
            memo[k][i] = NULL;
            entry_release(e);
        }
    }
}

static uint64_t hash_bytes(const char *p, Py_ssize_t n) {
    uint64_t h = 0x9E3779B97F4A7C15ULL ^ (uint64_t)n;
    while (n >= 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        h = (h ^ w) * 0xFF51AFD7ED558CCDULL;
        h ^= h >> 32;
        p += 8;
        n -= 8;
    }
    uint64_t w = 0;
    if (n > 0) memcpy(&w, p, (size_t)n);
    h = (h ^ w) * 0xC4CEB9FE1A85EC53ULL;
    h ^= h >> 29;
    return h;
}

/* The entry for `raw` of `kind`, a new reference, or NULL (an error: hand back).
 * A miss calls the kind's Python callback with the raw text. */
static Entry *memo_get(int kind, const char *raw, Py_ssize_t n) {
    uint64_t h = hash_bytes(raw, n);
    Entry **slot = &memo[kind][h & (memo_slots[kind] - 1)];
    Entry *e = *slot;
    if (e != NULL && e->hash == h && e->rawlen == n && memcmp(e->raw, raw, (size_t)n) == 0) {
        e->refs++;
        return e;
    }
    PyObject *callback = callbacks[kind];
    if (callback == NULL) return NULL;
    PyObject *arg = PyBytes_FromStringAndSize(raw, n);
    if (arg == NULL) {
        PyErr_Clear();
        return NULL;
    }
    PyObject *got = PyObject_CallOneArg(callback, arg);
    Py_DECREF(arg);
    if (got == NULL) {
        PyErr_Clear(); /* Python decides this record, and reports its error if any */
        return NULL;
    }
    e = (Entry *)PyMem_Calloc(1, sizeof(Entry));
    if (e == NULL) {
        Py_DECREF(got);
        return NULL;
    }
    e->refs = 1;
    e->hash = h;
    e->rawlen = n;
    e->raw = (char *)PyMem_Malloc(n ? (size_t)n : 1);
    if (e->raw == NULL) goto fail;
    memcpy(e->raw, raw, (size_t)n);
    if (got == Py_None) {
        e->declined = 1;
    } else {
        if (!PyTuple_Check(got) || PyTuple_GET_SIZE(got) != PARTS) goto fail;
        for (int i = 0; i < PARTS; i++)
            if (str_from(PyTuple_GET_ITEM(got, i), &e->part[i]) < 0) goto fail;
    }
    Py_DECREF(got);
    /* The slot may have changed while Python ran: whatever is there is released. */
    Entry *old = *slot;
    *slot = e;
    entry_release(old);
    e->refs++; /* one for the slot, one for the caller */
    return e;
fail:
    PyErr_Clear();
    Py_DECREF(got);
    entry_release(e);
    return NULL;
}

/* ---------------------------------------------------------------- configuration */

static Table item_actions, signin_categories, signin_types;
static Row item_unknown, signin_unrecognized, signin_none;
static Str ecs_json, item_dataset, signin_dataset;
static PyObject *item_dataset_obj, *signin_dataset_obj; /* event.dataset as str */
static int configured;

static void row_free(Row *row) {
    str_free(&row->key);
    str_free(&row->a);
    str_free(&row->b);
    template_free(&row->t);
    row->usable = 0;
}

static void config_free(void) {
    table_free(&item_actions);
    table_free(&signin_categories);
    table_free(&signin_types);
    row_free(&item_unknown);
    row_free(&signin_unrecognized);
    row_free(&signin_none);
    str_free(&ecs_json);
    str_free(&item_dataset);
    str_free(&signin_dataset);
    Py_CLEAR(item_dataset_obj);
    Py_CLEAR(signin_dataset_obj);
    for (int k = 0; k < K_KINDS; k++) Py_CLEAR(callbacks[k]);
    memo_clear();
    configured = 0;
}

static PyObject *item_of(PyObject *config, const char *name) {
    PyObject *value = PyDict_GetItemString(config, name); /* borrowed */
    if (value == NULL) PyErr_Format(PyExc_KeyError, "native mapper: configure needs %s", name);
    return value;
}

static PyObject *native_configure(PyObject *self, PyObject *config) {
    (void)self;
    if (!PyDict_Check(config)) {
        PyErr_SetString(PyExc_TypeError, "native mapper: configure takes a dict");
        return NULL;
    }
    config_free();
    static const char *names[K_KINDS] = {"person", "software", "address", "place", "country"};
    PyObject *v;
    for (int k = 0; k < K_KINDS; k++) {
        if (memo[k] == NULL) memo[k] = (Entry **)PyMem_Calloc(memo_slots[k], sizeof(Entry *));
        if (memo[k] == NULL) {
            PyErr_NoMemory();
            goto fail;
        }
    }
    for (int k = 0; k < K_KINDS; k++) {
        if ((v = item_of(config, names[k])) == NULL) goto fail;
        Py_INCREF(v);
        callbacks[k] = v;
    }
    if ((v = item_of(config, "item_actions")) == NULL || table_from(v, &item_actions) < 0)
        goto fail;
    if ((v = item_of(config, "signin_categories")) == NULL ||
        table_from(v, &signin_categories) < 0)
        goto fail;
    if ((v = item_of(config, "signin_types")) == NULL || table_from(v, &signin_types) < 0)
        goto fail;
    if ((v = item_of(config, "item_unknown")) == NULL || row_from(v, &item_unknown) < 0)
        goto fail;
    if ((v = item_of(config, "signin_unrecognized")) == NULL ||
        row_from(v, &signin_unrecognized) < 0)
        goto fail;
    if ((v = item_of(config, "signin_none")) == NULL || row_from(v, &signin_none) < 0)
        goto fail;
    if ((v = item_of(config, "ecs")) == NULL || str_from(v, &ecs_json) < 0) goto fail;
    if ((v = item_of(config, "item_dataset")) == NULL || str_from(v, &item_dataset) < 0)
        goto fail;
    if ((v = item_of(config, "signin_dataset")) == NULL || str_from(v, &signin_dataset) < 0)
        goto fail;
    if ((v = item_of(config, "item_event_dataset")) == NULL) goto fail;
    Py_INCREF(v);
    item_dataset_obj = v;
    if ((v = item_of(config, "signin_event_dataset")) == NULL) goto fail;
    Py_INCREF(v);
    signin_dataset_obj = v;
    if (ecs_json.p == NULL || item_dataset.p == NULL || signin_dataset.p == NULL) {
        PyErr_SetString(PyExc_ValueError, "native mapper: missing constants");
        goto fail;
    }
    configured = 1;
    Py_RETURN_NONE;
fail:
    config_free();
    return NULL;
}

static PyObject *native_clear(PyObject *self, PyObject *unused) {
    (void)self;
    (void)unused;
    memo_clear();
    Py_RETURN_NONE;
}

/* ---------------------------------------------------------------- scanning */

#define IS_WS(c) ((c) == ' ' || (c) == '\t' || (c) == '\n' || (c) == '\r')

static inline const char *skip_ws(const char *p, const char *end) {
    while (p < end && IS_WS(*p)) p++;
    return p;
}

/* Eight bytes at a time: a word none of whose bytes is a quote, a backslash, a
 * control character or outside ASCII (``plain``), or is a quote or backslash
 * (``inert``) gives 0. A non-zero answer may be a false alarm (borrows between
 * bytes); the callers then look byte by byte, so it only ever costs time. */
#define ONES 0x0101010101010101ULL
#define HIGHS 0x8080808080808080ULL
static inline uint64_t has_byte(uint64_t w, unsigned char c) {
    uint64_t x = w ^ (ONES * c);
    return (x - ONES) & ~x & HIGHS;
}
static inline uint64_t not_plain(uint64_t w) {
    return ((w - ONES * 0x20) & ~w & HIGHS) | (((w + ONES) | w) & HIGHS) | has_byte(w, '"') |
           has_byte(w, '\\');
}

/* A string of printable ASCII without escapes, at p (which is '"'): its contents in
 * [*s, *s + *n), and the position after the closing quote; NULL for anything else. */
static inline const char *plain_string(const char *p, const char *end, const char **s,
                                       Py_ssize_t *n) {
    const char *q = ++p;
    while (end - q >= 8) {
        uint64_t w;
        memcpy(&w, q, 8);
        if (not_plain(w)) break;
        q += 8;
    }
    while (q < end) {
        unsigned char c = (unsigned char)*q;
        if (c == '"') {
            *s = p;
            *n = q - p;
            return q + 1;
        }
        if (c < 0x20 || c > 0x7e || c == '\\') return NULL;
        q++;
    }
    return NULL;
}

/* Skip one object at p (which is '{') by brackets and strings, without judging it: the
 * text is judged by Python's decoder on a memo miss, and a hit is the same text. NULL
 * when it does not close or nests deeper than a person, client or place could. */
static const char *skip_object(const char *p, const char *end) {
    int depth = 0;
    while (p < end) {
        char c = *p++;
        if (c == '"') {
            for (;;) {
                while (end - p >= 8) {
                    uint64_t w;
                    memcpy(&w, p, 8);
                    if (has_byte(w, '"') | has_byte(w, '\\')) break;
                    p += 8;
                }
                while (p < end && *p != '"' && *p != '\\') p++;
                if (p >= end || *p == '"') break;
                p += 2; /* a backslash and the character it escapes */
            }
            if (p >= end) return NULL;
            p++;
        } else if (c == '{' || c == '[') {
            if (++depth > 32) return NULL;
        } else if (c == '}' || c == ']') {
            if (--depth == 0) return c == '}' ? p : NULL;
            if (depth < 0) return NULL;
        }
    }
    return NULL;
}

/* Top-level keys both datasets know; bit numbers. */
enum {
    KEY_UUID, KEY_TIMESTAMP, KEY_USED_VERSION, KEY_VAULT, KEY_ITEM, KEY_ACTION, KEY_USER,
    KEY_CLIENT, KEY_LOCATION, KEY_ACCOUNT, KEY_SESSION, KEY_CATEGORY, KEY_TYPE, KEY_COUNTRY,
    KEY_DETAILS, KEY_TARGET_USER, KEY_COUNT
};

#define BIT(k) (1u << (k))
#define ITEM_KEYS                                                                           \
    (BIT(KEY_UUID) | BIT(KEY_TIMESTAMP) | BIT(KEY_USED_VERSION) | BIT(KEY_VAULT) |          \
     BIT(KEY_ITEM) | BIT(KEY_ACTION) | BIT(KEY_USER) | BIT(KEY_CLIENT) | BIT(KEY_LOCATION) | \
     BIT(KEY_ACCOUNT))
#define SIGNIN_KEYS                                                                       \
    (BIT(KEY_UUID) | BIT(KEY_SESSION) | BIT(KEY_TIMESTAMP) | BIT(KEY_CATEGORY) |          \
     BIT(KEY_TYPE) | BIT(KEY_COUNTRY) | BIT(KEY_DETAILS) | BIT(KEY_TARGET_USER) |         \
     BIT(KEY_CLIENT) | BIT(KEY_LOCATION) | BIT(KEY_ACCOUNT))
/* detect_dataset's signals (_dataset.py): keys only one stream carries. */
#define ITEM_SIGNAL (BIT(KEY_ITEM) | BIT(KEY_VAULT) | BIT(KEY_USED_VERSION))
#define SIGNIN_SIGNAL (BIT(KEY_CATEGORY) | BIT(KEY_TARGET_USER) | BIT(KEY_SESSION))

static int key_id(const char *s, Py_ssize_t n) {
#define IS(lit) (n == (Py_ssize_t)sizeof(lit) - 1 && memcmp(s, lit, sizeof(lit) - 1) == 0)
    switch (n) {
        case 4:
            if (IS("uuid")) return KEY_UUID;
            if (IS("user")) return KEY_USER;
            if (IS("type")) return KEY_TYPE;
            break;
        case 6:
            if (IS("action")) return KEY_ACTION;
            if (IS("client")) return KEY_CLIENT;
            break;
        case 7:
            if (IS("country")) return KEY_COUNTRY;
            if (IS("details")) return KEY_DETAILS;
            break;
        case 8:
            if (IS("location")) return KEY_LOCATION;
            if (IS("category")) return KEY_CATEGORY;
            break;
        case 9:
            if (IS("timestamp")) return KEY_TIMESTAMP;
            if (IS("item_uuid")) return KEY_ITEM;
            break;
        case 10:
            if (IS("vault_uuid")) return KEY_VAULT;
            break;
        case 11:
            if (IS("target_user")) return KEY_TARGET_USER;
            break;
        case 12:
            if (IS("used_version")) return KEY_USED_VERSION;
            if (IS("account_uuid")) return KEY_ACCOUNT;
            if (IS("session_uuid")) return KEY_SESSION;
            break;
        default:
            break;
    }
    return -1;
#undef IS
}

/* One top-level value. kind: V_NULL, V_STR (plain string), V_INT (digits), V_OBJ (raw
 * object text). */
enum { V_ABSENT = 0, V_NULL, V_STR, V_INT, V_OBJ };

typedef struct {
    int kind;
    const char *p;
    Py_ssize_t n;
} Val;

/* The value at p into *v; the position after it, or NULL (hand back). */
static const char *scan_value(const char *p, const char *end, int key, Val *v) {
    if (p >= end) return NULL;
    char c = *p;
    if (c == 'n') {
        if (end - p >= 4 && memcmp(p, "null", 4) == 0) {
            v->kind = V_NULL;
            return p + 4;
        }
        return NULL;
    }
    if (c == '"') {
        if (key == KEY_USED_VERSION || key == KEY_USER || key == KEY_TARGET_USER ||
            key == KEY_CLIENT || key == KEY_LOCATION || key == KEY_DETAILS)
            return NULL;
        v->kind = V_STR;
        return plain_string(p, end, &v->p, &v->n);
    }
    if (c == '{') {
        if (key != KEY_USER && key != KEY_TARGET_USER && key != KEY_CLIENT &&
            key != KEY_LOCATION && key != KEY_DETAILS)
            return NULL;
        const char *q = skip_object(p, end);
        if (q == NULL) return NULL;
        v->kind = V_OBJ;
        v->p = p;
        v->n = q - p;
        return q;
    }
    if (c >= '0' && c <= '9' && key == KEY_USED_VERSION) {
        /* 0 <= n <= 2**63 - 1, written without a leading zero, fraction or exponent. */
        const char *q = p;
        uint64_t n = 0;
        while (q < end && *q >= '0' && *q <= '9') {
            if (q - p >= 19) return NULL;
            n = n * 10 + (uint64_t)(*q - '0');
            q++;
        }
        if (n > (uint64_t)INT64_MAX) return NULL;
        if (q - p > 1 && *p == '0') return NULL;
        if (q < end && (*q == '.' || *q == 'e' || *q == 'E')) return NULL;
        v->kind = V_INT;
        v->p = p;
        v->n = q - p;
        return q;
    }
    return NULL;
}

/* `details`: {} or {"value": <plain string or null>}. 1 taken (value into *v), 0 not. */
static int scan_details(const Val *d, Val *value) {
    value->kind = V_ABSENT;
    if (d->kind == V_ABSENT || d->kind == V_NULL) return 1;
    const char *p = d->p + 1, *end = d->p + d->n - 1; /* inside the braces */
    p = skip_ws(p, end);
    if (p == end) return 1;
    if (*p != '"') return 0;
    const char *s;
    Py_ssize_t n;
    p = plain_string(p, end, &s, &n);
    if (p == NULL || n != 5 || memcmp(s, "value", 5) != 0) return 0;
    p = skip_ws(p, end);
    if (p >= end || *p != ':') return 0;
    p = skip_ws(p + 1, end);
    if (p >= end) return 0;
    if (*p == '"') {
        value->kind = V_STR;
        p = plain_string(p, end, &value->p, &value->n);
    } else if (end - p >= 4 && memcmp(p, "null", 4) == 0) {
        value->kind = V_NULL;
        p += 4;
    } else {
        return 0;
    }
    if (p == NULL) return 0;
    p = skip_ws(p, end);
    return p == end;
}

/* ---------------------------------------------------------------- timestamps */

static inline int digits(const char *p, int n) {
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9') return -1;
        v = v * 10 + (p[i] - '0');
    }
    return v;
}

static int leap_year(long y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

static int days_in_month(long y, int m) {
    static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && leap_year(y) ? 29 : days[m - 1];
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm). */
static long days_from_civil(long y, int m, int d) {
    y -= m <= 2;
    long era = (y >= 0 ? y : y - 399) / 400;
    long yoe = y - era * 400;
    long doy = (153L * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static void civil_from_days(long z, long *y, int *m, int *d) {
    z += 719468;
    long era = (z >= 0 ? z : z - 146096) / 146097;
    long doe = z - era * 146097;
    long yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    long doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    long mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

/* to_utc (_timestamps.py) for the RFC 3339 forms with an offset, written into out as
 * "YYYY-MM-DDTHH:MM:SS.fffffffffZ" (30 bytes). 0 when the value is anything else (a
 * leap second, no offset, an impossible date): Python decides those. */
static int utc_text(const char *s, Py_ssize_t n, char out[30]) {
    if (n < 20) return 0;
    int year = digits(s, 4), month = digits(s + 5, 2), day = digits(s + 8, 2);
    int hour = digits(s + 11, 2), minute = digits(s + 14, 2), second = digits(s + 17, 2);
    if (s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != 't' && s[10] != ' ') ||
        s[13] != ':' || s[16] != ':')
        return 0;
    if (year < 1 || month < 1 || month > 12 || day < 1 || hour < 0 || hour > 23 ||
        minute < 0 || minute > 59 || second < 0 || second > 59)
        return 0;
    if (day > days_in_month(year, month)) return 0;
    const char *p = s + 19, *end = s + n;
    const char *frac = NULL;
    Py_ssize_t nfrac = 0;
    if (*p == '.' || *p == ',') {
        frac = ++p;
        while (p < end && *p >= '0' && *p <= '9') p++;
        nfrac = p - frac;
        if (nfrac == 0) return 0;
    }
    long offset = 0; /* minutes east of UTC */
    if (p < end && (*p == 'Z' || *p == 'z')) {
        p++;
    } else if (p < end && (*p == '+' || *p == '-')) {
        int sign = *p == '+' ? 1 : -1;
        p++;
        if (end - p < 4) return 0;
        int oh = digits(p, 2);
        p += 2;
        if (*p == ':') p++;
        if (end - p < 2) return 0;
        int om = digits(p, 2);
        p += 2;
        if (oh < 0 || oh > 23 || om < 0 || om > 59) return 0;
        offset = sign * (oh * 60L + om);
    } else {
        return 0;
    }
    if (p != end) return 0;
    long minutes = days_from_civil(year, month, day) * 1440L + hour * 60L + minute - offset;
    long days = minutes >= 0 ? minutes / 1440 : -((-minutes + 1439) / 1440);
    long rest = minutes - days * 1440;
    long y;
    int m, d;
    civil_from_days(days, &y, &m, &d);
    if (y < 1 || y > 9999) return 0;
    int h = (int)(rest / 60), mi = (int)(rest % 60);
    char *o = out;
    o[0] = (char)('0' + y / 1000);
    o[1] = (char)('0' + y / 100 % 10);
    o[2] = (char)('0' + y / 10 % 10);
    o[3] = (char)('0' + y % 10);
    o[4] = '-';
    o[5] = (char)('0' + m / 10);
    o[6] = (char)('0' + m % 10);
    o[7] = '-';
    o[8] = (char)('0' + d / 10);
    o[9] = (char)('0' + d % 10);
    o[10] = 'T';
    o[11] = (char)('0' + h / 10);
    o[12] = (char)('0' + h % 10);
    o[13] = ':';
    o[14] = (char)('0' + mi / 10);
    o[15] = (char)('0' + mi % 10);
    o[16] = ':';
    o[17] = s[17];
    o[18] = s[18];
    o[19] = '.';
    for (int i = 0; i < 9; i++) o[20 + i] = i < nfrac ? frac[i] : '0';
    o[29] = 'Z';
    return 1;
}

/* ---------------------------------------------------------------- writing */

typedef struct {
    const char *p;
    Py_ssize_t n;
} Piece; /* escaped text for a message field; p NULL: absent */

static void put_template(Buf *b, const Template *t, const Piece fields[F_COUNT]) {
    PUTS(b, "\"");
    for (Py_ssize_t i = 0; i < t->count; i++) {
        put_str(b, &t->lits[i]);
        int f = t->field[i];
        if (f >= 0) put(b, fields[f].p, (size_t)fields[f].n);
    }
    PUTS(b, "\"");
}

static inline void put_plain(Buf *b, const Val *v) {
    PUTS(b, "\"");
    put(b, v->p, (size_t)v->n);
    PUTS(b, "\"");
}

static inline int text(const Val *v) { return v->kind == V_STR && v->n > 0; }

static inline Piece piece(const Val *v, const char *fallback) {
    Piece out;
    if (text(v)) {
        out.p = v->p;
        out.n = v->n;
    } else {
        out.p = fallback;
        out.n = (Py_ssize_t)strlen(fallback);
    }
    return out;
}

/* The client side of a record: the memo entries of the person, client and place. */
typedef struct {
    Entry *who, *build, *address, *place;
    Val ipv4; /* V_STR: the address is this IPv4 literal (no address entry) */
} Side;

static void side_release(Side *side) {
    entry_release(side->who);
    entry_release(side->build);
    entry_release(side->address);
    entry_release(side->place);
}

/* A dotted-quad IPv4 literal as Python's ipaddress reads it (four decimal octets of
 * one to three digits, at most 255, no leading zero): for those _net.indexable_ip
 * returns the text itself, so address and ip are the text and no memo is needed
 * (a stream carries thousands of addresses). Anything else goes to the memo. */
static int plain_ipv4(const char *p, Py_ssize_t n) {
    const char *end = p + n;
    for (int octet = 0; octet < 4; octet++) {
        if (octet) {
            if (p >= end || *p != '.') return 0;
            p++;
        }
        const char *start = p;
        int value = 0;
        while (p < end && *p >= '0' && *p <= '9' && p - start < 3) value = value * 10 + (*p++ - '0');
        if (p == start || value > 255 || (p - start > 1 && *start == '0')) return 0;
    }
    return p == end;
}

/* A client object of plain strings and nulls: its software entry (looked up on its six
 * strings) and its address entry (on the address). 0: hand the record back. */
static int client_of(const Val *client, Side *side) {
    static const char *const names[7] = {"os_name",       "os_version",       "app_name",
                                         "app_version",   "platform_name",    "platform_version",
                                         "ip_address"};
    static const size_t lengths[7] = {7, 10, 8, 11, 13, 16, 10};
    Val field[7];
    memset(field, 0, sizeof field);
    const char *p = client->p + 1, *end = client->p + client->n - 1; /* inside the braces */
    p = skip_ws(p, end);
    while (p < end) {
        const char *ks;
        Py_ssize_t kn;
        if (*p != '"' || (p = plain_string(p, end, &ks, &kn)) == NULL) return 0;
        int which = -1;
        for (int i = 0; i < 7; i++) {
            if ((size_t)kn == lengths[i] && memcmp(ks, names[i], (size_t)kn) == 0) {
                which = i;
                break;
            }
        }
        if (which < 0 || field[which].kind != V_ABSENT) return 0; /* unknown or repeated */
        p = skip_ws(p, end);
        if (p >= end || *p != ':') return 0;
        p = skip_ws(p + 1, end);
        if (p >= end) return 0;
        if (*p == '"') {
            field[which].kind = V_STR;
            p = plain_string(p, end, &field[which].p, &field[which].n);
            if (p == NULL) return 0;
        } else if (end - p >= 4 && memcmp(p, "null", 4) == 0) {
            field[which].kind = V_NULL;
            p += 4;
        } else {
            return 0;
        }
        p = skip_ws(p, end);
        if (p < end) {
            if (*p != ',') return 0;
            p = skip_ws(p + 1, end);
            if (p >= end) return 0; /* a trailing comma */
        }
    }
    /* The software key: the six strings, NUL-separated; \x01 for null or absent
     * (printable ASCII never holds either byte). */
    char stack[512];
    Buf key = {stack, 0, sizeof stack, 0, 0};
    for (int i = 0; i < 6; i++) {
        if (i) PUTS(&key, "\0");
        if (field[i].kind == V_STR)
            put(&key, field[i].p, (size_t)field[i].n);
        else
            PUTS(&key, "\x01");
    }
    if (key.failed) {
        buf_free(&key);
        return 0;
    }
    side->build = memo_get(K_SOFTWARE, key.p, (Py_ssize_t)key.len);
    buf_free(&key);
    if (side->build == NULL || side->build->declined) return 0;
    if (text(&field[6]) && plain_ipv4(field[6].p, field[6].n)) {
        side->ipv4 = field[6];
    } else if (text(&field[6])) {
        side->address = memo_get(K_ADDRESS, field[6].p, field[6].n);
        if (side->address == NULL || side->address->declined) return 0;
    }
    return 1;
}

/* Look up the person, client and place; 0 when any must go to Python. */
static int side_of(const Val *person, const Val *client, const Val *location,
                   const Val *country, Side *side) {
    side->who = side->build = side->address = side->place = NULL;
    side->ipv4.kind = V_ABSENT;
    if (person->kind == V_OBJ) {
        side->who = memo_get(K_PERSON, person->p, person->n);
        if (side->who == NULL || side->who->declined) return 0;
    }
    if (client->kind == V_OBJ && !client_of(client, side)) return 0;
    if (location->kind == V_OBJ) {
        side->place = memo_get(K_PLACE, location->p, location->n);
        if (side->place == NULL || side->place->declined) return 0;
    } else if (country != NULL && text(country)) {
        side->place = memo_get(K_COUNTRY, country->p, country->n);
        if (side->place == NULL || side->place->declined) return 0;
    }
    return 1;
}

/* Person parts: fields, vendor, identifiers, display (escaped). Software parts: host,
 * vendor. Address parts: address (JSON), ip (JSON). Place parts: geo. */
#define PART(e, i) ((e) != NULL ? &(e)->part[i] : &absent)
static const Str absent = {NULL, 0};

/* _fast.assemble from "client" on (after @timestamp and before the event). */
/* The address and ip JSON of a side: from its address entry, or its IPv4 literal. */
static void side_address(const Side *side, Str *quoted, const Str **address, const Str **ip) {
    if (side->ipv4.kind == V_STR) {
        quoted->p = (char *)side->ipv4.p - 1; /* the literal with its quotes, in the record */
        quoted->n = side->ipv4.n + 2;
        *address = *ip = quoted;
    } else {
        *address = PART(side->address, 0);
        *ip = PART(side->address, 1);
    }
}

static void put_network_head(Buf *b, const Side *side, const Str *stream) {
    Str quoted;
    const Str *address, *ip;
    side_address(side, &quoted, &address, &ip);
    const Str *geo = PART(side->place, 0);
    if (address->p || geo->p) {
        PUTS(b, ",\"client\":{");
        int first = 1;
        if (address->p) {
            PUTS(b, "\"address\":");
            put_str(b, address);
            first = 0;
        }
        if (geo->p) {
            if (!first) PUTS(b, ",");
            PUTS(b, "\"geo\":");
            put_str(b, geo);
            first = 0;
        }
        if (ip->p) {
            if (!first) PUTS(b, ",");
            PUTS(b, "\"ip\":");
            put_str(b, ip);
        }
        PUTS(b, "}");
    }
    if (stream != NULL) {
        PUTS(b, ",\"data_stream\":");
        put_str(b, stream);
    }
    PUTS(b, ",\"ecs\":");
    put_str(b, &ecs_json);
}

static void put_network_tail(Buf *b, const Side *side) {
    Str quoted;
    const Str *address, *ip;
    side_address(side, &quoted, &address, &ip);
    const Str *geo = PART(side->place, 0);
    const Str *users = PART(side->who, 2), *user = PART(side->who, 0);
    if (users->p) {
        PUTS(b, ",\"related\":{");
        if (ip->p) {
            PUTS(b, "\"ip\":[");
            put_str(b, ip);
            PUTS(b, "],");
        }
        PUTS(b, "\"user\":");
        put_str(b, users);
        PUTS(b, "}");
    } else if (ip->p) {
        PUTS(b, ",\"related\":{\"ip\":[");
        put_str(b, ip);
        PUTS(b, "]}");
    }
    if (ip->p || geo->p) {
        PUTS(b, ",\"source\":{");
        int first = 1;
        if (ip->p) {
            PUTS(b, "\"address\":");
            put_str(b, address);
            first = 0;
        }
        if (geo->p) {
            if (!first) PUTS(b, ",");
            PUTS(b, "\"geo\":");
            put_str(b, geo);
            first = 0;
        }
        if (ip->p) {
            if (!first) PUTS(b, ",");
            PUTS(b, "\"ip\":");
            put_str(b, ip);
        }
        PUTS(b, "}");
    }
    if (user->p) {
        PUTS(b, ",\"user\":");
        put_str(b, user);
    }
}

/* One vendor key in sorted order inside onepassword{...}. */
static inline void vendor_key(Buf *b, int *first, const char *key, size_t n) {
    if (*first)
        PUTS(b, ",\"onepassword\":{\"");
    else
        PUTS(b, ",\"");
    *first = 0;
    put(b, key, n);
    PUTS(b, "\":");
}
#define VKEY(b, first, lit) vendor_key((b), (first), (lit), sizeof(lit) - 1)

static int item_usage(Buf *b, Val *v, const Str *stream) {
    if (v[KEY_TIMESTAMP].kind != V_STR) return 0;
    char ts[30];
    if (!utc_text(v[KEY_TIMESTAMP].p, v[KEY_TIMESTAMP].n, ts)) return 0;
    const Val *action = &v[KEY_ACTION];
    const Row *rule = text(action) ? table_get(&item_actions, action->p, action->n) : NULL;
    if (rule == NULL) rule = &item_unknown;
    if (!rule->usable) return 0;
    Val none = {V_ABSENT, NULL, 0};
    Side side;
    if (!side_of(&v[KEY_USER], &v[KEY_CLIENT], &v[KEY_LOCATION], NULL, &side)) {
        side_release(&side);
        return 0;
    }
    (void)none;
    PUTS(b, "{\"@timestamp\":\"");
    put(b, ts, 30);
    PUTS(b, "\"");
    put_network_head(b, &side, stream);
    PUTS(b, ",\"event\":{");
    if (text(action)) {
        PUTS(b, "\"action\":");
        put_plain(b, action);
        PUTS(b, ",");
    }
    PUTS(b, "\"category\":[\"file\"],\"dataset\":");
    put_str(b, &item_dataset);
    if (text(&v[KEY_UUID])) {
        PUTS(b, ",\"id\":");
        put_plain(b, &v[KEY_UUID]);
    }
    PUTS(b, ",\"kind\":\"event\",\"module\":\"1password\",\"outcome\":\"success\",\"type\":[");
    put_str(b, &rule->a);
    PUTS(b, "]}");
    const Str *host = PART(side.build, 0);
    if (host->p) {
        PUTS(b, ",\"host\":");
        put_str(b, host);
    }
    Piece fields[F_COUNT] = {{NULL, 0}};
    const Str *display = PART(side.who, 3);
    if (display->p) {
        fields[F_USER].p = display->p;
        fields[F_USER].n = display->n;
    } else {
        fields[F_USER] = piece(&none, "An unknown user");
    }
    fields[F_ITEM] = piece(&v[KEY_ITEM], "(unknown)");
    fields[F_VAULT] = piece(&v[KEY_VAULT], "(unknown)");
    fields[F_ACTION] = piece(action, "action not reported");
    fields[F_REASON] = piece(&none, "");
    fields[F_CATEGORY] = piece(&none, "");
    PUTS(b, ",\"message\":");
    put_template(b, &rule->t, fields);
    int first = 1;
    if (text(&v[KEY_ACCOUNT])) {
        VKEY(b, &first, "account_uuid");
        put_plain(b, &v[KEY_ACCOUNT]);
    }
    const Str *client_vendor = PART(side.build, 1);
    if (client_vendor->p) {
        VKEY(b, &first, "client");
        put_str(b, client_vendor);
    }
    if (text(&v[KEY_ITEM])) {
        VKEY(b, &first, "item_uuid");
        put_plain(b, &v[KEY_ITEM]);
    }
    if (v[KEY_USED_VERSION].kind == V_INT) {
        VKEY(b, &first, "used_version");
        put(b, v[KEY_USED_VERSION].p, (size_t)v[KEY_USED_VERSION].n);
    }
    const Str *user_vendor = PART(side.who, 1);
    if (user_vendor->p) {
        VKEY(b, &first, "user");
        put_str(b, user_vendor);
    }
    if (text(&v[KEY_VAULT])) {
        VKEY(b, &first, "vault_uuid");
        put_plain(b, &v[KEY_VAULT]);
    }
    if (!first) PUTS(b, "}");
    put_network_tail(b, &side);
    PUTS(b, "}");
    side_release(&side);
    return 1;
}

/* _signin._reason, into b (escaped, no quotes); 0 when there is no reason. */
static int put_reason(Buf *b, const Val *type, const Val *detail, int *usable) {
    const Row *known = text(type) ? table_get(&signin_types, type->p, type->n) : NULL;
    *usable = 1;
    if (known != NULL) {
        if (!known->usable) {
            *usable = 0;
            return 0;
        }
        put_str(b, &known->a);
        if (text(detail)) {
            PUTS(b, " (");
            if (known->b.p != NULL && known->b.n > 0) {
                put_str(b, &known->b);
                PUTS(b, " ");
            }
            put(b, detail->p, (size_t)detail->n);
            PUTS(b, ")");
        }
        return 1;
    }
    if (text(type)) {
        for (Py_ssize_t i = 0; i < type->n; i++) {
            char c = type->p[i] == '_' ? ' ' : type->p[i];
            put(b, &c, 1);
        }
        if (text(detail)) {
            PUTS(b, " (");
            put(b, detail->p, (size_t)detail->n);
            PUTS(b, ")");
        }
        return 1;
    }
    if (text(detail)) {
        put(b, detail->p, (size_t)detail->n);
        return 1;
    }
    return 0;
}

static int signin_attempt(Buf *b, Val *v, const Str *stream) {
    if (v[KEY_TIMESTAMP].kind != V_STR) return 0;
    Val detail = {V_ABSENT, NULL, 0};
    if (!scan_details(&v[KEY_DETAILS], &detail)) return 0;
    char ts[30];
    if (!utc_text(v[KEY_TIMESTAMP].p, v[KEY_TIMESTAMP].n, ts)) return 0;
    const Val *category = &v[KEY_CATEGORY];
    const Row *rule;
    if (text(category)) {
        rule = table_get(&signin_categories, category->p, category->n);
        if (rule == NULL) rule = &signin_unrecognized;
    } else {
        rule = &signin_none;
    }
    if (!rule->usable) return 0;
    /* The reason, written once into a buffer of its own (it appears twice). */
    char reason_stack[256];
    Buf reason = {reason_stack, 0, sizeof reason_stack, 0, 0};
    int usable;
    int has_reason = put_reason(&reason, &v[KEY_TYPE], &detail, &usable);
    if (!usable || reason.failed) {
        buf_free(&reason);
        return 0;
    }
    Side side;
    if (!side_of(&v[KEY_TARGET_USER], &v[KEY_CLIENT], &v[KEY_LOCATION], &v[KEY_COUNTRY],
                 &side)) {
        side_release(&side);
        buf_free(&reason);
        return 0;
    }
    Val none = {V_ABSENT, NULL, 0};
    PUTS(b, "{\"@timestamp\":\"");
    put(b, ts, 30);
    PUTS(b, "\"");
    put_network_head(b, &side, stream);
    PUTS(b, ",\"event\":{");
    if (text(category)) {
        PUTS(b, "\"action\":");
        put_plain(b, category);
        PUTS(b, ",");
    }
    PUTS(b, "\"category\":[\"authentication\"],\"dataset\":");
    put_str(b, &signin_dataset);
    if (text(&v[KEY_UUID])) {
        PUTS(b, ",\"id\":");
        put_plain(b, &v[KEY_UUID]);
    }
    PUTS(b, ",\"kind\":\"event\",\"module\":\"1password\",\"outcome\":");
    put_str(b, &rule->a);
    if (has_reason) {
        PUTS(b, ",\"reason\":\"");
        put(b, reason.p, reason.len);
        PUTS(b, "\"");
    }
    PUTS(b, ",\"type\":[\"start\"]}");
    const Str *host = PART(side.build, 0);
    if (host->p) {
        PUTS(b, ",\"host\":");
        put_str(b, host);
    }
    Piece fields[F_COUNT] = {{NULL, 0}};
    const Str *display = PART(side.who, 3);
    if (display->p) {
        fields[F_USER].p = display->p;
        fields[F_USER].n = display->n;
    } else {
        fields[F_USER] = piece(&none, "An unknown user");
    }
    if (has_reason) {
        fields[F_REASON].p = reason.p;
        fields[F_REASON].n = (Py_ssize_t)reason.len;
    } else {
        fields[F_REASON] = piece(&none, "no reason given");
    }
    fields[F_CATEGORY] = piece(category, "");
    fields[F_ITEM] = piece(&none, "");
    fields[F_VAULT] = piece(&none, "");
    fields[F_ACTION] = piece(&none, "");
    PUTS(b, ",\"message\":");
    put_template(b, &rule->t, fields);
    int first = 1;
    if (text(&v[KEY_ACCOUNT])) {
        VKEY(b, &first, "account_uuid");
        put_plain(b, &v[KEY_ACCOUNT]);
    }
    const Str *client_vendor = PART(side.build, 1);
    if (client_vendor->p) {
        VKEY(b, &first, "client");
        put_str(b, client_vendor);
    }
    if (text(&v[KEY_COUNTRY])) {
        VKEY(b, &first, "country");
        put_plain(b, &v[KEY_COUNTRY]);
    }
    if (text(&detail)) {
        VKEY(b, &first, "details");
        PUTS(b, "{\"value\":");
        put_plain(b, &detail);
        PUTS(b, "}");
    }
    if (text(&v[KEY_SESSION])) {
        VKEY(b, &first, "session_uuid");
        put_plain(b, &v[KEY_SESSION]);
    }
    const Str *user_vendor = PART(side.who, 1);
    if (user_vendor->p) {
        VKEY(b, &first, "target_user");
        put_str(b, user_vendor);
    }
    if (text(&v[KEY_TYPE])) {
        VKEY(b, &first, "type");
        put_plain(b, &v[KEY_TYPE]);
    }
    if (!first) PUTS(b, "}");
    put_network_tail(b, &side);
    PUTS(b, "}");
    side_release(&side);
    buf_free(&reason);
    return 1;
}

/* ---------------------------------------------------------------- entry point */

/* map(record, dataset, streams, tagged) -> bytes | (bytes, event.dataset) | None
 *
 * record: bytes or str (JSON text). dataset: 0 detect, 1 item usages, 2 sign-in
 * attempts, anything else: None. streams: None or a (item, sign-in) pair of the
 * data_stream objects' JSON. None means: Python decides this record. */
static PyObject *native_map(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    (void)self;
    if (nargs != 4) {
        PyErr_SetString(PyExc_TypeError, "map(record, dataset, streams, tagged)");
        return NULL;
    }
    if (!configured) Py_RETURN_NONE;
    PyObject *record = args[0];
    const char *p;
    Py_ssize_t n;
    if (PyBytes_CheckExact(record)) {
        p = PyBytes_AS_STRING(record);
        n = PyBytes_GET_SIZE(record);
    } else if (PyUnicode_CheckExact(record)) {
        p = PyUnicode_AsUTF8AndSize(record, &n);
        if (p == NULL) {
            PyErr_Clear(); /* lone surrogates: Python reports them */
            Py_RETURN_NONE;
        }
    } else {
        Py_RETURN_NONE;
    }
    long forced = PyLong_AsLong(args[1]);
    if (forced == -1 && PyErr_Occurred()) return NULL;
    PyObject *streams = args[2];
    int tagged = PyObject_IsTrue(args[3]);
    if (tagged < 0) return NULL;

    const char *end = p + n;
    Val v[KEY_COUNT];
    memset(v, 0, sizeof v);
    unsigned seen = 0;
    const char *q = skip_ws(p, end);
    if (q >= end || *q != '{') Py_RETURN_NONE;
    q = skip_ws(q + 1, end);
    if (q < end && *q == '}') Py_RETURN_NONE; /* {}: no dataset to detect, Python says so */
    for (;;) {
        if (q >= end || *q != '"') Py_RETURN_NONE;
        const char *ks;
        Py_ssize_t kn;
        q = plain_string(q, end, &ks, &kn);
        if (q == NULL) Py_RETURN_NONE;
        int key = key_id(ks, kn);
        if (key < 0 || (seen & BIT(key))) Py_RETURN_NONE; /* unknown or repeated key */
        seen |= BIT(key);
        q = skip_ws(q, end);
        if (q >= end || *q != ':') Py_RETURN_NONE;
        q = skip_ws(q + 1, end);
        q = scan_value(q, end, key, &v[key]);
        if (q == NULL) Py_RETURN_NONE;
        q = skip_ws(q, end);
        if (q >= end) Py_RETURN_NONE;
        if (*q == ',') {
            q = skip_ws(q + 1, end);
            continue;
        }
        if (*q != '}') Py_RETURN_NONE;
        q = skip_ws(q + 1, end);
        if (q != end) Py_RETURN_NONE;
        break;
    }
    int which = (int)forced;
    if (which == 0) {
        if (seen & ITEM_SIGNAL)
            which = 1;
        else if (seen & SIGNIN_SIGNAL)
            which = 2;
        else if ((seen & BIT(KEY_ACTION)) && (seen & BIT(KEY_USER)))
            which = 1;
        else
            Py_RETURN_NONE; /* audit events, or no dataset: Python decides */
    }
    if (which == 1 && (seen & ~ITEM_KEYS)) Py_RETURN_NONE;
    if (which == 2 && (seen & ~SIGNIN_KEYS)) Py_RETURN_NONE;
    if (which != 1 && which != 2) Py_RETURN_NONE;

    Str stream = {NULL, 0};
    if (streams != Py_None) {
        if (!PyTuple_Check(streams) || PyTuple_GET_SIZE(streams) != 2) {
            PyErr_SetString(PyExc_TypeError, "streams: a pair of bytes or None");
            return NULL;
        }
        PyObject *one = PyTuple_GET_ITEM(streams, which - 1);
        if (!PyBytes_Check(one)) {
            PyErr_SetString(PyExc_TypeError, "streams: a pair of bytes or None");
            return NULL;
        }
        stream.p = PyBytes_AS_STRING(one);
        stream.n = PyBytes_GET_SIZE(one);
    }
    char stack[4096];
    Buf b = {stack, 0, sizeof stack, 0, 0};
    int took = which == 1 ? item_usage(&b, v, stream.p ? &stream : NULL)
                          : signin_attempt(&b, v, stream.p ? &stream : NULL);
    if (!took || b.failed) {
        buf_free(&b);
        Py_RETURN_NONE;
    }
    PyObject *out = PyBytes_FromStringAndSize(b.p, (Py_ssize_t)b.len);
    buf_free(&b);
    if (out == NULL || !tagged) return out;
    PyObject *name = which == 1 ? item_dataset_obj : signin_dataset_obj;
    PyObject *pair = PyTuple_Pack(2, out, name);
    Py_DECREF(out);
    return pair;
}

/* ---------------------------------------------------------------- module */

static PyMethodDef methods[] = {
    {"configure", (PyCFunction)native_configure, METH_O,
     "Take the tables, templates and callbacks (from _native.py)."},
    {"clear", (PyCFunction)native_clear, METH_NOARGS, "Empty the memos."},
    {"map", (PyCFunction)(void (*)(void))native_map, METH_FASTCALL,
     "map(record, dataset, streams, tagged): the document's bytes, or None."},
    {NULL, NULL, 0, NULL},
};

static void module_free(void *unused) {
    (void)unused;
    config_free();
}

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_cnative", "The native mapper (see _native.py).", -1, methods,
    NULL, NULL, NULL, module_free,
};

PyMODINIT_FUNC PyInit__cnative(void) { return PyModule_Create(&module); }
