/* experiments/spikes.c — the spikes of |G_DPLR − G_S4D-LegS|(iω) (doc/reference.md §5):
 * S4D-LegS keeps the eigenvalues Λ of the normal part of LegS and drops the
 * rank-one term P̃P̃*; its transfer function keeps a resonance at every
 * mode −½ + i Im W_n that the DPLR system (= HiPPO-LegS) does not have.  The
 * top spike sits at the largest |Im W| ≈ N²/π and its height, with unit B and
 * C, does not decay as N grows: no uniform convergence.
 *
 * spikes.tsv (dataset 0, one row per N):
 *   N  omega_spike  n2_over_pi  max_abs_im_W  height  height_norm  height_half_norm
 *   grid_height_norm  unhinted_norm  omega_ratio (= omega_spike/(N²/π))
 * height: the refined sup over [1e-2, 10 N²] (ssm_dist_sup, 2000-point log grid plus
 * the poles' |Im W|) with the init files as written (B̃ = V*B, C = ones);
 * *_norm: divided by ‖B‖₂‖C‖₂; height_half: the same with the S4D theory's B̃/2;
 * grid_height: the largest value on the 2000-point log grid alone (a plain scan);
 * unhinted: the refined sup without the poles in the grid.
 * spikes-curves.tsv (datasets 1.., series "N16", …): N omega abs_dG_norm =
 * |ΔG|/(‖B‖‖C‖) against ω. */
#define _POSIX_C_SOURCE 200809L
#include "experiments/common.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static size_t sizes(size_t *N, const ssm_experiment_opts *o)
{
    return exp_sizes(N, 16, 16, o->n_max ? o->n_max : 256);
}

static size_t jobs(const ssm_experiment_opts *o)
{
    size_t N[16];
    return sizes(N, o);
}

static int cmpd(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static ssm_status job(exp_data *x, const ssm_experiment_opts *o, size_t k)
{
    size_t Ns[16];
    sizes(Ns, o);
    size_t N = Ns[k];
    ssm_tf_modal md, ms;
    ssm_init_file *fd = NULL, *fs = NULL; /* md, ms are views into them */
    double bc, bc2;
    memset(&ms, 0, sizeof ms);
    ssm_status s = exp_init_modal(&md, &fd, &bc, SSM_INIT_S4_DPLR, N, 0);
    if (s == SSM_OK)
        s = exp_init_modal(&ms, &fs, &bc2, SSM_INIT_S4D_LEGS, N, 0);
    double *poles = s == SSM_OK ? exp_pole_freqs(&ms) : NULL;
    if (s == SSM_OK && !poles)
        s = SSM_ERROR(SSM_ENOMEM, "spikes: out of memory");
    double hi = 10.0 * (double)N * (double)N, n2pi = (double)N * (double)N / M_PI, wmax = 0;
    for (size_t i = 0; poles && i < ms.M; i++)
        wmax = fmax(wmax, poles[i]);
    ssm_dist_opts dopt = {.omega_lo = 1e-2, .omega_hi = hi, .grid = 2000, .extra = poles, .extra_count = ms.M};
    ssm_dist_opts plain = {.omega_lo = 1e-2, .omega_hi = hi, .grid = 2000};
    ssm_dist_info in, inh, in0;
    if (s == SSM_OK) s = ssm_dist_sup(&in, ssm_tf_fn_modal(&md), ssm_tf_fn_modal(&ms), &dopt);
    if (s == SSM_OK) s = ssm_dist_sup(&in0, ssm_tf_fn_modal(&md), ssm_tf_fn_modal(&ms), &plain);
    if (s == SSM_OK) {
        for (size_t i = 0; i < ms.M; i++)
            ms.b[i] *= 0.5;
        s = ssm_dist_sup(&inh, ssm_tf_fn_modal(&md), ssm_tf_fn_modal(&ms), &dopt);
        for (size_t i = 0; i < ms.M; i++)
            ms.b[i] *= 2.0;
    }
    if (s == SSM_OK) {
        double row[10] = {(double)N, in.omega, n2pi, wmax, in.sup, in.sup / bc, inh.sup / bc, in0.grid_sup / bc,
                          in0.sup / bc, in.omega / n2pi};
        s = exp_add(x, 0, row, 10);
    }
    /* the curve: a log grid plus each resonance's shape (Im W ± 0, ¼, ½, 1, 2 half-widths) */
    size_t K0 = 1500, K = K0 + 9 * ms.M + 1;
    double *w = s == SSM_OK ? malloc(K * sizeof *w) : NULL;
    double complex *sp = w ? malloc(K * sizeof *sp) : NULL, *g1 = sp ? malloc(K * sizeof *g1) : NULL,
                   *g2 = g1 ? malloc(K * sizeof *g2) : NULL;
    if (s == SSM_OK && !g2)
        s = SSM_ERROR(SSM_ENOMEM, "spikes: out of memory");
    if (s == SSM_OK) {
        size_t n = 0;
        for (size_t i = 0; i < K0; i++)
            w[n++] = exp(log(1e-2) + (double)i / (double)(K0 - 1) * (log(hi) - log(1e-2)));
        static const double off[9] = {-2, -1, -0.5, -0.25, 0, 0.25, 0.5, 1, 2};
        for (size_t i = 0; i < ms.M; i++)
            for (int j = 0; j < 9; j++) {
                double v = poles[i] + off[j] * fabs(creal(ms.lambda[i]));
                if (v > 1e-2 && v < hi)
                    w[n++] = v;
            }
        w[n++] = in.omega;
        qsort(w, n, sizeof *w, cmpd);
        for (size_t i = 0; i < n; i++)
            sp[i] = CMPLX(0.0, w[i]);
        s = ssm_tf_modal_eval(g1, &md, sp, n);
        if (s == SSM_OK) s = ssm_tf_modal_eval(g2, &ms, sp, n);
        for (size_t i = 0; s == SSM_OK && i < n; i++) {
            double row[3] = {(double)N, w[i], cabs(g1[i] - g2[i]) / bc};
            s = exp_add(x, 1 + k, row, 3);
        }
        exp_series(x, 1 + k, "N%zu", N);
        exp_title(x, 1 + k, "N = %zu: |G_DPLR - G_S4D-LegS|/(|B||C|) on a log grid plus each resonance's shape", N);
    }
    free(w); free(sp); free(g1); free(g2); free(poles);
    ssm_init_file_free(fd);
    ssm_init_file_free(fs);
    return s;
}

static ssm_status finish(exp_data *x, const ssm_experiment_opts *o, char *header, size_t hcap, json_t *j,
                         char *summary, size_t scap)
{
    (void)o;
    const exp_set *t = &x->set[0];
    if (!t->rows)
        return SSM_ERROR(SSM_EINVAL, "spikes: no rows");
    snprintf(header, hcap,
             "ssmkit %s experiment spikes: |G_DPLR - G_S4D-LegS|(i omega), HiPPO-LegS, C = ones, B = LegS B\n"
             "sup over [1e-2, 10 N^2] refined by ssm_dist_sup (2000-point log grid + the poles' |Im W|, Brent on "
             "every peak); normalised = divided by |B|_2 |C|_2 (the paper's unit B, C)\n"
             "height: init files as written (B~ = V* B); height_half: the S4D theory's B~/2; grid_height: a plain "
             "2000-point log scan; unhinted: refined without the poles in the grid",
             SSM_VERSION);
    json_t *rows = json_array();
    double hmin = INFINITY, hmax = 0, rmin = INFINITY, rmax = 0;
    for (size_t r = 0; r < t->rows; r++) {
        const double *v = t->v + r * t->cols;
        json_array_append_new(rows, json_pack("{s:I, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o}", "N", (json_int_t)exp_index(v[0]),
                                              "omega_spike", exp_jnum(v[1]), "n2_over_pi", exp_jnum(v[2]), "max_abs_im_W",
                                              exp_jnum(v[3]), "height", exp_jnum(v[4]), "height_normalised",
                                              exp_jnum(v[5]), "height_half_normalised", exp_jnum(v[6]),
                                              "grid_height_normalised", exp_jnum(v[7]), "unhinted_normalised",
                                              exp_jnum(v[8])));
        hmin = fmin(hmin, v[5]);
        hmax = fmax(hmax, v[5]);
        rmin = fmin(rmin, v[9]);
        rmax = fmax(rmax, v[9]);
    }
    json_object_set_new(j, "b_convention", json_string("init files: B~ = V* B (height); S4D theory: B~/2 (height_half)"));
    json_object_set_new(j, "normalisation", json_string("|dG| / (|B|_2 |C|_2), C = ones, B = LegS B"));
    json_object_set_new(j, "spikes", rows);
    json_object_set_new(j, "height_normalised_min", exp_jnum(hmin));
    json_object_set_new(j, "height_normalised_max", exp_jnum(hmax));
    snprintf(summary, scap,
             "spikes: N = %g..%g: top spike at omega/(N^2/pi) = %.4f..%.4f; normalised height %.4f..%.4f "
             "(does not decay with N)",
             t->v[0], t->v[(t->rows - 1) * t->cols], rmin, rmax, hmin, hmax);
    return SSM_OK;
}

ssm_status ssm_experiment_spikes(const ssm_experiment_opts *o)
{
    static const exp_def def = {
        .name = "spikes",
        .tables = {{"", NULL, "N omega_spike n2_over_pi max_abs_im_W height height_norm height_half_norm "
                              "grid_height_norm unhinted_norm omega_ratio", 0, 0, 0,
                    "one row per N; omega in rad per unit time; *_norm = divided by |B|_2 |C|_2; omega_ratio = "
                    "omega_spike / (N^2/pi)"},
                   {"-curves", "series", "N omega abs_dG_norm", 1, EXP_LAST, 1,
                    "one series per N (gnuplot index k: the k-th N): abs_dG_norm = |G_DPLR - G_S4D-LegS|(i omega) / "
                    "(|B|_2 |C|_2)"}},
        .jobs = jobs, .job = job, .finish = finish};
    if (o->n_max && o->n_max < 16)
        return SSM_ERROR(SSM_EINVAL, "spikes: --n-max must be at least 16");
    return exp_run(&def, o);
}
