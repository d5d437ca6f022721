/* experiments/kappa_growth.c — how fast the LegS eigenvector matrix loses
 * conditioning, and where double precision stops seeing it (doc/reference.md §4).
 * Writes kappa-growth.tsv (N, log10 κ multiprecision, digits, log10 κ double,
 * log10 κ(3+2√2)^-N, |error of double|) and kappa-growth.json (fitted growth
 * rate against 3 + 2√2). */
#define _POSIX_C_SOURCE 200809L
#include "experiments/common.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const size_t SIZES[] = {2, 4, 8, 12, 16, 20, 24, 28, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 256};

static size_t count_sizes(const ssm_experiment_opts *o)
{
    size_t nmax = o->n_max ? o->n_max : 128, count = 0;
    while (count < sizeof SIZES / sizeof *SIZES && SIZES[count] <= nmax)
        count++;
    return count;
}

/* job k: one size, one row of dataset 0 */
static ssm_status job(exp_data *x, const ssm_experiment_opts *o, size_t k)
{
    (void)o;
    const double rate = log10(3.0 + 2.0 * sqrt(2.0));
    size_t N = SIZES[k];
    ssm_mpcmat_t A;
    ssm_mpeig_info mi;
    ssm_status s = exp_legs_mp_eig(A, &mi, N);
    if (s != SSM_OK) {
        ssm_mpcmat_clear(A);
        return s;
    }
    /* double precision on the rounded matrix, rotated so that balancing cannot isolate the
     * eigenvalues (on the triangular matrix LAPACK happens to be exact) */
    if ((s = ssm_diag_rotate_mp(A, 1, 2)) != SSM_OK) {
        ssm_mpcmat_clear(A);
        return s;
    }
    ssm_zmat_t Ad, Vd, Wd;
    ssm_status sa = ssm_zmat_init(Ad, N, N), sv = ssm_zmat_init(Vd, N, N), sw = ssm_zmat_init(Wd, N, N);
    double complex *ld = malloc(N * sizeof *ld);
    if (sa != SSM_OK || sv != SSM_OK || sw != SSM_OK || !ld) {
        s = SSM_ERROR(SSM_ENOMEM, "kappa-growth: out of memory at N = %zu", N);
        goto done;
    }
    for (size_t i = 0; i < N * N; i++)
        Ad->data[i] = CMPLX(mpfr_get_d(mpc_realref(A->data[i]), MPFR_RNDN), 0.0);
    ssm_eig_info di;
    ssm_status sd = ssm_diag_eig(ld, Vd, Wd, &di, Ad);
    {
        /* log10 κ in double: saturated garbage from N ≈ 24 on — the point of the figure;
         * when LAPACK fails outright the column holds 0 and the error column −1 */
        double kd = sd == SSM_OK ? log10(di.kappa_V) : 0.0;
        double r[6] = {(double)N, mi.kappa_V_log10, mi.digits, kd,
                       mi.kappa_V_log10 - rate * (double)N, /* log10 of the constant c in c (3+2√2)^N */
                       sd == SSM_OK ? fabs(kd - mi.kappa_V_log10) : -1.0};
        s = exp_add(x, 0, r, 6);
    }
done:
    free(ld);
    ssm_zmat_clear(Ad); ssm_zmat_clear(Vd); ssm_zmat_clear(Wd);
    ssm_mpcmat_clear(A);
    return s;
}

static ssm_status finish(exp_data *x, const ssm_experiment_opts *o, char *header, size_t hcap, json_t *j,
                         char *summary, size_t scap)
{
    const exp_set *t = &x->set[0];
    const double rate = log10(3.0 + 2.0 * sqrt(2.0));
    if (!t->rows)
        return SSM_ERROR(SSM_EINVAL, "kappa-growth: no rows");
    snprintf(header, hcap,
             "ssmkit %s experiment kappa-growth: HiPPO-LegS eigenvector conditioning (unit columns)\n"
             "multiprecision: ssm_diag_eig_mp at 256 bits (digits vouched for: column digits); double: LAPACK on "
             "the rounded matrix after an orthogonal similarity",
             SSM_VERSION);
    /* least-squares slope of log10 κ against N over N >= 8 (needs two points) */
    double sx = 0, sy = 0, sxx = 0, sxy = 0, nfit = 0, first_bad = NAN;
    json_t *rows = json_array();
    for (size_t r = 0; r < t->rows; r++) {
        const double *v = t->v + r * t->cols;
        if (v[0] >= 8) {
            sx += v[0]; sy += v[1]; sxx += v[0] * v[0]; sxy += v[0] * v[1];
            nfit++;
        }
        if (isnan(first_bad) && v[5] > 1.0)
            first_bad = v[0];
        json_array_append_new(rows, json_pack("{s:I, s:o, s:o, s:o}", "N", (json_int_t)exp_index(v[0]), "log10_kappa_V",
                                              exp_jnum(v[1]), "digits", exp_jnum(v[2]), "log10_kappa_V_double",
                                              v[5] < 0 ? json_null() : exp_jnum(v[3])));
    }
    double slope = nfit >= 2 ? (nfit * sxy - sx * sy) / (nfit * sxx - sx * sx) : NAN;
    json_object_set_new(j, "n_max", json_integer((json_int_t)(o->n_max ? o->n_max : 128)));
    json_object_set_new(j, "fitted_log10_rate", exp_jnum(slope));
    json_object_set_new(j, "expected_log10_rate", json_real(rate));
    json_object_set_new(j, "fitted_base", exp_jnum(pow(10, slope)));
    json_object_set_new(j, "double_wrong_from_N", exp_index(first_bad) < 0 ? json_null() : json_integer((json_int_t)exp_index(first_bad)));
    json_object_set_new(j, "kappa", rows);
    snprintf(summary, scap,
             "kappa-growth: log10 kappa grows by %.4f per state (3+2sqrt2 gives %.4f); double precision is wrong by "
             ">10x from N = %g on%s",
             slope, rate, first_bad, isnan(first_bad) ? " (not reached at this N)" : "");
    return SSM_OK;
}

ssm_status ssm_experiment_kappa_growth(const ssm_experiment_opts *o)
{
    static const exp_def def = {
        .name = "kappa-growth",
        .tables = {{"", NULL, "N log10_kappa_mp digits log10_kappa_double log10_c abs_log10_error_double", 0, 0, 0,
                    "one row per N; log10_c = log10 kappa_mp - N log10(3 + 2 sqrt 2); abs_log10_error_double = "
                    "|log10 kappa_double - log10 kappa_mp| (-1: LAPACK failed, log10_kappa_double then 0)"}},
        .jobs = count_sizes, .job = job, .finish = finish};
    return exp_run(&def, o);
}
