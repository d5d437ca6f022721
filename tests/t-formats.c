/* tests/t-formats.c — safetensors, npy and TSV: round trips (bit-exact),
 * files written by numpy (the peer) read back, and every malformed input the
 * readers must refuse, each with its EFORMAT reason. */
#define _POSIX_C_SOURCE 200809L
#include "ssmkit.h"
#include "tests/harness.h"

#include <math.h>
#include <string.h>
#include <unistd.h>

static char dir[] = "/tmp/ssm-t-formats-XXXXXX";

static const char *tmp_path(const char *name)
{
    static char buf[4][256];
    static int k;
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof buf[k], "%s/%s", dir, name);
    return buf[k];
}

/* a safetensors buffer from a header string and n data bytes of value 0 */
static size_t make_st(unsigned char *buf, const char *hdr, size_t ndata)
{
    size_t h = strlen(hdr);
    for (int i = 0; i < 8; i++)
        buf[i] = (unsigned char)((uint64_t)h >> (8 * i));
    memcpy(buf + 8, hdr, h);
    memset(buf + 8 + h, 0, ndata);
    return 8 + h + ndata;
}

static void expect_st_error(const char *hdr, size_t ndata, const char *needle)
{
    unsigned char buf[4096];
    size_t n = make_st(buf, hdr, ndata);
    ssm_st *f = NULL;
    ssm_status s = ssm_st_read_mem(&f, buf, n);
    CHECK(s == SSM_EFORMAT && f == NULL && strstr(ssm_error_message(), needle),
          "safetensors header %s: status %d, message '%s' (want '%s')", hdr, s, ssm_error_message(), needle);
}

static void test_safetensors(void)
{
    ssm_st *f = NULL;
    TRY(ssm_st_create(&f));
    double special[6] = {-0.0, 5e-324, -1.7976931348623157e308, INFINITY, NAN, 0.1};
    size_t sh1[1] = {6}, sh3[3] = {2, 3, 2}, sh0[1] = {0};
    double cdata[12];
    for (int i = 0; i < 12; i++)
        cdata[i] = t_uniform();
    CHECK(ssm_st_add(f, "special", 1, sh1, special) == SSM_OK, "add");
    CHECK(ssm_st_add(f, "cplx", 3, sh3, cdata) == SSM_OK, "add complex");
    CHECK(ssm_st_add(f, "empty", 1, sh0, NULL) == SSM_OK, "add empty");
    CHECK(ssm_st_add(f, "scalar", 0, NULL, special + 5) == SSM_OK, "add 0-d");
    CHECK(ssm_st_add(f, "cplx", 1, sh1, special) == SSM_EINVAL, "duplicate name -> EINVAL");
    CHECK(ssm_st_add(f, "__metadata__", 1, sh1, special) == SSM_EINVAL, "reserved name -> EINVAL");
    TRY(ssm_st_set_meta(f, "format", "test/1"));
    TRY(ssm_st_set_meta(f, "note", "unicode ε κ and \"quotes\""));
    TRY(ssm_st_set_meta(f, "format", "test/2")); /* replaces */
    const char *p = tmp_path("a.safetensors");
    CHECK(ssm_st_write(f, p) == SSM_OK, "write");
    ssm_st_free(f);
    CHECK(ssm_st_read(&f, p) == SSM_OK, "read: %s", ssm_error_message());
    if (f) {
        const ssm_tensor *t = ssm_st_get(f, "special");
        CHECK(t && t->ndim == 1 && t->count == 6 && memcmp(t->data, special, sizeof special) == 0,
              "bit-exact round trip incl. -0, subnormal, inf, nan");
        t = ssm_st_get(f, "cplx");
        CHECK(t && t->ndim == 3 && t->shape[2] == 2 && memcmp(t->data, cdata, sizeof cdata) == 0, "complex");
        t = ssm_st_get(f, "empty");
        CHECK(t && t->count == 0, "empty tensor");
        t = ssm_st_get(f, "scalar");
        CHECK(t && t->ndim == 0 && t->count == 1 && t->data[0] == 0.1, "0-d tensor");
        CHECK(ssm_st_meta(f, "format") && strcmp(ssm_st_meta(f, "format"), "test/2") == 0, "meta replaced");
        CHECK(ssm_st_meta(f, "note") && strcmp(ssm_st_meta(f, "note"), "unicode ε κ and \"quotes\"") == 0, "meta utf-8");
        CHECK(ssm_st_get(f, "nope") == NULL && ssm_st_meta(f, "nope") == NULL, "absent");
        ssm_st_free(f);
    }
    /* header is 8-byte aligned so the data buffer is too */
    unsigned char *buf;
    size_t len;
    TRY(ssm_read_file(&buf, &len, p));
    uint64_t h = 0;
    for (int i = 0; i < 8; i++)
        h |= (uint64_t)buf[i] << (8 * i);
    CHECK(h % 8 == 0, "header padded to 8 bytes");
    /* every truncation of a valid file is refused, never read out of bounds */
    int refused = 0;
    for (size_t cut = 0; cut < len; cut++) {
        ssm_st *g = NULL;
        refused += ssm_st_read_mem(&g, buf, cut) == SSM_EFORMAT && g == NULL;
        ssm_st_free(g);
    }
    CHECK(refused == (int)len, "all %zu truncations refused (%d)", len, refused);
    free(buf);

    /* malformed headers, one reason each */
    unsigned char small[4] = {1, 2, 3, 4};
    ssm_st *g = NULL;
    CHECK(ssm_st_read_mem(&g, small, 4) == SSM_EFORMAT && strstr(ssm_error_message(), "too short"), "short");
    unsigned char huge[16] = {0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0};
    CHECK(ssm_st_read_mem(&g, huge, 16) == SSM_EFORMAT && strstr(ssm_error_message(), "exceeds the file"), "hlen");
    expect_st_error("{not json", 0, "not valid JSON");
    expect_st_error("[1, 2]", 0, "not a JSON object");
    expect_st_error("{\"a\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [0, 8]}}", 8, "dtype F32");
    expect_st_error("{\"a\": {\"dtype\": \"F64\", \"shape\": [2], \"data_offsets\": [0, 8]}}", 8, "its shape needs 16");
    expect_st_error("{\"a\": {\"dtype\": \"F64\", \"shape\": [2], \"data_offsets\": [0, 16]}}", 8, "exceed the 8-byte");
    expect_st_error("{\"a\": {\"dtype\": \"F64\", \"shape\": [-2], \"data_offsets\": [0, 16]}}", 16, "invalid shape");
    expect_st_error("{\"a\": {\"dtype\": \"F64\", \"shape\": [1], \"data_offsets\": [8, 0]}}", 16, "exceed");
    expect_st_error("{\"a\": {\"dtype\": \"F64\", \"shape\": [1]}}", 8, "lacks");
    expect_st_error("{\"a\": {\"dtype\": \"F64\", \"shape\": [1], \"data_offsets\": [0, 8]},"
                    " \"b\": {\"dtype\": \"F64\", \"shape\": [1], \"data_offsets\": [0, 8]}}", 8, "overlaps");
    expect_st_error("{\"a\": {\"dtype\": \"F64\", \"shape\": [1], \"data_offsets\": [8, 16]}}", 16, "unindexed");
    expect_st_error("{\"a\": {\"dtype\": \"F64\", \"shape\": [1], \"data_offsets\": [0, 8]}}", 16, "trailing");
    expect_st_error("{\"__metadata__\": {\"k\": 3}}", 0, "not a string");
    expect_st_error("{\"a\": 1, \"a\": 2}", 0, "not valid JSON");  /* duplicate keys */
    expect_st_error("{\"a\": {\"dtype\": \"F64\", \"shape\": [4294967296, 4294967296, 4294967296], "
                    "\"data_offsets\": [0, 8]}}", 8, "overflows");
    expect_st_error("{\"a\": {\"dtype\": \"F64\", \"shape\": [1,1,1,1,1,1,1,1,1], \"data_offsets\": [0, 8]}}",
                    8, "dimensions");
    CHECK(ssm_st_read(&g, tmp_path("missing.safetensors")) == SSM_EIO, "missing file -> EIO");
}

static void test_npy(void)
{
    double x[6] = {1, -2.5, 3e-300, -0.0, 1e300, 0.1};
    size_t sh[2] = {2, 3}, sh1[1] = {3};
    const char *p = tmp_path("a.npy");
    ssm_npy a;
    CHECK(ssm_npy_write(p, 2, sh, 0, x) == SSM_OK, "write f8");
    CHECK(ssm_npy_read(&a, p) == SSM_OK && a.ndim == 2 && a.shape[0] == 2 && a.shape[1] == 3 &&
          !a.is_complex && memcmp(a.data, x, sizeof x) == 0, "f8 round trip");
    ssm_npy_clear(&a);
    CHECK(ssm_npy_write(p, 1, sh1, 1, x) == SSM_OK, "write c16");
    CHECK(ssm_npy_read(&a, p) == SSM_OK && a.ndim == 1 && a.count == 3 && a.is_complex &&
          memcmp(a.data, x, sizeof x) == 0, "c16 round trip");
    ssm_npy_clear(&a);
    CHECK(ssm_npy_write(p, 0, NULL, 0, x) == SSM_OK && ssm_npy_read(&a, p) == SSM_OK && a.ndim == 0 &&
          a.count == 1 && a.data[0] == 1.0, "0-d round trip");
    ssm_npy_clear(&a);
    /* header length: magic + len + dict is a multiple of 64 (numpy's rule) */
    unsigned char *buf;
    size_t len;
    TRY(ssm_npy_write(p, 2, sh, 0, x));
    TRY(ssm_read_file(&buf, &len, p));
    CHECK((10 + (buf[8] | buf[9] << 8)) % 64 == 0 && buf[10 + (buf[8] | buf[9] << 8) - 1] == '\n', "npy alignment");
    int refused = 0;
    for (size_t cut = 0; cut < len; cut++)
        refused += ssm_npy_read_mem(&a, buf, cut) == SSM_EFORMAT;
    CHECK(refused == (int)len, "all truncations refused");
    free(buf);

    /* malformed / unsupported headers */
    static const struct { const char *dict; const char *needle; } bad[] = {
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }", "'<f4' is not supported"},
        {"{'descr': '|O', 'fortran_order': False, 'shape': (1,), }", "object arrays"},
        {"{'descr': '>f8', 'fortran_order': False, 'shape': (1,), }", "big-endian"},
        {"{'descr': '<f8', 'fortran_order': True, 'shape': (1,), }", "Fortran-order"},
        {"{'descr': [('a', '<f8')], 'fortran_order': False, 'shape': (1,), }", "structured"},
        {"{'descr': '<f8', 'fortran_order': False, }", "lacks 'shape'"},
        {"{'descr': '<f8', 'fortran_order': False, 'shape': (1, x), }", "non-integer"},
        {"{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }", "shape needs 16"},
        {"{'descr': '<f8', 'fortran_order': 0, 'shape': (1,), }", "True or False"},
        {"{'descr': '<f8', 'fortran_order': False, 'shape': (1,), 'extra': 1}", "unexpected header key"},
        {"{'descr': '<f8', 'fortran_order': False, 'shape': (1,), } junk", "trailing"},
        {"['descr']", "not a dict"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        unsigned char b[256] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0};
        size_t h = strlen(bad[i].dict);
        b[8] = (unsigned char)h;
        b[9] = 0;
        memcpy(b + 10, bad[i].dict, h);
        memset(b + 10 + h, 0, 8); /* one float64 of data */
        ssm_status s = ssm_npy_read_mem(&a, b, 10 + h + 8);
        CHECK(s == SSM_EFORMAT && strstr(ssm_error_message(), bad[i].needle), "npy %s: '%s'", bad[i].dict,
              ssm_error_message());
    }
    unsigned char notnpy[16] = "PK\3\4 not numpy";
    CHECK(ssm_npy_read_mem(&a, notnpy, 16) == SSM_EFORMAT && strstr(ssm_error_message(), "magic"), "magic");
    unsigned char v9[16] = {0x93, 'N', 'U', 'M', 'P', 'Y', 9, 0, 0, 0};
    CHECK(ssm_npy_read_mem(&a, v9, 16) == SSM_EFORMAT && strstr(ssm_error_message(), "version 9"), "version");
}

/* the table layout: names first (genfromtxt takes its names from the first line, comment or not), then the
 * '#' lines, then rows; names both loaders keep as written; the reader skips the names line */
static void test_tsv_layout(void)
{
    static const struct { const char *cols; size_t n; int ok; } names[] = {
        {"omega re im", 3, 1},   {"a_1 _b C", 3, 1},  {"a-b c d", 3, 0}, {"1x c d", 3, 0}, {"nan c d", 3, 0},
        {"inf c d", 3, 0},       {"file c d", 3, 0},  {"a|b c d", 3, 0}, {"a b", 3, 0},    {"a b c d", 3, 0},
    };
    for (size_t i = 0; i < sizeof names / sizeof *names; i++)
        CHECK((ssm_tsv_columns_check(names[i].cols, names[i].n) == SSM_OK) == names[i].ok, "columns '%s' for %zu: %s",
              names[i].cols, names[i].n, ssm_error_message());
    ssm_dmat_t X, Y;
    TRY(ssm_dmat_init(X, 2, 3));
    X->data[0] = 1.5; X->data[1] = NAN; X->data[2] = -2; X->data[3] = 1e-300; X->data[4] = 4; X->data[5] = 5;
    const char *p = tmp_path("layout.tsv");
    CHECK(ssm_tsv_write_dmat(p, NULL, "a-b c d", NULL, X) == SSM_EINVAL && access(p, F_OK) != 0,
          "bad names: EINVAL, nothing written");
    CHECK(ssm_tsv_write_dmat(p, NULL, "x y z", "line one\nline two", X) == SSM_OK, "write");
    char buf[512] = "";
    FILE *fp = fopen(p, "r");
    size_t len = fp ? fread(buf, 1, sizeof buf - 1, fp) : 0;
    if (fp)
        fclose(fp);
    buf[len] = '\0';
    const char *want = "x\ty\tz\n# line one\n# line two\n1.5\tnan\t-2\n";
    CHECK(strncmp(buf, want, strlen(want)) == 0, "layout: %s", buf);
    X->data[1] = 0.25;
    CHECK(ssm_tsv_write_dmat(p, NULL, NULL, NULL, X) == SSM_OK, "default names");
    fp = fopen(p, "r");
    len = fp ? fread(buf, 1, sizeof buf - 1, fp) : 0;
    if (fp)
        fclose(fp);
    buf[len] = '\0';
    want = "col0\tcol1\tcol2\n1.5\t0.25\t-2\n";
    CHECK(strncmp(buf, want, strlen(want)) == 0, "default names: %s", buf);
    CHECK(ssm_tsv_read(Y, p) == SSM_OK && Y->rows == 2 && Y->cols == 3 && memcmp(X->data, Y->data, 6 * sizeof(double)) == 0,
          "read back past the names");
    ssm_dmat_clear(Y);
    ssm_dmat_clear(X);
    const char *mismatch = "a b\n1 2 3\n";
    CHECK(ssm_tsv_read_mem(Y, mismatch, strlen(mismatch)) == SSM_EFORMAT && strstr(ssm_error_message(), "names 2 columns"),
          "names/rows mismatch: %s", ssm_error_message());
    const char *blocks = "x y\n# c\n1 2\n\n3 4\n\n\n5 6\n";
    {   /* a NUL byte: refused as such (a binary or damaged file), with its line */
        static const char nul[] = "a\tb\n1\t2\n3\t\0004\n";
        CHECK(ssm_tsv_read_mem(Y, nul, sizeof nul - 1) == SSM_EFORMAT && strstr(ssm_error_message(), "line 3 holds a NUL"),
              "NUL byte: %s", ssm_error_message());
    }
    CHECK(ssm_tsv_read_mem(Y, blocks, strlen(blocks)) == SSM_OK && Y->rows == 2 && SSM_D(Y, 1, 1) == 4,
          "names, then the first dataset (single blank lines inside)");
    ssm_dmat_clear(Y);
}

static void test_tsv(void)
{
    const char *txt = "# header\n# more\n1 2\t3\n\n-4.5e-3   5 6  \n7 8 9\n\n\n100 200\n";
    ssm_dmat_t A;
    CHECK(ssm_tsv_read_mem(A, txt, strlen(txt)) == SSM_OK && A->rows == 3 && A->cols == 3 &&
          SSM_D(A, 1, 0) == -4.5e-3 && SSM_D(A, 2, 2) == 9, "first dataset only");
    ssm_dmat_clear(A);
    static const struct { const char *text; const char *needle; } bad[] = {
        {"1 2\n3\n", "line 2 has 1 columns"},
        {"1 2\nx 3\n", "'x' is not a number"},
        {"1 nan\n", "non-finite"},
        {"1 inf\n", "non-finite"},
        {"# only a header\n", "no numeric rows"},
        {"", "no numeric rows"},
        {"1 2abc\n", "not a number"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        CHECK(ssm_tsv_read_mem(A, bad[i].text, strlen(bad[i].text)) == SSM_EFORMAT &&
                  strstr(ssm_error_message(), bad[i].needle) && A->data == NULL,
              "tsv '%s': '%s'", bad[i].text, ssm_error_message());
    /* %.17g round trip is bit-exact */
    ssm_dmat_t X, Y;
    TRY(ssm_dmat_init(X, 7, 5));
    for (size_t i = 0; i < 35; i++)
        X->data[i] = t_uniform() * pow(10.0, (double)(t_rand() % 600) - 300.0);
    const char *p = tmp_path("a.tsv");
    CHECK(ssm_tsv_write_dmat(p, NULL, "a b c d e", "title\nsecond line", X) == SSM_OK, "write tsv");
    CHECK(ssm_tsv_read(Y, p) == SSM_OK && Y->rows == 7 && Y->cols == 5 &&
          memcmp(X->data, Y->data, 35 * sizeof(double)) == 0, "tsv bit-exact round trip");
    ssm_dmat_clear(Y);
    ssm_dmat_clear(X);
    /* MPFR: printed digits round-trip at the entry's precision */
    static const mpfr_prec_t precs[] = {2, 24, 113, 256, 3000};
    for (size_t k = 0; k < sizeof precs / sizeof *precs; k++) {
        mpfr_prec_t pr = precs[k];
        ssm_mpmat_t M;
        TRY(ssm_mpmat_init(M, 2, 2, pr));
        mpfr_const_pi(SSM_MP(M, 0, 0), MPFR_RNDN);
        mpfr_sqrt_ui(SSM_MP(M, 0, 1), 3, MPFR_RNDN);
        mpfr_neg(SSM_MP(M, 0, 1), SSM_MP(M, 0, 1), MPFR_RNDN);
        mpfr_set_d(SSM_MP(M, 1, 0), 1e-300, MPFR_RNDN);
        mpfr_set_ui(SSM_MP(M, 1, 1), 7, MPFR_RNDN);
        mpfr_exp(SSM_MP(M, 1, 1), SSM_MP(M, 1, 1), MPFR_RNDN);
        CHECK(ssm_tsv_write_mpmat(p, NULL, NULL, NULL, M) == SSM_OK, "write mp tsv");
        unsigned char *buf;
        size_t len;
        TRY(ssm_read_file(&buf, &len, p));
        buf = realloc(buf, len + 1);
        buf[len] = 0;
        char *save, *tok = strtok_r(strchr((char *)buf, '\n'), " \t\n", &save); /* after the names line */
        int same = 0;
        mpfr_t y;
        mpfr_init2(y, pr);
        for (int i = 0; i < 4 && tok; i++, tok = strtok_r(NULL, " \t\n", &save)) {
            mpfr_set_str(y, tok, 10, MPFR_RNDN);
            same += mpfr_equal_p(y, SSM_MP(M, i / 2, i % 2));
        }
        CHECK(same == 4, "MPFR TSV round trip at %ld bits (%d of 4)", (long)pr, same);
        mpfr_clear(y);
        free(buf);
        ssm_mpmat_clear(M);
    }
    CHECK(ssm_digits_for_prec(53) == 17 && ssm_digits_for_prec(24) == 9, "digits for prec");
    test_tsv_layout();
    CHECK(ssm_tsv_read(A, tmp_path("missing.tsv")) == SSM_EIO, "missing -> EIO");
}

/* Cross-check with the peer: numpy writes files we read, reads files we write. */
static void test_numpy_peer(void)
{
    if (access("/usr/bin/python3", X_OK) != 0 ||
        system("/usr/bin/python3 -c 'import numpy' >/dev/null 2>&1") != 0) {
        printf("skipped: numpy interop (no /usr/bin/python3 with numpy)\n");
        return;
    }
    /* numpy → ssmkit */
    char cmd[2048];
    snprintf(cmd, sizeof cmd,
             "/usr/bin/python3 -c \"import numpy as np; d='%s';"
             "np.save(d+'/np_f8.npy', np.arange(12.0).reshape(3,4)/7);"
             "np.save(d+'/np_c16.npy', (np.arange(4)+1j/3).reshape(2,2));"
             "np.lib.format.write_array(open(d+'/np_v2.npy','wb'), np.eye(3), version=(2,0));"
             "np.save(d+'/np_fortran.npy', np.asfortranarray(np.ones((2,3))))\"", dir);
    CHECK(system(cmd) == 0, "numpy writes");
    ssm_npy a;
    CHECK(ssm_npy_read(&a, tmp_path("np_f8.npy")) == SSM_OK && a.count == 12 && a.data[5] == 5.0 / 7, "numpy f8");
    ssm_npy_clear(&a);
    CHECK(ssm_npy_read(&a, tmp_path("np_c16.npy")) == SSM_OK && a.is_complex && a.data[1] == 1.0 / 3 &&
          a.data[6] == 3.0, "numpy c16");
    ssm_npy_clear(&a);
    CHECK(ssm_npy_read(&a, tmp_path("np_v2.npy")) == SSM_OK && a.count == 9 && a.data[4] == 1.0, "numpy v2.0");
    ssm_npy_clear(&a);
    CHECK(ssm_npy_read(&a, tmp_path("np_fortran.npy")) == SSM_EFORMAT, "numpy Fortran order refused");
    /* ssmkit → numpy (npy) and ssmkit → numpy (safetensors parsed by hand, as in the README) */
    double x[6] = {1.0 / 3, -2, 3, 4, 5, 6};
    size_t sh[2] = {2, 3};
    TRY(ssm_npy_write(tmp_path("ours.npy"), 2, sh, 0, x));
    ssm_st *f = NULL;
    TRY(ssm_st_create(&f));
    TRY(ssm_st_add(f, "A", 2, sh, x));
    size_t shc[2] = {3, 2};
    TRY(ssm_st_add(f, "Lambda", 2, shc, x));
    TRY(ssm_st_set_meta(f, "format", "t"));
    TRY(ssm_st_write(f, tmp_path("ours.safetensors")));
    ssm_st_free(f);
    snprintf(cmd, sizeof cmd,
             "/usr/bin/python3 -c \"import numpy as np, json, struct; d='%s';"
             "a = np.load(d+'/ours.npy'); assert a.shape == (2,3) and a[0,0] == 1/3 and a.flags.c_contiguous;"
             "b = open(d+'/ours.safetensors','rb').read(); n = struct.unpack('<Q', b[:8])[0];"
             "h = json.loads(b[8:8+n]); data = b[8+n:];"
             "t = {k: np.frombuffer(data[v['data_offsets'][0]:v['data_offsets'][1]], '<f8').reshape(v['shape'])"
             " for k, v in h.items() if k != '__metadata__'};"
             "assert (t['A'] == a).all(); lam = t['Lambda'].view(np.complex128)[:, 0];"
             "assert lam[0] == 1/3 - 2j and h['__metadata__']['format'] == 't'\"", dir);
    CHECK(system(cmd) == 0, "numpy reads our npy and safetensors");
}

int main(void)
{
    t_init();
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    test_safetensors();
    test_npy();
    test_tsv();
    test_numpy_peer();
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "warning: could not remove %s\n", dir);
    return t_finish();
}
