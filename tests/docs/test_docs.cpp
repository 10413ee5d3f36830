// The user guide cannot rot: every C++ block of docs/*.md is compiled by a test (the page's own
// text, included from doc_snippets/) or, for a declaration listing, found in the headers it names;
// every public field of the settings structs is in its page's table. The blocks that no other area
// compiles are compiled here.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <xtrain/sweep_main.hpp>
#include <xtrain/xtrain.hpp>

#include "docs/doc_pages.hpp"

namespace fs = std::filesystem;
using namespace xtrain::test::docs;

namespace
{
    const fs::path source_root = fs::path(XTRAIN_TEST_DATA_DIR).parent_path().parent_path();

    std::vector<std::string> page_names()
    {
        std::vector<std::string> names;
        for (const auto& entry : fs::directory_iterator(source_root / "docs"))
        {
            if (entry.path().extension() == ".md")
            {
                names.push_back(entry.path().filename().string());
            }
        }
        std::sort(names.begin(), names.end());
        return names;
    }

    // Every `#include "doc_snippets/NAME.inc"` line of the test sources, by name.
    std::map<std::string, std::vector<std::string>> snippet_includes()
    {
        std::map<std::string, std::vector<std::string>> found;
        const std::string prefix = "#include \"doc_snippets/";
        for (const auto& entry : fs::recursive_directory_iterator(source_root / "tests"))
        {
            const auto ext = entry.path().extension();
            if (!entry.is_regular_file() || (ext != ".cpp" && ext != ".hpp"))
            {
                continue;
            }
            for (const std::string& line : split_lines(read_text(entry.path())))
            {
                const std::string t = trim(line);
                if (t.rfind(prefix, 0) == 0 && t.size() > prefix.size() + 5 && t.compare(t.size() - 5, 5, ".inc\"") == 0)
                {
                    found[t.substr(prefix.size(), t.size() - prefix.size() - 5)].push_back(
                        fs::relative(entry.path(), source_root).string());
                }
            }
        }
        return found;
    }

    std::string after(const std::string& marker, const std::string& kind)
    {
        const std::string open = "<!-- " + kind + ": ";
        if (marker.rfind(open, 0) != 0 || marker.size() < open.size() + 4
            || marker.compare(marker.size() - 4, 4, " -->") != 0)
        {
            return "";
        }
        return marker.substr(open.size(), marker.size() - open.size() - 4);
    }

    std::string join(const std::vector<std::string>& items, const char* sep)
    {
        std::string out;
        for (const std::string& s : items)
        {
            out += (out.empty() ? "" : sep) + s;
        }
        return out;
    }
}

TEST_CASE("Every C++ block of docs/*.md is compiled by a test or checked against the headers", "[docs]")
{
    const auto includes = snippet_includes();
    std::vector<std::string> problems;
    std::set<std::string> snippets;
    std::map<std::string, std::size_t> per_page;
    for (const std::string& page : page_names())
    {
        for (const CodeBlock& b : cpp_blocks(source_root / "docs" / page, "docs/" + page))
        {
            ++per_page[page];
            const std::string name = after(b.marker, "snippet");
            const std::string headers = after(b.marker, "declarations");
            const std::string source = after(b.marker, "excerpt");
            if (!name.empty())
            {
                if (!snippets.insert(name).second)
                {
                    problems.push_back(b.where() + ": the snippet name '" + name + "' is used twice");
                }
                if (includes.count(name) == 0)
                {
                    problems.push_back(b.where() + ": no test compiles it: add #include \"doc_snippets/" + name
                                       + ".inc\" to a test under tests/ where its names are defined");
                }
            }
            else if (!headers.empty())
            {
                std::string text;
                std::istringstream in(headers);
                std::string header;
                while (in >> header)
                {
                    text += normalize_cpp(read_text(source_root / "include" / header));
                }
                for (const std::string& piece : declaration_pieces(b.lines))
                {
                    if (text.find(piece) == std::string::npos)
                    {
                        problems.push_back(b.where() + ": '" + piece + "' is not declared so in " + headers);
                    }
                }
            }
            else if (!source.empty())
            {
                // An excerpt of an example: compiled and run as that example's smoke test.
                auto lines_of = [](const std::vector<std::string>& text) {
                    std::vector<std::string> out;
                    for (const std::string& l : text)
                    {
                        if (!trim(l).empty())
                        {
                            out.push_back(normalize_cpp(l));
                        }
                    }
                    return out;
                };
                const std::vector<std::string> block = lines_of(b.lines);
                const std::vector<std::string> program = lines_of(split_lines(read_text(source_root / source)));
                if (source.rfind("examples/", 0) != 0
                    || std::search(program.begin(), program.end(), block.begin(), block.end()) == program.end())
                {
                    problems.push_back(b.where() + ": not found, line for line, in " + source
                                       + " (an example, built and run by ctest)");
                }
            }
            else
            {
                problems.push_back(b.where()
                                   + ": neither compiled nor checked: put '<!-- snippet: name -->' on the line "
                                     "before the fence and #include \"doc_snippets/name.inc\" in a test, or, for a "
                                     "listing of declarations, '<!-- declarations: xtrain/area/header.hpp ... -->', or, for "
                                     "lines of an example, '<!-- excerpt: examples/name.cpp -->'");
            }
        }
    }
    // A test that includes a snippet the pages no longer have would compile a stale copy.
    for (const auto& [name, files] : includes)
    {
        if (snippets.count(name) == 0)
        {
            problems.push_back(join(files, ", ") + ": includes doc_snippets/" + name
                               + ".inc, which no page marks with '<!-- snippet: " + name + " -->'");
        }
    }
    INFO(join(problems, "\n"));
    CHECK(problems.empty());
    // The pages with code: the scan must have found their blocks (a changed fence would hide them).
    for (const char* page : {"architecture.md", "data.md", "models.md", "optimizers.md", "scenarios.md", "sweeps.md",
                             "training.md"})
    {
        INFO(page);
        CHECK(per_page[page] > 0);
    }
}

TEST_CASE("The declaration check finds a changed signature, and accepts other parameter names", "[docs]")
{
    const std::string header = normalize_cpp("/** doc */ void set_lr(double lr);\n"
                                             "explicit BatchSampler(std::size_t num_samples, SamplerOptions options = {})\n"
                                             "{ m_n = num_samples; }\n");
    auto declared = [&](const std::string& listing) {
        for (const std::string& piece : declaration_pieces({listing}))
        {
            if (header.find(piece) == std::string::npos)
            {
                return false;
            }
        }
        return true;
    };
    CHECK(declared("void set_lr(double rate);  // comment"));
    CHECK(declared("BatchSampler(std::size_t n, SamplerOptions opt = {});"));
    CHECK_FALSE(declared("void set_lr(float lr);"));
    CHECK_FALSE(declared("BatchSampler(std::size_t n, SamplerOptions opt);"));
    CHECK_FALSE(declared("void set_rate(double lr);"));
}

// -------------------------------------------------------------------------------------------------
// Requirement listings, compiled as the members of a class: the traits must accept it.
// -------------------------------------------------------------------------------------------------

namespace architecture_doc
{
    using namespace xtrain;
    template <class T>
    class Model
    {
    public:
        #include "doc_snippets/architecture-model-requirement.inc"
    };
}

namespace models_doc
{
    template <class T>
    class Model
    {
    public:
        #include "doc_snippets/models-requirement.inc"
    };
}

namespace training_doc
{
    template <class Trainer, class T>
    class Callback
    {
    public:
        #include "doc_snippets/training-callback-hooks.inc"
    };
}

TEMPLATE_TEST_CASE("The Model requirement as the pages list it is what the library detects", "[docs][model]", float, double)
{
    using Arch = architecture_doc::Model<TestType>;
    using Listed = models_doc::Model<TestType>;
    STATIC_REQUIRE(xtrain::check_model<Arch>());
    STATIC_REQUIRE(xtrain::has_loss_v<Arch>);
    STATIC_REQUIRE(xtrain::has_predict_v<Arch>);
    STATIC_REQUIRE(xtrain::has_set_training_v<Arch>);
    STATIC_REQUIRE(xtrain::has_model_state_v<Arch>);
    STATIC_REQUIRE(xtrain::check_model<Listed>());
    STATIC_REQUIRE(xtrain::has_loss_v<Listed>);
    STATIC_REQUIRE(xtrain::has_predict_v<Listed>);
    STATIC_REQUIRE(xtrain::has_loss_and_predict_v<Listed>);
    STATIC_REQUIRE(xtrain::has_set_training_v<Listed>);
    STATIC_REQUIRE(xtrain::has_model_state_v<Listed>);
    STATIC_REQUIRE(xtrain::has_gradient_of_first_v<Listed>);
}

TEST_CASE("Each callback hook as docs/training.md lists it is called by the Trainer", "[docs][train]")
{
    using Tr = xtrain::Trainer<xtrain::MLP<float>, xtrain::Optimizer<xtrain::SGD>, xtrain::BatchSampler<xtrain::dynamic>>;
    using C = training_doc::Callback<Tr, float>;
    namespace d = xtrain::detail;
    STATIC_REQUIRE(d::is_detected_v<d::on_fit_begin_t, C, Tr>);
    STATIC_REQUIRE(d::is_detected_v<d::on_fit_end_t, C, Tr>);
    STATIC_REQUIRE(d::is_detected_v<d::on_epoch_begin_t, C, Tr>);
    STATIC_REQUIRE(d::is_detected_v<d::on_epoch_end_t, C, Tr>);
    STATIC_REQUIRE(d::is_detected_v<d::on_step_begin_t, C, Tr>);
    STATIC_REQUIRE(d::is_detected_v<d::on_step_end_t, C, Tr>);
    STATIC_REQUIRE(d::is_detected_v<d::on_gradient_t, C, Tr>);
    STATIC_REQUIRE(d::is_detected_v<d::on_evaluate_t, C, Tr>);
    STATIC_REQUIRE(xtrain::has_checkpoint_state_v<C>);
}

// -------------------------------------------------------------------------------------------------
// Blocks that are parts of a larger program: compiled with the names they use, and run if cheap.
// -------------------------------------------------------------------------------------------------

TEST_CASE("docs/models.md: no weight decay on biases", "[docs][model]")
{
    xtrain::MLP<float> mlp(/*seed=*/1, {4, 8, 3});
    #include "doc_snippets/models-bias-decay.inc"
    const xtrain::ParamLayout& layout = mlp.parameters().layout();
    REQUIRE(layout.num_segments() == 4);
    CHECK(layout[1].name == "0.bias");
    CHECK(layout[1].weight_decay == 0.0);
    CHECK(layout[3].weight_decay == 0.0);
    CHECK_FALSE(layout[0].weight_decay.has_value());
}

namespace sweeps_doc
{
    struct MyModel
    {
        using value_type = float;
        explicit MyModel(std::uint64_t seed) : m_model(seed, {4, 3}) {}
        xtrain::ParamBuffer<float>& parameters() { return m_model.parameters(); }
        const xtrain::ParamBuffer<float>& parameters() const { return m_model.parameters(); }
        float loss_and_gradient(const xtrain::Batch<float>& batch, xt::xtensor<float, 1>& grad)
        {
            return m_model.loss_and_gradient(batch, grad);
        }
        xtrain::MLP<float> m_model;
    };

    // The page's whole program, its main() a function of this namespace: compiled, not run (it
    // parses a command line and runs a sweep; examples/my_model_sweep.cpp is the same program, run).
    #include "doc_snippets/sweeps-main.inc"
}

// -------------------------------------------------------------------------------------------------
// Settings structs, field by field: every public data member has a row in its page's table.
// -------------------------------------------------------------------------------------------------

TEST_CASE("Every public field of the settings structs is in its page's table", "[docs]")
{
    struct Documented
    {
        const char* header;
        const char* type;
        const char* page;
        bool only_fields = true; // false: the table also lists member functions
    };
    const Documented structs[] = {
        {"xtrain/data/batch_sampler.hpp", "SamplerOptions", "data.md"},
        {"xtrain/data/csv.hpp", "CsvOptions", "data.md"},
        {"xtrain/data/synthetic.hpp", "LinearRegressionOptions", "data.md"},
        {"xtrain/data/synthetic.hpp", "BlobsOptions", "data.md"},
        {"xtrain/data/synthetic.hpp", "SpiralsOptions", "data.md"},
        {"xtrain/data/synthetic.hpp", "TeacherStudentOptions", "data.md"},
        {"xtrain/optim/sgd.hpp", "SGD", "optimizers.md"},
        {"xtrain/optim/sgd_classic.hpp", "SGDClassic", "optimizers.md"},
        {"xtrain/optim/adam.hpp", "Adam", "optimizers.md"},
        {"xtrain/optim/rmsprop.hpp", "RMSprop", "optimizers.md"},
        {"xtrain/optim/adagrad.hpp", "Adagrad", "optimizers.md"},
        {"xtrain/optim/lars.hpp", "LARS", "optimizers.md"},
        {"xtrain/optim/lamb.hpp", "LAMB", "optimizers.md"},
        {"xtrain/model/gradient_check.hpp", "GradientCheckOptions", "models.md"},
        {"xtrain/model/parameters_file.hpp", "ParameterSelection", "models.md"},
        {"xtrain/train/trainer.hpp", "TrainerOptions", "training.md"},
        {"xtrain/core/run_jobs.hpp", "JobOptions", "training.md"},
        {"xtrain/train/history.hpp", "History", "training.md", false},
        {"xtrain/train/history.hpp", "StepRecord", "training.md"},
        {"xtrain/train/history.hpp", "EvalRecord", "training.md"},
        {"xtrain/train/callbacks/divergence_guard.hpp", "DivergenceRule", "sweeps.md"},
        {"xtrain/experiment/trainer_run.hpp", "RunSettings", "sweeps.md"},
        {"xtrain/experiment/sweep_optimizers.hpp", "OptimizerSettings", "sweeps.md"},
        {"xtrain/experiment/finetune.hpp", "FineTuning", "sweeps.md"},
        {"xtrain/experiment/finetune.hpp", "ParameterGroupRule", "sweeps.md"},
        {"xtrain/experiment/sweep_grid.hpp", "SweepGrid", "sweeps.md"},
        {"xtrain/experiment/sweep_grid.hpp", "RunSpec", "sweeps.md"},
        {"xtrain/experiment/sweep_config.hpp", "SweepConfig", "sweeps.md"},
        {"xtrain/experiment/run_sweep.hpp", "SweepOptions", "sweeps.md"},
        {"xtrain/experiment/shard_spec.hpp", "ShardSpec", "sweeps.md"},
        {"xtrain/experiment/analysis.hpp", "BootstrapOptions", "sweeps.md"},
        {"xtrain/experiment/figures.hpp", "FigureOptions", "sweeps.md"},
        {"xtrain/sweep_main.hpp", "SweepCommandLine", "sweeps.md"},
    };
    std::size_t fields = 0;
    for (const Documented& d : structs)
    {
        INFO("struct " << d.type << " (include/" << d.header << "), documented in docs/" << d.page);
        const std::vector<std::string> members = struct_fields(read_text(source_root / "include" / d.header), d.type);
        const std::vector<std::string> rows = table_names(read_text(source_root / "docs" / d.page), d.type);
        CHECK(!members.empty());
        for (const std::string& m : members)
        {
            INFO("field " << m << " has no row in the table headed | `" << d.type << "` field | (or there is no such table)");
            CHECK(std::find(rows.begin(), rows.end(), m) != rows.end());
            ++fields;
        }
        // A row for a field the struct no longer has is stale too.
        for (const std::string& r : d.only_fields ? rows : std::vector<std::string>{})
        {
            INFO("the table has a row `" << r << "` that is not a field of " << d.type);
            CHECK(std::find(members.begin(), members.end(), r) != members.end());
        }
    }
    CHECK(fields > 100);
}

TEST_CASE("The field scan reads data members and skips functions, types and private members", "[docs]")
{
    const std::string header = R"(
        struct Other { int not_this = 0; };
        /** @brief doc */
        struct Options
        {
            Options() noexcept {}
            std::size_t count = 1;            ///< a comment; with a semicolon
            std::vector<int> widths{32, 64};
            std::optional<double> decay;
            std::function<double(std::size_t)> schedule;
            std::map<std::string, int, std::less<>> names;
            static constexpr int limit = 3;
            using type = int;
            struct Nested { int inner; };
            void validate() const;
            double rate() const noexcept { return 1.0; }
            Options& with_count(std::size_t c) { count = c; return *this; }
            template <class F> void visit(F&& f) { f(count); }
        private:
            int m_hidden = 0;
        };)";
    CHECK(struct_fields(header, "Options")
          == std::vector<std::string>{"count", "widths", "decay", "schedule", "names"});
    CHECK_THROWS(struct_fields(header, "Missing"));
    CHECK(struct_fields("class Record { int m_size; public: int shown = 1; };", "Record")
          == std::vector<std::string>{"shown"});

    const std::string page = "| `Options` field | type |\n|---|---|\n| `count` | x |\n| `a`, `b` | y |\n\n| `count` | z |\n";
    CHECK(table_names(page, "Options") == std::vector<std::string>{"count", "a", "b"});
    CHECK(table_names(page, "Other").empty());
}
