/* io/progress.c — a one-line progress bar with ETA on stderr.
 * Drawn only when stderr is a terminal and the caller enabled it. */
#define _POSIX_C_SOURCE 200809L
#include "io/io.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct ssm_progress {
    char label[40];
    char note[48];   /* drawn after the ETA (e.g. the running loss) */
    uint64_t total;
    double start, last_draw;
    int width;       /* characters of the line last drawn (0: nothing on the line) */
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

ssm_status ssm_progress_create(ssm_progress **out, const char *label, uint64_t total, int enabled)
{
    *out = NULL;
    if (!enabled || !isatty(STDERR_FILENO))
        return SSM_OK;
    ssm_progress *p = calloc(1, sizeof *p);
    if (!p)
        return SSM_ERROR(SSM_ENOMEM, "out of memory for a progress bar");
    snprintf(p->label, sizeof p->label, "%s", label ? label : "");
    p->total = total ? total : 1;
    p->start = now_s();
    p->last_draw = 0.0;
    *out = p;
    return SSM_OK;
}

static void draw(ssm_progress *p, uint64_t done, double t)
{
    enum { WIDTH = 30 };
    double frac = (double)done / (double)p->total;
    if (frac > 1.0)
        frac = 1.0;
    char bar[WIDTH + 1];
    int fill = (int)(frac * WIDTH);
    for (int i = 0; i < WIDTH; i++)
        bar[i] = i < fill ? '#' : '.';
    bar[WIDTH] = '\0';
    double el = t - p->start;
    double eta = frac > 0.0 ? el * (1.0 - frac) / frac : 0.0;
    char line[192];
    int w = snprintf(line, sizeof line, "%s [%s] %5.1f%%  %.0fs elapsed, ETA %.0fs %s", p->label, bar, 100.0 * frac,
                     el, eta, p->note);
    if (w < 0)
        return;
    if (w >= (int)sizeof line)
        w = (int)sizeof line - 1;
    /* pad over the rest of a longer previous line */
    fprintf(stderr, "\r%s%*s", line, p->width > w ? p->width - w : 0, "");
    fflush(stderr);
    if (w > p->width)
        p->width = w;
}

void ssm_progress_update(ssm_progress *p, uint64_t done)
{
    if (!p)
        return;
    double t = now_s();
    if (t - p->last_draw < 0.1 && done < p->total)
        return;
    p->last_draw = t;
    draw(p, done, t);
}

void ssm_progress_set_note(ssm_progress *p, const char *note)
{
    if (p)
        snprintf(p->note, sizeof p->note, "%s", note ? note : "");
}

void ssm_progress_clear(ssm_progress *p)
{
    if (!p || p->width == 0)
        return;
    fprintf(stderr, "\r%*s\r", p->width, "");
    fflush(stderr);
    p->width = 0;
    p->last_draw = 0.0; /* the next update redraws at once */
}

void ssm_progress_free(ssm_progress *p)
{
    if (!p)
        return;
    ssm_progress_clear(p);
    free(p);
}

void ssm_progress_set_total(ssm_progress *p, uint64_t total)
{
    if (p)
        p->total = total ? total : 1; /* as at creation: a total of 0 draws a full bar, never divides by 0 */
}
