/**
 * @file optimizer.hpp
 * @brief Optimizer<Policy>: owns an update rule's hyperparameters, state and learning rate, and steps buffers.
 *
 * The host does what every rule shares: it checks sizes, creates the rule's state on the first
 * step (one state per scalar type, so one object can step float and double buffers), walks the
 * segments of a ParamBuffer with their group settings, counts steps, carries the learning rate a
 * schedule sets, and writes and reads the state for checkpoints. The rule itself (a policy, see
 * policy.hpp) is one fused loop per segment. Nothing allocates after the first step.
 */
#ifndef XTRAIN_OPTIM_OPTIMIZER_HPP
#define XTRAIN_OPTIM_OPTIMIZER_HPP

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include <xtensor/xtensor.hpp>

#include "xtrain/core/error.hpp"
#include "xtrain/core/float_env.hpp"
#include "xtrain/core/param_buffer.hpp"
#include "xtrain/core/serialize.hpp"
#include "xtrain/optim/policy.hpp"

namespace xtrain
{
    namespace detail
    {
        /** @brief Writes each member a State's visit() hands it. */
        struct state_writer
        {
            BinaryWriter& out; ///< destination

            /** @brief A buffer: its name, then its values. */
            template <class V>
            void operator()(const char* name, const xt::xtensor<V, 1>& buffer) const
            {
                out.write_string(name);
                out.write_array(buffer.data(), buffer.size());
            }

            /** @brief A scalar: its name, then its value. */
            template <class V, std::enable_if_t<std::is_arithmetic_v<V>, int> = 0>
            void operator()(const char* name, const V& value) const
            {
                out.write_string(name);
                out.write(value);
            }
            /** @brief Anything else cannot be written: one readable error instead of a failed overload. */
            template <class V, std::enable_if_t<!std::is_arithmetic_v<V>, int> = 0>
            void operator()(const char*, const V&) const
            {
                static_assert(sizeof(V) == 0, "xtrain optimizer policy: State<T>::visit may hand over only "
                                              "xt::xtensor<T, 1> buffers and arithmetic values");
            }
        };

        /** @brief Reads each member a State's visit() hands it, checking names and sizes. */
        struct state_reader
        {
            BinaryReader& in; ///< source

            /** @brief Checks the next name is @p name. */
            void expect_name(const char* name) const
            {
                const std::string got = in.read_string(256);
                if (got != name)
                {
                    in.fail(concat("optimizer state: expected '", name, "' but found '", got, "'"));
                }
            }

            /** @brief A buffer, whose stored length must equal the size init() gave it. */
            template <class V>
            void operator()(const char* name, xt::xtensor<V, 1>& buffer) const
            {
                expect_name(name);
                in.read_array(buffer.data(), buffer.size(), concat("optimizer state '", name, "'"));
            }

            /** @brief A scalar. */
            template <class V, std::enable_if_t<std::is_arithmetic_v<V>, int> = 0>
            void operator()(const char* name, V& value) const
            {
                expect_name(name);
                value = in.read<V>();
            }
            /** @brief Anything else cannot be read (see state_writer). */
            template <class V, std::enable_if_t<!std::is_arithmetic_v<V>, int> = 0>
            void operator()(const char*, V&) const
            {
                static_assert(sizeof(V) == 0, "xtrain optimizer policy: State<T>::visit may hand over only "
                                              "xt::xtensor<T, 1> buffers and arithmetic values");
            }
        };
    }

    /**
     * @brief An optimizer: an update rule (the Policy) with its state and its current learning rate.
     *
     * @tparam Policy SGD, SGDClassic, Adam, AdamW, RMSprop, Adagrad, LARS, LAMB or a user's own
     *         rule meeting the requirement in policy.hpp (checked at compile time).
     *
     * The learning rate starts at `Policy::lr`; set_lr() changes the rate the next step uses (that
     * is how schedules are applied), lr() reports the rate in effect.
     */
    template <class Policy>
    class Optimizer
    {
        static_assert(check_optimizer_policy<Policy>(), "xtrain::Optimizer<Policy>: see the messages above");

    public:
        /** @brief The update rule and its hyperparameters. */
        using policy_type = Policy;
        /** @brief The rule's state for parameters of scalar type T. */
        template <class T>
        using state_type = detail::policy_state_t<Policy, T>;

        /** @brief Takes the hyperparameters. @throws std::invalid_argument naming an invalid one. */
        explicit Optimizer(const Policy& hyper = Policy{});

        /**
         * @brief One step over a flat buffer: params -= update(grads), as one segment.
         * @throws std::invalid_argument if the sizes differ, or differ from the size the state was made for.
         */
        template <class T>
        void step(xt::xtensor<T, 1>& params, const xt::xtensor<T, 1>& grads);

        /**
         * @brief One step over a parameter buffer, segment by segment, with each segment's group settings.
         *
         * A segment's lr_scale multiplies the learning rate, its weight_decay (when set) replaces the
         * policy's, and LARS/LAMB compute their trust ratios per segment (1 where layer_adaptation is off).
         * @throws std::invalid_argument if grads has another size than params.
         */
        template <class T>
        void step(ParamBuffer<T>& params, const xt::xtensor<T, 1>& grads);

        /**
         * @brief True when the next step on @p params is p -= lr() * g for every parameter: the
         * policy says its step is plain descent (`bool is_plain_descent() const`, SGD without
         * momentum or weight decay) and no segment has its own rate or weight decay.
         *
         * A caller that can compute that step without the gradient (a model's loss_and_descent)
         * may then do so and report it with record_fused_step(), which keeps the step count.
         */
        template <class T>
        bool plain_descent(const ParamBuffer<T>& params) const noexcept;
        /** @brief Counts a step that the caller applied itself (see plain_descent()). */
        template <class T>
        void record_fused_step(const ParamBuffer<T>& params);

        /** @brief The learning rate the next step uses. */
        double lr() const noexcept { return m_lr; }
        /** @brief Sets the learning rate for the next steps. @throws std::invalid_argument unless finite and >= 0. */
        void set_lr(double lr);
        /** @brief Number of steps taken since construction or reset(). */
        std::size_t step_count() const noexcept { return m_step_count; }
        /** @brief Back to the state right after construction: no state, step count 0, lr = Policy::lr. */
        void reset();
        /**
         * @brief Whether step() runs with subnormal values flushed to zero (true by default).
         *
         * A state that decays where the gradient is zero (Adam's moments, momentum buffers) passes
         * through the subnormal range, below 1.2e-38 in float, where each operation costs x86 about
         * a hundred cycles: on Fashion-MNIST, an Adam run at B = 8 took 4.5 times longer. With the
         * flush (FlushSubnormals, core/float_env.hpp) such values become zero instead, which changes
         * no value above 1.2e-38 (2.2e-308 in double). Switched off, the step leaves the thread's
         * mode as it is: IEEE arithmetic to the last subnormal bit, as PyTorch computes by default,
         * unless the thread already flushes (a program built with -ffast-math does). Where
         * FlushSubnormals::supported is false (aarch64) the setting has no effect. Not part of the
         * state: reset(), save() and load() leave it as it is, so a resumed run sets it again.
         */
        bool flush_subnormals() const noexcept { return m_flush_subnormals; }
        /** @brief See flush_subnormals(). */
        void set_flush_subnormals(bool on) noexcept { m_flush_subnormals = on; }
        /** @brief The hyperparameters (their lr is the initial rate; lr() is the current one). */
        const Policy& policy() const noexcept { return m_policy; }

        /** @brief The state for scalar type T, or nullptr before the first step with T. */
        template <class T>
        const state_type<T>* state() const noexcept
        {
            static_assert(std::is_same_v<T, float> || std::is_same_v<T, double>,
                          "xtrain::Optimizer::state<T>: T must be float or double");
            const Slot<T>& s = slot<T>();
            return s.created ? &s.state : nullptr;
        }

        /** @brief Number of parameters the state for scalar type T was made for (0 before the first step with T). */
        template <class T>
        std::size_t state_size() const noexcept
        {
            const Slot<T>& s = slot<T>();
            return s.created ? s.size : 0;
        }

        /**
         * @brief Writes the policy's name, the learning rate, the step count and every state.
         *
         * Hyperparameters are not written: a resumed run constructs its Optimizer with the same ones.
         */
        void save(BinaryWriter& out) const;

        /**
         * @brief Reads what save() wrote; afterwards steps continue bit-identically.
         *
         * @throws checkpoint_error if the state belongs to another policy, does not match the
         *         hyperparameters (e.g. amsgrad on one side only), was made for another number of
         *         parameters than a state this optimizer already holds, counts more steps in its states
         *         than in total, or the data is damaged.
         *         A state made for N parameters that is then stepped with another size also throws
         *         checkpoint_error. On error the optimizer is unchanged.
         */
        void load(BinaryReader& in) { load(in, 0); }

        /**
         * @brief Like load(in), for a model of @p parameters parameters (0: unknown): a state made for
         * another number is refused before anything is allocated for it (a damaged size cannot
         * ask for terabytes).
         */
        void load(BinaryReader& in, std::size_t parameters);

    private:
        template <class T>
        struct Slot
        {
            state_type<T> state{};
            std::size_t size = 0;
            std::size_t steps = 0;
            bool created = false;
            bool loaded = false;
        };

        template <class T>
        Slot<T>& slot() noexcept
        {
            if constexpr (std::is_same_v<T, float>)
            {
                return m_float;
            }
            else
            {
                return m_double;
            }
        }

        template <class T>
        const Slot<T>& slot() const noexcept
        {
            if constexpr (std::is_same_v<T, float>)
            {
                return m_float;
            }
            else
            {
                return m_double;
            }
        }

        template <class T>
        Slot<T>& prepare(std::size_t n, std::size_t grads_size)
        {
            static_assert(std::is_same_v<T, float> || std::is_same_v<T, double>,
                          "xtrain::Optimizer::step: parameters must be float or double");
            if (grads_size != n)
            {
                throw std::invalid_argument(detail::concat("xtrain::Optimizer::step: grads has ", grads_size,
                                                           " elements but params has ", n));
            }
            Slot<T>& s = slot<T>();
            if (!s.created)
            {
                state_type<T> fresh{};
                m_policy.init(fresh, n);
                s.state = std::move(fresh);
                s.size = n;
                s.steps = 0;
                s.created = true;
                s.loaded = false;
            }
            else if (s.size != n)
            {
                const std::string what = detail::concat(
                    "xtrain::Optimizer::step: params has ", n, " elements but the optimizer state was made for ", s.size,
                    s.loaded ? " (loaded from a checkpoint of another model?)" : " (call reset() to start over with another model)");
                if (s.loaded)
                {
                    throw checkpoint_error(what);
                }
                throw std::invalid_argument(what);
            }
            return s;
        }

        template <class T>
        void save_slot(BinaryWriter& out, const Slot<T>& s, std::string_view tag) const;

        template <class T>
        Slot<T> load_slot(BinaryReader& in, const Slot<T>& current, std::string_view tag, std::size_t parameters) const
        {
            in.expect_tag(tag);
            Slot<T> s;
            if (!in.read<bool>())
            {
                return s;
            }
            const auto size = in.read<std::uint64_t>();
            const auto steps = in.read<std::uint64_t>();
            if (current.created && current.size != size)
            {
                in.fail(detail::concat("the optimizer state (", tag, ") was made for ", size,
                                       " parameters but this optimizer steps ", current.size));
            }
            if (parameters != 0 && size != parameters)
            {
                in.fail(detail::concat("the optimizer state (", tag, ") was made for ", size,
                                       " parameters but the model has ", parameters));
            }
            if (size > (std::uint64_t(1) << 40))
            {
                in.fail(detail::concat("the optimizer state (", tag, ") claims ", size, " parameters"));
            }
            s.size = static_cast<std::size_t>(size);
            s.steps = static_cast<std::size_t>(steps);
            m_policy.init(s.state, s.size);
            s.state.visit(detail::state_reader{in});
            s.created = true;
            s.loaded = true;
            return s;
        }

        Policy m_policy;
        double m_lr = 0.0;
        std::size_t m_step_count = 0;
        bool m_flush_subnormals = true;
        Slot<float> m_float;
        Slot<double> m_double;
    };

    // ----------------------------------------------------------------------------------------------
    // Optimizer: definitions
    // ----------------------------------------------------------------------------------------------

    template <class Policy>
    Optimizer<Policy>::Optimizer(const Policy& hyper)
        : m_policy(hyper)
    {
        if constexpr (is_optimizer_policy_v<Policy>)
        {
            // The host checks lr itself as well, so that a user's validate() cannot forget it.
            const double lr = static_cast<double>(m_policy.lr);
            detail::require(detail::finite_nonnegative(lr), std::string("xtrain::") + std::string(Policy::name),
                            "lr", lr, "must be a finite number >= 0");
            m_policy.validate();
            m_lr = lr;
        }
    }

    template <class Policy>
    void Optimizer<Policy>::set_lr(double lr)
    {
        detail::require(detail::finite_nonnegative(lr), "xtrain::Optimizer::set_lr", "lr", lr,
                        "must be a finite number >= 0");
        m_lr = lr;
    }

    namespace detail
    {
        template <class P>
        using policy_plain_descent_t = decltype(bool(std::declval<const P&>().is_plain_descent()));
    }

    template <class Policy>
    template <class T>
    bool Optimizer<Policy>::plain_descent(const ParamBuffer<T>& params) const noexcept
    {
        if constexpr (detail::is_detected_v<detail::policy_plain_descent_t, Policy>)
        {
            if (!m_policy.is_plain_descent())
            {
                return false;
            }
            for (const Segment& seg : params.layout().segments())
            {
                if (seg.lr_scale != 1.0 || (seg.weight_decay && *seg.weight_decay != 0.0))
                {
                    return false;
                }
            }
            return true;
        }
        else
        {
            (void)params;
            return false;
        }
    }

    template <class Policy>
    template <class T>
    void Optimizer<Policy>::record_fused_step(const ParamBuffer<T>& params)
    {
        if constexpr (is_optimizer_policy_v<Policy>)
        {
            Slot<T>& s = prepare<T>(params.size(), params.size());
            ++s.steps;
            s.loaded = false;
            ++m_step_count;
        }
    }

    template <class Policy>
    void Optimizer<Policy>::reset()
    {
        m_lr = static_cast<double>(m_policy.lr);
        m_step_count = 0;
        m_float = Slot<float>{};
        m_double = Slot<double>{};
    }

    template <class Policy>
    template <class T>
    void Optimizer<Policy>::step(xt::xtensor<T, 1>& params, const xt::xtensor<T, 1>& grads)
    {
        if constexpr (is_optimizer_policy_v<Policy>)
        {
            const std::size_t n = params.size();
            Slot<T>& s = prepare<T>(n, grads.size());
            StepContext ctx;
            ctx.lr = m_lr;
            ctx.weight_decay = detail::policy_weight_decay(m_policy);
            ctx.layer_adaptation = true;
            ctx.step = s.steps + 1;
            ctx.offset = 0;
            {
                const FlushSubnormals flush(m_flush_subnormals);
                m_policy.update(s.state, ctx, params.data(), grads.data(), n);
            }
            ++s.steps;
            s.loaded = false;
            ++m_step_count;
        }
    }

    template <class Policy>
    template <class T>
    void Optimizer<Policy>::step(ParamBuffer<T>& params, const xt::xtensor<T, 1>& grads)
    {
        if constexpr (is_optimizer_policy_v<Policy>)
        {
            params.check_layout();
            const std::size_t n = params.size();
            Slot<T>& s = prepare<T>(n, grads.size());
            const double default_wd = detail::policy_weight_decay(m_policy);
            StepContext ctx;
            ctx.step = s.steps + 1;
            T* p = params.data();
            const T* g = grads.data();
            const FlushSubnormals flush(m_flush_subnormals);
            for (const Segment& seg : params.layout().segments())
            {
                ctx.lr = m_lr * seg.lr_scale;
                ctx.weight_decay = seg.weight_decay ? *seg.weight_decay : default_wd;
                ctx.layer_adaptation = seg.layer_adaptation;
                ctx.offset = seg.offset;
                m_policy.update(s.state, ctx, p + seg.offset, g + seg.offset, seg.size);
            }
            ++s.steps;
            s.loaded = false;
            ++m_step_count;
        }
    }

    template <class Policy>
    template <class T>
    void Optimizer<Policy>::save_slot(BinaryWriter& out, const Slot<T>& s, std::string_view tag) const
    {
        out.write_tag(tag);
        out.write(s.created);
        if (!s.created)
        {
            return;
        }
        out.write<std::uint64_t>(s.size);
        out.write<std::uint64_t>(s.steps);
        // visit() is a non-const member by the requirement's design (one function serves saving and
        // loading); the writer only reads what it is handed, so the object is never modified.
        const_cast<state_type<T>&>(s.state).visit(detail::state_writer{out});
    }

    template <class Policy>
    void Optimizer<Policy>::save(BinaryWriter& out) const
    {
        out.write_tag("xtrain::Optimizer");
        out.write_string(std::string_view(Policy::name));
        out.write(m_lr);
        out.write<std::uint64_t>(m_step_count);
        save_slot(out, m_float, "float");
        save_slot(out, m_double, "double");
    }

    template <class Policy>
    void Optimizer<Policy>::load(BinaryReader& in, std::size_t parameters)
    {
        in.expect_tag("xtrain::Optimizer");
        const std::string name = in.read_string(256);
        if (name != std::string_view(Policy::name))
        {
            in.fail(detail::concat("the optimizer state was written by policy '", name, "', this optimizer's policy is '",
                                   std::string_view(Policy::name), "'"));
        }
        const double lr = in.read<double>();
        if (!detail::finite_nonnegative(lr))
        {
            in.fail(detail::concat("the optimizer state holds an invalid learning rate ", lr));
        }
        const auto count = in.read<std::uint64_t>();
        Slot<float> f = load_slot<float>(in, m_float, "float", parameters);
        Slot<double> d = load_slot<double>(in, m_double, "double", parameters);
        // Every step steps exactly one of the two states and counts once in the total.
        if (f.steps > count || d.steps > count - f.steps || f.steps + d.steps != count)
        {
            in.fail(detail::concat("the optimizer counts ", count, " steps in total but its states count ", f.steps,
                                   " (float) and ", d.steps, " (double)"));
        }
        // Everything was read and checked: only now does the optimizer change.
        m_lr = lr;
        m_step_count = static_cast<std::size_t>(count);
        m_float = std::move(f);
        m_double = std::move(d);
    }
}

#endif
