/**
 * @file experiment.hpp
 * @brief Sweeps over learning rate x batch size x optimizer x seed, their analysis and figures.
 *
 * See docs/sweeps.md. The engine calls a user-supplied run function per run, so this part of
 * xtrain depends on core/ only; a Trainer-based run function plugs into run_sweep().
 */
#ifndef XTRAIN_EXPERIMENT_HPP
#define XTRAIN_EXPERIMENT_HPP

#include "xtrain/experiment/analysis.hpp"
#include "xtrain/experiment/eval_sink.hpp"
#include "xtrain/experiment/figures.hpp"
#include "xtrain/experiment/finetune.hpp"
#include "xtrain/experiment/folder_lock.hpp"
#include "xtrain/experiment/guard_check.hpp"
#include "xtrain/experiment/merge_results.hpp"
#include "xtrain/experiment/noise_scale_files.hpp"
#include "xtrain/experiment/results_folder.hpp"
#include "xtrain/experiment/run_summary.hpp"
#include "xtrain/experiment/run_sweep.hpp"
#include "xtrain/experiment/run_transfer.hpp"
#include "xtrain/experiment/shard_spec.hpp"
#include "xtrain/experiment/sweep_config.hpp"
#include "xtrain/experiment/sweep_grid.hpp"
#include "xtrain/experiment/sweep_optimizers.hpp"
#include "xtrain/experiment/sweep_progress.hpp"
#include "xtrain/experiment/sweep_schedules.hpp"
#include "xtrain/experiment/target.hpp"
#include "xtrain/experiment/trainer_run.hpp"

#endif
