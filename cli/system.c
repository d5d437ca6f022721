/* cli/system.c — a system spec made ready to evaluate (transfer, plot bode/kernel) and a spec's
 * state matrix made ready for pseudospectra and eigenvalues (pspec, plot pspec/spectrum).
 *
 * Systems: init files and init:METHOD:N are modal (diagonal or DPLR, evaluated in O(M r) per
 * point); hippo:MEASURE:N (C from --C/--seed), target:FILE and (A, B, C, D) files are dense
 * (one Hessenberg plan per input-output channel, built when the channel is first asked for). */
#define _POSIX_C_SOURCE 200809L
#include "cli/cli.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void cli_system_clear(cli_system *y)
{
    ssm_init_file_free(y->file);
    for (size_t k = 0; y->plan && k < y->p * y->m; k++)
        ssm_tf_plan_free(y->plan[k]);
    free(y->plan);
    ssm_zmat_clear(y->A); ssm_zmat_clear(y->B); ssm_zmat_clear(y->C); ssm_zmat_clear(y->D);
    memset(y, 0, sizeof *y);
}

/* the dense (A, B, C) of hippo:MEASURE:N (C from the rules' --C/--seed) or of an init file's target */
static ssm_status dense_from(cli_system *y, const cli_spec *sp, const cli_spec_rules *r)
{
    size_t N = sp->N;
    ssm_dmat_t Cr;
    memset(Cr, 0, sizeof Cr);
    ssm_status s = ssm_zmat_init(y->A, N, N);
    if (s == SSM_OK) s = ssm_zmat_init(y->B, N, 1);
    if (s == SSM_OK) s = ssm_zmat_init(y->C, 1, N);
    if (s == SSM_OK) s = ssm_zmat_init(y->D, 1, 1);
    if (s == SSM_OK && sp->kind == CLI_SPEC_HIPPO) {
        ssm_init_opts io = r->io ? *r->io : ssm_init_opts_default();
        s = ssm_dmat_init(Cr, N, 1);
        if (s == SSM_OK) s = ssm_init_C(Cr, io.C, io.seed);
        if (s == SSM_OK) s = ssm_zmat_set_dmat(y->A, sp->A);
        for (size_t i = 0; s == SSM_OK && i < N; i++) {
            SSM_D(y->B, i, 0) = SSM_D(sp->B, i, 0);
            SSM_D(y->C, 0, i) = SSM_D(Cr, i, 0);
        }
    } else if (s == SSM_OK) {
        const ssm_init_file *f = sp->init;
        s = ssm_zmat_set_dmat(y->A, f->A_target);
        for (size_t i = 0; s == SSM_OK && i < N; i++) {
            SSM_D(y->B, i, 0) = SSM_D(f->B_target, i, 0);
            SSM_D(y->C, 0, i) = SSM_D(f->C_target, i, 0);
        }
    }
    ssm_dmat_clear(Cr);
    return s;
}

int cli_system_load(cli_system *y, const char *text, const cli_spec_rules *r)
{
    memset(y, 0, sizeof *y);
    cli_spec sp;
    cli_spec_rules rules = *r;
    rules.hippo_dense = 1;
    int rc = cli_spec_load(&sp, text, &rules);
    if (rc >= 0)
        return rc;
    ssm_status st = SSM_OK;
    y->n = sp.N;
    y->p = y->m = 1;
    y->real = 1; /* every init's model is the complexification of a real system */
    switch (sp.kind) {
    case CLI_SPEC_INIT:
        y->file = sp.init;
        sp.init = NULL;
        ssm_init_file_modal(&y->modal, y->file);
        y->is_modal = 1;
        break;
    case CLI_SPEC_HIPPO:
    case CLI_SPEC_TARGET:
        st = dense_from(y, &sp, r);
        break;
    case CLI_SPEC_SYSTEM: /* taken over */
        y->A[0] = sp.Z[0]; y->B[0] = sp.Bm[0]; y->C[0] = sp.Cm[0]; y->D[0] = sp.Dm[0];
        memset(sp.Z, 0, sizeof sp.Z); memset(sp.Bm, 0, sizeof sp.Bm);
        memset(sp.Cm, 0, sizeof sp.Cm); memset(sp.Dm, 0, sizeof sp.Dm);
        y->p = y->C->rows;
        y->m = y->B->cols;
        y->real = !sp.is_complex;
        break;
    case CLI_SPEC_MATRIX:
        cli_spec_clear(&sp);
        return cli_usage_error("%s: '%s' is a matrix, not a system (use hippo:, init:, target:, an init file, or a "
                               "file with A, B, C[, D])", r->cmd, text);
    }
    cli_spec_clear(&sp);
    if (st == SSM_OK && !y->is_modal && !(y->plan = calloc(y->p * y->m, sizeof *y->plan)))
        st = SSM_ERROR(SSM_ENOMEM, "out of memory");
    if (st != SSM_OK) {
        cli_system_clear(y);
        return cli_fail(st);
    }
    return -1;
}

ssm_status cli_system_channel(ssm_tf_fn *f, cli_system *y, size_t i, size_t j)
{
    if (i >= y->p || j >= y->m)
        return SSM_ERROR(SSM_EINVAL, "channel (%zu, %zu) of a system with %zu outputs and %zu inputs", i, j, y->p, y->m);
    if (y->is_modal) {
        *f = ssm_tf_fn_modal(&y->modal);
        return SSM_OK;
    }
    ssm_tf_plan **pl = &y->plan[i * y->m + j];
    if (!*pl) {
        size_t n = y->n;
        ssm_zmat_t b, c;
        memset(b, 0, sizeof b);
        memset(c, 0, sizeof c);
        ssm_status s = ssm_zmat_init(b, n, 1);
        if (s == SSM_OK) s = ssm_zmat_init(c, 1, n);
        for (size_t k = 0; s == SSM_OK && k < n; k++) {
            SSM_D(b, k, 0) = SSM_D(y->B, k, j);
            SSM_D(c, 0, k) = SSM_D(y->C, i, k);
        }
        if (s == SSM_OK)
            s = ssm_tf_plan_create(pl, y->A, b, c, SSM_D(y->D, i, j));
        ssm_zmat_clear(b);
        ssm_zmat_clear(c);
        if (s != SSM_OK)
            return s;
    }
    *f = ssm_tf_fn_plan(*pl);
    return SSM_OK;
}

ssm_status cli_system_poles(double **w, size_t *count, const cli_system *y)
{
    size_t n = y->is_modal ? y->modal.M : y->n;
    double *t = realloc(*w, (*count + n + 1) * sizeof *t);
    if (!t)
        return SSM_ERROR(SSM_ENOMEM, "out of memory");
    *w = t;
    if (y->is_modal) {
        for (size_t i = 0; i < n; i++)
            t[(*count)++] = fabs(cimag(y->modal.lambda[i]));
        return SSM_OK;
    }
    double complex *lam = malloc((n ? n : 1) * sizeof *lam);
    ssm_status s = lam ? ssm_zmat_eigvals(lam, y->A) : SSM_ERROR(SSM_ENOMEM, "out of memory");
    for (size_t i = 0; s == SSM_OK && i < n; i++)
        t[(*count)++] = fabs(cimag(lam[i]));
    free(lam);
    return s;
}

ssm_status cli_system_eigvals(double complex **lam, size_t *n, const cli_system *y)
{
    *n = 0;
    if (y->is_modal && !y->modal.Pt->rows) { /* the modes (and their implied conjugates) */
        size_t M = y->modal.M, k = y->modal.conj_sym ? 2 * M : M;
        if (!(*lam = malloc(k * sizeof **lam)))
            return SSM_ERROR(SSM_ENOMEM, "out of memory");
        for (size_t i = 0; i < k; i++)
            (*lam)[i] = i < M ? y->modal.lambda[i] : conj(y->modal.lambda[i - M]);
        *n = k;
        return SSM_OK;
    }
    ssm_zmat_t Am, b, c; /* DPLR: the dense diag(Λ) − P̃P̃* in modal coordinates */
    double complex D;
    memset(Am, 0, sizeof Am); memset(b, 0, sizeof b); memset(c, 0, sizeof c);
    ssm_status s = y->is_modal ? cli_system_dense(Am, b, c, &D, y) : SSM_OK;
    const ssm_zmat_struct *A = y->is_modal ? Am : y->A;
    size_t k = A->rows;
    if (s == SSM_OK && !(*lam = malloc((k ? k : 1) * sizeof **lam)))
        s = SSM_ERROR(SSM_ENOMEM, "out of memory");
    if (s == SSM_OK && (s = ssm_zmat_eigvals(*lam, A)) != SSM_OK) {
        free(*lam);
        *lam = NULL;
    }
    if (s == SSM_OK)
        *n = k;
    ssm_zmat_clear(Am); ssm_zmat_clear(b); ssm_zmat_clear(c);
    return s;
}

ssm_status cli_system_dense(ssm_zmat_t A, ssm_zmat_t b, ssm_zmat_t c, double complex *D, const cli_system *y)
{
    memset(A, 0, sizeof(ssm_zmat_struct)); memset(b, 0, sizeof(ssm_zmat_struct)); memset(c, 0, sizeof(ssm_zmat_struct));
    *D = 0.0;
    if (y->is_modal)
        return ssm_tf_modal_dense(A, b, c, &y->modal);
    if (y->p != 1 || y->m != 1)
        return SSM_ERROR(SSM_EINVAL, "a single-input single-output system is needed here (this one has %zu outputs, "
                                     "%zu inputs)", y->p, y->m);
    ssm_status s = ssm_zmat_init(A, y->n, y->n);
    if (s == SSM_OK) s = ssm_zmat_init(b, y->n, 1);
    if (s == SSM_OK) s = ssm_zmat_init(c, 1, y->n);
    if (s == SSM_OK) s = ssm_zmat_copy(A, y->A);
    if (s == SSM_OK) s = ssm_zmat_copy(b, y->B);
    if (s == SSM_OK) s = ssm_zmat_copy(c, y->C);
    *D = SSM_D(y->D, 0, 0);
    return s;
}

ssm_status cli_system_kernel(double complex *K, const cli_system *y, double dt, size_t L)
{
    if (y->is_modal && !y->modal.Pt->rows)
        return ssm_tf_modal_kernel(K, &y->modal, dt, L);
    if (!y->is_modal)
        return ssm_tf_dense_kernel(K, y->A, y->B, y->C, dt, L);
    ssm_zmat_t A, b, c; /* DPLR: the dense diag(Λ) − P̃P̃* of the modal coordinates */
    double complex D;
    ssm_status s = cli_system_dense(A, b, c, &D, y);
    if (s == SSM_OK)
        s = ssm_tf_dense_kernel(K, A, b, c, dt, L);
    ssm_zmat_clear(A); ssm_zmat_clear(b); ssm_zmat_clear(c);
    return s;
}

/* ---- state matrices (pspec, plot pspec/spectrum) ---- */

void cli_matrix_clear(cli_matrix *m)
{
    ssm_zmat_clear(m->A);
    ssm_zmat_clear(m->P);
    free(m->lambda);
    memset(m, 0, sizeof *m);
}

/* the dense matrix of a DPLR-only system (abscissa, radius, box) */
ssm_status cli_matrix_dense(ssm_zmat_t A, const cli_matrix *m)
{
    size_t N = m->P->rows, r = m->P->cols;
    ssm_status s = ssm_zmat_init(A, N, N);
    for (size_t i = 0; s == SSM_OK && i < N; i++)
        for (size_t j = 0; j < N; j++) {
            double complex a = i == j ? m->lambda[i] : 0;
            for (size_t k = 0; k < r; k++)
                a -= SSM_D(m->P, i, k) * conj(SSM_D(m->P, j, k));
            SSM_D(A, i, j) = a;
        }
    return s;
}

/* the NPLR form of a HiPPO pair with rank-r correction: lambda (N, conjugate-closed), P (N×r) */
static ssm_status hippo_dplr(cli_matrix *m, const cli_spec *sp)
{
    size_t N = sp->N, M = N / 2, r = sp->P->rows;
    double complex *W = malloc(M * sizeof *W);
    ssm_zmat_t V, Bt, Pt;
    memset(Bt, 0, sizeof Bt);
    memset(Pt, 0, sizeof Pt);
    ssm_status s = W ? ssm_zmat_init(V, N, M) : SSM_ERROR(SSM_ENOMEM, "out of memory");
    if (s == SSM_OK) s = ssm_zmat_init(Bt, M, 1);
    if (s == SSM_OK) s = ssm_zmat_init(Pt, r, M);
    if (s == SSM_OK) s = ssm_diag_nplr(W, V, Bt, Pt, NULL, sp->A, sp->B, sp->P, NULL);
    if (s == SSM_OK) s = (m->lambda = malloc(N * sizeof *m->lambda)) ? SSM_OK : SSM_ERROR(SSM_ENOMEM, "out of memory");
    if (s == SSM_OK) s = ssm_zmat_init(m->P, N, r);
    for (size_t i = 0; s == SSM_OK && i < M; i++) {
        m->lambda[i] = W[i];
        m->lambda[i + M] = conj(W[i]);
        for (size_t k = 0; k < r; k++) {
            SSM_D(m->P, i, k) = SSM_D(Pt, k, i);
            SSM_D(m->P, i + M, k) = conj(SSM_D(Pt, k, i));
        }
    }
    if (s != SSM_OK) {
        free(m->lambda);
        m->lambda = NULL;
        ssm_zmat_clear(m->P);
    }
    free(W);
    ssm_zmat_clear(V); ssm_zmat_clear(Bt); ssm_zmat_clear(Pt);
    return s;
}

int cli_matrix_load(cli_matrix *m, const char *spec, int route, const char *cmd, size_t nmax)
{
    memset(m, 0, sizeof *m);
    cli_spec sp;
    cli_spec_rules rules = {.cmd = cmd, .nmax = 8192, .hippo_dense = 1, .init_nmax = 1024};
    int rc = cli_spec_load(&sp, spec, &rules);
    if (rc >= 0)
        return rc;
    if (nmax && sp.N > nmax) {
        size_t n = sp.N;
        cli_spec_clear(&sp);
        return cli_usage_error("%s: n = %zu is above the %zu supported here (--abscissa/--radius: O(n^3) per step)",
                               cmd, n, nmax);
    }
    ssm_status s = SSM_OK;
    size_t N = sp.N;
    switch (sp.kind) {
    case CLI_SPEC_HIPPO: {
        size_t r = sp.P->rows;
        m->real = 1;
        /* rank one: the secular route wins at every size (LegS N = 32: 0.02 s against 0.13 s on
         * the Schur form); higher rank: Lanczos + Woodbury wins from N = 256 */
        int want_dplr = route == 2 || (route == 0 && r > 0 && N % 2 == 0 && (r == 1 || N >= 256));
        if (want_dplr && (r == 0 || N % 2)) {
            cli_spec_clear(&sp);
            return cli_usage_error("%s: --route dplr needs a measure with a low-rank correction and even N", cmd);
        }
        if (want_dplr && (s = hippo_dplr(m, &sp)) != SSM_OK && route != 2 && s != SSM_ENOMEM)
            s = SSM_OK; /* auto: the dense route instead (after a numerical failure, never out of memory) */
        /* the dense matrix too: eigenvalues for the default box, abscissa, radius */
        if (s == SSM_OK && (s = ssm_zmat_init(m->A, N, N)) == SSM_OK)
            s = ssm_zmat_set_dmat(m->A, sp.A);
        break;
    }
    case CLI_SPEC_INIT:
        s = ssm_init_state_matrix(m->A, &m->lambda, m->P, sp.init);
        m->real = 1; /* every init's model is the complexification of a real system */
        break;
    case CLI_SPEC_TARGET:
        if ((s = ssm_zmat_init(m->A, N, N)) == SSM_OK)
            s = ssm_zmat_set_dmat(m->A, sp.init->A_target);
        m->real = 1;
        break;
    case CLI_SPEC_MATRIX:
    case CLI_SPEC_SYSTEM: /* a system file: its A */
        m->A[0] = sp.Z[0]; /* taken over */
        memset(sp.Z, 0, sizeof sp.Z);
        m->real = !sp.is_complex;
        break;
    }
    cli_spec_clear(&sp);
    if (s != SSM_OK) {
        cli_matrix_clear(m);
        return cli_fail(s);
    }
    if (m->lambda && route == 1) {
        /* dense route asked for: form diag(λ) − P P* */
        if ((s = cli_matrix_dense(m->A, m)) != SSM_OK) {
            cli_matrix_clear(m);
            return cli_fail(s);
        }
        free(m->lambda);
        m->lambda = NULL;
    }
    if (!m->lambda && route == 2) {
        cli_matrix_clear(m);
        return cli_usage_error("%s: --route dplr: '%s' has no DPLR form", cmd, spec);
    }
    return -1;
}

ssm_status cli_matrix_eigvals(double complex **ev, const cli_matrix *m)
{
    ssm_zmat_t Ad;
    memset(Ad, 0, sizeof Ad);
    const ssm_zmat_struct *A = m->A;
    ssm_status s = SSM_OK;
    if (!A->rows) {
        s = cli_matrix_dense(Ad, m);
        A = Ad;
    }
    size_t n = A->rows;
    if (s == SSM_OK && !(*ev = malloc((n ? n : 1) * sizeof **ev)))
        s = SSM_ERROR(SSM_ENOMEM, "out of memory");
    if (s == SSM_OK) {
        /* triangular matrices (LegS) give them on the diagonal, exactly; others need zgeev */
        int lower = 1, upper = 1;
        for (size_t i = 0; i < n && (lower || upper); i++)
            for (size_t j = 0; j < n; j++) {
                if (j > i && SSM_D(A, i, j) != 0) lower = 0;
                if (j < i && SSM_D(A, i, j) != 0) upper = 0;
            }
        if (lower || upper)
            for (size_t i = 0; i < n; i++)
                (*ev)[i] = SSM_D(A, i, i);
        else if ((s = ssm_zmat_eigvals(*ev, A)) != SSM_OK) {
            free(*ev);
            *ev = NULL;
        }
    }
    ssm_zmat_clear(Ad);
    return s;
}

ssm_status cli_matrix_box(double box[4], const cli_matrix *m, const ssm_pspec_plan *p)
{
    size_t n = m->lambda ? m->P->rows : m->A->rows;
    const double complex *ev = p ? ssm_pspec_eigenvalues(p) : NULL;
    double complex *own = NULL;
    ssm_status s = ev ? SSM_OK : cli_matrix_eigvals(&own, m);
    if (s == SSM_OK)
        ssm_pspec_box(box, ev ? ev : own, n, m->real);
    free(own);
    return s;
}
