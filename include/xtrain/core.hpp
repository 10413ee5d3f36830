/**
 * @file core.hpp
 * @brief What every area shares: parameter buffers, batches, random engines, errors, checkpoints I/O.
 */
#ifndef XTRAIN_CORE_HPP
#define XTRAIN_CORE_HPP

#include "xtrain/core/batch.hpp"
#include "xtrain/core/blas_threads.hpp"
#include "xtrain/core/checkpoint_format.hpp"
#include "xtrain/core/csv_record.hpp"
#include "xtrain/core/detect.hpp"
#include "xtrain/core/error.hpp"
#include "xtrain/core/extent.hpp"
#include "xtrain/core/file_io.hpp"
#include "xtrain/core/float_env.hpp"
#include "xtrain/core/param_buffer.hpp"
#include "xtrain/core/random.hpp"
#include "xtrain/core/run_jobs.hpp"
#include "xtrain/core/run_status.hpp"
#include "xtrain/core/serialize.hpp"

#endif
