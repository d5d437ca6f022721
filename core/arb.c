/* core/arb.c — Arb helpers shared by diag/ and init/. */
#include "core/arb.h"

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

double ssm_arf_get_d_2exp(const arf_t x, slong e)
{
    const fmpz *xe = ARF_EXPREF(x);
    if (arf_is_special(x) || COEFF_IS_MPZ(*xe) || e < -(WORD(1) << 40) || e > (WORD(1) << 40) || *xe - e < -1000 ||
        *xe - e > 1000) {
        if (e == 0)
            return arf_get_d(x, ARF_RND_NEAR);
        arf_t sc;
        arf_init(sc);
        arf_mul_2exp_si(sc, x, -e);
        double r = arf_get_d(sc, ARF_RND_NEAR);
        arf_clear(sc);
        return r;
    }
    mp_srcptr xp;
    mp_size_t xn;
    ARF_GET_MPN_READONLY(xp, xn, x);
    /* x 2^-e = 0.m × 2^(ex − e), the mantissa's top bit set: its first 53 bits
     * as an integer v, rounded to nearest, ties to even, on the 11 bits below
     * and the limbs beyond */
    mp_limb_t top = xp[xn - 1];
    uint64_t v = (uint64_t)top >> 11, rem = (uint64_t)top & 0x7ff;
    int sticky = 0;
    for (mp_size_t i = 0; i < xn - 1 && !sticky; i++)
        sticky = xp[i] != 0;
    if (rem > 0x400 || (rem == 0x400 && (sticky || (v & 1))))
        v++; /* 2^53 at most: still exact */
    /* v 2^(ex − e − 53), a normal double (|ex − e| ≤ 1000), put together from its
     * fields: v = 2^53 is 2^52 one binade up */
    slong be = *xe - e + 1022; /* the biased exponent of v 2^(ex − e − 53) for 2^52 ≤ v < 2^53 */
    if (v >> 53) {
        v >>= 1;
        be++;
    }
    uint64_t bits = (uint64_t)ARF_SGNBIT(x) << 63 | (uint64_t)be << 52 | (v & (((uint64_t)1 << 52) - 1));
    double d;
    memcpy(&d, &bits, sizeof d);
    return d;
}

ssm_status ssm_acb_mat_log2_norm2(double *l2, const acb_mat_t M)
{
    slong n = acb_mat_nrows(M), m = acb_mat_ncols(M);
    slong e = WORD_MIN;
    for (slong i = 0; i < n; i++)
        for (slong k = 0; k < m; k++)
            for (int part = 0; part < 2; part++) {
                const arf_struct *x = arb_midref(part ? acb_imagref(acb_mat_entry(M, i, k)) : acb_realref(acb_mat_entry(M, i, k)));
                if (!arf_is_zero(x)) {
                    slong ex = arf_abs_bound_lt_2exp_si(x);
                    e = ex > e ? ex : e;
                }
            }
    *l2 = -INFINITY;
    if (e == WORD_MIN)
        return SSM_OK;
    ssm_zmat_t D;
    ssm_status s = ssm_zmat_init(D, (size_t)n, (size_t)m);
    if (s != SSM_OK)
        return s;
    for (slong i = 0; i < n; i++)
        for (slong k = 0; k < m; k++) {
            acb_srcptr z = acb_mat_entry(M, i, k);
            SSM_D(D, i, k) = CMPLX(ssm_arf_get_d_2exp(arb_midref(acb_realref(z)), e),
                                   ssm_arf_get_d_2exp(arb_midref(acb_imagref(z)), e));
        }
    double nrm;
    s = ssm_zmat_norm2(&nrm, D);
    ssm_zmat_clear(D);
    if (s == SSM_OK)
        *l2 = log2(nrm) + (double)e;
    return s;
}


/* ---- products through exact double-precision slices ------------------------ */

struct ssm_arb_mul_ws {
    double *as, *bs;      /* slices of A side by side (n × S·k); of B as c block rows (c·k × S·m, below) */
    double *t;            /* one dgemm's output (n × S·m) */
    int64_t *lev;         /* the sums per slice level t + u (S × n × m) */
    slong *ea, *eb;       /* row exponents of A, column exponents of B */
    mp_limb_t *p, *q;     /* every entry's packed digits (n m × L limbs), one entry's negation */
    int64_t *cy;          /* every entry's top carry */
    size_t cap[9];        /* bytes held by each of the above */
};

ssm_status ssm_arb_mul_ws_create(ssm_arb_mul_ws **out)
{
    *out = calloc(1, sizeof **out);
    return *out ? SSM_OK : SSM_ERROR(SSM_ENOMEM, "arb: out of memory");
}

void ssm_arb_mul_ws_free(ssm_arb_mul_ws *ws)
{
    if (!ws)
        return;
    free(ws->as); free(ws->bs); free(ws->t); free(ws->lev);
    free(ws->ea); free(ws->eb); free(ws->p); free(ws->q); free(ws->cy);
    free(ws);
}

/* *ptr holds at least bytes (contents not kept); 0 when it cannot */
static int grow(void **ptr, size_t *cap, size_t bytes)
{
    if (bytes <= *cap)
        return 1;
    void *p = malloc(bytes);
    if (!p)
        return 0;
    free(*ptr);
    *ptr = p;
    *cap = bytes;
    return 1;
}

/* largest e with |x| < 2^e over row i of M (col: column i); WORD_MIN when all
 * are zero; *ok cleared by a non-finite entry or an exponent beyond ±2^40 */
static slong line_exp(const arb_mat_t M, slong i, int col, int *ok)
{
    slong e = WORD_MIN, len = col ? arb_mat_nrows(M) : arb_mat_ncols(M);
    for (slong q = 0; q < len; q++) {
        const arf_struct *x = arb_midref(col ? arb_mat_entry(M, q, i) : arb_mat_entry(M, i, q));
        if (arf_is_zero(x))
            continue;
        if (!arf_is_finite(x)) {
            *ok = 0;
            return e;
        }
        slong ex = arf_abs_bound_lt_2exp_si(x);
        if (ex > (WORD(1) << 40) || ex < -(WORD(1) << 40))
            *ok = 0;
        e = ex > e ? ex : e;
    }
    return e;
}

/* slices t = 0 … S−1 of x relative to 2^e (|x| < 2^e): x 2^-e = Σ d_t 2^-(t+1)s
 * + a remainder below 2^-Ss, |d_t| < 2^s, each with the sign of x, into
 * out[t·stride] (every slice written); returns the number of leading slices
 * that may be nonzero.  x's exponent is a small fmpz (line_exp checked it).
 * The bits stream through a 128-bit window hi:lo holding the next `avail`
 * bits (the z leading zeros of x 2^-e first, then the mantissa, limb by limb). */
static int split_entry(double *out, ptrdiff_t stride, const arf_t x, slong e, int s, int S)
{
    int t = 0, last = 0;
    if (!arf_is_zero(x)) {
        mp_srcptr xp;
        mp_size_t xn;
        ARF_GET_MPN_READONLY(xp, xn, x);
        slong z = e - (slong)ARF_EXP(x); /* ≥ 0: zero bits above the mantissa */
        double sg = ARF_SGNBIT(x) ? -1.0 : 1.0;
        slong t0 = z / s < S ? z / s : S;
        for (; t < t0; t++)
            out[t * stride] = 0.0;
        if (t0 < S) { /* else x lies wholly below the last slice: no window (z − S·s may be any size) */
            slong off = z - t0 * s; /* in [0, s): the zeros left in slice t0 */
            uint64_t top = xp[xn - 1], hi = top >> off, lo = off ? top << (64 - off) : 0;
            slong avail = 64 + off, li = xn - 2;
            for (; t < S; t++) {
                if (avail <= 64 && li >= 0) { /* the next limb right after the avail bits */
                    uint64_t L = xp[li--];
                    if (avail == 0)
                        hi = L;
                    else {
                        hi |= avail < 64 ? L >> avail : 0;
                        lo |= L << (64 - avail);
                    }
                    avail += 64;
                }
                if (avail <= 0)
                    break;
                uint64_t dig = hi >> (64 - s);
                hi = hi << s | lo >> (64 - s);
                lo <<= s;
                avail -= s;
                out[t * stride] = sg * (double)(int64_t)dig;
            }
        }
        last = t;
    }
    for (; t < S; t++)
        out[t * stride] = 0.0;
    return last;
}

/* the slices of A: row i's A_t in columns t·k … of row i of as (row stride
 * lda ≥ S·k), relative to the row exponents ea; returns how many slices can be
 * nonzero */
static int split_a(double *as, size_t lda, const arb_mat_t A, const slong *ea, int s, int S)
{
    slong n = arb_mat_nrows(A), k = arb_mat_ncols(A);
    int sa = 0;
    for (slong i = 0; i < n; i++)
        for (slong q = 0; q < k; q++) {
            int u = split_entry(as + (size_t)i * lda + (size_t)q, (ptrdiff_t)k, arb_midref(arb_mat_entry(A, i, q)),
                                ea[i], s, S);
            sa = u > sa ? u : sa;
        }
    return sa;
}

/* the slices of B: B_u in column block u of the first block row of bs (c·k ×
 * S·m), and block row r a copy of it shifted right by r blocks (B_(j−r) in
 * column block j, zeros for j < r): then [A_t … A_(t+c−1)] times bs's first
 * columns gives in column block j the sum Σ_r A_(t+r) B_(j−r), all of level
 * t + j; returns how many slices can be nonzero */
static int split_b(ssm_arb_mul_ws *ws, const arb_mat_t B, int s, int S, int c)
{
    slong k = arb_mat_nrows(B), m = arb_mat_ncols(B);
    size_t Sm = (size_t)S * (size_t)m;
    int sb = 0;
    for (slong q = 0; q < k; q++)
        for (slong j = 0; j < m; j++) {
            int u = split_entry(ws->bs + (size_t)q * Sm + (size_t)j, (ptrdiff_t)m, arb_midref(arb_mat_entry(B, q, j)),
                                ws->eb[j], s, S);
            sb = u > sb ? u : sb;
        }
    for (int r = 1; r < c; r++)
        for (slong q = 0; q < k; q++) {
            double *row = ws->bs + ((size_t)r * (size_t)k + (size_t)q) * Sm;
            memset(row, 0, (size_t)r * (size_t)m * sizeof *row);
            memcpy(row + (size_t)r * (size_t)m, ws->bs + (size_t)q * Sm, (Sm - (size_t)r * (size_t)m) * sizeof *row);
        }
    return sb;
}

/* L[q] = T[q] and L[q] += T[q], q < m, the doubles exact integers: four
 * to a turn (the conversions are scalar on x86-64's base instruction set; the
 * loop's own instructions were as many as the work's) */
static void conv_set(int64_t *restrict L, const double *restrict T, slong m)
{
    slong q = 0;
    for (; q + 4 <= m; q += 4) {
        L[q] = (int64_t)T[q];
        L[q + 1] = (int64_t)T[q + 1];
        L[q + 2] = (int64_t)T[q + 2];
        L[q + 3] = (int64_t)T[q + 3];
    }
    for (; q < m; q++)
        L[q] = (int64_t)T[q];
}

static void conv_add(int64_t *restrict L, const double *restrict T, slong m)
{
    slong q = 0;
    for (; q + 4 <= m; q += 4) {
        L[q] += (int64_t)T[q];
        L[q + 1] += (int64_t)T[q + 1];
        L[q + 2] += (int64_t)T[q + 2];
        L[q + 3] += (int64_t)T[q + 3];
    }
    for (; q < m; q++)
        L[q] += (int64_t)T[q];
}

static void conv_sub(int64_t *restrict L, const double *restrict T, slong m)
{
    slong q = 0;
    for (; q + 4 <= m; q += 4) {
        L[q] -= (int64_t)T[q];
        L[q + 1] -= (int64_t)T[q + 1];
        L[q + 2] -= (int64_t)T[q + 2];
        L[q + 3] -= (int64_t)T[q + 3];
    }
    for (; q < m; q++)
        L[q] -= (int64_t)T[q];
}

/* level d = Σ_{t+u=d} A_t B_u for d < S: for t = 0, c, 2c, … one dgemm of
 * [A_t … A_(t+c−1)] (contiguous in a row of as) by the first column blocks of bs, whose
 * column block j, a sum of at most c k products of s-bit integers, is below
 * c k 2^2s ≤ 2^53 with every partial sum an integer, so exact; each block is
 * added to its level t + j in integers (stored where it is the level's first:
 * the levels written so far are always 0 … hi − 1) */
static void slice_levels(ssm_arb_mul_ws *ws, const double *as, size_t lda, slong n, slong k, slong m, int S, int chunk,
                         int sa, int sb)
{
    size_t nm = (size_t)(n * m), Sm = (size_t)S * (size_t)m;
    int hi = 0;
    for (int t = 0; t < sa; t += chunk) {
        int c = sa - t < chunk ? sa - t : chunk;
        /* column blocks j < S − t (levels below S) that can meet a nonzero B_(j−r), r < c */
        int J = S - t < sb + c - 1 ? S - t : sb + c - 1;
        if (J <= 0)
            continue;
        if (hi < t) { /* levels no product reached */
            memset(ws->lev + (size_t)hi * nm, 0, (size_t)(t - hi) * nm * sizeof *ws->lev);
            hi = t;
        }
        size_t w = (size_t)J * (size_t)m;
        ssm_k_dgemm(1, 0, 0, (int)n, (int)w, (int)(k * c), 1.0, as + (size_t)t * (size_t)k, (int)lda, ws->bs,
                    (int)Sm, 0.0, ws->t, (int)w);
        for (int j = 0; j < J; j++) {
            int64_t *L = ws->lev + (size_t)(t + j) * nm;
            int first = t + j >= hi;
            for (slong i = 0; i < n; i++) {
                const double *T = ws->t + (size_t)i * w + (size_t)j * (size_t)m;
                int64_t *Li = L + (size_t)i * (size_t)m;
                if (first)
                    conv_set(Li, T, m);
                else
                    conv_add(Li, T, m);
            }
        }
        hi = t + J > hi ? t + J : hi;
    }
    if (hi < S)
        memset(ws->lev + (size_t)hi * nm, 0, (size_t)(S - hi) * nm * sizeof *ws->lev);
}

/* the levels' carries, propagated from the lowest level up for all n m
 * entries at once (each level one pass over its entries: no chain of
 * dependent steps per entry), the s-bit digits packed into each entry's L
 * limbs at P + idx·L; cy[idx]: the entry's (signed) top carry */
static void carry_pack(mp_limb_t *P, int64_t *cy, const int64_t *lev, size_t nm, int s, int S, slong L)
{
    const uint64_t mask = ((uint64_t)1 << s) - 1;
    memset(P, 0, nm * (size_t)L * sizeof *P);
    memset(cy, 0, nm * sizeof *cy);
    for (int t = S - 1; t >= 0; t--) {
        const int64_t *Lt = lev + (size_t)t * nm;
        slong o = (slong)(S - 1 - t) * s, w = o >> 6, r = o & 63;
        int two = r + s > 64; /* the digit spans limbs w and w + 1 */
        for (size_t idx = 0; idx < nm; idx++) {
            int64_t v = Lt[idx] + cy[idx];
            /* c = ⌊v / 2^s⌋ (for v < 0: −⌈−v / 2^s⌉ = ~(~v >> s), ~v = −v − 1 ≥ 0; the
             * compiler's arithmetic shift, no branch) and the digit v mod 2^s */
            cy[idx] = v >= 0 ? v >> s : ~(~v >> s);
            uint64_t dig = (uint64_t)v & mask;
            mp_limb_t *Pi = P + idx * (size_t)L;
            Pi[w] |= (mp_limb_t)(dig << r);
            if (two)
                Pi[w + 1] |= (mp_limb_t)(dig >> (64 - r));
        }
    }
}

/* y = (−1)^neg 0.R 2^e rounded to prec bits, to nearest, ties to even: what
 * _arf_set_round_mpn(…, ARF_RND_NEAR) gives, without its temporaries: R (len
 * limbs, the top one nonzero; spent) is normalised in place, its top prec bits
 * kept and rounded on the bit below them and the rest (the sticky bits), and
 * the kept limbs, less the zero ones at the bottom, written into y's mantissa */
static void round_into(arf_t y, mp_limb_t *R, slong len, int neg, slong prec, slong e)
{
    int lz = FLINT_BITS - (int)FLINT_BIT_COUNT(R[len - 1]);
    if (lz)
        mpn_lshift(R, R, len, (unsigned)lz);
    e -= lz;
    slong lo = 0; /* the lowest limb kept */
    if (len * FLINT_BITS - lz > prec) {
        slong kn = (prec + FLINT_BITS - 1) / FLINT_BITS;
        int drop = (int)(kn * FLINT_BITS - prec); /* bits of limb lo below the prec kept */
        lo = len - kn;
        mp_limb_t half, sticky, ulp = (mp_limb_t)1 << drop;
        if (drop) {
            half = R[lo] >> (drop - 1) & 1;
            sticky = R[lo] & ((ulp >> 1) - 1);
        } else {
            half = lo > 0 ? R[lo - 1] >> (FLINT_BITS - 1) : 0;
            sticky = lo > 0 ? R[lo - 1] << 1 : 0;
        }
        for (slong i = drop ? lo - 1 : lo - 2; i >= 0 && !sticky; i--)
            sticky = R[i];
        R[lo] &= ~(ulp - 1);
        if (half && (sticky || (R[lo] & ulp))) { /* up by one unit in the last place kept */
            if (mpn_add_1(R + lo, R + lo, kn, ulp)) {
                R[len - 1] = (mp_limb_t)1 << (FLINT_BITS - 1); /* 2^prec: the rest is zero */
                e++;
            }
        }
    }
    while (R[lo] == 0)
        lo++;
    mp_ptr yp;
    mp_size_t yn = (mp_size_t)(len - lo);
    ARF_GET_MPN_WRITE(yp, yn, y);
    memcpy(yp, R + lo, (size_t)yn * sizeof *yp);
    if (neg)
        ARF_NEG(y);
    fmpz_set_si(ARF_EXPREF(y), e);
}

/* y = (the packed digits P, L limbs) + c 2^(Ss), times 2^shift, rounded to prec
 * bits (P is spent) */
static void assemble(arf_t y, mp_limb_t *P, int64_t c, int s, int S, slong shift, slong prec, mp_limb_t *Q, slong L)
{
    slong o = (slong)S * s, w = o >> 6, r = o & 63;
    int neg = c < 0;
    uint64_t ac = neg ? (uint64_t)0 - (uint64_t)c : (uint64_t)c;
    mp_limb_t *R = P;
    if (neg) { /* |value| = |c| 2^(Ss) − (the digits) */
        memset(Q, 0, (size_t)L * sizeof *Q);
        R = Q;
    }
    R[w] |= (mp_limb_t)(ac << r);
    if (r)
        R[w + 1] |= (mp_limb_t)(ac >> (64 - r));
    if (neg)
        mpn_sub_n(Q, Q, P, L);
    slong len = L;
    while (len > 0 && R[len - 1] == 0)
        len--;
    if (len == 0) {
        arf_zero(y);
        return;
    }
    round_into(y, R, len, neg, prec, len * FLINT_BITS + shift);
}

/* the workspace for n×k times k×m with S slices; 0 when it cannot grow */
static int ws_reserve(ssm_arb_mul_ws *ws, slong n, slong k, slong m, int S, int c, slong L)
{
    size_t Sz = (size_t)S, nk = (size_t)(n * k), km = (size_t)(k * m), nm = (size_t)(n * m);
    return grow((void **)&ws->as, &ws->cap[0], Sz * nk * sizeof(double) + 1) &&
           grow((void **)&ws->bs, &ws->cap[1], (size_t)c * Sz * km * sizeof(double) + 1) &&
           grow((void **)&ws->lev, &ws->cap[2], Sz * nm * sizeof(int64_t) + 1) &&
           grow((void **)&ws->t, &ws->cap[7], Sz * nm * sizeof(double) + 1) &&
           grow((void **)&ws->ea, &ws->cap[3], (size_t)n * sizeof(slong) + 1) &&
           grow((void **)&ws->eb, &ws->cap[4], (size_t)m * sizeof(slong) + 1) &&
           grow((void **)&ws->p, &ws->cap[5], nm * (size_t)L * sizeof(mp_limb_t)) &&
           grow((void **)&ws->q, &ws->cap[6], (size_t)L * sizeof(mp_limb_t)) &&
           grow((void **)&ws->cy, &ws->cap[8], nm * sizeof(int64_t) + 1);
}

/* slice width s, count S (S s ≥ prec + 8) and chunk (terms per exact dgemm,
 * chunk k (2^s − 1)² < 2^53) for prec bits, inner dimension k: the widest
 * slices (the fewest products; measured against one bit less, which lets a
 * chunk take four times the terms: 10-25% faster at 120 and 374 bits; and,
 * with one dgemm per slice group, against the narrowest width of the same S
 * at N = 32: 15% slower, the wider groups multiply more zero blocks) */
static void slicing(int *s, int *S, int *chunk, slong k, slong prec)
{
    int lk = 0;
    while ((WORD(1) << lk) < k)
        lk++;
    *s = (53 - lk) / 2;
    *S = (int)((prec + 8 + *s - 1) / *s);
    double room = ldexp(1.0, 53) / ((double)k * ldexp(1.0, 2 * *s));
    *chunk = room >= *S ? *S : room >= 1.0 ? (int)room : 0;
}

/* the workspace's bytes for S slices, chunk c and L limbs an entry: as, bs,
 * the levels, the dgemm output, the packed digits and the carries */
static size_t ws_bytes(slong n, slong k, slong m, int S, int c, slong L)
{
    size_t nm = (size_t)(n * m);
    return ((size_t)S * ((size_t)(n * k) + (size_t)c * (size_t)(k * m) + 2 * nm) + nm * (size_t)(L + 1)) * 8;
}

ssm_status ssm_arb_mul_ws_reserve(ssm_arb_mul_ws *ws, slong n, slong k, slong m, slong prec)
{
    int s = 8, S = 1, chunk = 0;
    if (k <= 0 || prec > SSM_ARB_SPLIT_MAX_PREC)
        return SSM_OK;
    slicing(&s, &S, &chunk, k, prec);
    slong L = ((slong)S * s + 64) / FLINT_BITS + 2;
    if (chunk == 0 || ws_bytes(n, k, m, S, chunk, L) > SSM_ARB_SPLIT_MAX_BYTES || ws_reserve(ws, n, k, m, S, chunk, L))
        return SSM_OK;
    return SSM_ERROR(SSM_ENOMEM, "arb: out of memory (a %ld x %ld x %ld product at %ld bits)", (long)n, (long)k,
                     (long)m, (long)prec);
}

/* ---- a left factor's slices kept across products ----------------------------- */

struct ssm_arb_split {
    double *as;      /* n × S·k: row i's slice t in columns t·k … of row i */
    slong *ea;       /* row exponents */
    size_t cap[2];   /* bytes held by as, ea */
    slong n, k;      /* the shape whose exponents are held */
    int have_exp, ok;/* exponents held; all of them finite and within ±2^40 */
    int S, sa;       /* slices held (0: none), how many of them can be nonzero */
    slong plan;      /* split for products of up to this precision */
    /* tracked (ssm_arb_split_track): the last product's right factor and exact levels */
    int track;
    double *bs;      /* its slices, k × S0·m (B_u in column block u) */
    int64_t *lev;    /* its levels, S0 × n·m */
    slong *eb;       /* its column exponents */
    size_t tcap[3];  /* bytes held by bs, lev, eb */
    slong m;         /* its columns */
    int S0, sb0, s0; /* its slice count (0: none kept), nonzero slices, slice width */
};

ssm_status ssm_arb_split_create(ssm_arb_split **out)
{
    *out = calloc(1, sizeof **out);
    return *out ? SSM_OK : SSM_ERROR(SSM_ENOMEM, "arb: out of memory");
}

void ssm_arb_split_free(ssm_arb_split *sp)
{
    if (!sp)
        return;
    free(sp->as);
    free(sp->ea);
    free(sp->bs);
    free(sp->lev);
    free(sp->eb);
    free(sp);
}

void ssm_arb_split_forget(ssm_arb_split *sp)
{
    sp->have_exp = 0;
    sp->S = 0;
    sp->S0 = 0;
}

void ssm_arb_split_track(ssm_arb_split *sp)
{
    sp->track = 1;
}

void ssm_arb_split_plan(ssm_arb_split *sp, slong prec)
{
    sp->plan = prec;
}

/* A's row exponents into sp (kept while A is; sp->ok: all finite and in
 * range, the split applies); 0 when the memory cannot grow */
static int split_exps(ssm_arb_split *sp, const arb_mat_t A)
{
    slong n = arb_mat_nrows(A), k = arb_mat_ncols(A);
    if (sp->have_exp && sp->n == n && sp->k == k)
        return 1;
    sp->S = 0;
    sp->S0 = 0; /* a new shape: no level sums to reuse either */
    if (!grow((void **)&sp->ea, &sp->cap[1], (size_t)n * sizeof(slong) + 1))
        return 0;
    sp->ok = 1;
    for (slong i = 0; sp->ok && i < n; i++)
        sp->ea[i] = line_exp(A, i, 0, &sp->ok);
    sp->n = n;
    sp->k = k;
    sp->have_exp = 1;
    return 1;
}

/* A's slices for S of width s in sp: those held when there are enough, else
 * cut anew for max(S, the plan's count), the plan's within the workspace's
 * bound (SSM_ARB_SPLIT_MAX_BYTES: a product that takes the split at S holds
 * S n k doubles below it already); 0 when the memory cannot grow */
static int split_keep(ssm_arb_split *sp, const arb_mat_t A, int s, int S)
{
    if (sp->S >= S)
        return 1;
    slong n = sp->n, k = sp->k, plan = sp->plan < SSM_ARB_SPLIT_MAX_PREC ? sp->plan : SSM_ARB_SPLIT_MAX_PREC;
    size_t most = SSM_ARB_SPLIT_MAX_BYTES / ((size_t)(n * k) * sizeof(double));
    int Sp = (int)((plan + 8 + s - 1) / s);
    Sp = (size_t)Sp > most ? (int)most : Sp;
    Sp = Sp > S ? Sp : S;
    sp->S = 0;
    if (!grow((void **)&sp->as, &sp->cap[0], (size_t)Sp * (size_t)(n * k) * sizeof(double) + 1))
        return 0;
    sp->sa = split_a(sp->as, (size_t)Sp * (size_t)k, A, sp->ea, s, Sp);
    sp->S = Sp;
    return 1;
}

/* blocks (level t + u, u from lo to J − 1) of A_t times B's block columns
 * lo … J − 1 (bs, row stride ldb) added to (sign > 0) or taken from the
 * levels: one dgemm, exact as in slice_levels */
static void level_blocks(ssm_arb_mul_ws *ws, const double *at, size_t lda, const double *bs, size_t ldb, slong n, slong k,
                         slong m, int t, int lo, int J, int sign)
{
    size_t nm = (size_t)(n * m), w = (size_t)(J - lo) * (size_t)m;
    ssm_k_dgemm(1, 0, 0, (int)n, (int)w, (int)k, 1.0, at, (int)lda, bs + (size_t)lo * (size_t)m, (int)ldb, 0.0, ws->t,
                (int)w);
    for (int u = lo; u < J; u++) {
        int64_t *L = ws->lev + (size_t)(t + u) * nm;
        for (slong i = 0; i < n; i++) {
            const double *T = ws->t + (size_t)i * w + (size_t)(u - lo) * (size_t)m;
            if (sign > 0)
                conv_add(L + (size_t)i * (size_t)m, T, m);
            else
                conv_sub(L + (size_t)i * (size_t)m, T, m);
        }
    }
}

/* the levels of A B (one slice a group) from those of the last product A B0
 * kept in sp, where B agrees with B0 (the same column exponents) in its slices
 * below u0: level d < S0 is the last one plus Σ A_t (B_u − B0_u) over u ≥ u0,
 * the two products formed apart (each exact), the levels from S0 on anew, one
 * A slice a dgemm (B's plain slices: the first block row of bs); the same
 * integers as slice_levels, so the same bits.  Only where that costs less
 * than starting afresh, counting a slice product and an output block's
 * conversions alike (the last Newton steps: B0 the X before a correction of
 * 2^-190 … 2^-290 relative: u0 = 7 and 11 of 17 slices at N = 32); else, or with no
 * product kept, slice_levels' sum. */
static void levels_again(ssm_arb_mul_ws *ws, const ssm_arb_split *sp, const double *as, size_t lda, slong n, slong k,
                         slong m, int S, int chunk, int sa, int sb, int s)
{
    size_t nm = (size_t)(n * m), Sm = (size_t)S * (size_t)m;
    int S0 = 0, u0 = 0;
    if (sp->S0 > 0 && sp->m == m && sp->s0 == s && memcmp(sp->eb, ws->eb, (size_t)m * sizeof(slong)) == 0) {
        S0 = sp->S0;
        size_t S0m = (size_t)S0 * (size_t)m;
        int same = 1, Smin = S0 < S ? S0 : S;
        for (; u0 < Smin && same; u0 += same) /* the first slice in which some entry differs */
            for (slong q = 0; q < k && same; q++)
                same = memcmp(ws->bs + (size_t)q * Sm + (size_t)u0 * (size_t)m, sp->bs + (size_t)q * S0m + (size_t)u0 * (size_t)m,
                              (size_t)m * sizeof(double)) == 0;
    }
    long fresh = 0, again = 0; /* block products either way */
    for (int t = 0; t < sa; t++) {
        int J = S - t < sb ? S - t : sb, lo = S0 - t < u0 ? S0 - t : u0, J0 = S0 - t < sp->sb0 ? S0 - t : sp->sb0;
        lo = lo > 0 ? lo : 0;
        J0 = S - t < J0 ? S - t : J0;
        fresh += J > 0 ? J : 0;
        again += (J > lo ? J - lo : 0) + (J0 > u0 ? J0 - u0 : 0);
    }
    /* each slice product costs its multiply-adds and, per dgemm output block, the conversions to
     * the levels (as much again, at n = 32 or 64): afresh one output block per chunk products */
    if (S0 == 0 || 2 * again * chunk >= fresh * (chunk + 1)) {
        slice_levels(ws, as, lda, n, k, m, S, chunk, sa, sb);
        return;
    }
    size_t keep = (size_t)(S0 < S ? S0 : S) * nm;
    memcpy(ws->lev, sp->lev, keep * sizeof *ws->lev);
    memset(ws->lev + keep, 0, ((size_t)S * nm - keep) * sizeof *ws->lev);
    for (int t = 0; t < sa; t++) {
        const double *at = as + (size_t)t * (size_t)k;
        int J = S - t < sb ? S - t : sb, lo = S0 - t < u0 ? S0 - t : u0;
        lo = lo > 0 ? lo : 0;
        if (lo < J)
            level_blocks(ws, at, lda, ws->bs, Sm, n, k, m, t, lo, J, 1);
        int J0 = S0 - t < sp->sb0 ? S0 - t : sp->sb0; /* the last product's terms above u0, levels below S */
        J0 = S - t < J0 ? S - t : J0;
        if (u0 < J0)
            level_blocks(ws, at, lda, sp->bs, (size_t)S0 * (size_t)m, n, k, m, t, u0, J0, -1);
    }
}

/* keep this product's B slices, column exponents and levels in sp (the
 * buffers trade places with the workspace's) */
static int levels_keep(ssm_arb_split *sp, ssm_arb_mul_ws *ws, slong m, int S, int sb, int s)
{
    double *b = ws->bs;
    ws->bs = sp->bs;
    sp->bs = b;
    size_t c = ws->cap[1];
    ws->cap[1] = sp->tcap[0];
    sp->tcap[0] = c;
    int64_t *l = ws->lev;
    ws->lev = sp->lev;
    sp->lev = l;
    c = ws->cap[2];
    ws->cap[2] = sp->tcap[1];
    sp->tcap[1] = c;
    if (!grow((void **)&sp->eb, &sp->tcap[2], (size_t)m * sizeof(slong) + 1)) {
        sp->S0 = 0;
        return 0;
    }
    memcpy(sp->eb, ws->eb, (size_t)m * sizeof(slong));
    sp->m = m;
    sp->S0 = S;
    sp->sb0 = sb;
    sp->s0 = s;
    return 1;
}

/* the product of ssm_arb_mat_approx_mul_split, A's slices from sp when given */
static ssm_status mul_split(arb_mat_t C, const arb_mat_t A, ssm_arb_split *sp, const arb_mat_t B, slong prec,
                            ssm_arb_mul_ws *ws)
{
    slong n = arb_mat_nrows(A), k = arb_mat_ncols(A), m = arb_mat_ncols(B);
    if (n == 0 || m == 0)
        return SSM_OK;
    int s = 8, S = 1, chunk = 0;
    if (k > 0 && prec <= SSM_ARB_SPLIT_MAX_PREC)
        slicing(&s, &S, &chunk, k, prec);
    slong L = ((slong)S * s + 64) / FLINT_BITS + 2;
    int ok = k > 0 && prec <= SSM_ARB_SPLIT_MAX_PREC && chunk > 0 && ws_bytes(n, k, m, S, chunk, L) <= SSM_ARB_SPLIT_MAX_BYTES;
    if (ok && (!ws_reserve(ws, n, k, m, S, chunk, L) || (sp && !split_exps(sp, A))))
        return SSM_ERROR(SSM_ENOMEM, "arb: out of memory (a %ld x %ld x %ld product at %ld bits)", (long)n, (long)k,
                         (long)m, (long)prec);
    const slong *ea = sp ? sp->ea : ws->ea;
    if (ok && sp)
        ok = sp->ok;
    for (slong i = 0; ok && !sp && i < n; i++)
        ws->ea[i] = line_exp(A, i, 0, &ok);
    for (slong j = 0; ok && j < m; j++)
        ws->eb[j] = line_exp(B, j, 1, &ok);
    if (!ok) {
        if (sp)
            sp->S0 = 0;
        if (sp && (const arb_struct *)C->entries == (const arb_struct *)A->entries)
            ssm_arb_split_forget(sp); /* C = A: the slices held are no longer A's */
        arb_mat_approx_mul(C, A, B, prec);
        return SSM_OK;
    }
    const double *as = ws->as;
    size_t lda = (size_t)k * (size_t)S;
    int sa, sb;
    if (sp) {
        if (!split_keep(sp, A, s, S))
            return SSM_ERROR(SSM_ENOMEM, "arb: out of memory (the slices of a %ld x %ld factor at %ld bits)", (long)n,
                             (long)k, (long)prec);
        as = sp->as;
        lda = (size_t)k * (size_t)sp->S;
        sa = sp->sa < S ? sp->sa : S; /* the slices of S are a prefix of those held */
    } else
        sa = split_a(ws->as, lda, A, ea, s, S);
    sb = split_b(ws, B, s, S, chunk);
    int track = sp && sp->track;
    if (track)
        levels_again(ws, sp, as, lda, n, k, m, S, chunk, sa, sb, s);
    else
        slice_levels(ws, as, lda, n, k, m, S, chunk, sa, sb);
    carry_pack(ws->p, ws->cy, ws->lev, (size_t)(n * m), s, S, L);
    if (sp && !track)
        sp->S0 = 0;
    if (track && !levels_keep(sp, ws, m, S, sb, s))
        return SSM_ERROR(SSM_ENOMEM, "arb: out of memory (a %ld x %ld x %ld product at %ld bits)", (long)n, (long)k,
                         (long)m, (long)prec);
    if (sp && (const arb_struct *)C->entries == (const arb_struct *)A->entries)
        ssm_arb_split_forget(sp); /* C = A: the slices held are no longer A's */
    for (slong i = 0; i < n; i++)
        for (slong j = 0; j < m; j++) {
            arb_ptr c = arb_mat_entry(C, i, j);
            size_t idx = (size_t)(i * m + j);
            mag_zero(arb_radref(c));
            if (ea[i] == WORD_MIN || ws->eb[j] == WORD_MIN)
                arf_zero(arb_midref(c));
            else
                assemble(arb_midref(c), ws->p + idx * (size_t)L, ws->cy[idx], s, S,
                         ea[i] + ws->eb[j] - (slong)(S + 1) * s, prec, ws->q, L);
        }
    return SSM_OK;
}

ssm_status ssm_arb_mat_approx_mul_split(arb_mat_t C, const arb_mat_t A, const arb_mat_t B, slong prec,
                                        ssm_arb_mul_ws *ws)
{
    return mul_split(C, A, NULL, B, prec, ws);
}

ssm_status ssm_arb_mat_approx_mul_split_keep(arb_mat_t C, const arb_mat_t A, ssm_arb_split *sp, const arb_mat_t B,
                                             slong prec, ssm_arb_mul_ws *ws)
{
    return mul_split(C, A, sp, B, prec, ws);
}
