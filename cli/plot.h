/* cli/plot.h — `ssmkit plot`: what a figure shows (filled by cli/cmd_plot.c while it computes
 * the data and writes the TSV) and how it is drawn (cli/plot_gp.c: a gnuplot script generated
 * from it, run with the image written atomically). */
#ifndef SSM_CLI_PLOT_H
#define SSM_CLI_PLOT_H

#include "cli/cli.h"

typedef enum { PLOT_BODE, PLOT_PSPEC, PLOT_SPECTRUM, PLOT_KERNEL } plot_kind;

/* One drawn curve (bode, kernel: one channel of one spec), point set (spectrum) or panel (pspec). */
typedef struct {
    char label[96];          /* the series column: the spec, sanitised (no blanks, no '#')      */
    size_t out, in;          /* the channel (output, input), 0-based                             */
    int is_vs;               /* the --vs reference                                               */
    double sup, omega;       /* bode: refined sup |G| and its ω; kernel: max |K_l| and its l     */
    double dsup, domega;     /* --vs: refined sup |G − G_vs| and its ω (kernel: max |ΔK|, its l) */
    double dscale;           /* --vs: the scale of the relative error (sup |G_vs|, max |K_vs|)    */
    double kappa;            /* spectrum, pspec: κ₂(V) of the eigenvectors (unit columns)        */
    double box[4];           /* pspec: the box of this panel                                     */
    double smin, smax;       /* pspec: the range of σ_min on the grid                            */
    size_t block0;           /* pspec: its first data block (blocks = blank-line separated)      */
    size_t n;                /* spectrum, pspec: the matrix order                                */
} plot_curve;

typedef struct {
    plot_kind kind;
    const char *image;       /* FILE.png or FILE.svg                                             */
    const char *tsv;         /* FILE.tsv (the data)                                              */
    const char *title;       /* --title, or NULL (a title is made up)                            */
    int svg, vs;
    size_t count;            /* curves                                                           */
    plot_curve *curve;
    double lo, hi;           /* bode: the band                                                   */
    size_t nx, ny;           /* pspec: the grid                                                  */
    double dt;               /* kernel: Δ                                                        */
    size_t length;           /* kernel: L                                                        */
} plot_figure;

enum { PLOT_MAX_SPECS = 8, PLOT_MAX_CURVES = 32 };

/* The command line, parsed. */
typedef struct {
    plot_kind kind;
    const char *out, *vs, *title;
    char *const *spec;
    size_t nspec;
    ssm_init_opts io;            /* --C, --seed of hippo: specs */
    double lo, hi, dt, box[4];
    size_t count, length, nx, ny, ch_out, ch_in;
    int have_omega, have_box, have_channel, b_half, data_only, quiet;
} plot_opts;


/* The data of each kind: the system(s) read, computed, written to fp (the TSV, after its header)
 * and described in fig.  -1 on success, else the exit code after one line on stderr. */
int plot_bode(plot_figure *fig, FILE *fp, const plot_opts *o);
int plot_kernel(plot_figure *fig, FILE *fp, const plot_opts *o);
int plot_spectrum(plot_figure *fig, FILE *fp, const plot_opts *o);
int plot_pspec(plot_figure *fig, FILE *fp, const plot_opts *o);
/* The series label of spec: as given, with blanks, quotes, '#', backslashes and control
 * characters as '_', and a suffix _2, _3 … when a curve of fig or one of more[0 .. nmore) has it. */
void plot_label(char *dst, size_t cap, const char *spec, const plot_figure *fig, const char (*more)[96], size_t nmore);
/* A new curve of fig for channel (out, in) of the series label; NULL past PLOT_MAX_CURVES. */
plot_curve *plot_add_curve(plot_figure *fig, const char *label, size_t out, size_t in);

/* Draw fig with gnuplot (the image written to a temporary file beside fig->image and renamed).
 * 0 when drawn; 1 after one line on stderr when gnuplot is missing or fails. */
int plot_draw(const plot_figure *fig);
/* gnuplot is on the PATH. */
int plot_have_gnuplot(void);

#endif
