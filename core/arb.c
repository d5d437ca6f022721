/* core/arb.c — Arb helpers shared by diag/ and init/. */
#include "core/arb.h"

#include <math.h>

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
    acb_t t;
    acb_init(t);
    for (slong i = 0; i < n; i++)
        for (slong k = 0; k < m; k++) {
            acb_mul_2exp_si(t, acb_mat_entry(M, i, k), -e);
            SSM_D(D, i, k) = CMPLX(arf_get_d(arb_midref(acb_realref(t)), ARF_RND_NEAR), arf_get_d(arb_midref(acb_imagref(t)), ARF_RND_NEAR));
        }
    acb_clear(t);
    double nrm;
    s = ssm_zmat_norm2(&nrm, D);
    ssm_zmat_clear(D);
    if (s == SSM_OK)
        *l2 = log2(nrm) + (double)e;
    return s;
}

