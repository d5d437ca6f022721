/* ssmkit.h — umbrella header of libssmkit.
 * Stages, each using only those before it: core/ (plumbing) → io/ (files) →
 * hippo/ (construction) → diag/ (decomposition) → analysis/ (measures) →
 * init/ (init files) → train/ (the engine). */
#ifndef SSMKIT_H
#define SSMKIT_H

#include "core/core.h"
#include "io/io.h"
#include "hippo/hippo.h"
#include "diag/diag.h"
#include "analysis/analysis.h"
#include "init/init.h"
#include "train/train.h"

#endif
