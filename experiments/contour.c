/* experiments/contour.c — ε-boundaries of a pseudospectrum that are resolved, not guessed.
 *
 * A contour σ_min(zI − A) = ε drawn from a coarse grid can be wrong in two
 * ways: a component can be missed (near a nearly normal eigenvalue the set is a
 * disc of radius ~ε, far smaller than a grid cell), and the line can be placed
 * by interpolation where σ is not close to ε.  Both are handled by refining a
 * quadtree on the coarse cells, breadth first so that every round is one
 * batch for ssm_pspec_eval:
 *
 *  - components: every component of Λ_ε contains an eigenvalue, and Λ_ε holds
 *    the disc of radius ε around each (σ_min is 1-Lipschitz in z and 0 at λ).
 *    A cell that holds an eigenvalue but has no corner inside Λ_ε is split
 *    until one is (at the latest when its diagonal is below ε);
 *  - placement: a cell that a level crosses (corners on both sides) gets σ at
 *    its four edge midpoints and its centre; it is accepted when each of the
 *    five agrees with the bilinear interpolation of log σ from the corners to
 *    within the factor `accept`, else split into four.  Accepted cells are
 *    contoured by marching squares on their four quarters (log σ, linear
 *    along edges), so every drawn vertex lies on an edge whose midpoint was
 *    checked.
 *
 * A level whose cells are still unaccepted at max_depth, or when max_points
 * evaluations are spent, is reported unresolved and none of its segments is
 * kept.  (What no grid method sees: a contour that enters and leaves a cell
 * through one edge with every corner on the same side.) */
#define _POSIX_C_SOURCE 200809L
#include "experiments/common.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    double x0, x1, y0, y1;
    double l[4]; /* log10 σ at (x0,y0) (x1,y0) (x1,y1) (x0,y1): counter-clockwise */
    int depth;
} cell;

typedef struct {
    cell *v;
    size_t n, cap;
} cell_list;

typedef struct {
    double *v; /* rows: level index, xa, ya, xb, yb */
    size_t n, cap;
} seg_list;

static double lg(double s)
{
    return log10(s > 1e-300 ? s : 1e-300);
}

static int push_cell(cell_list *c, const cell *x)
{
    if (c->n == c->cap) {
        size_t cap = c->cap ? 2 * c->cap : 256;
        cell *v = realloc(c->v, cap * sizeof *v);
        if (!v)
            return 0;
        c->v = v;
        c->cap = cap;
    }
    c->v[c->n++] = *x;
    return 1;
}

static int push_seg(seg_list *s, size_t lev, double xa, double ya, double xb, double yb)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 1024;
        double *v = realloc(s->v, 5 * cap * sizeof *v);
        if (!v)
            return 0;
        s->v = v;
        s->cap = cap;
    }
    double *r = s->v + 5 * s->n++;
    r[0] = (double)lev; r[1] = xa; r[2] = ya; r[3] = xb; r[4] = yb;
    return 1;
}

/* the levels (indices into o->level_log10) a cell's corners straddle, as a bit mask */
static unsigned crossing(const cell *c, const exp_contour_opts *o)
{
    double lo = fmin(fmin(c->l[0], c->l[1]), fmin(c->l[2], c->l[3]));
    double hi = fmax(fmax(c->l[0], c->l[1]), fmax(c->l[2], c->l[3]));
    unsigned m = 0;
    for (size_t k = 0; k < o->nlevels; k++)
        if (lo < o->level_log10[k] && o->level_log10[k] <= hi)
            m |= 1u << k;
    return m;
}

/* levels whose component around an eigenvalue in the cell has no corner inside it yet */
static unsigned hidden(const cell *c, const exp_contour_opts *o, const double complex *ev, size_t nev)
{
    double lo = fmin(fmin(c->l[0], c->l[1]), fmin(c->l[2], c->l[3]));
    int holds = 0;
    for (size_t i = 0; i < nev && !holds; i++)
        holds = creal(ev[i]) >= c->x0 && creal(ev[i]) <= c->x1 && cimag(ev[i]) >= c->y0 && cimag(ev[i]) <= c->y1;
    unsigned m = 0;
    for (size_t k = 0; holds && k < o->nlevels; k++)
        if (lo >= o->level_log10[k])
            m |= 1u << k;
    return m;
}

/* marching squares for level L on the quad with corner values v (counter-clockwise from (x0,y0)) */
static int march(seg_list *out, size_t lev, double L, double x0, double x1, double y0, double y1, const double v[4])
{
    const double X[4] = {x0, x1, x1, x0}, Y[4] = {y0, y0, y1, y1};
    double px[4], py[4];
    int n = 0, in[4];
    for (int i = 0; i < 4; i++)
        in[i] = v[i] < L;
    for (int e = 0; e < 4; e++) { /* edge e from corner e to corner e+1 */
        int a = e, b = (e + 1) % 4;
        if (in[a] != in[b]) {
            double t = (L - v[a]) / (v[b] - v[a]);
            px[n] = X[a] + t * (X[b] - X[a]);
            py[n] = Y[a] + t * (Y[b] - Y[a]);
            n++;
        }
    }
    if (n == 2)
        return push_seg(out, lev, px[0], py[0], px[1], py[1]);
    if (n == 4) { /* a saddle: the mean of the corners decides which pairs join */
        double mid = 0.25 * (v[0] + v[1] + v[2] + v[3]);
        int joined = (mid < L) == in[0];
        if (joined) /* corner 0's side is connected through the middle: pair edges (0,1) (2,3) */
            return push_seg(out, lev, px[0], py[0], px[1], py[1]) && push_seg(out, lev, px[2], py[2], px[3], py[3]);
        return push_seg(out, lev, px[0], py[0], px[3], py[3]) && push_seg(out, lev, px[1], py[1], px[2], py[2]);
    }
    return 1;
}

/* the five new points of a cell: edge midpoints (bottom, right, top, left) and the centre */
static void five_points(double complex z[5], const cell *c)
{
    double xm = 0.5 * (c->x0 + c->x1), ym = 0.5 * (c->y0 + c->y1);
    z[0] = CMPLX(xm, c->y0);
    z[1] = CMPLX(c->x1, ym);
    z[2] = CMPLX(xm, c->y1);
    z[3] = CMPLX(c->x0, ym);
    z[4] = CMPLX(xm, ym);
}

/* worst |log10 σ − bilinear interpolation| over the five points */
static double misfit(const cell *c, const double m[5])
{
    const double *l = c->l;
    double pred[5] = {0.5 * (l[0] + l[1]), 0.5 * (l[1] + l[2]), 0.5 * (l[2] + l[3]), 0.5 * (l[3] + l[0]),
                      0.25 * (l[0] + l[1] + l[2] + l[3])};
    double w = 0;
    for (int i = 0; i < 5; i++)
        w = fmax(w, fabs(m[i] - pred[i]));
    return w;
}

/* the four children of c from its corners and five new values */
static int split(cell_list *next, const cell *c, const double m[5])
{
    double xm = 0.5 * (c->x0 + c->x1), ym = 0.5 * (c->y0 + c->y1);
    const double *l = c->l;
    cell k[4] = {
        {c->x0, xm, c->y0, ym, {l[0], m[0], m[4], m[3]}, c->depth + 1},
        {xm, c->x1, c->y0, ym, {m[0], l[1], m[1], m[4]}, c->depth + 1},
        {xm, c->x1, ym, c->y1, {m[4], m[1], l[2], m[2]}, c->depth + 1},
        {c->x0, xm, ym, c->y1, {m[3], m[4], m[2], l[3]}, c->depth + 1},
    };
    for (int i = 0; i < 4; i++)
        if (!push_cell(next, &k[i]))
            return 0;
    return 1;
}

/* an accepted cell: every crossing level contoured on its four quarters */
static int emit(seg_list *out, const cell *c, const double m[5], unsigned levels, const exp_contour_opts *o)
{
    cell q[4];
    cell_list one = {q, 0, 4};
    if (!split(&one, c, m))
        return 0;
    for (size_t k = 0; k < o->nlevels; k++)
        if (levels & (1u << k))
            for (int i = 0; i < 4; i++)
                if (!march(out, k, o->level_log10[k], q[i].x0, q[i].x1, q[i].y0, q[i].y1, q[i].l))
                    return 0;
    return 1;
}

/* one breadth-first round: the cells of `cur` that need work get their five points in one batch; each is
 * accepted (segments out), split (into next) or, past the limits, marks its levels unresolved */
static ssm_status round_of(cell_list *cur, cell_list *next, seg_list *out, exp_level_info *li, size_t *spent,
                           const ssm_pspec_plan *p, const exp_contour_opts *o, const double complex *ev, size_t nev)
{
    size_t n = 0;
    unsigned *need = malloc((cur->n ? cur->n : 1) * sizeof *need);
    double complex *z = malloc((5 * cur->n + 1) * sizeof *z);
    double *s = malloc((5 * cur->n + 1) * sizeof *s);
    ssm_status st = need && z && s ? SSM_OK : SSM_ERROR(SSM_ENOMEM, "pseudospectra: out of memory (contours)");
    for (size_t i = 0; st == SSM_OK && i < cur->n; i++) {
        const cell *c = &cur->v[i];
        unsigned cr = crossing(c, o), hd = hidden(c, o, ev, nev);
        need[i] = cr | hd;
        if (need[i] && (c->depth >= o->max_depth || *spent + 5 * (n + 1) > o->max_points)) {
            for (size_t k = 0; k < o->nlevels; k++)
                if (need[i] & (1u << k))
                    li[k].unresolved++;
            need[i] = 0;
        }
        if (need[i])
            five_points(z + 5 * n++, c);
    }
    if (st == SSM_OK && n)
        st = ssm_pspec_eval(s, p, z, 5 * n, NULL, NULL);
    *spent += 5 * n;
    size_t j = 0;
    for (size_t i = 0; st == SSM_OK && i < cur->n; i++) {
        if (!need[i])
            continue;
        const cell *c = &cur->v[i];
        double m[5];
        for (int q = 0; q < 5; q++)
            m[q] = lg(s[5 * j + q]);
        j++;
        unsigned cr = crossing(c, o), hd = hidden(c, o, ev, nev);
        double w = cr ? misfit(c, m) : 0.0;
        if (!hd && w <= log10(o->accept)) {
            for (size_t k = 0; k < o->nlevels; k++)
                if (cr & (1u << k))
                    li[k].worst_log10 = fmax(li[k].worst_log10, w);
            if (!emit(out, c, m, cr, o))
                st = SSM_ERROR(SSM_ENOMEM, "pseudospectra: out of memory (contours)");
        } else if (!split(next, c, m)) {
            st = SSM_ERROR(SSM_ENOMEM, "pseudospectra: out of memory (contours)");
        }
    }
    free(need); free(z); free(s);
    return st;
}

ssm_status exp_contours(exp_data *x, size_t d, exp_level_info *li, size_t *points, const ssm_pspec_plan *p,
                        const double box[4], size_t nx, size_t ny, const double *sigma, const double complex *ev,
                        size_t nev, const exp_contour_opts *o)
{
    if (o->nlevels > 32)
        return SSM_ERROR(SSM_EINVAL, "pseudospectra: at most 32 contour levels");
    memset(li, 0, o->nlevels * sizeof *li);
    cell_list cur = {0}, next = {0};
    seg_list segs = {0};
    ssm_status s = SSM_OK;
    double hx = (box[1] - box[0]) / (double)(nx - 1), hy = (box[3] - box[2]) / (double)(ny - 1);
    for (size_t iy = 0; s == SSM_OK && iy + 1 < ny; iy++)
        for (size_t ix = 0; ix + 1 < nx; ix++) {
            cell c = {box[0] + (double)ix * hx, box[0] + (double)(ix + 1) * hx, box[2] + (double)iy * hy,
                      box[2] + (double)(iy + 1) * hy,
                      {lg(sigma[iy * nx + ix]), lg(sigma[iy * nx + ix + 1]), lg(sigma[(iy + 1) * nx + ix + 1]),
                       lg(sigma[(iy + 1) * nx + ix])}, 0};
            if ((crossing(&c, o) | hidden(&c, o, ev, nev)) && !push_cell(&cur, &c)) {
                s = SSM_ERROR(SSM_ENOMEM, "pseudospectra: out of memory (contours)");
                break;
            }
        }
    size_t spent = 0;
    while (s == SSM_OK && cur.n) {
        next.n = 0;
        s = round_of(&cur, &next, &segs, li, &spent, p, o, ev, nev);
        cell_list t = cur;
        cur = next;
        next = t;
    }
    for (size_t r = 0; s == SSM_OK && r < segs.n; r++) {
        const double *v = segs.v + 5 * r;
        size_t k = (size_t)v[0];
        if (li[k].unresolved)
            continue; /* an unresolved level is not drawn at all */
        double row[5] = {o->level_log10[k], v[1], v[2], v[3], v[4]};
        s = exp_add(x, d, row, 5);
        li[k].segments++;
    }
    *points = spent;
    free(cur.v); free(next.v); free(segs.v);
    return s;
}
