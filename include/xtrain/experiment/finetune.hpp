/**
 * @file finetune.hpp
 * @brief Fine-tuning as settings of a sweep: the weights a run starts from, and per-tensor
 * learning-rate multipliers (0 freezes) and weight decays.
 *
 * ```cpp
 * xtrain::RunSettings settings;
 * settings.finetune.initial_parameters = "pretrained.xtp";  // save_parameters() or a Trainer checkpoint
 * settings.finetune.load.exclude = {"10.*"};                // a new head: keep its initialisation
 * settings.finetune.freeze("0.*").freeze("3.*");            // the convolutions do not move
 * settings.finetune.scale_lr("7.*", 0.1);                   // the dense body at a tenth of the rate
 * ```
 * make_trainer_run applies them to every run's model right after `make_model(seed)` builds it
 * (apply_finetuning): the selected tensors are loaded from the file, then each rule sets the
 * learning-rate scale (and weight decay) of the parameter-buffer segments its glob matches, which
 * the optimizer reads on every step (ParamLayout, core/param_buffer.hpp). describe() enters the
 * sweep's fingerprint, with the CRC-32 of the file, so a resume with other fine-tuning settings or
 * other initial weights is refused.
 *
 * A frozen tensor (multiplier 0) is not changed by any optimizer (the update, weight decay
 * included, is scaled by the learning rate), but its gradient is still computed.
 */
#ifndef XTRAIN_EXPERIMENT_FINETUNE_HPP
#define XTRAIN_EXPERIMENT_FINETUNE_HPP

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "xtrain/core/error.hpp"
#include "xtrain/core/param_buffer.hpp"
#include "xtrain/model/parameters_file.hpp"

namespace xtrain
{
    /** @brief A parameter group: the tensors a glob matches, with their learning-rate multiplier and weight decay. */
    struct ParameterGroupRule
    {
        std::string pattern;                ///< glob over tensor names, e.g. "0.*" ('*' any run, '?' one character)
        double lr_scale = 1.0;              ///< multiplies the run's learning rate there; 0 freezes
        std::optional<double> weight_decay; ///< replaces the optimizer's weight decay there when set
    };

    /** @brief Where a run's weights come from, and how fast each tensor may move (RunSettings::finetune). */
    struct FineTuning
    {
        /** @brief A parameters file (save_parameters) or a Trainer checkpoint; empty: the model's own initialisation. */
        std::filesystem::path initial_parameters;
        /** @brief Which tensors to load from it (default: all, and the names and shapes must match exactly). */
        ParameterSelection load;
        /** @brief Applied in order: where two rules match a tensor, the later one wins. */
        std::vector<ParameterGroupRule> groups;

        /** @brief Adds a rule: the tensors matching @p pattern do not move (lr multiplier 0). */
        FineTuning& freeze(std::string pattern)
        {
            groups.push_back({std::move(pattern), 0.0, std::nullopt});
            return *this;
        }

        /** @brief Adds a rule: the tensors matching @p pattern train at @p lr_scale times the run's rate. */
        FineTuning& scale_lr(std::string pattern, double lr_scale)
        {
            groups.push_back({std::move(pattern), lr_scale, std::nullopt});
            return *this;
        }

        /** @brief True when anything is set (else runs start from make_model as they are). */
        bool enabled() const noexcept
        {
            return !initial_parameters.empty() || !groups.empty() || !load.everything();
        }

        /**
         * @brief Checks the settings and the file: @throws std::invalid_argument for an empty glob,
         * a negative or non-finite multiplier or weight decay, a load selection without a file, or
         * an include glob that matches no tensor of the file; checkpoint_error (naming the path)
         * for an absent, damaged or foreign file.
         */
        void validate() const
        {
            const char* where = "xtrain::FineTuning";
            load.validate();
            for (const ParameterGroupRule& g : groups)
            {
                if (g.pattern.empty())
                {
                    throw std::invalid_argument(detail::concat(where, ": a parameter group has an empty glob"));
                }
                detail::require(std::isfinite(g.lr_scale) && g.lr_scale >= 0.0, where,
                                detail::concat("the lr multiplier of '", g.pattern, "'"), g.lr_scale, "must be finite and >= 0");
                if (g.weight_decay)
                {
                    detail::require(std::isfinite(*g.weight_decay) && *g.weight_decay >= 0.0, where,
                                    detail::concat("the weight decay of '", g.pattern, "'"), *g.weight_decay,
                                    "must be finite and >= 0");
                }
            }
            if (initial_parameters.empty())
            {
                if (!load.everything())
                {
                    throw std::invalid_argument(detail::concat(
                        where, ": a selection of tensors to load (", load.describe(), ") but no initial_parameters file"));
                }
                return;
            }
            const ParametersFileInfo info = read_parameters_info(initial_parameters);
            for (const std::string& g : load.include)
            {
                bool hit = false;
                for (const StoredTensor& t : info.tensors)
                {
                    hit = hit || detail::glob_match(g, t.name);
                }
                if (!hit)
                {
                    throw std::invalid_argument(detail::concat(
                        where, ": the include glob '", g, "' matches no tensor of ", info.path, " (it holds: ",
                        detail::tensor_list(info.tensors, [](const StoredTensor& t) { return t.name; },
                                            [](const StoredTensor& t) { return t.shape; }),
                        ")"));
                }
            }
        }

        /**
         * @brief For the sweep's fingerprint: the file by its contents (CRC-32, not its path), the
         * selection and the rules, e.g. "fine-tuning from parameters with CRC-32 1a2b3c4d (all but
         * 10.*), lr x0 on 0.*". Empty when nothing is set. @throws checkpoint_error if the file
         * cannot be read.
         */
        std::string describe() const
        {
            if (!enabled())
            {
                return {};
            }
            std::string s = "fine-tuning";
            if (!initial_parameters.empty())
            {
                const ParametersFileInfo info = read_parameters_info(initial_parameters);
                char crc[16];
                std::snprintf(crc, sizeof crc, "%08x", static_cast<unsigned>(info.crc));
                s += detail::concat(" from a ", info.kind, " with CRC-32 ", crc, " (", load.describe(), ")");
            }
            else
            {
                s += " from the model's initialisation";
            }
            for (const ParameterGroupRule& g : groups)
            {
                s += detail::concat(", lr x", g.lr_scale, " on ", g.pattern);
                if (g.weight_decay)
                {
                    s += detail::concat(" with weight decay ", *g.weight_decay);
                }
            }
            return s;
        }
    };

    /**
     * @brief Applies @p ft to the parameters @p params: loads the selected tensors of the file,
     * then sets the group rules. @returns what was loaded (empty without a file).
     * @throws std::invalid_argument for a glob that matches no tensor (the message lists them);
     * checkpoint_error from load_parameters.
     */
    template <class T>
    LoadReport apply_finetuning(ParamBuffer<T>& params, const FineTuning& ft)
    {
        // Every glob is checked before anything changes.
        for (const ParameterGroupRule& g : ft.groups)
        {
            detail::require_globs_match({g.pattern}, "parameter-group", params.layout(), "xtrain::FineTuning");
        }
        LoadReport report;
        if (!ft.initial_parameters.empty())
        {
            report = load_parameters(params, ft.initial_parameters, ft.load);
        }
        for (const ParameterGroupRule& g : ft.groups)
        {
            params.layout().set_lr_scale(g.pattern, g.lr_scale);
            if (g.weight_decay)
            {
                params.layout().set_weight_decay(g.pattern, *g.weight_decay);
            }
        }
        return report;
    }

    /**
     * @brief @p model with @p ft applied (make_trainer_run calls it on every run's new model):
     * `Trainer t(apply_finetuning(make_model(seed), settings.finetune), ...)`.
     */
    template <class Model, class = decltype(std::declval<Model&>().parameters())>
    Model apply_finetuning(Model model, const FineTuning& ft)
    {
        if (ft.enabled())
        {
            apply_finetuning(model.parameters(), ft);
        }
        return model;
    }

    /**
     * @brief Checks, without changing @p model, that @p ft fits it: every glob matches a tensor and
     * the file's tensors load. Call it before a sweep (with a model built like the runs' models) to
     * refuse a mistake before anything is written. @returns what a run would load.
     */
    template <class Model, class = decltype(std::declval<const Model&>().parameters())>
    LoadReport check_finetuning(const Model& model, const FineTuning& ft)
    {
        ft.validate();
        auto params = model.parameters();  // a copy: the check loads into it
        return apply_finetuning(params, ft);
    }
}

#endif
