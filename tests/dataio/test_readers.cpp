// Tests of the readers in include/xtrain/data: IDX (plain and gzip), Fashion-MNIST, CSV, and the
// bad-input cases of each. Fixture files are generated into XTRAIN_TEST_TMP_DIR at run time.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include <zlib.h>

#include "xtrain/data.hpp"

using namespace xtrain;

namespace
{
    using Bytes = std::vector<unsigned char>;

    std::string tmp_path(const std::string& name) { return std::string(XTRAIN_TEST_TMP_DIR) + "/" + name; }

    std::string write_file(const std::string& name, const Bytes& bytes)
    {
        const std::string p = tmp_path(name);
        std::ofstream f(p, std::ios::binary);
        f.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
        REQUIRE(f.good());
        return p;
    }

    std::string write_text(const std::string& name, const std::string& text)
    {
        return write_file(name, Bytes(text.begin(), text.end()));
    }

    void put_be32(Bytes& b, std::uint32_t v)
    {
        for (int s = 24; s >= 0; s -= 8)
        {
            b.push_back(static_cast<unsigned char>(v >> s));
        }
    }

    // An IDX file: magic (type, rank), extents, then the given payload bytes.
    Bytes idx_bytes(unsigned char type, const std::vector<std::uint32_t>& shape, const Bytes& payload)
    {
        Bytes b{0, 0, type, static_cast<unsigned char>(shape.size())};
        for (auto d : shape)
        {
            put_be32(b, d);
        }
        b.insert(b.end(), payload.begin(), payload.end());
        return b;
    }

    // gzip (RFC 1952) of the bytes, as the gzip tool writes it.
    Bytes gzip(const Bytes& in)
    {
        z_stream zs{};
        REQUIRE(deflateInit2(&zs, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) == Z_OK);
        Bytes out(deflateBound(&zs, static_cast<uLong>(in.size())) + 64);
        zs.next_in = const_cast<Bytef*>(in.data());
        zs.avail_in = static_cast<uInt>(in.size());
        zs.next_out = out.data();
        zs.avail_out = static_cast<uInt>(out.size());
        REQUIRE(deflate(&zs, Z_FINISH) == Z_STREAM_END);
        out.resize(zs.total_out);
        deflateEnd(&zs);
        return out;
    }

    // N images of H x W with pixel (n, i) = (7 n + i) mod 256, and labels n mod 10.
    Bytes image_payload(std::size_t n, std::size_t h, std::size_t w)
    {
        Bytes p;
        for (std::size_t k = 0; k < n; ++k)
        {
            for (std::size_t i = 0; i < h * w; ++i)
            {
                p.push_back(static_cast<unsigned char>((7 * k + i) % 256));
            }
        }
        return p;
    }

    Bytes label_payload(std::size_t n)
    {
        Bytes p;
        for (std::size_t k = 0; k < n; ++k)
        {
            p.push_back(static_cast<unsigned char>(k % 10));
        }
        return p;
    }
}

// -------------------------------------------------------------------------------------------------
// IDX
// -------------------------------------------------------------------------------------------------

TEMPLATE_TEST_CASE("IDX images and labels read the same plain or gzip", "[data][idx]", float, double)
{
    const Bytes images = idx_bytes(0x08, {12, 3, 4}, image_payload(12, 3, 4));
    const Bytes labels = idx_bytes(0x08, {12}, label_payload(12));
    for (bool gz : {false, true})
    {
        CAPTURE(gz);
        // One file name per type: ctest runs the float and double cases in parallel.
        const std::string tag = std::to_string(sizeof(TestType));
        const std::string ip = write_file("img" + tag + (gz ? ".idx.gz" : ".idx"), gz ? gzip(images) : images);
        const std::string lp = write_file("lbl" + tag + (gz ? ".idx.gz" : ".idx"), gz ? gzip(labels) : labels);
        const Dataset<TestType> d = read_idx_dataset<TestType>(ip, lp, "tiny");
        d.validate();
        REQUIRE(d.size() == 12);
        REQUIRE(d.feature_dim() == 12);
        CHECK(d.sample_shape == std::vector<std::size_t>{1, 3, 4});
        CHECK(d.num_classes == 10);
        CHECK(d.name == "tiny");
        for (std::size_t k = 0; k < 12; ++k)
        {
            CHECK(d.labels(k) == static_cast<label_type>(k % 10));
            for (std::size_t i = 0; i < 12; ++i)
            {
                REQUIRE(d.features(k, i) == static_cast<TestType>((7 * k + i) % 256) / TestType(255));
            }
        }
        // The same from memory.
        const Bytes im = gz ? gzip(images) : images;
        const Bytes lb = gz ? gzip(labels) : labels;
        const auto m = read_idx_dataset<TestType>(im.data(), im.size(), lb.data(), lb.size(), "mem");
        CHECK(bool(m.features == d.features));
    }
}

TEST_CASE("read_idx decodes every IDX element type, big-endian", "[data][idx]")
{
    // i16: -2, 300
    auto m16 = read_idx<double>(write_file("i16.idx", idx_bytes(0x0B, {2}, {0xFF, 0xFE, 0x01, 0x2C})));
    CHECK(m16.header.type == IdxType::i16);
    CHECK(m16.values(0, 0) == -2.0);
    CHECK(m16.values(1, 0) == 300.0);
    // i32: -1, 65536 in a 1 x 2 matrix
    auto m32 = read_idx<double>(write_file("i32.idx", idx_bytes(0x0C, {1, 2}, {0xFF, 0xFF, 0xFF, 0xFF, 0, 1, 0, 0})));
    CHECK(m32.values(0, 0) == -1.0);
    CHECK(m32.values(0, 1) == 65536.0);
    // f32 1.5 = 0x3FC00000, f64 -0.25 = 0xBFD0000000000000, i8 -3
    auto f32 = read_idx<float>(write_file("f32.idx", idx_bytes(0x0D, {1}, {0x3F, 0xC0, 0, 0})));
    CHECK(f32.values(0, 0) == 1.5f);
    auto f64 = read_idx<double>(write_file("f64.idx", idx_bytes(0x0E, {1}, {0xBF, 0xD0, 0, 0, 0, 0, 0, 0})));
    CHECK(f64.values(0, 0) == -0.25);
    auto i8 = read_idx<float>(write_file("i8.idx", idx_bytes(0x09, {1}, {0xFD})));
    CHECK(i8.values(0, 0) == -3.0f);
    // u8 keeps its values (no scaling in read_idx)
    auto u8 = read_idx<float>(write_file("u8.idx", idx_bytes(0x08, {2, 2}, {0, 1, 254, 255})));
    CHECK(u8.header.shape == std::vector<std::size_t>{2, 2});
    CHECK(u8.header.magic() == 0x0802U);
    CHECK(u8.values(1, 1) == 255.0f);
}

TEST_CASE("IDX bad input: every case raises data_error naming the file", "[data][idx][errors]")
{
    const Bytes images = idx_bytes(0x08, {4, 2, 2}, image_payload(4, 2, 2));
    const Bytes labels = idx_bytes(0x08, {4}, label_payload(4));
    const std::string good_labels = write_file("good-labels.idx", labels);

    auto images_error = [&](const std::string& name, const Bytes& bytes) -> std::string {
        const std::string p = write_file(name, bytes);
        try
        {
            read_idx_dataset<float>(p, good_labels);
        }
        catch (const data_error& e)
        {
            const std::string msg = e.what();
            CHECK(msg.find(p) != std::string::npos);  // the message names the file
            return msg;
        }
        FAIL("no data_error for " << name);
        return {};
    };

    SECTION("truncated header")
    {
        CHECK_THAT(images_error("short-header.idx", Bytes(images.begin(), images.begin() + 7)),
                   Catch::Contains("truncated"));
        CHECK_THAT(images_error("two-bytes.idx", Bytes{0, 0}), Catch::Contains("too short for an IDX header"));
        CHECK_THAT(images_error("empty.idx", Bytes{}), Catch::Contains("too short for an IDX header"));
    }
    SECTION("truncated data")
    {
        CHECK_THAT(images_error("short-data.idx", Bytes(images.begin(), images.end() - 3)),
                   Catch::Contains("the header claims {4, 2, 2}") && Catch::Contains("more than the file holds")
                       && Catch::Contains("truncated"));
        const Bytes gz = gzip(Bytes(images.begin(), images.end() - 3));
        CHECK_THAT(images_error("short-data.idx.gz", gz),
                   Catch::Contains("truncated") && Catch::Contains("decompressed data ends after 13 bytes"));
    }
    SECTION("wrong magic number")
    {
        Bytes b = images;
        b[0] = 1;
        CHECK_THAT(images_error("magic0.idx", b), Catch::Contains("wrong magic number") && Catch::Contains("not an IDX file"));
        b = images;
        b[2] = 0x07;  // no such type
        CHECK_THAT(images_error("magic-type.idx", b), Catch::Contains("wrong magic number 1795"));
        b = images;
        b[3] = 0;  // no dimensions
        CHECK_THAT(images_error("magic-rank.idx", b), Catch::Contains("wrong magic number"));
        // A valid IDX file of the wrong kind: labels given as images.
        CHECK_THAT(images_error("labels-as-images.idx", labels),
                   Catch::Contains("wrong magic number 2049 for images (expected 2051"));
        // A gzip-compressed file with a wrong magic inside is reported the same way.
        CHECK_THAT(images_error("labels-as-images.idx.gz", gzip(labels)), Catch::Contains("wrong magic number 2049"));
    }
    SECTION("counts that disagree with the file size")
    {
        Bytes longer = images;
        longer.push_back(0);
        longer.push_back(0);
        CHECK_THAT(images_error("long.idx", longer),
                   Catch::Contains("2 more bytes follow: the counts disagree with the file size"));
        CHECK_THAT(images_error("long.idx.gz", gzip(longer)), Catch::Contains("2 more bytes follow"));
    }
    SECTION("huge claimed extents do not allocate")
    {
        // 16 bytes claiming 2^32 - 1 images of 65535 x 65535: refused before any allocation
        // (under AddressSanitizer a giant allocation would abort the test).
        Bytes huge{0, 0, 8, 3};
        put_be32(huge, 0xFFFFFFFFU);
        put_be32(huge, 0xFFFFU);
        put_be32(huge, 0xFFFFU);
        CHECK_THAT(images_error("huge.idx", huge), Catch::Contains("more than the file holds (0 bytes after the header)"));
        CHECK_THAT(images_error("huge.idx.gz", gzip(huge)), Catch::Contains("more than the compressed file can hold"));
        Bytes wide{0, 0, 8, 3};
        put_be32(wide, 2);
        put_be32(wide, 0x10000U);
        put_be32(wide, 0x10000U);
        CHECK_THAT(images_error("wide.idx", wide), Catch::Contains("{2, 65536, 65536}"));
        // No data (a zero extent) but inner extents whose product overflows: refused, not wrapped.
        Bytes zero{0, 0, 8, 4};
        put_be32(zero, 0);
        for (int i = 0; i < 3; ++i)
        {
            put_be32(zero, 0xFFFFFFFFU);
        }
        CHECK_THROWS_WITH(read_idx<double>(zero.data(), zero.size(), "zero.idx"),
                          Catch::Contains("zero.idx: the header claims extents {0, 4294967295") && Catch::Contains("too large"));
    }
    SECTION("corrupt gzip")
    {
        Bytes gz = gzip(images);
        Bytes flipped = gz;
        flipped[gz.size() / 2] ^= 0x55;
        CHECK_THAT(images_error("flipped.idx.gz", flipped), Catch::Contains("gzip"));
        Bytes bad_crc = gz;
        bad_crc[gz.size() - 6] ^= 0xFF;  // inside the CRC-32 of the trailer
        CHECK_THAT(images_error("bad-crc.idx.gz", bad_crc),
                   Catch::Contains("corrupt gzip data") && Catch::Contains("incorrect data check"));
        const Bytes cut(gz.begin(), gz.end() - 4);
        CHECK_THAT(images_error("cut.idx.gz", cut), Catch::Contains("truncated gzip data"));
        Bytes garbage = gz;
        garbage.push_back('x');
        garbage.push_back('y');
        CHECK_THAT(images_error("trailing-garbage.idx.gz", garbage), Catch::Contains("corrupt gzip data"));
    }
    SECTION("images and labels of different counts")
    {
        const std::string ip = write_file("four-images.idx", images);
        const std::string lp = write_file("five-labels.idx", idx_bytes(0x08, {5}, label_payload(5)));
        CHECK_THROWS_WITH(read_idx_dataset<float>(ip, lp),
                          Catch::Contains(ip + " holds 4 images but " + lp + " holds 5 labels"));
    }
    SECTION("a label outside the classes, an empty dataset, a missing file")
    {
        const std::string ip = write_file("four-images.idx", images);
        const std::string lp = write_file("big-label.idx", idx_bytes(0x08, {4}, {0, 1, 12, 3}));
        CHECK_THROWS_WITH(read_idx_dataset<float>(ip, lp, "x", 10), Catch::Contains("label 12 of sample 2 is outside [0, 10)"));
        const std::string e = write_file("no-images.idx", idx_bytes(0x08, {0, 2, 2}, {}));
        const std::string el = write_file("no-labels.idx", idx_bytes(0x08, {0}, {}));
        CHECK_THROWS_WITH(read_idx_dataset<float>(e, el), Catch::Contains("the dataset is empty"));
        CHECK_THROWS_WITH(read_idx_dataset<float>(tmp_path("does-not-exist.idx"), lp),
                          Catch::Contains("does-not-exist.idx: cannot open"));
    }
}

TEST_CASE("Multi-member gzip files are read as one stream (as gzip -d does)", "[data][idx]")
{
    const Bytes images = idx_bytes(0x08, {4, 2, 2}, image_payload(4, 2, 2));
    Bytes two = gzip(Bytes(images.begin(), images.begin() + 10));
    const Bytes rest = gzip(Bytes(images.begin() + 10, images.end()));
    two.insert(two.end(), rest.begin(), rest.end());
    const auto m = read_idx<float>(two.data(), two.size(), "two-members");
    CHECK(m.values(3, 3) == static_cast<float>((7 * 3 + 3) % 256));
    // Every value, the split across the two members included (the cut falls inside the extents).
    const auto one = read_idx<float>(images.data(), images.size(), "one-member");
    CHECK(m.header.shape == one.header.shape);
    CHECK(bool(m.values == one.values));
}

// -------------------------------------------------------------------------------------------------
// Fashion-MNIST (installed by scripts/deps.sh test: package dataset-fashion-mnist)
// -------------------------------------------------------------------------------------------------

TEST_CASE("Fashion-MNIST loads with the published counts, labels and pixels", "[data][fashion_mnist]")
{
    REQUIRE(datasets::fashion_mnist_available());  // apt-get install dataset-fashion-mnist
    const auto [train, test] = datasets::fashion_mnist();
    train.validate();
    test.validate();
    REQUIRE(train.size() == 60000);
    REQUIRE(test.size() == 10000);
    CHECK(train.feature_dim() == 784);
    CHECK(train.sample_shape == std::vector<std::size_t>{1, 28, 28});
    CHECK(train.num_classes == 10);
    CHECK(train.name == "fashion-mnist/train");
    CHECK(test.name == "fashion-mnist/test");
    REQUIRE(train.class_names.size() == 10);
    CHECK(train.class_names[9] == "Ankle boot");
    // Reference values computed from the files with Python's gzip and zlib modules.
    CHECK(train.labels(0) == 9);
    CHECK(train.labels(1) == 0);
    CHECK(train.labels(59999) == 5);
    CHECK(test.labels(0) == 9);
    CHECK(test.labels(1) == 2);
    // Pixels are byte / 255 in float, as torchvision's ToTensor gives them (byte 210 here).
    CHECK(train.features(0, 300) == 210.0f / 255.0f);
    CHECK(train.features(0, 300) == 0.8235294222831726f);
    for (const auto* d : {&train, &test})
    {
        const auto [lo, hi] = std::minmax_element(d->features.begin(), d->features.end());
        CHECK(*lo == 0.0f);
        CHECK(*hi == 1.0f);
        std::vector<std::size_t> counts(10, 0);
        for (label_type y : d->labels)
        {
            ++counts[static_cast<std::size_t>(y)];
        }
        CHECK(counts == std::vector<std::size_t>(10, d->size() / 10));
    }
    // CRC-32 of the pixel bytes recovered from the floats (byte = round(x * 255)).
    auto pixel_crc = [](const Dataset<float>& d) {
        std::uint32_t crc = 0;
        std::vector<unsigned char> row(784);
        for (std::size_t i = 0; i < d.size(); ++i)
        {
            for (std::size_t j = 0; j < 784; ++j)
            {
                row[j] = static_cast<unsigned char>(std::lround(d.features(i, j) * 255.0f));
            }
            crc = crc32_update(crc, row.data(), row.size());
        }
        return crc;
    };
    CHECK(pixel_crc(train) == 0xae65dccdU);
    CHECK(pixel_crc(test) == 0x12728439U);
}

TEST_CASE("Fashion-MNIST missing: the message says which package to install", "[data][fashion_mnist]")
{
    const std::string dir = tmp_path("no-fashion-here");
    CHECK_FALSE(datasets::fashion_mnist_available(dir));
    CHECK_THROWS_WITH(datasets::fashion_mnist(dir),
                      Catch::Contains(dir) && Catch::Contains("apt-get install dataset-fashion-mnist"));
    // The embedded default has the same shape.
    const auto [train, test] = datasets::fashion_mnist_or_synthetic(dir, 5);
    train.validate();
    CHECK(train.name == "synthetic-fashion-mnist-shaped/train");
    CHECK(train.size() == 60000);
    CHECK(test.size() == 10000);
    CHECK(train.sample_shape == std::vector<std::size_t>{1, 28, 28});
    CHECK(train.num_classes == 10);
}

// -------------------------------------------------------------------------------------------------
// CSV
// -------------------------------------------------------------------------------------------------

TEMPLATE_TEST_CASE("read_csv reads a classification table with the label chosen by name or index", "[data][csv]",
                   float, double)
{
    const std::string p = write_text("iris" + std::to_string(sizeof(TestType)) + ".csv", "sepal_length,sepal_width,species,petal_length\n"
                                                 "5.1,3.5,0,1.4\n"
                                                 "\n"
                                                 "7.0, 3.2 ,1,4.7\r\n"
                                                 "6.3,+3.3,2,-6e0\n");
    CsvOptions o;
    o.label = "species";
    const Dataset<TestType> d = read_csv<TestType>(p, o);
    d.validate();
    REQUIRE(d.size() == 3);
    REQUIRE(d.feature_dim() == 3);
    CHECK(d.num_classes == 3);
    CHECK(d.name == p);
    CHECK(d.features(1, 0) == TestType(7.0));
    CHECK(d.features(1, 1) == TestType(3.2));
    CHECK(d.features(2, 1) == TestType(3.3));
    CHECK(d.features(2, 2) == TestType(-6));
    CHECK(d.labels(2) == 2);
    o.label = 2;
    CHECK(bool(read_csv<TestType>(p, o).features == d.features));
    o.label = 2u;
    CHECK(bool(read_csv<TestType>(p, o).features == d.features));
    o.label = std::size_t{2};
    o.num_classes = 5;
    CHECK(read_csv<TestType>(p, o).num_classes == 5);
}

TEST_CASE("read_csv: class names, regression targets, ignored columns, quotes and delimiters", "[data][csv]")
{
    const std::string text = "\xEF\xBB\xBFid;\"width; cm\";\"height\";kind\n"
                             "17;1.5;2;\"cat\"\n"
                             "18;2.5;3;dog\n"
                             "19;3.5;4;\"cat\"\n";
    CsvOptions o;
    o.delimiter = ';';
    o.label_names = true;
    o.ignore = {"id"};
    o.name = "pets";
    const auto d = parse_csv<float>(text, o, "pets.csv");
    d.validate();
    CHECK(d.name == "pets");
    CHECK(d.feature_dim() == 2);
    CHECK(d.class_names == std::vector<std::string>{"cat", "dog"});
    CHECK(d.labels(1) == 1);
    CHECK(d.labels(2) == 0);
    CHECK(d.features(2, 0) == 3.5f);

    CsvOptions r;
    r.delimiter = ';';
    r.task = CsvTask::regression;
    r.label = "height";
    r.ignore = {0, "kind"};
    const auto reg = parse_csv<double>(text, r, "pets.csv");
    reg.validate();
    CHECK(reg.is_regression());
    CHECK(reg.feature_dim() == 1);
    CHECK(reg.targets(2, 0) == 4.0);
    CHECK(reg.features(0, 0) == 1.5);

    // A quoted field may hold the delimiter, a doubled quote and a line break.
    const auto q = parse_csv<float>("a,b\n\"1\",\"x \"\"y\"\"\nz\"\n", [] {
        CsvOptions c;
        c.label_names = true;
        return c;
    }(), "q.csv");
    CHECK(q.class_names == std::vector<std::string>{"x \"y\"\nz"});
}

TEST_CASE("CSV bad input: every case names the file, and the row and column of a bad cell", "[data][csv][errors]")
{
    const std::string src = "table.csv";
    auto err = [&](const std::string& text, const CsvOptions& o = {}) -> std::string {
        try
        {
            parse_csv<float>(text, o, src);
        }
        catch (const data_error& e)
        {
            const std::string msg = e.what();
            CHECK(msg.find(src) != std::string::npos);
            return msg;
        }
        FAIL("no data_error for: " << text);
        return {};
    };
    CHECK_THAT(err("a,b,y\n1,2,0\n3,abc,1\n"),
               Catch::Contains("data row 2 (line 3), column 2 'b': 'abc' is not a finite number"));
    CHECK_THAT(err("a,b,y\n1,,0\n"), Catch::Contains("data row 1 (line 2), column 2 'b': missing value"));
    CHECK_THAT(err("a,b,y\n1,2,0\n1,2\n"), Catch::Contains("data row 2 (line 3) has 2 fields but the header has 3"));
    CHECK_THAT(err("a,b,y\n1,2,0,4\n"), Catch::Contains("has 4 fields but the header has 3"));
    CHECK_THAT(err("a,b,y\n1,nan,0\n"), Catch::Contains("'nan' is not a finite number"));
    CHECK_THAT(err("a,b,y\n1,1e999,0\n"), Catch::Contains("'1e999' is not a finite number"));
    CHECK_THAT(err("a,b,y\n1,0x10,0\n"), Catch::Contains("'0x10' is not a finite number"));
    // A finite double too large for float says so; one too small for any double reads as 0.
    CHECK_THAT(err("a,b,y\n1,1e308,0\n"),
               Catch::Contains("column 2 'b': '1e308' is too large for float (largest 3.4028235e+38)"));
    CHECK(parse_csv<double>("a,b,y\n1,1e308,0\n", CsvOptions{}, src).features(0, 1) == 1e308);
    {
        const auto tiny = parse_csv<double>("a,b,y\n1e-400,-0.00000e-999,0\n2,1e-320,1\n", CsvOptions{}, src);
        CHECK(tiny.features(0, 0) == 0.0);
        CHECK(tiny.features(0, 1) == 0.0);
        CHECK(tiny.features(1, 1) == 1e-320);
    }
    CHECK_THAT(err("a,b,y\n1,123456789e400,0\n"), Catch::Contains("'123456789e400' is not a finite number"));
    CHECK(detail::decimal_exponent("123.4") == 2);
    CHECK(detail::decimal_exponent("0.00123") == -3);
    CHECK(detail::decimal_exponent("-1e-400") == -400);
    CHECK(detail::decimal_exponent("000.000") == -1);
    CHECK(detail::decimal_exponent("1000e-5") == -2);
    CHECK_THAT(err("a,b,y\n1,2,cat\n"), Catch::Contains("column 3 'y': label 'cat' is not a class index")
                                            && Catch::Contains("label_names"));
    CHECK_THAT(err("a,b,y\n1,2,1.5\n"), Catch::Contains("label '1.5' is not a class index"));
    CHECK_THAT(err("a,b,y\n1,2,-1\n"), Catch::Contains("label '-1' is not a class index"));
    CHECK_THAT(err("a,b,y\n1,2,\n"), Catch::Contains("column 3 'y': missing label"));
    CHECK_THAT(err(""), Catch::Contains("the file is empty"));
    CHECK_THAT(err("\n\n  \n"), Catch::Contains("the file is empty"));
    CHECK_THAT(err("a,b,y\n"), Catch::Contains("the dataset is empty (a header row but no data rows)"));
    CHECK_THAT(err("a,b,y\n1,\"2,0\n"), Catch::Contains("line 2: a quoted field is not closed"));
    CHECK_THAT(err("a,b,y\n1,\"2\"x,0\n"), Catch::Contains("unexpected character 'x' after a closing quote"));
    CsvOptions three;
    three.num_classes = 3;
    CHECK_THAT(err("a,y\n1,0\n2,3\n", three), Catch::Contains("data row 2, column 2 'y': label 3 is not below num_classes = 3"));
    // A label far beyond the labels in use is a data error, not a million-class model; the
    // message names the row, and num_classes accepts it on purpose.
    CHECK_THAT(err("a,y\n1,0\n2,1000000\n3,1\n"),
               Catch::Contains("data row 2, column 2 'y': label 1000000 would make 1000001 classes from 3 distinct labels")
                   && Catch::Contains("num_classes"));
    CHECK_THAT(err("a,y\n3e8,5\n1,300000000\n"), Catch::Contains("label 300000000 would make"));
    CHECK(parse_csv<float>("a,y\n1,0\n2,255\n", CsvOptions{}, src).num_classes == 256);
    CHECK_THAT(err("a,y\n1,0\n2,256\n"), Catch::Contains("(at most 256 are inferred)"));
    CsvOptions many;
    many.num_classes = 1000001;
    CHECK(parse_csv<float>("a,y\n1,0\n2,1000000\n", many, src).num_classes == 1000001);
    CHECK(csv_max_inferred_classes(100) == 400);
    CsvOptions reg;
    reg.task = CsvTask::regression;
    CHECK_THAT(err("a,y\n1,x\n", reg), Catch::Contains("target 'x' is not a finite number"));

    // Options that do not fit the header are argument errors.
    CsvOptions o;
    o.label = "label";
    CHECK_THROWS_WITH(parse_csv<float>("a,b\n1,2\n", o, src),
                      Catch::Contains("label column 'label' is not in the header of table.csv (columns: 'a', 'b')"));
    o.label = 5;
    CHECK_THROWS_WITH(parse_csv<float>("a,b\n1,2\n", o, src), Catch::Contains("label column index 5 is out of range"));
    o.label = -1;
    CHECK_THROWS_WITH(parse_csv<float>("a,b\n1,2\n", o, src), Catch::Contains("label column index -1 is out of range"));
    o.label = "b";
    o.ignore = {"a"};
    CHECK_THROWS_WITH(parse_csv<float>("a,b\n1,2\n", o, src), Catch::Contains("no feature column"));
    o.ignore = {"b"};
    CHECK_THROWS_WITH(parse_csv<float>("a,b\n1,2\n", o, src), Catch::Contains("is also in CsvOptions::ignore"));
    CHECK_THROWS_WITH(read_csv<float>(tmp_path("missing.csv")), Catch::Contains("missing.csv: cannot open"));
}

// -------------------------------------------------------------------------------------------------
// The snippets of docs/data.md, included from the page
// -------------------------------------------------------------------------------------------------

TEST_CASE("docs/data.md: quick start", "[data][docs]")
{
    #include "doc_snippets/data-quick-start.inc"
    CHECK(test.size() == 10000);
    CHECK(sampler.iterations_per_epoch() == 469);  // ceil(60000 / 128)
    CHECK(examples == 2 * 60000);                  // every sample, once per epoch
}

TEST_CASE("docs/data.md: IDX", "[data][docs]")
{
    const std::string path = write_file("doc-images.idx.gz", gzip(idx_bytes(0x08, {3, 2, 2}, image_payload(3, 2, 2))));
    const std::string images_path = path;
    const std::string labels_path = write_file("doc-labels.idx", idx_bytes(0x08, {3}, label_payload(3)));
    #include "doc_snippets/data-idx.inc"
    CHECK(m.values.shape()[1] == 4);
    CHECK(digits.size() == 3);
}

TEST_CASE("docs/data.md: CSV, split and standardisation", "[data][docs]")
{
    std::string table = "id,sepal_length,sepal_width,petal_length,petal_width,species\n";
    for (int i = 0; i < 30; ++i)
    {
        table += std::to_string(i) + "," + std::to_string(5 + i % 3) + ".1,3.5,1." + std::to_string(i % 7) + ",0.2,"
               + (i % 3 == 0 ? "setosa" : i % 3 == 1 ? "versicolor" : "virginica") + "\n";
    }
    const std::string path = write_text("iris-doc.csv", table);
    #include "doc_snippets/data-csv.inc"
    CHECK(iris.feature_dim() == 4);
    CHECK(iris.class_names == std::vector<std::string>{"setosa", "versicolor", "virginica"});
    #include "doc_snippets/data-split.inc"
    CHECK(fit.size() == 24);
    CHECK(val.size() == 6);
    REQUIRE(scaler.mean().size() == 4);
    // Fitted on `fit`: there every feature now has mean 0 (a constant one, like sepal_width, is 0).
    for (std::size_t j = 0; j < 4; ++j)
    {
        double m = 0.0;
        for (std::size_t i = 0; i < fit.size(); ++i)
        {
            m += fit.features(i, j) / static_cast<double>(fit.size());
        }
        CHECK(m == Approx(0.0).epsilon(0).margin(1e-12));
    }
}

TEST_CASE("docs/data.md: paired sampling and resuming", "[data][docs]")
{
    #include "doc_snippets/data-paired-sampling.inc"
    CHECK(epochs_that_differ == 0);
    CHECK(small.epoch() == 2);

    xtrain::BatchSampler<32>& sampler = small;
    sampler.next();
    xtrain::BatchSampler<32> resumed(1000, xtrain::SamplerOptions::shuffled(7));
    const std::string path = tmp_path("doc-sampler.ckpt");
    #include "doc_snippets/data-resume.inc"
    const auto a = sampler.next();
    const auto b = resumed.next();
    REQUIRE(a.size == b.size);
    CHECK(std::equal(a.begin(), a.end(), b.begin()));
}

TEST_CASE("docs/data.md: changing the batch size between epochs", "[data][docs]")
{
    #include "doc_snippets/data-batch-size-schedule.inc"
    CHECK(sampler.batch_size() == 3200);
    CHECK(sampler.iterations_per_epoch() == 16);
}

TEST_CASE("docs/data.md: linear regression with a known optimum", "[data][docs]")
{
    #include "doc_snippets/data-linear-regression.inc"
    // The training optimum lies below the population risk by about (D + 1) / N (overfitting the
    // noise), and fluctuates by sqrt(2 / N) relative: 0.0089 +- 0.0005 here.
    CHECK(best.mean_squared_error == Approx(task.optimal_risk()).epsilon(0.2));
}
