/**
 * @file experiment.hpp
 * @brief Sweeps over learning rate x batch size x optimizer x seed, their analysis and figures.
 */
#ifndef XTRAIN_EXPERIMENT_HPP
#define XTRAIN_EXPERIMENT_HPP

#endif
