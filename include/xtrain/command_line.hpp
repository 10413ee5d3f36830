/**
 * @file command_line.hpp
 * @brief xtrain's command-line conventions on CLI11, for programs (opt-in: needs CLI11's headers,
 *        Debian's libcli11-dev; the umbrella header does not include it).
 *
 * A program builds its flags onto a CLI::App with these helpers and calls parse_or_exit:
 *   - a single-value flag given twice is an error (CLI11's default policy, kept);
 *   - a list flag takes one comma-separated value (--lrs 0.01,0.1); empty items are refused;
 *   - numbers are checked by validators that name the flag and the value;
 *   - --help (or -h) prints the usage from the parser and exits with 0;
 *   - any mistake prints "PROGRAM: what is wrong" and "(see PROGRAM --help)" and exits with 2.
 * The main job's flags (sweep_main.hpp) and every example follow these rules.
 */
#ifndef XTRAIN_COMMAND_LINE_HPP
#define XTRAIN_COMMAND_LINE_HPP

#include <CLI/CLI.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <limits>
#include <optional>
#include <string>
#include <vector>

namespace xtrain::cli
{
    /** @brief Prints "PROGRAM: message" and the hint to --help on stderr, and exits with 2. */
    [[noreturn]] inline void fail(const std::string& program, const std::string& message)
    {
        std::fprintf(stderr, "%s: %s\n(see %s --help)\n", program.c_str(), message.c_str(), program.c_str());
        std::exit(2);
    }

    /** @brief An App named @p program with the examples' conventions (lowercase "usage:", -h/--help). */
    inline void configure(CLI::App& app, const std::string& program)
    {
        app.name(program);
        app.get_formatter()->label("Usage", "usage");
        app.get_formatter()->column_width(26);
        app.set_help_flag("-h,--help", "print this help and exit");
        // Unknown flags are collected and refused by parse_or_exit in the examples' own words.
        app.allow_extras();
        // A flag given twice is a mistake, not "the last one wins"; a switch takes no value.
        app.option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::Throw)->disable_flag_override();
    }

    /** @brief Parses, or prints the help (exit 0) or the mistake (exit 2). */
    inline void parse_or_exit(CLI::App& app, int argc, char** argv)
    {
        try
        {
            app.parse(argc, argv);
        }
        catch (const CLI::CallForHelp&)
        {
            std::fputs(app.help().c_str(), stdout);
            std::exit(0);
        }
        catch (const CLI::ParseError& e)
        {
            for (const CLI::Option* opt : app.get_options())
            {
                if (opt->count() > 1 && opt->get_items_expected_max() <= 1)
                {
                    fail(app.get_name(), opt->get_name() + " is given twice");
                }
            }
            fail(app.get_name(), e.what());
        }
        const std::vector<std::string> rest = app.remaining();
        if (!rest.empty())
        {
            const std::string& a = rest.front();
            fail(app.get_name(), a.rfind("-", 0) == 0 ? "unknown flag '" + a + "'"
                                                      : "unexpected argument '" + a + "' (flags start with --)");
        }
    }

    // -----------------------------------------------------------------------------------------
    // Validators: each names the value it refuses; CLI11 puts the flag's name in front.
    // -----------------------------------------------------------------------------------------

    /** @brief True when all of @p text is a finite number with a normal magnitude (or 0); sets @p out. */
    inline bool to_real(const std::string& text, double& out)
    {
        if (text.empty() || !CLI::detail::lexical_cast(text, out))
        {
            return false;
        }
        return std::isfinite(out) && (out == 0.0 || std::fabs(out) >= std::numeric_limits<double>::min());
    }

    /** @brief A finite number for which @p ok holds, described by @p what (e.g. "> 0", "in [0, 1)"). */
    inline CLI::Validator real(const std::string& what, std::function<bool(double)> ok)
    {
        return CLI::Validator(
            [what, ok](std::string& text) -> std::string {
                double v = 0.0;
                if (!to_real(text, v))
                {
                    return "'" + text + "' is not a number";
                }
                return ok(v) ? std::string() : "'" + text + "' must be " + what;
            },
            "");
    }

    /** @brief Any finite number. */
    inline CLI::Validator real()
    {
        return real("finite", [](double) { return true; });
    }

    /** @brief A whole number, > 0 unless @p zero_ok. */
    inline CLI::Validator count(bool zero_ok = false)
    {
        return CLI::Validator(
            [zero_ok](std::string& text) -> std::string {
                std::uint64_t v = 0;
                const bool digits = !text.empty() && text.find_first_not_of("0123456789") == std::string::npos;
                if (!digits || !CLI::detail::lexical_cast(text, v) || (!zero_ok && v == 0))
                {
                    return "'" + text + "' is not a " + std::string(zero_ok ? "non-negative" : "positive") + " whole number";
                }
                return std::string();
            },
            "");
    }

    // -----------------------------------------------------------------------------------------
    // Options
    // -----------------------------------------------------------------------------------------

    /** @brief Splits @p text at commas; an empty item (or an empty list) is a mistake. */
    inline std::vector<std::string> split_list(const std::string& flag, const std::string& text)
    {
        std::vector<std::string> items;
        std::size_t start = 0;
        while (start <= text.size())
        {
            const std::size_t end = std::min(text.find(',', start), text.size());
            items.push_back(text.substr(start, end - start));
            if (items.back().empty())
            {
                throw CLI::ValidationError(flag, "empty item in '" + text + "'");
            }
            start = end + 1;
        }
        return items;
    }

    /**
     * @brief A flag taking one comma-separated list into @p out (replacing its defaults); every item
     * must pass @p item (e.g. count(), real("> 0", ...)), and the message names the item.
     */
    template <class T>
    CLI::Option* add_list(CLI::App& app, const std::string& flag, std::vector<T>& out, const std::string& help,
                          CLI::Validator item = CLI::Validator())
    {
        auto set = [&out, flag, item](const std::string& text) {
            std::vector<T> values;
            for (std::string s : split_list(flag, text))
            {
                const std::string why = item(s);
                if (!why.empty())
                {
                    throw CLI::ValidationError(flag, why);
                }
                T v{};
                if (!CLI::detail::lexical_cast(s, v))
                {
                    throw CLI::ValidationError(flag, "'" + s + "' cannot be read");
                }
                values.push_back(v);
            }
            out = std::move(values);
        };
        return app.add_option_function<std::string>(flag, set, help)->type_name("LIST");
    }

    /** @brief A flag whose absence means "not given" (@p out stays empty), for defaults decided later. */
    template <class T>
    CLI::Option* add_optional(CLI::App& app, const std::string& flag, std::optional<T>& out, const std::string& help)
    {
        return app.add_option_function<T>(flag, [&out](const T& v) { out = v; }, help);
    }

    /** @brief The budget of a run: at most one of --epochs, --steps and --samples. */
    struct Budget
    {
        std::optional<std::uint64_t> epochs;
        std::optional<std::uint64_t> steps;
        std::optional<std::uint64_t> samples;
    };

    /** @brief Adds --epochs, --steps and --samples, each excluding the other two. */
    inline void add_budget(CLI::App& app, Budget& b, const std::string& epochs_help, const std::string& steps_help,
                           const std::string& samples_help)
    {
        CLI::Option* e = add_optional(app, "--epochs", b.epochs, epochs_help)->type_name("N")->check(count());
        CLI::Option* st = add_optional(app, "--steps", b.steps, steps_help)->type_name("N")->check(count());
        CLI::Option* sa = add_optional(app, "--samples", b.samples, samples_help)->type_name("N")->check(count());
        e->excludes(st)->excludes(sa);
        st->excludes(sa);
    }
}

#endif
