/**
 * @file optim.hpp
 * @brief Optimizers (Optimizer<Policy>, SGD, Adam, ...) and learning-rate schedules.
 */
#ifndef XTRAIN_OPTIM_HPP
#define XTRAIN_OPTIM_HPP

#endif
