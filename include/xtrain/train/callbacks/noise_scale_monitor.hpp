/**
 * @file noise_scale_monitor.hpp
 * @brief NoiseScaleMonitor: a callback measuring the gradient noise scale B_simple during training.
 */
#ifndef XTRAIN_TRAIN_CALLBACKS_NOISE_SCALE_MONITOR_HPP
#define XTRAIN_TRAIN_CALLBACKS_NOISE_SCALE_MONITOR_HPP

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <type_traits>
#include <vector>

#include <xtensor/xtensor.hpp>

#include "xtrain/core/batch.hpp"
#include "xtrain/model/model_traits.hpp"
#include "xtrain/train/gradient_noise_scale.hpp"

namespace xtrain
{
    /** @brief The gradient noise scale measured over one epoch. */
    struct NoiseScaleRecord
    {
        std::uint64_t epoch = 0;      ///< epochs completed
        std::uint64_t step = 0;       ///< updates so far
        double b_simple = 0.0;        ///< tr(Sigma) / |G|^2 over the epoch (NaN if the |G|^2 estimate is not positive)
        double grad_sq = 0.0;         ///< estimate of |G|^2 over the epoch
        double trace_sigma = 0.0;     ///< estimate of tr(Sigma) over the epoch
        std::size_t measurements = 0; ///< gradient pairs measured in the epoch
    };

    /**
     * @brief Measures the gradient noise scale B_simple = tr(Sigma) / |G|^2 during training
     * (McCandlish et al. 2018), one value per epoch.
     *
     * On measured updates, next to the batch gradient G_B the trainer just computed, it computes
     * the gradient of the first half of the same batch, G_{B/2}, into a buffer of its own. Over an
     * epoch it averages the two squared norms and turns the averages into |G|^2 and tr(Sigma) with
     * McCandlish et al.'s unbiased estimators (GradientNoiseScale::squared_gradient_estimate and
     * trace_estimate): a single pair is far too noisy at small batch sizes (the |G|^2 estimate is
     * often negative), an epoch's worth is not. It measures every `every` updates, more often if
     * that would give fewer than `min_per_epoch` measurements in an epoch. Batches of one sample
     * cannot be split and are skipped. `every = 0` switches it off.
     *
     * What a measurement costs: with a model that has gradient_of_first() (Sequential, MLP), a
     * backward pass over the half batch from the activations the batch's own pass left, with no
     * forward pass and no new dropout mask, so training follows the same trajectory with or
     * without the monitor. With any other model, a forward and backward pass over the half batch
     * through loss_and_gradient(); that pass draws new dropout masks, if the model has dropout.
     */
    template <class T>
    class NoiseScaleMonitor
    {
    public:
        /** @brief Measures every @p every updates, and at least @p min_per_epoch times per epoch. */
        explicit NoiseScaleMonitor(std::size_t every = 8, std::size_t min_per_epoch = 32)
            : m_every(every)
            , m_min_per_epoch(std::max<std::size_t>(1, min_per_epoch))
        {
        }

        /** @brief Starts the epoch's sums and chooses its measuring interval. */
        template <class Tr>
        void on_epoch_begin(Tr& t)
        {
            m_sum_small = m_sum_big = 0.0;
            m_count = 0;
            const std::uint64_t per_epoch = t.updates_per_epoch();
            m_interval = std::max<std::uint64_t>(1, std::min<std::uint64_t>(m_every, per_epoch / m_min_per_epoch));
        }

        /** @brief Measures on the current batch. */
        template <class Tr>
        void on_gradient(Tr& t, const Batch<T>& batch, const xt::xtensor<T, 1>& grad)
        {
            if (m_every == 0 || batch.size < 2 || t.step() % m_interval != 0)
            {
                return;
            }
            if (m_half_grad.size() != grad.size())
            {
                m_half_grad = xt::xtensor<T, 1>::from_shape({grad.size()});
            }
            Batch<T> half = batch;
            half.size = batch.size / 2;
            auto& model = t.model();
            bool done = false;
            if constexpr (has_gradient_of_first_v<std::decay_t<decltype(model)>>)
            {
                // Another callback may have run a forward pass since the batch's own: then the
                // half batch takes its own forward pass below.
                if (model.holds_backward_of(batch))
                {
                    model.gradient_of_first(batch, half.size, m_half_grad);
                    done = true;
                }
            }
            if (!done)
            {
                model.loss_and_gradient(half, m_half_grad);
            }
            if (m_count == 0)
            {
                m_b_small = static_cast<double>(half.size);
                m_b_big = static_cast<double>(batch.size);
            }
            // The partial last batch has other sizes; its pair is left out of the epoch's means.
            if (static_cast<double>(batch.size) == m_b_big)
            {
                m_sum_small += squared_norm(m_half_grad);
                m_sum_big += squared_norm(grad);
                ++m_count;
            }
        }

        /** @brief Records the epoch's estimate. */
        template <class Tr>
        void on_epoch_end(Tr& t)
        {
            if (m_every == 0)
            {
                return;
            }
            NoiseScaleRecord r;
            r.epoch = t.epoch();
            r.step = t.step();
            r.measurements = m_count;
            r.b_simple = r.grad_sq = r.trace_sigma = std::numeric_limits<double>::quiet_NaN();
            if (m_count > 0)
            {
                const double small = m_sum_small / static_cast<double>(m_count);
                const double big = m_sum_big / static_cast<double>(m_count);
                r.grad_sq = GradientNoiseScale::squared_gradient_estimate(m_b_small, small, m_b_big, big);
                r.trace_sigma = GradientNoiseScale::trace_estimate(m_b_small, small, m_b_big, big);
                if (r.grad_sq > 0.0)
                {
                    r.b_simple = r.trace_sigma / r.grad_sq;
                }
            }
            m_records.push_back(r);
        }

        /** @brief One record per completed epoch. */
        const std::vector<NoiseScaleRecord>& records() const noexcept { return m_records; }

    private:
        std::size_t m_every;
        std::size_t m_min_per_epoch;
        std::uint64_t m_interval = 1;
        double m_sum_small = 0.0;
        double m_sum_big = 0.0;
        std::size_t m_count = 0;
        double m_b_small = 0.0;
        double m_b_big = 0.0;
        xt::xtensor<T, 1> m_half_grad;
        std::vector<NoiseScaleRecord> m_records;
    };
}

#endif
