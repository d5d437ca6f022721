/* hippo/hippo_impl.h — internal: the exact form of one matrix entry. */
#ifndef SSM_HIPPO_IMPL_H
#define SSM_HIPPO_IMPL_H

#include "hippo/hippo.h"

typedef enum {
    HIPPO_RATIONAL, /* sign · num / den                                  */
    HIPPO_SQRT,     /* sign · sqrt(num / den), den a power of two         */
    HIPPO_PI        /* sign · num · π (den = 1)                           */
} hippo_kind;

typedef struct {
    hippo_kind kind;
    int sign;           /* -1, 0 (the entry is zero) or +1 */
    uint64_t num, den;  /* num < 2^53, den >= 1 */
} hippo_exact;

typedef enum { HIPPO_A, HIPPO_B, HIPPO_P } hippo_which;

/* Exact form of entry (n, k) of A; of B_n (k = 0); of P (state n, row k). */
hippo_exact hippo_entry(ssm_hippo_measure m, size_t N, hippo_which w, size_t n, size_t k);

#endif
