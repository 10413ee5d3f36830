// Fine-tuning as settings of a sweep (experiment/finetune.hpp): the settings' checks and their
// text, loading and parameter groups on a model, a frozen tensor that training does not move, and
// a sweep through make_trainer_run whose runs start from the file (their first evaluation, before
// any update, is the pretrained model's) and whose resume with other fine-tuning is refused.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "xtrain/xtrain.hpp"
#include "support/message_of.hpp"

using namespace xtrain;
namespace fs = std::filesystem;

using xtrain::test::message_of;

namespace
{
    fs::path fresh(const std::string& name)
    {
        const fs::path p = fs::path(XTRAIN_TEST_TMP_DIR) / ("finetune_" + name);
        fs::remove_all(p);
        return p;
    }

    Dataset<float> blobs(std::size_t n, std::uint64_t seed)
    {
        datasets::BlobsOptions o;
        o.num_samples = n;
        o.num_features = 6;
        o.num_classes = 3;
        o.cluster_std = 2.0;
        o.seed = seed;
        return datasets::gaussian_blobs<float>(o);
    }

    // Segments 0.weight {8, 6}, 0.bias, 2.weight {3, 8}, 2.bias.
    MLP<float> net(std::uint64_t seed) { return MLP<float>(seed, {6, 8, 3}); }

    std::vector<float> values(const ParamBuffer<float>& p, const std::string& name)
    {
        const std::size_t i = p.layout().index_of(name);
        return std::vector<float>(p.segment_data(i), p.segment_data(i) + p.layout()[i].size);
    }


    SweepOptions quiet()
    {
        SweepOptions o;
        o.jobs = 1;
        o.log = nullptr;
        return o;
    }
}

TEST_CASE("FineTuning checks its settings and its file, and describes them by the file's contents", "[experiment][finetune]")
{
    FineTuning ft;
    CHECK_FALSE(ft.enabled());
    CHECK(ft.describe().empty());
    CHECK_NOTHROW(ft.validate());

    ft.scale_lr("0.*", -1.0);
    CHECK_THROWS_WITH(ft.validate(), Catch::Contains("the lr multiplier of '0.*' must be finite and >= 0 (got -1)"));
    ft.groups.clear();
    ft.load.exclude = {"2.*"};
    CHECK_THROWS_WITH(ft.validate(), Catch::Contains("(all but 2.*) but no initial_parameters file"));

    ft.initial_parameters = fresh("absent.xtp");
    CHECK_THROWS_WITH(ft.validate(), Catch::Contains("absent.xtp: no such parameters file"));
    CHECK_THROWS_AS(ft.validate(), checkpoint_error);

    const fs::path file = fresh("described.xtp");
    save_parameters(net(1), file);
    ft.initial_parameters = file;
    ft.freeze("0.*");
    CHECK_NOTHROW(ft.validate());
    const std::string text = ft.describe();
    CHECK_THAT(text, Catch::StartsWith("fine-tuning from a parameters file with CRC-32 "));
    CHECK_THAT(text, Catch::EndsWith("(all but 2.*), lr x0 on 0.*"));

    // Other weights under the same path are another starting point: the text changes.
    save_parameters(net(2), file);
    CHECK(ft.describe() != text);

    // The fingerprint text of the run settings carries it.
    RunSettings settings;
    const std::string plain = settings.describe();
    settings.finetune = ft;
    CHECK_THAT(settings.describe(), Catch::StartsWith(plain) && Catch::Contains(", fine-tuning from a parameters file"));

    ft.load.exclude.clear();
    ft.load.include = {"head.*"};
    CHECK_THROWS_WITH(ft.validate(), Catch::Contains("the include glob 'head.*' matches no tensor of")
                                         && Catch::Contains("(it holds: 0.weight {8, 6}, 0.bias {8}, 2.weight {3, 8}, 2.bias {3})"));
    settings.finetune = ft;
    CHECK_THROWS_WITH(settings.validate(), Catch::Contains("'head.*'"));
}

TEST_CASE("apply_finetuning loads the body, keeps the new head and sets the groups, and training leaves frozen tensors alone",
          "[experiment][finetune]")
{
    const fs::path file = fresh("pretrained.xtp");
    const MLP<float> pretrained = net(1);
    save_parameters(pretrained, file);
    const MLP<float> initial = net(5);

    FineTuning ft;
    ft.initial_parameters = file;
    ft.load.exclude = {"2.*"};
    ft.freeze("0.weight").scale_lr("2.*", 0.5);
    ft.groups.push_back({"*.bias", 1.0, 0.0});
    MLP<float> model = apply_finetuning(net(5), ft);
    CHECK(values(model.parameters(), "0.weight") == values(pretrained.parameters(), "0.weight"));
    CHECK(values(model.parameters(), "2.weight") == values(initial.parameters(), "2.weight"));
    const ParamLayout& layout = model.parameters().layout();
    CHECK(layout[layout.index_of("0.weight")].lr_scale == 0.0);
    CHECK(layout[layout.index_of("0.bias")].lr_scale == 1.0);
    CHECK(layout[layout.index_of("2.weight")].lr_scale == 0.5);
    CHECK(layout[layout.index_of("2.bias")].lr_scale == 1.0);  // the later rule wins
    CHECK(layout[layout.index_of("2.bias")].weight_decay == std::optional<double>(0.0));
    CHECK_FALSE(layout[layout.index_of("0.weight")].weight_decay.has_value());

    // Training (SGD with momentum and weight decay, then Adam) does not move the frozen tensor.
    const auto data = blobs(200, 3);
    SGD sgd;
    sgd.lr = 0.1;
    sgd.momentum = 0.9;
    sgd.weight_decay = 0.01;
    Trainer t1(model, Optimizer<SGD>(sgd), BatchSampler<dynamic>(data.size(), 16, SamplerOptions::shuffled(1)));
    t1.fit(data, Budget::epochs(2));
    CHECK(values(t1.model().parameters(), "0.weight") == values(pretrained.parameters(), "0.weight"));
    CHECK(values(t1.model().parameters(), "0.bias") != values(pretrained.parameters(), "0.bias"));
    Trainer t2(model, Optimizer<Adam>(Adam{}), BatchSampler<dynamic>(data.size(), 16, SamplerOptions::shuffled(1)));
    t2.fit(data, Budget::epochs(2));
    CHECK(values(t2.model().parameters(), "0.weight") == values(pretrained.parameters(), "0.weight"));
    CHECK(values(t2.model().parameters(), "2.weight") != values(initial.parameters(), "2.weight"));

    // A group glob that matches nothing is refused, listing the tensors, before anything is loaded.
    FineTuning typo;
    typo.freeze("conv*");
    CHECK_THROWS_WITH(apply_finetuning(net(5), typo),
                      Catch::Contains("the parameter-group glob 'conv*' matches no tensor of the model (it has: "
                                      "0.weight {8, 6}, 0.bias {8}, 2.weight {3, 8}, 2.bias {3})"));
    CHECK_THROWS_AS(check_finetuning(net(5), typo), std::invalid_argument);
    const LoadReport r = check_finetuning(net(5), ft);
    CHECK(r.loaded == std::vector<std::string>{"0.weight", "0.bias"});
}

TEST_CASE("A sweep through make_trainer_run starts every run from the file, and refuses a resume with other fine-tuning",
          "[experiment][finetune]")
{
    const auto split = train_validation_split(blobs(600, 1), 0.25, 7);
    // Pretrain: the first evaluation of a fine-tuning run (before any update) is this model's.
    SGD sgd;
    sgd.lr = 0.05;
    Trainer pre(net(1), Optimizer<SGD>(sgd), BatchSampler<dynamic>(split.train.size(), 16, SamplerOptions::shuffled(1)));
    pre.fit(split.train, Budget::epochs(3));
    const fs::path file = fresh("sweep_pretrained.xtp");
    save_parameters(pre.model(), file);
    const double pretrained_loss = pre.evaluate(split.validation).loss;

    SweepConfig config;
    config.grid.optimizers = {"sgd"};
    config.grid.lrs = {0.01};
    config.grid.batch_sizes = {32};
    config.grid.seeds = {1, 2};
    RunSettings settings;
    settings.budget = Budget::epochs(1);
    settings.finetune.initial_parameters = file;
    settings.finetune.freeze("0.*");
    {
        const fs::path pretrained_file = file;
        #include "doc_snippets/sweeps-finetune.inc"
        CHECK_NOTHROW(settings.validate());
        const MLP<float> m = apply_finetuning(net(3), settings.finetune);
        CHECK(m.parameters().layout()[0].lr_scale == 0.1);
        CHECK(m.parameters().layout()[3].lr_scale == 1.0);
    }
    const fs::path out = fresh("sweep");
    const SweepReport report =
        run_sweep(config, out, make_trainer_run(split.train, &split.validation, net, settings), quiet());
    CHECK(report.failed == 0);
    CHECK(report.finished == 2);
    const ResultSet set = load_results(out);
    for (const std::uint64_t seed : {1, 2})
    {
        const RunRecord* run = set.find(RunKey{"sgd", 0.01, 32, seed, ""});
        REQUIRE(run != nullptr);
        REQUIRE_FALSE(run->rows.empty());
        CHECK(run->rows.front().step == 0);
        CHECK(run->rows.front().val_loss == Approx(pretrained_loss).epsilon(1e-5));
    }

    // Other fine-tuning settings (here: nothing frozen) are another sweep: resuming is refused.
    settings.finetune.groups.clear();
    CHECK_THROWS_AS(run_sweep(config, out, make_trainer_run(split.train, &split.validation, net, settings), quiet()),
                    std::invalid_argument);

    // A group glob matching no tensor is refused before anything is written, listing the tensors.
    settings.finetune.freeze("conv.*");
    const fs::path typo = fresh("sweep_typo");
    CHECK_THROWS_WITH(run_sweep(config, typo, make_trainer_run(split.train, &split.validation, net, settings), quiet()),
                      Catch::Contains("'conv.*' matches no tensor of the model (it has: 0.weight"));
    CHECK_FALSE(fs::exists(typo));
}
