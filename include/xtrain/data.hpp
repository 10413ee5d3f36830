/**
 * @file data.hpp
 * @brief Datasets, BatchSampler<Size>, IDX/CSV readers and synthetic tasks.
 */
#ifndef XTRAIN_DATA_HPP
#define XTRAIN_DATA_HPP

#endif
