/* analysis/pspec_impl.h — what analysis/pspec.c (plans, grids, dispatch) and
 * analysis/pspec_lanczos.c (the inverse Lanczos iterations and their solves)
 * share.  Not installed. */
#ifndef SSM_PSPEC_IMPL_H
#define SSM_PSPEC_IMPL_H

#include "analysis/analysis.h"

#include <pthread.h>
#include <stdint.h>

enum { KIND_DENSE, KIND_NORMAL, KIND_DPLR };

/* Below this order the method of record uses a plain SVD (EigTool's rule). */
#define SVD_BELOW 55
/* DPLR guard: a point is accepted when the Woodbury solves on its last Lanczos
 * vector have a backward error below DPLR_REL_OK·σ (a hundred times under the
 * 1e-4 the fast paths promise) or below 10·ε·‖A‖_F (see worker_dplr). */
#define DPLR_REL_OK 1e-6

struct ssm_pspec_plan {
    size_t n, r;
    int kind, real;
    double complex *T;     /* Schur form, column-major n×n (ld n); NULL for DPLR */
    double *Tq;            /* real matrix, fast path: its real Schur form (quasi-triangular), else NULL */
    double complex *lam;   /* eigenvalues (diagonal of T, or of the DPLR form) */
    double complex *P, *Q; /* DPLR: n×r column-major, A = diag(lam) − P Q* */
    double normA;          /* ‖A‖_F (an upper bound of ‖A‖₂) */
    double rho;            /* spectral radius, a lower bound of ‖A‖₂ */
    ssm_pspec_opts o;
};

/* ---- the work shared by the threads -------------------------------------- */

typedef struct {
    const ssm_pspec_plan *p;
    const double complex *T;   /* Schur form used by the dense paths */
    const double *Tq;          /* the real Schur form (fast path on a real matrix), or NULL */
    const double complex *z;
    double *sigma;
    const size_t *todo;        /* the points to compute (indices into z) */
    size_t count;
    size_t next;               /* next todo entry to hand out */
    size_t done;
    pthread_mutex_t lock;
    ssm_progress *bar;
    int method;                /* SSM_PSPEC_RECORD or FAST */
    double abs_floor;          /* careful stopping rule (≥ 0: 10ε‖A‖), −1: EigTool's rule */
    uint64_t seed;
    /* statistics */
    size_t iterations, unconverged, guard_failed, refined;
    size_t *guard_list;        /* DPLR points that failed the guard (size count) */
    ssm_status status;
} shared_work;

/* ---- the multi-shift triangular solves (pspec_multishift.c) ------------- */

/* A block of up to ldd shifts; m of them active (slots 0..m−1).  Complex T:
 * Tr, Ti its parts (column-major, ld n), pair NULL.  Real quasi-triangular T
 * (real Schur form): Tr the form, Ti NULL, pair[k] = 1 where rows k, k+1
 * form a 2×2 block, and Xi = Xr + m (both parts of a row in one run; the
 * caller lays X out for the m active shifts of each call).  X: shift j's
 * component k at Xr[k·ldx + j]; D, E: per row and shift (ld ldd), the
 * diagonal inverses set by ssm_pspec_ms_shift. */
typedef struct {
    size_t n, ldx, ldd;
    const double *Tr, *Ti;
    const unsigned char *pair;
    const size_t *bnd;             /* row blocks [bnd[b], bnd[b+1]), b < nblk */
    size_t nblk;
    double *Xr, *Xi, *Dr, *Di, *Er, *Ei;
} ssm_pspec_ms;

size_t ssm_pspec_ms_blocks(size_t *bnd, const unsigned char *pair, size_t n, size_t nb);
int ssm_pspec_ms_shift(const ssm_pspec_ms *w, size_t j, double complex z);
void ssm_pspec_ms_solve(const ssm_pspec_ms *w, size_t m);
void ssm_pspec_ms_solve_adj(const ssm_pspec_ms *w, size_t m);

/* The workers: each pulls points from w until none are left (threads share w). */
void *ssm_pspec_worker_svd(void *arg);     /* dense SVD of T − zI (n < SVD_BELOW)           */
void *ssm_pspec_worker_record(void *arg);  /* EigTool's method of record                     */
void *ssm_pspec_worker_fast(void *arg);    /* multi-shift blocks on the Schur form           */
void *ssm_pspec_worker_dplr(void *arg);    /* Woodbury solves, warm starts, a posteriori guard */
void *ssm_pspec_worker_secular(void *arg); /* rank one: inertia count + secular equation, no Lanczos */

#endif
