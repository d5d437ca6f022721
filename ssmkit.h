/* ssmkit.h — umbrella header of libssmkit.
 * Stages: core/ (plumbing) → hippo/ (construction) → diag/ → analysis/ → train/. */
#ifndef SSMKIT_H
#define SSMKIT_H

#include "core/core.h"
#include "hippo/hippo.h"
#include "diag/diag.h"
#include "analysis/analysis.h"
#include "train/train.h"

#endif
