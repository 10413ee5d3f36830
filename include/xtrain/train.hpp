/**
 * @file train.hpp
 * @brief Trainer, callbacks, history and checkpoints.
 */
#ifndef XTRAIN_TRAIN_HPP
#define XTRAIN_TRAIN_HPP

#include "xtrain/train/callback.hpp"
#include "xtrain/train/callbacks/batch_size_scheduler.hpp"
#include "xtrain/train/callbacks/checkpoint_saver.hpp"
#include "xtrain/train/callbacks/csv_logger.hpp"
#include "xtrain/train/callbacks/divergence_guard.hpp"
#include "xtrain/train/callbacks/early_stopping.hpp"
#include "xtrain/train/callbacks/lr_scheduler.hpp"
#include "xtrain/train/callbacks/noise_scale_monitor.hpp"
#include "xtrain/train/callbacks/progress_bar.hpp"
#include "xtrain/train/callbacks/root_only.hpp"
#include "xtrain/train/checkpoint_checks.hpp"
#include "xtrain/train/gradient_noise_scale.hpp"
#include "xtrain/train/history.hpp"
#include "xtrain/train/trainer.hpp"

#endif
