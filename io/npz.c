/* io/npz.c — NumPy .npz archives: a ZIP of .npy members, as np.savez (stored) and
 * np.savez_compressed (deflated) write them, ZIP64 included.
 *
 * The ZIP container is read by libzip (Debian libzip-dev) from the bytes in memory, with its
 * consistency checks on (ZIP_CHECKCONS: the central directory against the local headers) and the
 * CRC-32 of every member verified as it is read to its end; each member then goes through the
 * hardened .npy parser (io/npy.c).  Refused, with a one-line reason: encrypted members, member
 * names that are not NAME.npy (folders, other files), duplicate names, more than 4096 members, a
 * member whose stated size is above half the machine's memory or above what its compressed bytes
 * can inflate to (refused before any allocation), and a member that decompresses to fewer or more bytes than its header states.
 * Reference: numpy.lib.npyio (savez), APPNOTE.TXT (the ZIP format). */
#define _POSIX_C_SOURCE 200809L
#include "io/io.h"

#include <stdlib.h>
#include <string.h>
#include <zip.h>

enum { NPZ_MAX_MEMBERS = 4096, NPZ_MAX_NAME = 255 };

void ssm_npz_clear(ssm_npz *z)
{
    for (size_t i = 0; i < z->count; i++) {
        free(z->names[i]);
        ssm_npy_clear(&z->arrays[i]);
    }
    free(z->names);
    free(z->arrays);
    memset(z, 0, sizeof *z);
}

const ssm_npy *ssm_npz_get(const ssm_npz *z, const char *name)
{
    for (size_t i = 0; i < z->count; i++)
        if (strcmp(z->names[i], name) == 0)
            return &z->arrays[i];
    return NULL;
}

/* the member's name without ".npy", checked (no folders, unique) */
static ssm_status member_name(char **out, const ssm_npz *z, const char *name)
{
    size_t n = strlen(name);
    if (n < 5 || strcmp(name + n - 4, ".npy") != 0 || strchr(name, '/') || n > NPZ_MAX_NAME)
        return SSM_ERROR(SSM_EFORMAT, "npz: member '%.80s' is not NAME.npy (an .npz holds .npy arrays only)", name);
    char *s = malloc(n - 3);
    if (!s)
        return SSM_ERROR(SSM_ENOMEM, "npz: out of memory");
    memcpy(s, name, n - 4);
    s[n - 4] = '\0';
    if (ssm_npz_get(z, s)) {
        free(s);
        return SSM_ERROR(SSM_EFORMAT, "npz: member '%.80s' appears twice", name);
    }
    *out = s;
    return SSM_OK;
}

/* read member i whole (its stated size, then the end: libzip checks the CRC there) and parse it */
static ssm_status read_member(ssm_npz *z, zip_t *za, zip_uint64_t i, size_t cap)
{
    zip_stat_t st;
    zip_stat_init(&st);
    if (zip_stat_index(za, i, 0, &st) != 0 || !(st.valid & ZIP_STAT_NAME) || !(st.valid & ZIP_STAT_SIZE))
        return SSM_ERROR(SSM_EFORMAT, "npz: cannot read the directory entry of member %llu: %s",
                         (unsigned long long)i, zip_strerror(za));
    if ((st.valid & ZIP_STAT_ENCRYPTION_METHOD) && st.encryption_method != ZIP_EM_NONE)
        return SSM_ERROR(SSM_EFORMAT, "npz: member '%.80s' is encrypted", st.name);
    if (st.size > cap)
        return SSM_ERROR(SSM_EFORMAT, "npz: member '%.80s' states %llu bytes, above the %zu this machine allows",
                         st.name, (unsigned long long)st.size, cap);
    /* deflate expands at most ~1032:1 (RFC 1951: 258 bytes from a 2-bit code); a member stating more
     * than its compressed bytes can hold is refused before its buffer is allocated */
    if ((st.valid & ZIP_STAT_COMP_SIZE) && st.size / 1100 > st.comp_size + 4)
        return SSM_ERROR(SSM_EFORMAT, "npz: member '%.80s' states %llu bytes from %llu compressed ones (more than "
                         "deflate can produce)", st.name, (unsigned long long)st.size, (unsigned long long)st.comp_size);
    char *name = NULL;
    ssm_status s = member_name(&name, z, st.name);
    if (s != SSM_OK)
        return s;
    size_t len = (size_t)st.size;
    unsigned char *buf = malloc(len ? len : 1), extra;
    zip_file_t *zf = buf ? zip_fopen_index(za, i, 0) : NULL;
    if (!buf)
        s = SSM_ERROR(SSM_ENOMEM, "npz: cannot allocate %zu bytes for member '%.80s'", len, st.name);
    else if (!zf)
        s = SSM_ERROR(SSM_EFORMAT, "npz: cannot open member '%.80s': %s", st.name, zip_strerror(za));
    else {
        zip_int64_t got = len ? zip_fread(zf, buf, len) : 0;
        zip_int64_t more = got == (zip_int64_t)len ? zip_fread(zf, &extra, 1) : 0;
        if (got < 0 || more < 0)
            s = SSM_ERROR(SSM_EFORMAT, "npz: member '%.80s': %s", st.name, zip_file_strerror(zf));
        else if (got != (zip_int64_t)len || more != 0)
            s = SSM_ERROR(SSM_EFORMAT, "npz: member '%.80s' holds %s bytes than its header states (%zu)", st.name,
                          more ? "more" : "fewer", len);
        zip_fclose(zf);
    }
    ssm_npy a;
    memset(&a, 0, sizeof a);
    if (s == SSM_OK && (s = ssm_npy_read_mem(&a, buf, len)) != SSM_OK) {
        char why[400];
        snprintf(why, sizeof why, "%s", ssm_error_message());
        s = SSM_ERROR(s, "npz: member '%.80s': %s", st.name, why);
    }
    free(buf);
    if (s != SSM_OK) {
        free(name);
        return s;
    }
    z->names[z->count] = name;
    z->arrays[z->count++] = a;
    return SSM_OK;
}

ssm_status ssm_npz_read_mem(ssm_npz *z, const unsigned char *buf, size_t len)
{
    memset(z, 0, sizeof *z);
    if (len < 22 || buf[0] != 'P' || buf[1] != 'K')
        return SSM_ERROR(SSM_EFORMAT, "npz: not a ZIP archive (np.savez writes one)");
    zip_error_t ze;
    zip_error_init(&ze);
    zip_source_t *src = zip_source_buffer_create(buf, len, 0, &ze);
    zip_t *za = src ? zip_open_from_source(src, ZIP_RDONLY | ZIP_CHECKCONS, &ze) : NULL;
    if (!za) {
        ssm_status s = SSM_ERROR(zip_error_code_zip(&ze) == ZIP_ER_MEMORY ? SSM_ENOMEM : SSM_EFORMAT,
                                 "npz: not a readable ZIP archive: %s", zip_error_strerror(&ze));
        zip_source_free(src);
        zip_error_fini(&ze);
        return s;
    }
    zip_error_fini(&ze);
    zip_int64_t n = zip_get_num_entries(za, 0);
    ssm_status s = SSM_OK;
    if (n <= 0 || n > NPZ_MAX_MEMBERS)
        s = SSM_ERROR(SSM_EFORMAT, "npz: %lld members (1 .. %d supported)", (long long)n, NPZ_MAX_MEMBERS);
    else if (!(z->names = calloc((size_t)n, sizeof *z->names)) || !(z->arrays = calloc((size_t)n, sizeof *z->arrays)))
        s = SSM_ERROR(SSM_ENOMEM, "npz: out of memory");
    size_t mem = ssm_physical_memory(), cap = mem ? mem / 2 : (size_t)1 << 34;
    for (zip_int64_t i = 0; s == SSM_OK && i < n; i++)
        s = read_member(z, za, (zip_uint64_t)i, cap);
    zip_discard(za); /* read-only: frees the source too, never touches buf */
    if (s != SSM_OK)
        ssm_npz_clear(z);
    return s;
}

static ssm_status npz_parse(void *out, const unsigned char *buf, size_t len)
{
    return ssm_npz_read_mem(out, buf, len);
}

ssm_status ssm_npz_read(ssm_npz *z, const char *path)
{
    memset(z, 0, sizeof *z);
    return ssm_parse_file(path, npz_parse, z);
}
