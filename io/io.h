/* io/io.h — files and the terminal: atomic writes (temp file + fsync + rename),
 * the file formats (safetensors, npy, npz, TSV) and a progress bar.
 *
 * Every reader checks each length and offset against the bytes it has before
 * touching data, refuses non-regular files (a FIFO would block forever) and
 * names what is wrong in the error message; every writer goes through
 * ssm_atomic_open/commit, so a failed command leaves no half-written file.
 */
#ifndef SSM_IO_H
#define SSM_IO_H

#include "core/core.h"

/* ===================================================================== */
/* Atomic writes: temp file in the destination folder, fsync, rename      */
/* ===================================================================== */

typedef struct ssm_atomic ssm_atomic;
/* Create "<dir>/.<base>.tmp.XXXXXX" beside `path` and return a stream to it.
 * EIO (with the OS reason) when the folder is missing or unwritable or path
 * exists and is not a regular file; EWRITE when the disk or quota is full. */
SSM_MUST_CHECK ssm_status ssm_atomic_open(ssm_atomic **a, FILE **fp, const char *path);
/* Flush, fsync, close and rename over `path`; fsync the folder.  On any
 * failure the temporary file is removed, `path` is untouched and the status
 * is EWRITE with the system's reason. */
SSM_MUST_CHECK ssm_status ssm_atomic_commit(ssm_atomic *a);
/* Remove the temporary file; `path` is untouched.  NULL is a no-op. */
void ssm_atomic_abort(ssm_atomic *a);
/* After a write to a's stream failed: abort (as above) and return EWRITE
 * naming the destination ("cannot write <what>'path': <errno's reason>", e.g.
 * "No space left on device"); what may be NULL or "the checkpoint ".  a may
 * be NULL (a plain stream: "cannot write to the output stream: ..."). */
SSM_MUST_CHECK ssm_status ssm_atomic_fail(ssm_atomic *a, const char *what);
/* The end of a file written through ssm_atomic_open: s is the writer's status so far.  Abort (and
 * return s) when it failed, EWRITE (as ssm_atomic_fail) when the stream has an error, else commit. */
SSM_MUST_CHECK ssm_status ssm_atomic_close(ssm_atomic *a, FILE *fp, ssm_status s);

/* Read a whole file into memory (caller frees *buf).  EIO on failure. */
SSM_MUST_CHECK ssm_status ssm_read_file(unsigned char **buf, size_t *len, const char *path);
/* Read path and hand its bytes to parse(out, buf, len); a parse error's
 * message gets "path: " prefixed.  The one path every file reader takes. */
typedef ssm_status (*ssm_parse_fn)(void *out, const unsigned char *buf, size_t len);
SSM_MUST_CHECK ssm_status ssm_parse_file(const char *path, ssm_parse_fn parse, void *out);

/* ===================================================================== */
/* safetensors: F64 tensors + "__metadata__" string map                   */
/* ===================================================================== */
/* A file in memory: named tensors (row-major doubles; complex arrays carry a
 * trailing dimension 2 = (re, im)) and metadata (string → string).  Tensors
 * keep insertion order; the writer sorts nothing and pads nothing. */

#define SSM_ST_MAXDIM 8
typedef struct {
    char *name;
    int ndim;
    size_t shape[SSM_ST_MAXDIM];
    size_t count;               /* product of shape (1 for ndim == 0) */
    double *data;
} ssm_tensor;

typedef struct ssm_st ssm_st;

SSM_MUST_CHECK ssm_status ssm_st_create(ssm_st **out); /* an empty file; ENOMEM: *out NULL */
void ssm_st_free(ssm_st *f);                   /* NULL ok */
/* Copy `data` (product of shape doubles) in as tensor `name`.  EINVAL for a
 * duplicate or empty name, the name "__metadata__", ndim > SSM_ST_MAXDIM. */
SSM_MUST_CHECK ssm_status ssm_st_add(ssm_st *f, const char *name, int ndim, const size_t *shape,
                      const double *data);
/* Convenience: a real matrix as [rows, cols] (or [rows] when as_vector). */
SSM_MUST_CHECK ssm_status ssm_st_add_dmat(ssm_st *f, const char *name, const ssm_dmat_t A, int as_vector);
/* A complex matrix as [rows, cols, 2] (or [rows, 2] when as_vector). */
SSM_MUST_CHECK ssm_status ssm_st_add_zmat(ssm_st *f, const char *name, const ssm_zmat_t A, int as_vector);
SSM_MUST_CHECK ssm_status ssm_st_set_meta(ssm_st *f, const char *key, const char *value);   /* replaces */
/* Overwrite the data of an existing tensor (same element count). */
SSM_MUST_CHECK ssm_status ssm_st_replace(ssm_st *f, const char *name, const double *data);
const ssm_tensor *ssm_st_get(const ssm_st *f, const char *name);            /* NULL if absent */
const char *ssm_st_meta(const ssm_st *f, const char *key);                  /* NULL if absent */
size_t ssm_st_count(const ssm_st *f);
const ssm_tensor *ssm_st_at(const ssm_st *f, size_t i);
size_t ssm_st_meta_count(const ssm_st *f);
void ssm_st_meta_at(const ssm_st *f, size_t i, const char **key, const char **value);

/* Serialise atomically to `path`. */
SSM_MUST_CHECK ssm_status ssm_st_write(const ssm_st *f, const char *path);
/* Parse a file / a memory buffer.  Every length and offset is checked against
 * the buffer before data is touched: EFORMAT names what is wrong. Only F64
 * tensors are accepted (other dtypes: EFORMAT naming the dtype). */
SSM_MUST_CHECK ssm_status ssm_st_read(ssm_st **f, const char *path);
SSM_MUST_CHECK ssm_status ssm_st_read_mem(ssm_st **f, const unsigned char *buf, size_t len);

/* ===================================================================== */
/* .npy: float64 ('<f8') and complex128 ('<c16'), C order                  */
/* ===================================================================== */

typedef struct {
    int ndim;
    size_t shape[SSM_ST_MAXDIM];
    size_t count;
    int is_complex;         /* data holds 2*count doubles (re, im) when set */
    double *data;
} ssm_npy;

void ssm_npy_clear(ssm_npy *a);
/* Parse; rejects Fortran order, other dtypes (named), object arrays, big-endian
 * data, malformed headers and sizes that disagree with the file. */
SSM_MUST_CHECK ssm_status ssm_npy_read(ssm_npy *a, const char *path);
SSM_MUST_CHECK ssm_status ssm_npy_read_mem(ssm_npy *a, const unsigned char *buf, size_t len);
/* Write (format 1.0) atomically; `data` holds count (or 2*count) doubles. */
SSM_MUST_CHECK ssm_status ssm_npy_write(const char *path, int ndim, const size_t *shape, int is_complex,
                         const double *data);

/* ===================================================================== */
/* .npz: a ZIP of .npy members (np.savez, np.savez_compressed)             */
/* ===================================================================== */

/* The arrays of an .npz, in archive order; names without ".npy". */
typedef struct {
    size_t count;
    char **names;
    ssm_npy *arrays;
} ssm_npz;

void ssm_npz_clear(ssm_npz *z);                                    /* a zeroed struct is clear */
/* Parse (libzip: stored, deflated and ZIP64 members; CRC-32 checked), each member by
 * ssm_npy_read_mem.  EFORMAT names the member and what is wrong: not a ZIP, encrypted, not
 * NAME.npy, duplicate, more than 4096 members, a stated size above half the memory, a size that
 * disagrees with the data, or a bad .npy. */
SSM_MUST_CHECK ssm_status ssm_npz_read(ssm_npz *z, const char *path);
SSM_MUST_CHECK ssm_status ssm_npz_read_mem(ssm_npz *z, const unsigned char *buf, size_t len);
const ssm_npy *ssm_npz_get(const ssm_npz *z, const char *name);   /* NULL if absent */

/* ===================================================================== */
/* TSV: '#' header lines, whitespace-separated numbers                     */
/* ===================================================================== */

/* The layout of every table ssmkit writes (README, "File formats"): the
 * column names on the first line (tab-separated), then '#' comment lines, then
 * tab-separated rows; single or double blank lines may separate blocks (grid
 * rows for gnuplot's splot, series for its `index`).  pandas.read_csv(f,
 * sep='\t', comment='#') and numpy.genfromtxt(f, names=True) both load it. */

/* Read the first dataset (rows until two consecutive blank lines) of a
 * numeric table into a rows×cols matrix.  '#' lines and single blank lines are
 * skipped; a first line with no number on it is the column names (their count
 * must match the rows').  EFORMAT (with the line number) for ragged rows,
 * non-numbers and non-finite values, or an empty table. */
SSM_MUST_CHECK ssm_status ssm_tsv_read(ssm_dmat_t A, const char *path);
SSM_MUST_CHECK ssm_status ssm_tsv_read_mem(ssm_dmat_t A, const char *buf, size_t len);

/* EINVAL unless `columns` (names separated by single spaces; NULL: the default
 * names col0 col1 …) holds ncols names of the form [A-Za-z_][A-Za-z0-9_]* that
 * are not numbers and not one numpy.genfromtxt renames (return, file, print):
 * the names pandas and genfromtxt both keep as written. */
SSM_MUST_CHECK ssm_status ssm_tsv_columns_check(const char *columns, size_t ncols);
/* Write the names line (tab-separated) and `header` (each line gets "# "
 * prefixed; may be NULL) to fp: the head of a table whose rows the caller
 * writes.  EINVAL for bad names (nothing written), EIO on a write error. */
SSM_MUST_CHECK ssm_status ssm_tsv_write_head(FILE *fp, const char *columns, size_t ncols, const char *header);
/* Print x as %.17g (NaN as "nan", whatever its sign bit) followed by sep;
 * fprintf's result. */
int ssm_tsv_print_double(FILE *fp, double x, char sep);
/* A whole table: the head, then the matrix with %.17g, tab-separated,
 * atomically to path, or to `stream` when path is NULL. */
SSM_MUST_CHECK ssm_status ssm_tsv_write_dmat(const char *path, FILE *stream, const char *columns, const char *header,
                                             const ssm_dmat_t A);
/* Same for an MPFR matrix, every entry printed with enough decimal digits to
 * round-trip at its precision (mpfr_get_str_ndigits). */
SSM_MUST_CHECK ssm_status ssm_tsv_write_mpmat(const char *path, FILE *stream, const char *columns, const char *header,
                                              const ssm_mpmat_t A);
/* Decimal digits that round-trip a binary precision of `prec` bits. */
size_t ssm_digits_for_prec(mpfr_prec_t prec);

/* ===================================================================== */
/* Progress bar (stderr, only when it is a TTY and not silenced)           */
/* ===================================================================== */

typedef struct ssm_progress ssm_progress;
/* enabled: the caller's decision (the CLI passes !quiet); the bar is drawn
 * only when also isatty(stderr).  *out is NULL (with SSM_OK) when no bar is
 * drawn; ENOMEM is reported.  Every function accepts NULL. */
SSM_MUST_CHECK ssm_status ssm_progress_create(ssm_progress **out, const char *label, uint64_t total, int enabled);
void ssm_progress_update(ssm_progress *p, uint64_t done);   /* redraws at most ~10 Hz */
void ssm_progress_free(ssm_progress *p);                   /* clears the line, frees */
/* A short text drawn after the ETA from the next redraw on (e.g. "loss 0.4127"; at most 47 bytes kept). */
void ssm_progress_set_note(ssm_progress *p, const char *note);
/* Erase the bar so that other output can start on a clean line; the next update redraws it. */
void ssm_progress_clear(ssm_progress *p);
/* Change the total when the amount of work is known only later. */
void ssm_progress_set_total(ssm_progress *p, uint64_t total);

#endif /* SSM_IO_H */
