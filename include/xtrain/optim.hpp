/**
 * @file optim.hpp
 * @brief Optimizers (Optimizer<Policy>, SGD, Adam, ...) and learning-rate schedules.
 */
#ifndef XTRAIN_OPTIM_HPP
#define XTRAIN_OPTIM_HPP

#include "xtrain/optim/policy.hpp"
#include "xtrain/optim/optimizer.hpp"
#include "xtrain/optim/sgd.hpp"
#include "xtrain/optim/sgd_classic.hpp"
#include "xtrain/optim/adam.hpp"
#include "xtrain/optim/rmsprop.hpp"
#include "xtrain/optim/adagrad.hpp"
#include "xtrain/optim/lars.hpp"
#include "xtrain/optim/lamb.hpp"
#include "xtrain/optim/schedule.hpp"
#include "xtrain/optim/schedules.hpp"
#include "xtrain/optim/reduce_lr_on_plateau.hpp"
#include "xtrain/optim/lr_scaling.hpp"

#endif
