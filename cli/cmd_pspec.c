/* cli/cmd_pspec.c — `ssmkit pspec SPEC|MATRIXFILE [options]`: pseudospectra,
 * pseudospectral abscissa, stability radius. */
#define _POSIX_C_SOURCE 200809L
#include "cli/cli.h"

#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char HELP[] =
    "usage: ssmkit pspec SPEC|MATRIXFILE [--grid NX[xNY]] [--box X0:X1:Y0:Y1] [--tol T] [--max-iter K]\n"
    "                    [--method fast|record] [--route auto|dense|dplr] [--threads T]\n"
    "                    [--abscissa EPS] [--radius] [-o FILE.tsv] [--json] [-q]\n"
    "\n"
    "sigma_min(zI - A) on a grid (columns: re im sigma_min; one block per grid row, gnuplot-ready).\n"
    "SPEC: hippo:MEASURE:N, init:METHOD:N (built with the defaults of 'ssmkit init'), an init file\n"
    "(its model: DPLR forms as diag(Lambda) - P P*, PTD as A_target + E, S5 as V Lambda V^-1, diagonal\n"
    "inits as diag(Lambda)), or a matrix file: .npy (float64/complex128), .safetensors (tensor A),\n"
    ".tsv.\n"
    "\n"
    "options:\n"
    "  --grid NX[xNY]   grid points (default 100x100); real matrices compute half the grid\n"
    "  --box X0:X1:Y0:Y1  region (default: EigTool's, the eigenvalues' bounding box padded by half\n"
    "                   its larger side)\n"
    "  --tol T          inverse Lanczos: relative change of the top Ritz value (default 1e-5);\n"
    "                   the fast method also asks the Ritz residual to be below T\n"
    "  --max-iter K     Lanczos steps per point (default 99)\n"
    "  --method M       fast (default: blocks of shifts, BLAS-3 products per block step, the real\n"
    "                   Schur form for a real matrix, all cores) or\n"
    "                   record (EigTool's method: one point at a time, one thread)\n"
    "  --route R        auto (default): dplr for hippo specs with a rank-one NPLR form (any even N),\n"
    "                   a higher-rank one at N >= 256, and DPLR init files; else dense (Schur;\n"
    "                   normal matrices answered exactly); dplr: rank one by an inertia count and\n"
    "                   the secular equation, O(N) per evaluation; higher rank by inverse Lanczos\n"
    "                   with Sherman-Morrison-Woodbury, O(N r) per step (both guarded)\n"
    "  --threads T      worker threads (default: online CPUs)\n"
    "  --abscissa EPS   pseudospectral abscissa alpha_EPS(A) by criss-cross (and where it is)\n"
    "  --radius         complex stability radius beta(A) = min_w sigma_min(A - iwI)\n"
    "                   (with --abscissa/--radius the grid is computed only when -o is given)\n"
    "  -o FILE.tsv      write the grid there (default: stdout)\n"
    "  --json           one JSON object on stdout (scalars; no grid)\n"
    "  -q, --quiet      no progress bar, no summary\n"
    "Exit status: 0, 1 numerical failure (non-convergence), 2 bad input.\n";

enum { O_GRID = 1000, O_BOX, O_TOL, O_MAXIT, O_METHOD, O_ROUTE, O_THREADS, O_ABS, O_RAD, O_JSON };

static int parse_box(double box[4], const char *text)
{
    char *end;
    const char *p = text;
    for (int k = 0; k < 4; k++) {
        errno = 0;
        box[k] = strtod(p, &end);
        if (end == p || errno || !isfinite(box[k]) || (k < 3 && *end != ':') || (k == 3 && *end))
            return 0;
        p = end + 1;
    }
    return box[1] > box[0] && box[3] > box[2];
}

/* the grid as a table (re im sigma_min, one block per grid row) to out, or stdout when out is NULL */
static ssm_status write_grid_tsv(const char *out, const char *spec, size_t n, const ssm_pspec_info *info,
                                 const double box[4], size_t nx, size_t ny, const double *sigma)
{
    FILE *fp = stdout;
    ssm_atomic *at = NULL;
    ssm_status s = out ? ssm_atomic_open(&at, &fp, out) : SSM_OK;
    if (s != SSM_OK)
        return s;
    char head[2600];
    snprintf(head, sizeof head,
             "ssmkit %s pspec: sigma_min(zI - A) of %s, n = %zu\ncommand: %s\n"
             "route %s; grid %zux%zu over box %.17g:%.17g:%.17g:%.17g; %zu points computed, %zu mirrored; %zu "
             "Lanczos steps, %zu unconverged, %zu block-refined clusters, %zu DPLR guard fallbacks\n"
             "z = re + i im; one block per grid row (a blank line after each, for gnuplot's splot)",
             SSM_VERSION, spec, n, cli_command_line(), info->route, nx, ny, box[0], box[1], box[2], box[3],
             info->points, info->mirrored, info->iterations, info->unconverged, info->refined, info->guard_failed);
    s = ssm_tsv_write_head(fp, "re im sigma_min", 3, head);
    int ok = s == SSM_OK;
    for (size_t iy = 0; ok && iy < ny; iy++) {
        double y = box[2] + (double)iy * (box[3] - box[2]) / (double)(ny - 1);
        for (size_t ix = 0; ok && ix < nx; ix++)
            ok = ssm_tsv_print_double(fp, box[0] + (double)ix * (box[1] - box[0]) / (double)(nx - 1), '\t') >= 0 &&
                 ssm_tsv_print_double(fp, y, '\t') >= 0 && ssm_tsv_print_double(fp, sigma[iy * nx + ix], '\n') >= 0;
        ok = ok && fputc('\n', fp) != EOF;
    }
    if (s == SSM_OK && !ok)
        return ssm_atomic_fail(at, NULL); /* EWRITE: a full disk is exit 1, not bad input */
    if (at)
        return ssm_atomic_close(at, fp, s);
    if (s == SSM_OK && fflush(fp) != 0)
        s = ssm_atomic_fail(NULL, NULL);
    return s;
}

/* the command line, parsed and checked before any work */
typedef struct {
    ssm_pspec_opts po;
    size_t nx, ny;
    double box[4], eps_abs;
    int have_box, route, radius, json, quiet;
    const char *out, *spec;
} pspec_args;

static int parse_grid(pspec_args *a, const char *text)
{
    char *end;
    errno = 0;
    unsigned long x = strtoul(text, &end, 10), y = x;
    if (!errno && end != text && *end == 'x')
        y = strtoul(end + 1, &end, 10);
    if (errno || *end || x < 2 || y < 2 || x > 4000 || y > 4000 || text[0] == '-')
        return cli_usage_error("pspec: --grid '%s' must be NX or NXxNY with 2 <= NX, NY <= 4000", text);
    a->nx = x;
    a->ny = y;
    return -1;
}

/* one option (getopt's code c, its value optarg): -1 when taken, else the exit code */
static int pspec_option(pspec_args *a, int c, const char *arg)
{
    char *end;
    long v;
    switch (c) {
    case O_GRID: return parse_grid(a, arg);
    case O_BOX:
        if (!parse_box(a->box, arg))
            return cli_usage_error("pspec: --box '%s' must be X0:X1:Y0:Y1 with X0 < X1, Y0 < Y1", arg);
        a->have_box = 1;
        return -1;
    case O_TOL:
        errno = 0;
        a->po.tol = strtod(arg, &end);
        if (errno || end == arg || *end || !(a->po.tol >= 1e-14 && a->po.tol <= 0.1))
            return cli_usage_error("pspec: --tol '%s' must be a number in [1e-14, 0.1]", arg);
        return -1;
    case O_MAXIT:
        if (!cli_parse_long(&v, "--max-iter", arg, 1, 1000)) return EXIT_USAGE;
        a->po.max_iter = (int)v;
        return -1;
    case O_METHOD:
        if (strcmp(arg, "fast") == 0) a->po.method = SSM_PSPEC_FAST;
        else if (strcmp(arg, "record") == 0) a->po.method = SSM_PSPEC_RECORD;
        else return cli_usage_error("pspec: --method '%s' must be fast or record", arg);
        return -1;
    case O_ROUTE:
        if (strcmp(arg, "auto") == 0) a->route = 0;
        else if (strcmp(arg, "dense") == 0) a->route = 1;
        else if (strcmp(arg, "dplr") == 0) a->route = 2;
        else return cli_usage_error("pspec: --route '%s' must be auto, dense or dplr", arg);
        return -1;
    case O_THREADS:
        if (!cli_parse_long(&v, "--threads", arg, 1, 64)) return EXIT_USAGE;
        a->po.threads = (int)v;
        return -1;
    case O_ABS:
        errno = 0;
        a->eps_abs = strtod(arg, &end);
        if (errno || end == arg || *end || !(a->eps_abs > 0) || !isfinite(a->eps_abs))
            return cli_usage_error("pspec: --abscissa '%s' must be a positive number", arg);
        return -1;
    case O_RAD: a->radius = 1; return -1;
    case 'o': a->out = arg; return -1;
    case O_JSON: a->json = 1; return -1;
    case 'q': a->quiet = 1; return -1;
    default: return EXIT_USAGE;
    }
}

static int pspec_parse(pspec_args *a, int argc, char **argv)
{
    static const struct option LONG[] = {
        {"help", no_argument, NULL, 'h'}, {"grid", required_argument, NULL, O_GRID},
        {"box", required_argument, NULL, O_BOX}, {"tol", required_argument, NULL, O_TOL},
        {"max-iter", required_argument, NULL, O_MAXIT}, {"method", required_argument, NULL, O_METHOD},
        {"route", required_argument, NULL, O_ROUTE}, {"threads", required_argument, NULL, O_THREADS},
        {"abscissa", required_argument, NULL, O_ABS}, {"radius", no_argument, NULL, O_RAD},
        {"output", required_argument, NULL, 'o'}, {"json", no_argument, NULL, O_JSON},
        {"quiet", no_argument, NULL, 'q'}, {NULL, 0, NULL, 0},
    };
    memset(a, 0, sizeof *a);
    a->nx = a->ny = 100;
    opterr = 0;
    optind = 1;
    int c, rc;
    while ((c = getopt_long(argc, argv, ":ho:q", LONG, NULL)) != -1) {
        if (c == 'h') {
            fputs(HELP, stdout);
            return 0;
        }
        if (c == ':')
            return cli_usage_error("pspec: option '%s' needs a value", argv[optind - 1]);
        if (c == '?')
            return cli_usage_error("pspec: unknown option '%s'", argv[optind - 1]);
        if ((rc = pspec_option(a, c, optarg)) >= 0)
            return rc;
    }
    if (optind >= argc)
        return cli_usage_error("pspec: missing SPEC (see 'ssmkit pspec --help')");
    if (optind + 1 < argc)
        return cli_usage_error("pspec: unexpected argument '%s'", argv[optind + 1]);
    if (a->out && !cli_ends_with(a->out, ".tsv"))
        return cli_usage_error("pspec: output '%s' must be a .tsv file", a->out);
    cli_out_kind kind; /* its folder checked before the grid is computed */
    if (a->out && !cli_out_kind_of(&kind, a->out))
        return EXIT_USAGE;
    if (a->po.method == SSM_PSPEC_RECORD && a->route == 2)
        return cli_usage_error("pspec: --method record works on the Schur form; it excludes --route dplr");
    a->spec = argv[optind];
    return -1;
}

/* --abscissa and --radius (on the dense A): their JSON keys, and a line each unless --json/-q */
static ssm_status pspec_scalars(json_t *js, const pspec_args *a, const ssm_zmat_t A)
{
    double alpha = NAN, beta = NAN, omega = NAN;
    double complex zat = 0;
    int its = 0;
    ssm_status s = SSM_OK;
    int talk = !a->json && !a->quiet;
    if (a->eps_abs > 0 && (s = ssm_pspec_abscissa(&alpha, &zat, &its, A, a->eps_abs)) == SSM_OK) {
        json_object_set_new(js, "eps", cli_jnum(a->eps_abs));
        json_object_set_new(js, "abscissa", cli_jnum(alpha));
        json_object_set_new(js, "abscissa_at", json_pack("[oo]", cli_jnum(creal(zat)), cli_jnum(cimag(zat))));
        json_object_set_new(js, "abscissa_sweeps", json_integer(its));
        if (talk)
            printf("pseudospectral abscissa alpha_%g = %.15g at z = %.10g%+.10gi (%d criss-cross sweeps)\n", a->eps_abs,
                   alpha, creal(zat), cimag(zat), its);
    }
    if (s == SSM_OK && a->radius && (s = ssm_stability_radius(&beta, &omega, &its, A)) == SSM_OK) {
        json_object_set_new(js, "stability_radius", cli_jnum(beta));
        json_object_set_new(js, "stability_radius_omega", cli_jnum(omega));
        if (talk)
            printf("complex stability radius beta = %.15g at omega = %.10g (%d levels)\n", beta, omega, its);
    }
    return s;
}

/* the grid: plan (dense or DPLR), EigTool's box unless given, σ_min everywhere, its JSON keys, the table */
static ssm_status pspec_grid(json_t *js, pspec_args *a, cli_matrix *m, size_t n)
{
    ssm_status s = SSM_OK;
    ssm_pspec_info info = {0};
    size_t nx = a->nx, ny = a->ny;
    double *sigma = NULL, *box = a->box;
    ssm_pspec_plan *p = NULL;
    s = m->lambda ? ssm_pspec_plan_create_dplr(&p, m->lambda, m->P, m->P, m->real, &a->po)
                  : ssm_pspec_plan_create(&p, m->A, &a->po);
    if (p && !a->have_box)
        s = cli_matrix_box(box, m, p);
    if (s == SSM_OK && p) {
        sigma = malloc(nx * ny * sizeof *sigma);
        ssm_progress *bar = NULL;
        s = sigma ? ssm_progress_create(&bar, "pspec", nx * ny, !a->quiet) : SSM_ERROR(SSM_ENOMEM, "pspec: out of memory");
        if (s == SSM_OK)
            s = ssm_pspec_grid(sigma, p, box, nx, ny, &info, bar);
        ssm_progress_free(bar);
    }
    if (s == SSM_OK) {
        double smin = INFINITY;
        for (size_t k = 0; k < nx * ny; k++)
            smin = fmin(smin, sigma[k]);
        json_object_set_new(js, "route", json_string(info.route));
        json_object_set_new(js, "grid", json_pack("[ii]", (int)nx, (int)ny));
        json_object_set_new(js, "box", json_pack("[ffff]", box[0], box[1], box[2], box[3]));
        json_object_set_new(js, "points_computed", json_integer((json_int_t)info.points));
        json_object_set_new(js, "points_mirrored", json_integer((json_int_t)info.mirrored));
        json_object_set_new(js, "lanczos_steps", json_integer((json_int_t)info.iterations));
        json_object_set_new(js, "unconverged", json_integer((json_int_t)info.unconverged));
        json_object_set_new(js, "guard_failed", json_integer((json_int_t)info.guard_failed));
        json_object_set_new(js, "block_refined", json_integer((json_int_t)info.refined));
        json_object_set_new(js, "sigma_min_min", cli_jnum(smin));
        if (!a->json || a->out)
            s = write_grid_tsv(a->out, a->spec, n, &info, box, nx, ny, sigma);
        if (!a->quiet && !a->json && a->out && s == SSM_OK)
            printf("pspec: %s (%zux%zu, route %s, min sigma %.3g, %zu unconverged)\n", a->out, nx, ny, info.route, smin,
                   info.unconverged);
        if (info.unconverged && !a->quiet)
            fprintf(stderr, "ssmkit: pspec: %zu points used all Lanczos steps (their values are upper bounds)\n",
                    info.unconverged);
    }
    ssm_pspec_plan_free(p);
    free(sigma);
    return s;
}

int cmd_pspec(int argc, char **argv)
{
    pspec_args a;
    int rc = pspec_parse(&a, argc, argv);
    if (rc >= 0)
        return rc;
    cli_matrix m;
    int scalars = a.eps_abs > 0 || a.radius;
    /* each criss-cross sweep / level is an eigenproblem of order 2n (zgeev, O(n³)): the cap is
     * checked before the NPLR form or a dense matrix is built */
    rc = cli_matrix_load(&m, a.spec, a.po.method == SSM_PSPEC_RECORD ? 1 : a.route, "pspec", scalars ? 2048 : 0);
    if (rc >= 0)
        return rc;
    int want_grid = !scalars || a.out || (a.json && !scalars);
    ssm_status s = SSM_OK;
    ssm_zmat_t Ad;
    memset(Ad, 0, sizeof Ad);
    const ssm_zmat_struct *A = m.A->rows ? m.A : NULL;
    if (!A && (scalars || !a.have_box)) { /* the dense matrix: for the scalars, and the default box */
        if ((s = cli_matrix_dense(Ad, &m)) != SSM_OK) {
            cli_matrix_clear(&m);
            return cli_fail(s);
        }
        A = Ad;
    }
    size_t n = m.lambda ? m.P->rows : m.A->rows;
    /* every key from the start (doc/json.md): null where the option that computes it was not given */
    static const char *const LATER[] = {"eps", "abscissa", "abscissa_at", "abscissa_sweeps", "stability_radius",
                                        "stability_radius_omega", "route", "grid", "box", "points_computed",
                                        "points_mirrored", "lanczos_steps", "unconverged", "guard_failed",
                                        "block_refined", "sigma_min_min"};
    json_t *js = json_object();
    json_object_set_new(js, "spec", json_string(a.spec));
    json_object_set_new(js, "n", json_integer((json_int_t)n));
    json_object_set_new(js, "output", a.out ? json_string(a.out) : json_null());
    for (size_t i = 0; i < sizeof LATER / sizeof *LATER; i++)
        json_object_set_new(js, LATER[i], json_null());
    if (scalars)
        s = pspec_scalars(js, &a, A);
    if (s == SSM_OK && want_grid)
        s = pspec_grid(js, &a, &m, n);
    if (s == SSM_OK && a.json)
        s = cli_json_print(js);
    else
        json_decref(js);
    ssm_zmat_clear(Ad);
    cli_matrix_clear(&m);
    return s == SSM_OK ? 0 : cli_fail(s);
}
