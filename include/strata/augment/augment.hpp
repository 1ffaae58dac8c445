// Image augmentation: every transform, normalization and the pipeline that
// composes them. Include this one header for all of strata::augment.
#pragma once

#include "geometric.hpp"
#include "normalize.hpp"
#include "photometric.hpp"
#include "pipeline.hpp"
#include "region.hpp"
#include "transform.hpp"
