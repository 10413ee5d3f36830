/**
 * @file data.hpp
 * @brief Datasets, BatchSampler<Size>, BatchBuffer, IDX/CSV readers, splits and synthetic tasks.
 */
#ifndef XTRAIN_DATA_HPP
#define XTRAIN_DATA_HPP

#include "xtrain/data/batch_buffer.hpp"
#include "xtrain/data/batch_sampler.hpp"
#include "xtrain/data/csv.hpp"
#include "xtrain/data/dataset.hpp"
#include "xtrain/data/fashion_mnist.hpp"
#include "xtrain/data/idx.hpp"
#include "xtrain/data/rank_slice.hpp"
#include "xtrain/data/split.hpp"
#include "xtrain/data/synthetic.hpp"

#endif
