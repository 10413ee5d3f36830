/**
 * @file train.hpp
 * @brief Trainer, callbacks, history and checkpoints.
 */
#ifndef XTRAIN_TRAIN_HPP
#define XTRAIN_TRAIN_HPP

#endif
