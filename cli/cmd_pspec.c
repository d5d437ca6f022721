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
    "  --method M       fast (default: blocks of shifts, one ZGEMM per block step, all cores) or\n"
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

int cmd_pspec(int argc, char **argv)
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
    ssm_pspec_opts po = {0};
    size_t nx = 100, ny = 100;
    double box[4], eps_abs = 0;
    int have_box = 0, route = 0, radius = 0, json = 0, quiet = 0;
    const char *out = NULL;
    long v;
    char *end;
    opterr = 0;
    optind = 1;
    int c;
    while ((c = getopt_long(argc, argv, ":ho:q", LONG, NULL)) != -1) {
        switch (c) {
        case 'h': fputs(HELP, stdout); return 0;
        case O_GRID: {
            errno = 0;
            unsigned long a = strtoul(optarg, &end, 10), b = a;
            if (!errno && end != optarg && *end == 'x')
                b = strtoul(end + 1, &end, 10);
            if (errno || *end || a < 2 || b < 2 || a > 4000 || b > 4000 || optarg[0] == '-')
                return cli_usage_error("pspec: --grid '%s' must be NX or NXxNY with 2 <= NX, NY <= 4000", optarg);
            nx = a;
            ny = b;
            break;
        }
        case O_BOX:
            if (!parse_box(box, optarg))
                return cli_usage_error("pspec: --box '%s' must be X0:X1:Y0:Y1 with X0 < X1, Y0 < Y1", optarg);
            have_box = 1;
            break;
        case O_TOL:
            errno = 0;
            po.tol = strtod(optarg, &end);
            if (errno || end == optarg || *end || !(po.tol >= 1e-14 && po.tol <= 0.1))
                return cli_usage_error("pspec: --tol '%s' must be a number in [1e-14, 0.1]", optarg);
            break;
        case O_MAXIT:
            if (!cli_parse_long(&v, "--max-iter", optarg, 1, 1000)) return EXIT_USAGE;
            po.max_iter = (int)v;
            break;
        case O_METHOD:
            if (strcmp(optarg, "fast") == 0) po.method = SSM_PSPEC_FAST;
            else if (strcmp(optarg, "record") == 0) po.method = SSM_PSPEC_RECORD;
            else return cli_usage_error("pspec: --method '%s' must be fast or record", optarg);
            break;
        case O_ROUTE:
            if (strcmp(optarg, "auto") == 0) route = 0;
            else if (strcmp(optarg, "dense") == 0) route = 1;
            else if (strcmp(optarg, "dplr") == 0) route = 2;
            else return cli_usage_error("pspec: --route '%s' must be auto, dense or dplr", optarg);
            break;
        case O_THREADS:
            if (!cli_parse_long(&v, "--threads", optarg, 1, 64)) return EXIT_USAGE;
            po.threads = (int)v;
            break;
        case O_ABS:
            errno = 0;
            eps_abs = strtod(optarg, &end);
            if (errno || end == optarg || *end || !(eps_abs > 0) || !isfinite(eps_abs))
                return cli_usage_error("pspec: --abscissa '%s' must be a positive number", optarg);
            break;
        case O_RAD: radius = 1; break;
        case 'o': out = optarg; break;
        case O_JSON: json = 1; break;
        case 'q': quiet = 1; break;
        case ':': return cli_usage_error("pspec: option '%s' needs a value", argv[optind - 1]);
        default: return cli_usage_error("pspec: unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind >= argc)
        return cli_usage_error("pspec: missing SPEC (see 'ssmkit pspec --help')");
    if (optind + 1 < argc)
        return cli_usage_error("pspec: unexpected argument '%s'", argv[optind + 1]);
    if (out && !cli_ends_with(out, ".tsv"))
        return cli_usage_error("pspec: output '%s' must be a .tsv file", out);
    cli_out_kind kind; /* its folder checked before the grid is computed */
    if (out && !cli_out_kind_of(&kind, out))
        return EXIT_USAGE;
    if (po.method == SSM_PSPEC_RECORD && route == 2)
        return cli_usage_error("pspec: --method record works on the Schur form; it excludes --route dplr");
    const char *spec = argv[optind];
    cli_matrix m;
    int scalars = eps_abs > 0 || radius;
    /* each criss-cross sweep / level is an eigenproblem of order 2n (zgeev, O(n³)): the cap is
     * checked before the NPLR form or a dense matrix is built */
    int rc = cli_matrix_load(&m, spec, po.method == SSM_PSPEC_RECORD ? 1 : route, "pspec", scalars ? 2048 : 0);
    if (rc >= 0)
        return rc;
    int want_grid = !scalars || out;
    if (json && !scalars && !out)
        want_grid = 1;
    ssm_status s = SSM_OK;
    ssm_zmat_t Ad;
    memset(Ad, 0, sizeof Ad);
    const ssm_zmat_struct *A = m.A->rows ? m.A : NULL;
    if (!A && (scalars || !have_box)) {
        if ((s = cli_matrix_dense(Ad, &m)) != SSM_OK) {
            cli_matrix_clear(&m);
            return cli_fail(s);
        }
        A = Ad;
    }
    size_t n = m.lambda ? m.P->rows : m.A->rows;
    json_t *js = json_object();
    json_object_set_new(js, "n", json_integer((json_int_t)n));
    double alpha = NAN, beta = NAN, omega = NAN;
    double complex zat = 0;
    int its = 0;
    if (s == SSM_OK && eps_abs > 0) {
        s = ssm_pspec_abscissa(&alpha, &zat, &its, A, eps_abs);
        if (s == SSM_OK) {
            json_object_set_new(js, "eps", json_real(eps_abs));
            json_object_set_new(js, "abscissa", json_real(alpha));
            json_object_set_new(js, "abscissa_at", json_pack("[ff]", creal(zat), cimag(zat)));
            json_object_set_new(js, "abscissa_sweeps", json_integer(its));
            if (!json && !quiet)
                printf("pseudospectral abscissa alpha_%g = %.15g at z = %.10g%+.10gi (%d criss-cross sweeps)\n",
                       eps_abs, alpha, creal(zat), cimag(zat), its);
        }
    }
    if (s == SSM_OK && radius) {
        s = ssm_stability_radius(&beta, &omega, &its, A);
        if (s == SSM_OK) {
            json_object_set_new(js, "stability_radius", json_real(beta));
            json_object_set_new(js, "stability_radius_omega", json_real(omega));
            if (!json && !quiet)
                printf("complex stability radius beta = %.15g at omega = %.10g (%d levels)\n", beta, omega, its);
        }
    }
    ssm_pspec_plan *p = NULL;
    double *sigma = NULL;
    ssm_pspec_info info = {0};
    if (s == SSM_OK && want_grid) {
        p = m.lambda ? ssm_pspec_plan_create_dplr(m.lambda, m.P, m.P, m.real, &po, &s)
                     : ssm_pspec_plan_create(m.A, &po, &s);
        if (p && !have_box)
            s = cli_matrix_box(box, &m, p);
        if (s == SSM_OK && p) {
            sigma = malloc(nx * ny * sizeof *sigma);
            ssm_progress *bar = ssm_progress_create("pspec", nx * ny, !quiet);
            s = sigma ? ssm_pspec_grid(sigma, p, box, nx, ny, &info, bar) : SSM_ERROR(SSM_ENOMEM, "pspec: out of memory");
            ssm_progress_finish(bar);
        }
    }
    if (s == SSM_OK && want_grid) {
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
        json_object_set_new(js, "sigma_min_min", json_real(smin));
        if (!json || out) {
            FILE *fp = stdout;
            ssm_atomic *at = NULL;
            if (out)
                s = ssm_atomic_open(&at, &fp, out);
            if (s == SSM_OK) {
                fprintf(fp,
                        "# ssmkit %s pspec: sigma_min(zI - A) of %s, n = %zu\n# command: %s\n"
                        "# route %s; grid %zux%zu over box %.17g:%.17g:%.17g:%.17g; %zu points computed, %zu "
                        "mirrored; %zu Lanczos steps, %zu unconverged, %zu block-refined clusters, %zu DPLR guard fallbacks\n"
                        "# columns: re im sigma_min   (one block per grid row)\n",
                        SSM_VERSION, spec, n, cli_command_line(), info.route, nx, ny, box[0], box[1], box[2], box[3],
                        info.points, info.mirrored, info.iterations, info.unconverged, info.refined, info.guard_failed);
                for (size_t iy = 0; iy < ny; iy++) {
                    double y = box[2] + (double)iy * (box[3] - box[2]) / (double)(ny - 1);
                    for (size_t ix = 0; ix < nx; ix++)
                        fprintf(fp, "%.17g\t%.17g\t%.17g\n", box[0] + (double)ix * (box[1] - box[0]) / (double)(nx - 1),
                                y, sigma[iy * nx + ix]);
                    fputc('\n', fp);
                }
                if (at)
                    s = ssm_atomic_commit(at);
                else if (fflush(fp) != 0)
                    s = SSM_ERROR(SSM_EIO, "pspec: write error on stdout");
            }
            if (!quiet && !json && out && s == SSM_OK)
                printf("pspec: %s (%zux%zu, route %s, min sigma %.3g, %zu unconverged)\n", out, nx, ny, info.route,
                       smin, info.unconverged);
        }
        if (info.unconverged && !quiet)
            fprintf(stderr, "ssmkit: pspec: %zu points used all Lanczos steps (their values are upper bounds)\n",
                    info.unconverged);
    }
    if (s == SSM_OK && json) {
        char *txt = json_dumps(js, JSON_COMPACT | JSON_REAL_PRECISION(17));
        puts(txt);
        free(txt);
    }
    json_decref(js);
    ssm_pspec_plan_destroy(p);
    free(sigma);
    ssm_zmat_clear(Ad);
    cli_matrix_clear(&m);
    return s == SSM_OK ? 0 : cli_fail(s);
}
