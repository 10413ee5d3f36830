/**
 * @file xtrain.hpp
 * @brief Umbrella header: includes every public part of xtrain.
 */
#ifndef XTRAIN_XTRAIN_HPP
#define XTRAIN_XTRAIN_HPP

#include "xtrain/version.hpp"
#include "xtrain/core.hpp"
#include "xtrain/data.hpp"
#include "xtrain/experiment.hpp"
#include "xtrain/model.hpp"
#include "xtrain/optim.hpp"
#include "xtrain/train.hpp"

#endif
