/* experiments/kappa_growth.c — how fast the LegS eigenvector matrix loses
 * conditioning, and where double precision stops seeing it (REFERENCE.md §4).
 * Writes kappa-growth.tsv (N, κ multiprecision, digits, κ double, κ(3+2√2)^-N)
 * and kappa-growth.json (fitted growth rate against 3 + 2√2). */
#define _POSIX_C_SOURCE 200809L
#include "experiments/experiments.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const size_t SIZES[] = {2, 4, 8, 12, 16, 20, 24, 28, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 256};

ssm_status ssm_experiment_kappa_growth(const ssm_experiment_opts *o)
{
    size_t nmax = o->n_max ? o->n_max : 128;
    size_t count = 0;
    while (count < sizeof SIZES / sizeof *SIZES && SIZES[count] <= nmax)
        count++;
    if (o->job >= 0 || o->merge)
        return SSM_ERROR(SSM_EINVAL, "kappa-growth: its jobs are 'ssmkit eig' commands (--jobs); there is no --job/--merge");
    if (o->jobs) {
        for (size_t k = 0; k < count; k++)
            printf("ssmkit eig hippo:legs:%zu --prec 256 --json\n", SIZES[k]);
        return SSM_OK;
    }
    ssm_dmat_t T;
    ssm_status s = ssm_dmat_init(T, count, 6);
    if (s != SSM_OK)
        return s;
    const double rate = log10(3.0 + 2.0 * sqrt(2.0));
    ssm_progress *bar = ssm_progress_create("kappa-growth", count, !o->quiet);
    double sx = 0, sy = 0, sxx = 0, sxy = 0;
    size_t nfit = 0;
    for (size_t k = 0; k < count && s == SSM_OK; k++) {
        size_t N = SIZES[k];
        const mpfr_prec_t p = 256, ap = 2048;
        ssm_mpmat_t R;
        ssm_mpcmat_t A, L, V, W;
        ssm_mpmat_init(R, N, N, ap);
        ssm_hippo_mp(R, NULL, NULL, SSM_HIPPO_LEGS, N, NULL);
        ssm_mpcmat_init(A, N, N, ap);
        ssm_mpcmat_set_mpmat(A, R);
        ssm_mpcmat_init(L, N, 1, p);
        ssm_mpcmat_init(V, N, N, p);
        ssm_mpcmat_init(W, N, N, p);
        ssm_mpeig_info mi;
        ssm_mpeig_opts mo = {.route = SSM_MPEIG_AUTO, .digits = 10};
        s = ssm_diag_eig_mp(L, V, W, &mi, A, &mo);
        /* double precision on the rounded matrix, rotated so that balancing cannot isolate the
         * eigenvalues (on the triangular matrix LAPACK happens to be exact) */
        ssm_diag_rotate_mp(A, 1, 2);
        ssm_zmat_t Ad, Vd, Wd;
        ssm_zmat_init(Ad, N, N); ssm_zmat_init(Vd, N, N); ssm_zmat_init(Wd, N, N);
        for (size_t i = 0; i < N * N; i++)
            Ad->data[i] = CMPLX(mpfr_get_d(mpc_realref(A->data[i]), MPFR_RNDN), 0.0);
        double complex *ld = malloc(N * sizeof *ld);
        ssm_eig_info di;
        ssm_status sd = ssm_diag_eig(ld, Vd, Wd, &di, Ad);
        if (s == SSM_OK) {
            double *r = &SSM_D(T, k, 0);
            r[0] = (double)N;
            r[1] = mi.kappa_V_log10;
            r[2] = mi.digits;
            r[3] = sd == SSM_OK ? log10(di.kappa_V) : NAN;
            r[4] = mi.kappa_V_log10 - rate * (double)N; /* log10 of the constant c in c (3+2√2)^N */
            r[5] = sd == SSM_OK ? fabs(log10(di.kappa_V) - mi.kappa_V_log10) : NAN;
            if (N >= 8) {
                sx += (double)N; sy += r[1]; sxx += (double)N * (double)N; sxy += (double)N * r[1];
                nfit++;
            }
        }
        free(ld);
        ssm_zmat_clear(Ad); ssm_zmat_clear(Vd); ssm_zmat_clear(Wd);
        ssm_mpmat_clear(R);
        ssm_mpcmat_clear(A); ssm_mpcmat_clear(L); ssm_mpcmat_clear(V); ssm_mpcmat_clear(W);
        ssm_progress_update(bar, k + 1);
    }
    ssm_progress_finish(bar);
    if (s == SSM_OK) {
        char path[1024], header[512];
        snprintf(path, sizeof path, "%s/kappa-growth.tsv", o->out_dir);
        snprintf(header, sizeof header,
                 "ssmkit %s experiment kappa-growth: HiPPO-LegS eigenvector conditioning (unit columns)\n"
                 "multiprecision: ssm_diag_eig_mp at 256 bits (digits vouched for in column 3); double: LAPACK on "
                 "the rounded matrix after an orthogonal similarity\n"
                 "columns: N log10_kappa_mp digits log10_kappa_double log10_c(kappa=c(3+2sqrt2)^N) "
                 "abs_log10_error_double", SSM_VERSION);
        s = ssm_tsv_write_dmat(path, NULL, header, T);
        if (s == SSM_OK) {
            /* least-squares slope of log10 κ against N over N >= 8 (needs two points) */
            double slope = nfit >= 2 ? (nfit * sxy - sx * sy) / (nfit * sxx - sx * sx) : NAN;
            json_t *j = json_pack("{s:s, s:I, s:o, s:f, s:o}", "experiment", "kappa-growth", "n_max", (json_int_t)nmax,
                                  "fitted_log10_rate", isnan(slope) ? json_null() : json_real(slope),
                                  "expected_log10_rate", rate,
                                  "fitted_base", isnan(slope) ? json_null() : json_real(pow(10, slope)));
            if (!j) {
                ssm_dmat_clear(T);
                return SSM_ERROR(SSM_ENOMEM, "kappa-growth: cannot build the JSON summary");
            }
            /* the first N where double precision is off by more than a factor 10 */
            double first_bad = NAN;
            for (size_t k = 0; k < count; k++)
                if (SSM_D(T, k, 5) > 1.0) {
                    first_bad = SSM_D(T, k, 0);
                    break;
                }
            json_object_set_new(j, "double_wrong_from_N", isnan(first_bad) ? json_null() : json_real(first_bad));
            json_t *rows = json_array();
            for (size_t k = 0; k < count; k++)
                json_array_append_new(rows, json_pack("{s:I, s:f, s:f}", "N", (json_int_t)SSM_D(T, k, 0), "log10_kappa_V",
                                                      SSM_D(T, k, 1), "digits", SSM_D(T, k, 2)));
            json_object_set_new(j, "kappa", rows);
            snprintf(path, sizeof path, "%s/kappa-growth.json", o->out_dir);
            ssm_atomic *a;
            FILE *fp;
            s = ssm_atomic_open(&a, &fp, path);
            if (s == SSM_OK) {
                if (json_dumpf(j, fp, JSON_INDENT(1) | JSON_REAL_PRECISION(17) | JSON_PRESERVE_ORDER) != 0) {
                    ssm_atomic_abort(a);
                    s = SSM_ERROR(SSM_EIO, "cannot write '%s'", path);
                } else {
                    s = ssm_atomic_commit(a);
                }
            }
            if (!o->quiet && s == SSM_OK)
                printf("kappa-growth: log10 kappa grows by %.4f per state (3+2sqrt2 gives %.4f); double precision "
                       "is wrong by >10x from N = %g on%s\n", slope, rate, first_bad,
                       isnan(first_bad) ? " (not reached at this N)" : "");
            json_decref(j);
        }
    }
    ssm_dmat_clear(T);
    return s;
}
