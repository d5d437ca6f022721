/* experiments/bode.c — Bode plots of every initialisation at one N (n_max,
 * default 64) against HiPPO-LegS (dense, Hessenberg method), C = ones.
 * Inits with a target (s4-dplr, s4d-legs, s5-legs, ptd) use B̃ = V⁻¹B and
 * C̃ = C V of the LegS pair, so their G approximates G_LegS; s4d-lin, s4d-inv and
 * s4d-real have B = C = 1 (no target) and are drawn for their shape.
 * bode.tsv (datasets 0..6, one row per init, key method): N, sup_abs_diff =
 * sup|G - G_LegS|, omega_at_sup, sup_rel = sup|G - G_LegS|/sup|G_LegS|,
 * abs_G_lo = |G(0.01i)|.  bode-curves.tsv (key series): dataset 7 HiPPO-LegS
 * (series legs), datasets 8..14 one per init (series = the method): omega abs_G
 * phase_deg (phase unwrapped along omega). */
#define _POSIX_C_SOURCE 200809L
#include "experiments/common.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { K = 1200, CURVES = SSM_INIT_COUNT };

static size_t size_N(const ssm_experiment_opts *o)
{
    return o->n_max ? o->n_max : 64;
}

static size_t jobs(const ssm_experiment_opts *o)
{
    (void)o;
    return SSM_INIT_COUNT;
}

static ssm_status curve(exp_data *x, size_t d, const double *w, const double complex *G, size_t count)
{
    ssm_status s = SSM_OK;
    double prev = 0, unwrap = 0;
    for (size_t k = 0; s == SSM_OK && k < count; k++) {
        double ph = carg(G[k]) * 180.0 / M_PI;
        if (k) {
            while (ph + unwrap - prev > 180.0) unwrap -= 360.0;
            while (ph + unwrap - prev < -180.0) unwrap += 360.0;
        }
        prev = ph + unwrap;
        double row[3] = {w[k], cabs(G[k]), prev};
        s = exp_add(x, d, row, 3);
    }
    return s;
}

static ssm_status job(exp_data *x, const ssm_experiment_opts *o, size_t k)
{
    size_t N = size_N(o);
    double w[K];
    double complex sp[K], G[K], GL[K];
    ssm_status s = ssm_tf_omega_grid(sp, w, 1e-2, 10.0 * (double)N * (double)N, K, 1);
    ssm_tf_plan *legs = s == SSM_OK ? exp_legs_plan(N, &s) : NULL;
    if (s == SSM_OK)
        s = ssm_tf_eval(GL, legs, sp, K);
    if (s == SSM_OK && k == 0) {
        s = curve(x, CURVES, w, GL, K);
        exp_series(x, CURVES, "legs");
        exp_title(x, CURVES, "HiPPO-LegS (dense, Hessenberg method): the target");
    }
    ssm_tf_modal m;
    ssm_init_file *f = NULL; /* m is a view into f */
    double bc;
    memset(&m, 0, sizeof m);
    if (s == SSM_OK)
        s = exp_init_modal(&m, &f, &bc, (ssm_init_method)k, N, 0);
    if (s == SSM_OK)
        s = ssm_tf_modal_eval(G, &m, sp, K);
    ssm_dist_info in, inl;
    double *poles = s == SSM_OK ? exp_pole_freqs(&m) : NULL;
    ssm_dist_opts d = {.omega_lo = 1e-2, .omega_hi = 10.0 * (double)N * (double)N, .grid = 2000, .extra = poles,
                       .extra_count = m.M};
    ssm_tf_fn none = {NULL, NULL};
    if (s == SSM_OK) s = ssm_dist_sup(&in, ssm_tf_fn_modal(&m), ssm_tf_fn_plan(legs), &d);
    if (s == SSM_OK) s = ssm_dist_sup(&inl, ssm_tf_fn_plan(legs), none, &d);
    if (s == SSM_OK) {
        double row[5] = {(double)N, in.sup, in.omega, in.sup / inl.sup, cabs(G[0])};
        s = exp_add(x, k, row, 5);
        exp_series(x, k, "%s", ssm_init_method_name((ssm_init_method)k));
    }
    /* the drawn curve: the log grid plus every pole's |Im λ| and the refined
     * maximum of |G| itself, so that no resonance falls between plotted points
     * (S4D-LegS at N = 64: 378.6 at ω = 1303.3, drawn as 22 on the grid alone) */
    ssm_dist_info ing;
    if (s == SSM_OK) s = ssm_dist_sup(&ing, ssm_tf_fn_modal(&m), none, &d);
    double *wc = NULL, *ex = s == SSM_OK ? malloc((m.M + 1) * sizeof *ex) : NULL;
    double complex *sc = NULL, *Gc = NULL;
    size_t nc = 0;
    if (s == SSM_OK && !ex)
        s = SSM_ERROR(SSM_ENOMEM, "bode: out of memory");
    if (s == SSM_OK) {
        memcpy(ex, poles, m.M * sizeof *ex);
        ex[m.M] = ing.omega;
        s = ssm_tf_draw_grid(&wc, &nc, 1e-2, 10.0 * (double)N * (double)N, K, ex, m.M + 1);
    }
    if (s == SSM_OK && (!(sc = malloc(nc * sizeof *sc)) || !(Gc = malloc(nc * sizeof *Gc))))
        s = SSM_ERROR(SSM_ENOMEM, "bode: out of memory");
    if (s == SSM_OK) {
        for (size_t i = 0; i < nc; i++)
            sc[i] = CMPLX(0.0, wc[i]);
        s = ssm_tf_modal_eval(Gc, &m, sc, nc);
    }
    if (s == SSM_OK) {
        s = curve(x, CURVES + 1 + k, wc, Gc, nc);
        exp_series(x, CURVES + 1 + k, "%s", ssm_init_method_name((ssm_init_method)k));
        exp_title(x, CURVES + 1 + k, "log grid + poles + the refined peak, %.17g at omega %.17g", ing.sup, ing.omega);
    }
    free(wc); free(sc); free(Gc); free(ex);
    free(poles);
    ssm_init_file_free(f);
    ssm_tf_plan_free(legs);
    return s;
}

static ssm_status finish(exp_data *x, const ssm_experiment_opts *o, char *header, size_t hcap, json_t *j,
                         char *summary, size_t scap)
{
    size_t N = size_N(o);
    snprintf(header, hcap,
             "ssmkit %s experiment bode: G(i omega) of every init at N = %zu against HiPPO-LegS (B = LegS B, C = ones)\n"
             "inits with a target use B~ = V^-1 B, C~ = C V (no factor 1/2); s4d-lin/inv/real use B = C = 1\n"
             "sup over [1e-2, 10 N^2], refined (ssm_dist_sup)", SSM_VERSION, N);
    for (size_t k = 0; k < SSM_INIT_COUNT; k++)
        if (x->set[k].rows != 1)
            return SSM_ERROR(SSM_EINVAL, "bode: method %zu has %zu summary rows", k, x->set[k].rows);
    json_t *rows = json_array();
    char best[32] = "", worst[32] = "";
    double lo = INFINITY, hi = -1;
    for (size_t k = 0; k < SSM_INIT_COUNT; k++) {
        const double *v = x->set[k].v;
        const char *name = ssm_init_method_name((ssm_init_method)k);
        json_array_append_new(rows, json_pack("{s:s, s:o, s:o, s:o, s:o}", "method", name, "sup_abs_diff_vs_legs",
                                              exp_jnum(v[1]), "omega_at_sup", exp_jnum(v[2]), "relative_to_sup_legs",
                                              exp_jnum(v[3]), "abs_G_lo", exp_jnum(v[4])));
        if (v[3] < lo) { lo = v[3]; snprintf(best, sizeof best, "%s", name); }
        if (v[3] > hi) { hi = v[3]; snprintf(worst, sizeof worst, "%s", name); }
    }
    json_object_set_new(j, "N", json_integer((json_int_t)N));
    json_object_set_new(j, "methods", rows);
    snprintf(summary, scap, "bode N=%zu: sup|G - G_LegS|/sup|G_LegS| from %.3g (%s) to %.3g (%s)", N, lo, best, hi,
             worst);
    return SSM_OK;
}

ssm_status ssm_experiment_bode(const ssm_experiment_opts *o)
{
    static const exp_def def = {
        .name = "bode",
        .tables = {{"", "method", "N sup_abs_diff omega_at_sup sup_rel abs_G_lo", 0, CURVES - 1, 0,
                    "one row per init: sup_abs_diff = sup |G - G_LegS|, omega_at_sup its frequency (rad per unit "
                    "time), sup_rel = sup_abs_diff / sup |G_LegS|, abs_G_lo = |G(0.01 i)|"},
                   {"-curves", "series", "omega abs_G phase_deg", CURVES, EXP_LAST, 1,
                    "one series per system (index 0 legs: HiPPO-LegS, then the inits in the order of the methods): "
                    "|G(i omega)| and its phase in degrees, unwrapped along omega"}},
        .jobs = jobs, .job = job, .finish = finish};
    if (size_N(o) < 4 || size_N(o) % 2)
        return SSM_ERROR(SSM_EINVAL, "bode: --n-max (the state size N) must be even and at least 4");
    return exp_run(&def, o);
}
