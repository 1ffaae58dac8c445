// The training report: SVG charts checked as XML (a small strict parser
// below) for their points, gaps, markers and cells; the PNG encoder against
// zlib's inflate and known pixels; the HTML page's sections, escaping and
// atomic write; feature maps of a network with known weights.
#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <unistd.h>
#include <zlib.h>

#include <doctest/doctest.h>
#include <strata/layers/activation.hpp>
#include <strata/layers/conv2d.hpp>
#include <strata/layers/dense.hpp>
#include <strata/layers/flatten.hpp>
#include <strata/layers/max_pool.hpp>
#include <strata/model/summary.hpp>
#include <strata/report/feature_maps.hpp>
#include <strata/report/html.hpp>

namespace st = strata;
namespace report = strata::report;
namespace fs = std::filesystem;

namespace {

// A strict XML reader, enough for SVG: elements, quoted attributes, text and
// the five named entities plus numeric ones. Anything else (a raw '<' or '&'
// in text, an unclosed or mismatched tag, a duplicate attribute) throws.
struct element {
    std::string name;
    std::map<std::string, std::string> attributes;
    std::vector<element> children;
    std::string text;  // the element's own text, entities decoded

    std::string attribute(const std::string& key) const {
        const auto it = attributes.find(key);
        return it == attributes.end() ? std::string() : it->second;
    }
    bool has_class(std::string_view c) const {
        std::istringstream classes(attribute("class"));
        for (std::string word; classes >> word;)
            if (word == c) return true;
        return false;
    }
    // This element and every descendant named `tag` (any tag when empty).
    void collect(std::string_view tag, std::vector<const element*>& out) const {
        if (tag.empty() || name == tag) out.push_back(this);
        for (const auto& c : children) c.collect(tag, out);
    }
    std::vector<const element*> all(std::string_view tag = {}) const {
        std::vector<const element*> out;
        collect(tag, out);
        return out;
    }
    std::vector<const element*> with_class(std::string_view c, std::string_view tag = {}) const {
        std::vector<const element*> out;
        for (const element* e : all(tag))
            if (e->has_class(c)) out.push_back(e);
        return out;
    }
};

class xml_reader {
public:
    explicit xml_reader(std::string_view text) : s_(text) {}

    element document() {
        skip_space();
        if (s_.substr(i_, 5) == "<?xml") {
            const auto end = s_.find("?>", i_);
            if (end == std::string_view::npos) fail("unterminated XML declaration");
            i_ = end + 2;
            skip_space();
        }
        element root = parse_element();
        skip_space();
        if (i_ != s_.size()) fail("text after the root element");
        return root;
    }

private:
    [[noreturn]] void fail(const std::string& what) const {
        throw std::runtime_error("not well-formed XML at offset " + std::to_string(i_) + ": " + what);
    }
    static bool name_char(char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == ':' || c == '.';
    }
    void skip_space() {
        while (i_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[i_]))) ++i_;
    }
    std::string parse_name() {
        const std::size_t start = i_;
        while (i_ < s_.size() && name_char(s_[i_])) ++i_;
        if (i_ == start) fail("expected a name");
        return std::string(s_.substr(start, i_ - start));
    }
    // Text up to `stop`, with entities decoded; '<' is never allowed in it.
    std::string parse_text(char stop) {
        std::string out;
        while (i_ < s_.size() && s_[i_] != stop) {
            const char c = s_[i_];
            if (c == '<') fail("'<' in an attribute value");
            if (c != '&') {
                out += c;
                ++i_;
                continue;
            }
            const auto end = s_.find(';', i_);
            if (end == std::string_view::npos || end - i_ > 10) fail("'&' that starts no entity");
            const std::string_view entity = s_.substr(i_ + 1, end - i_ - 1);
            static const std::map<std::string_view, char> named = {
                {"amp", '&'}, {"lt", '<'}, {"gt", '>'}, {"quot", '"'}, {"apos", '\''}};
            if (const auto it = named.find(entity); it != named.end())
                out += it->second;
            else if (entity.size() > 1 && entity[0] == '#')
                out +=
                    static_cast<char>(entity[1] == 'x' ? std::stoi(std::string(entity.substr(2)), nullptr, 16)
                                                       : std::stoi(std::string(entity.substr(1))));
            else
                fail("unknown entity &" + std::string(entity) + ";");
            i_ = end + 1;
        }
        return out;
    }
    element parse_element() {
        if (i_ >= s_.size() || s_[i_] != '<') fail("expected '<'");
        ++i_;
        element e;
        e.name = parse_name();
        for (;;) {
            skip_space();
            if (i_ >= s_.size()) fail("unterminated tag <" + e.name + ">");
            if (s_.substr(i_, 2) == "/>") {
                i_ += 2;
                return e;
            }
            if (s_[i_] == '>') {
                ++i_;
                break;
            }
            const std::string key = parse_name();
            skip_space();
            if (i_ >= s_.size() || s_[i_] != '=') fail("attribute " + key + " without '='");
            ++i_;
            skip_space();
            if (i_ >= s_.size() || (s_[i_] != '"' && s_[i_] != '\'')) fail("unquoted attribute " + key);
            const char quote = s_[i_++];
            std::string value = parse_text(quote);
            if (i_ >= s_.size()) fail("unterminated attribute " + key);
            ++i_;
            if (!e.attributes.emplace(key, std::move(value)).second) fail("duplicate attribute " + key);
        }
        for (;;) {
            if (i_ >= s_.size()) fail("<" + e.name + "> is never closed");
            if (s_.substr(i_, 2) == "</") {
                i_ += 2;
                const std::string closing = parse_name();
                if (closing != e.name) fail("</" + closing + "> closes <" + e.name + ">");
                skip_space();
                if (i_ >= s_.size() || s_[i_] != '>') fail("unterminated closing tag");
                ++i_;
                return e;
            }
            if (s_[i_] == '<')
                e.children.push_back(parse_element());
            else
                e.text += parse_text('<');
        }
    }

    std::string_view s_;
    std::size_t i_ = 0;
};

element parse_svg(const std::string& text) {
    element root;
    try {
        root = xml_reader(text).document();
    } catch (const std::exception& e) {
        FAIL(e.what() << "\n" << text);
    }
    REQUIRE(root.name == "svg");
    REQUIRE(root.attribute("xmlns") == "http://www.w3.org/2000/svg");
    return root;
}

std::size_t occurrences(std::string_view text, std::string_view what) {
    std::size_t n = 0;
    for (auto at = text.find(what); at != std::string_view::npos; at = text.find(what, at + what.size())) ++n;
    return n;
}

// Loss falls, validation loss has its minimum in epoch 4, and epoch 3 did not validate.
st::history sample_history() {
    st::history h;
    const double loss[] = {2.0, 1.2, 0.9, 0.7, 0.6, 0.5};
    const double val_loss[] = {2.1, 1.4, st::not_measured, 1.0, 1.1, 1.3};
    for (std::size_t e = 0; e < 6; ++e) {
        st::epoch_record r;
        r.epoch = e + 1;
        r.loss = loss[e];
        r.val_loss = val_loss[e];
        r.accuracy = 0.5 + 0.05 * static_cast<double>(e);
        r.val_accuracy = std::isnan(val_loss[e]) ? st::not_measured : 0.45 + 0.04 * static_cast<double>(e);
        r.learning_rate = e < 3 ? 1e-2 : 1e-4;
        r.seconds = 1.5;
        r.metrics = {
            {"f1_macro", 0.4 + 0.1 * static_cast<double>(e)},
            {"val_f1_macro", e == 2 ? st::not_measured : 0.6 - 0.05 * std::abs(static_cast<double>(e) - 1)}};
        h.epochs.push_back(r);
    }
    return h;
}

// The series group of a learning-curve chart by its class ("training", "validation").
const element& series(const element& svg, std::string_view which) {
    const auto groups = svg.with_class(which, "g");
    REQUIRE(groups.size() == 1);
    REQUIRE(groups[0]->has_class("series"));
    return *groups[0];
}

std::string marker_x(const element& svg, std::string_view which) {
    const auto markers = svg.with_class(which, "g");
    REQUIRE(markers.size() == 1);
    const auto lines = markers[0]->all("line");
    REQUIRE(lines.size() == 1);
    CHECK(lines[0]->attribute("x1") == lines[0]->attribute("x2"));
    CHECK(!lines[0]->attribute("stroke-dasharray").empty());
    return lines[0]->attribute("x1");
}

// The point of a series at an epoch, found by its tooltip ("epoch 4: 1").
const element* point_at(const element& group, std::size_t epoch) {
    for (const element* c : group.all("circle")) {
        const auto titles = c->all("title");
        if (!titles.empty() && titles[0]->text.starts_with("epoch " + std::to_string(epoch) + ":")) return c;
    }
    return nullptr;
}

// The PNG's chunks, each CRC checked.
struct png_chunk {
    std::string type;
    std::vector<std::uint8_t> data;
};
std::uint32_t big_endian(const std::uint8_t* p) {
    return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) | p[3];
}
std::vector<png_chunk> read_png_chunks(const std::vector<std::uint8_t>& png) {
    const std::uint8_t signature[] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    REQUIRE(png.size() >= 8);
    REQUIRE(std::equal(signature, signature + 8, png.begin()));
    std::vector<png_chunk> chunks;
    std::size_t at = 8;
    while (at < png.size()) {
        REQUIRE(at + 12 <= png.size());
        const std::uint32_t length = big_endian(&png[at]);
        REQUIRE(at + 12 + length <= png.size());
        png_chunk c{std::string(png.begin() + static_cast<std::ptrdiff_t>(at + 4),
                                png.begin() + static_cast<std::ptrdiff_t>(at + 8)),
                    std::vector<std::uint8_t>(png.begin() + static_cast<std::ptrdiff_t>(at + 8),
                                              png.begin() + static_cast<std::ptrdiff_t>(at + 8 + length))};
        const uLong crc = crc32(crc32(0L, Z_NULL, 0), &png[at + 4], static_cast<uInt>(length + 4));
        CHECK_MESSAGE(big_endian(&png[at + 8 + length]) == crc, "CRC of chunk " << c.type);
        chunks.push_back(std::move(c));
        at += 12 + length;
    }
    return chunks;
}
// The image data, inflated: a filter byte then the row, for every row.
std::vector<std::uint8_t> inflate(const std::vector<std::uint8_t>& packed, std::size_t expected) {
    std::vector<std::uint8_t> out(expected + 16);
    uLongf size = static_cast<uLongf>(out.size());
    REQUIRE(uncompress(out.data(), &size, packed.data(), static_cast<uLong>(packed.size())) == Z_OK);
    out.resize(size);
    return out;
}

}  // namespace

TEST_CASE("numbers and text in SVG are short, locale-free and escaped") {
    using report::detail::coord;
    using report::detail::escape_xml;
    using report::detail::format_number;
    CHECK(format_number(0.1 + 0.2) == "0.3");
    CHECK(format_number(1e-5) == "1e-05");
    CHECK(format_number(-0.0) == "0");
    CHECK(format_number(st::not_measured) == "NaN");
    CHECK(coord(12.04) == "12");
    CHECK(coord(-0.04) == "0");
    CHECK(coord(3.26) == "3.3");
    CHECK(escape_xml("<b>&\"'") == "&lt;b&gt;&amp;&quot;&#39;");
    CHECK(report::detail::shorten("abcdefghijklmnopqrstuvwxyz", 4) == "abcd\u2026");
    CHECK(report::detail::shorten("\u00e9\u00e9\u00e9", 3) == "\u00e9\u2026");  // not inside a character
}

TEST_CASE("lower_is_better by name: losses and errors down, scores up") {
    static_assert(st::lower_is_better("loss") && st::lower_is_better("val_loss"));
    static_assert(st::lower_is_better("dice_loss") && st::lower_is_better("val_mae") &&
                  st::lower_is_better("mse"));
    static_assert(st::lower_is_better("mean_squared_error"));
    static_assert(!st::lower_is_better("accuracy") && !st::lower_is_better("val_f1_macro"));
    static_assert(!st::lower_is_better("auc") && !st::lower_is_better("mean_iou"));
    for (const auto m :
         {st::metric::loss, st::metric::accuracy, st::metric::val_loss, st::metric::val_accuracy})
        CHECK(st::lower_is_better(m) == st::lower_is_better(st::metric_name(m)));
}

TEST_CASE("learning curves: a point per measured epoch, NaN gaps, best epoch at the lowest validation loss") {
    const st::history h = sample_history();
    const std::string text = report::learning_curves_svg(h);
    const element svg = parse_svg(text);
    const element& train = series(svg, "training");
    const element& validation = series(svg, "validation");
    CHECK(train.all("circle").size() == 6);
    CHECK(train.all("polyline").size() == 1);
    CHECK(validation.all("circle").size() == 5);    // epoch 3 was not validated
    CHECK(validation.all("polyline").size() == 2);  // so the line breaks there
    CHECK(occurrences(validation.all("polyline")[0]->attribute("points"), ",") == 2);
    CHECK(occurrences(validation.all("polyline")[1]->attribute("points"), ",") == 3);
    // No history::best_epoch: the lowest val_loss (epoch 4) is marked, at that epoch's x.
    const element* best = point_at(validation, 4);
    REQUIRE(best != nullptr);
    CHECK(marker_x(svg, "best-epoch") == best->attribute("cx"));
    CHECK(text.find("best epoch 4") != std::string::npos);
    CHECK(svg.with_class("early-stop").empty());
    CHECK(svg.all("title")[0]->text == "loss");
    CHECK(report::learning_curves_svg(h) == text);  // deterministic
    CHECK(report::learning_curves_svg(h, "val_loss") == text);

    SUBCASE("history::best_epoch and an early stop are marked where they happened") {
        st::history stopped = h;
        stopped.best_epoch = 2;
        stopped.stopped_epoch = 6;
        stopped.stop_reason = "early_stopping: val_loss did not improve for 2 epochs";
        stopped.cause = st::stop_cause::callback;
        const element s = parse_svg(report::learning_curves_svg(stopped));
        CHECK(marker_x(s, "best-epoch") == point_at(series(s, "validation"), 2)->attribute("cx"));
        CHECK(marker_x(s, "early-stop") == point_at(series(s, "training"), 6)->attribute("cx"));
    }
    SUBCASE("a score's best epoch is its highest validation value") {
        const element s = parse_svg(report::learning_curves_svg(h, "f1_macro"));
        CHECK(series(s, "training").all("circle").size() == 6);
        CHECK(series(s, "validation").all("circle").size() == 5);
        CHECK(marker_x(s, "best-epoch") == point_at(series(s, "validation"), 2)->attribute("cx"));  // 0.6
    }
    SUBCASE("accuracy, with a title of the caller's") {
        report::svg_options titled;
        titled.title = "Accuracy <%>";
        const element s = parse_svg(report::learning_curves_svg(h, "accuracy", titled));
        CHECK(s.all("title")[0]->text == "Accuracy <%>");
        CHECK(marker_x(s, "best-epoch") == point_at(series(s, "validation"), 6)->attribute("cx"));
    }
    SUBCASE("a quantity measured only in training has no validation curve and no best marker") {
        st::history train_only;
        for (auto r : h.epochs) {
            r.val_loss = st::not_measured;
            train_only.epochs.push_back(r);
        }
        const element s = parse_svg(report::learning_curves_svg(train_only));
        CHECK(s.with_class("validation").empty());
        CHECK(s.with_class("best-epoch").empty());
    }
}

TEST_CASE("learning curves of one epoch are points, not a crash") {
    st::history h;
    st::epoch_record r;
    r.epoch = 1;
    r.loss = 0.7;
    r.val_loss = 0.8;
    h.epochs.push_back(r);
    const element svg = parse_svg(report::learning_curves_svg(h));
    CHECK(series(svg, "training").all("circle").size() == 1);
    CHECK(series(svg, "training").all("polyline").empty());
    CHECK(series(svg, "validation").all("circle").size() == 1);
    CHECK(marker_x(svg, "best-epoch") == point_at(series(svg, "training"), 1)->attribute("cx"));
    for (const element* c : svg.all("circle")) {  // inside the picture
        CHECK(std::stod(c->attribute("cx")) > 0);
        CHECK(std::stod(c->attribute("cx")) < 640);
    }
}

TEST_CASE("learning curves refuse what they cannot draw, saying what there is") {
    CHECK_THROWS_AS(report::learning_curves_svg(st::history{}), st::usage_error);
    try {
        (void)report::learning_curves_svg(sample_history(), "top_5_accuracy");
        FAIL("no error");
    } catch (const st::usage_error& e) {
        const std::string message = e.what();
        CHECK(message.find("top_5_accuracy") != std::string::npos);
        CHECK(message.find("val_f1_macro") != std::string::npos);
    }
}

TEST_CASE("learning rate: logarithmic when it spans a decade, linear when flat") {
    const st::history h = sample_history();
    const element svg = parse_svg(report::learning_rate_svg(h));
    CHECK(series(svg, "learning-rate").all("circle").size() == 6);
    std::vector<std::string> labels;
    for (const element* t : svg.with_class("axes", "g")[0]->all("text")) labels.push_back(t->text);
    for (const char* decade : {"0.0001", "0.001", "0.01"})
        CHECK_MESSAGE(std::find(labels.begin(), labels.end(), decade) != labels.end(), decade);
    // The higher rate is drawn higher.
    const auto points = series(svg, "learning-rate").all("circle");
    const double high = std::stod(points[0]->attribute("cy")), low = std::stod(points[5]->attribute("cy"));
    CHECK(low > high);

    st::history flat = h;
    for (auto& r : flat.epochs) r.learning_rate = 0.01;
    const element linear = parse_svg(report::learning_rate_svg(flat));
    CHECK(series(linear, "learning-rate").all("polyline").size() == 1);

    // Asked for a log axis, a rate of 0 (a warm-up's start) is a gap.
    st::history warmup = h;
    warmup.epochs[0].learning_rate = 0;
    report::svg_options logarithmic;
    logarithmic.y_scale = report::axis_scale::logarithmic;
    const element gap = parse_svg(report::learning_rate_svg(warmup, logarithmic));
    CHECK(series(gap, "learning-rate").all("circle").size() == 5);
    // Automatic: not logarithmic with a zero rate, so every epoch shows.
    CHECK(series(parse_svg(report::learning_rate_svg(warmup)), "learning-rate").all("circle").size() == 6);

    st::history unmeasured = h;
    for (auto& r : unmeasured.epochs) r.learning_rate = st::not_measured;
    CHECK_THROWS_AS(report::learning_rate_svg(unmeasured), st::usage_error);
}

TEST_CASE("confusion matrix heat map: a cell per pair with its count, names escaped, colour by row share") {
    st::metrics::confusion_matrix m(3);
    m.add(0, 0, 50);
    m.add(0, 1, 3);
    m.add(1, 1, 40);
    m.add(2, 0, 7);
    m.add(2, 2, 1234);
    const std::vector<std::string> names = {"cat", "<b>&", "a very long class name that goes on"};
    const std::string text = report::confusion_matrix_svg(m, names);
    const element svg = parse_svg(text);
    const auto cells = svg.with_class("cell", "rect");
    CHECK(cells.size() == 9);
    std::vector<std::string> counts;
    for (const element* t : svg.with_class("count", "text")) counts.push_back(t->text);
    CHECK(counts == std::vector<std::string>{"50", "3", "0", "0", "40", "0", "7", "0", "1234"});
    CHECK(text.find("&lt;b&gt;&amp;") != std::string::npos);
    CHECK(text.find("<b>") == std::string::npos);
    // A full row is the darkest blue; an empty cell near-white.
    auto fill = [&](std::size_t t, std::size_t p) { return cells[t * 3 + p]->attribute("fill"); };
    CHECK(fill(1, 1) == "#08306b");
    CHECK(fill(1, 0) == "#f7fbff");
    CHECK(fill(0, 0) != fill(0, 1));
    // Long names are cut on the chart and whole in the tooltip.
    CHECK(text.find("a very long class na\u2026") != std::string::npos);
    CHECK(text.find("true a very long class name that goes on, predicted cat: 7") != std::string::npos);
    std::vector<std::string> axis_titles;
    for (const element* t : svg.all("text")) axis_titles.push_back(t->text);
    CHECK(std::find(axis_titles.begin(), axis_titles.end(), "true") != axis_titles.end());
    CHECK(std::find(axis_titles.begin(), axis_titles.end(), "predicted") != axis_titles.end());

    const element unnamed = parse_svg(report::confusion_matrix_svg(m));
    CHECK(unnamed.with_class("true-name", "text")[2]->text == "2");
    CHECK_THROWS_AS(report::confusion_matrix_svg(m, {"one", "two"}), st::usage_error);
    CHECK_THROWS_AS(report::confusion_matrix_svg(st::metrics::confusion_matrix{}), st::usage_error);
}

TEST_CASE("class scores: three bars per class, as tall as the score") {
    st::metrics::confusion_matrix m(2);
    m.add(0, 0, 3);
    m.add(0, 1, 1);
    m.add(1, 1, 4);
    const element svg = parse_svg(report::class_scores_svg(m, {"yes", "no"}));
    const auto bars = svg.with_class("bar", "rect");
    REQUIRE(bars.size() == 6);
    const double full = 200;  // the plot's height in pixels
    auto height = [&](std::size_t i) { return std::stod(bars[i]->attribute("height")); };
    CHECK(height(0) == doctest::Approx(full * m.precision(0)).epsilon(0.01));  // 1
    CHECK(height(1) == doctest::Approx(full * m.recall(0)).epsilon(0.01));     // 0.75
    CHECK(height(2) == doctest::Approx(full * m.f1(0)).epsilon(0.01));
    CHECK(height(3) == doctest::Approx(full * m.precision(1)).epsilon(0.01));  // 0.8
    CHECK(bars[1]->has_class("recall"));
    CHECK(bars[5]->has_class("f1"));
    CHECK(svg.with_class("class-name", "text")[1]->text == "no");
}

TEST_CASE("base64 matches RFC 4648's test vectors") {
    auto encode = [](std::string_view s) {
        return report::base64(std::span(reinterpret_cast<const std::uint8_t*>(s.data()), s.size()));
    };
    CHECK(encode("") == "");
    CHECK(encode("f") == "Zg==");
    CHECK(encode("fo") == "Zm8=");
    CHECK(encode("foo") == "Zm9v");
    CHECK(encode("foob") == "Zm9vYg==");
    CHECK(encode("fooba") == "Zm9vYmE=");
    CHECK(encode("foobar") == "Zm9vYmFy");
    const std::vector<std::uint8_t> high = {0xfb, 0xff, 0xfe};
    CHECK(report::base64(high) == "+//+");
}

TEST_CASE("PNG: signature, header, CRCs, and the pixels back through zlib's inflate") {
    SUBCASE("grey") {
        const std::vector<std::uint8_t> pixels = {0, 64, 128, 255, 1, 2};  // 3 wide, 2 high
        const auto png = report::encode_png_grey(pixels, 3, 2);
        const auto chunks = read_png_chunks(png);
        REQUIRE(chunks.size() == 3);
        CHECK(chunks[0].type == "IHDR");
        CHECK(chunks[1].type == "IDAT");
        CHECK(chunks[2].type == "IEND");
        CHECK(chunks[2].data.empty());
        const auto& ihdr = chunks[0].data;
        REQUIRE(ihdr.size() == 13);
        CHECK(big_endian(&ihdr[0]) == 3);
        CHECK(big_endian(&ihdr[4]) == 2);
        CHECK(ihdr[8] == 8);   // bit depth
        CHECK(ihdr[9] == 0);   // grey
        CHECK(ihdr[12] == 0);  // not interlaced
        CHECK(inflate(chunks[1].data, 8) == std::vector<std::uint8_t>{0, 0, 64, 128, 0, 255, 1, 2});
    }
    SUBCASE("RGB") {
        std::vector<std::uint8_t> pixels;
        for (std::size_t i = 0; i < 2 * 2 * 3; ++i) pixels.push_back(static_cast<std::uint8_t>(i * 20));
        const auto chunks = read_png_chunks(report::encode_png_rgb(pixels, 2, 2));
        CHECK(chunks[0].data[9] == 2);  // truecolour
        const auto rows = inflate(chunks[1].data, 14);
        REQUIRE(rows.size() == 14);
        CHECK(rows[0] == 0);
        CHECK(rows[7] == 0);
        CHECK(std::equal(pixels.begin(), pixels.begin() + 6, rows.begin() + 1));
        CHECK(std::equal(pixels.begin() + 6, pixels.end(), rows.begin() + 8));
    }
    SUBCASE("a large image compresses") {
        const std::vector<std::uint8_t> flat(256 * 256, 200);
        CHECK(report::encode_png_grey(flat, 256, 256).size() < 2000);
    }
    const std::vector<std::uint8_t> five(5);
    CHECK_THROWS_AS(report::encode_png_grey(five, 3, 2), st::usage_error);
    CHECK_THROWS_AS(report::encode_png_rgb(five, 0, 1), st::usage_error);
    CHECK(report::png_data_uri(report::encode_png_grey(five, 5, 1))
              .starts_with("data:image/png;base64,iVBORw0KGgo"));
}

TEST_CASE("to_image scales values to bytes; confidently_wrong ranks the sure mistakes") {
    const std::vector<float> values = {0.f, 0.5f, 1.f, 2.f};
    const auto own = report::to_image(std::span<const float>(values), 2, 2, 1, "own range");
    CHECK(own.pixels == std::vector<std::uint8_t>{0, 64, 128, 255});
    const auto fixed =
        report::to_image(std::span<const float>(values), 1, 4, 1, "", report::value_range{0, 1});
    CHECK(fixed.pixels == std::vector<std::uint8_t>{0, 128, 255, 255});  // clipped
    const std::vector<double> constant(6, 3.0);
    CHECK(report::to_image(std::span<const double>(constant), 1, 2, 3, "").pixels ==
          std::vector<std::uint8_t>(6, 0));
    CHECK_THROWS_AS(report::to_image(std::span<const float>(values), 2, 2, 2, ""), st::usage_error);
    CHECK_THROWS_AS(report::to_image(std::span<const float>(values), 3, 2, 1, ""), st::usage_error);

    // Logits of 4 samples over 3 classes; samples 1 and 3 are wrong, 3 more surely.
    const std::vector<float> logits = {5, 0, 0, 0, 2, 0, 0, 0, 1, 9, 0, 0};
    const std::vector<float> labels = {0, 0, 2, 1};
    const st::metrics::predictions<float> p{logits, labels, 4, 3, 1};
    const auto wrong = report::confidently_wrong(p, 5, true);
    REQUIRE(wrong.size() == 2);
    CHECK(wrong[0].index == 3);
    CHECK(wrong[0].truth == 1);
    CHECK(wrong[0].predicted == 0);
    CHECK(wrong[0].confidence == doctest::Approx(std::exp(9.0) / (std::exp(9.0) + 2)));
    CHECK(wrong[1].index == 1);
    CHECK(report::confidently_wrong(p, 1, true).size() == 1);
}

TEST_CASE("the HTML report has every section, escapes every string and is written atomically") {
    using net_t = st::sequential<st::input<8, 8, 1>, st::conv2d<4, 3, st::relu>, st::flatten, st::dense<3>>;
    net_t net;
    std::ostringstream summary;
    summary << st::summary(net);

    report::content c;
    c.title = "Run <1> & co";
    c.network_summary = summary.str();
    c.training = sample_history();
    c.training->best_epoch = 4;
    c.training->stopped_epoch = 6;
    c.training->stop_reason = "early_stopping: <val_loss> did not improve";
    st::metrics::confusion_matrix m(3);
    m.add(0, 0, 5);
    m.add(1, 2, 2);
    m.add(2, 2, 4);
    c.confusion = m;
    c.class_names = {"cat", "<b>&", "dog"};
    const std::vector<float> pixels(4 * 4, 0.25f);
    c.images.push_back(
        {"Wrong <images>", {report::to_image(std::span<const float>(pixels), 4, 4, 1, "true: <b>&")}});
    c.findings =
        std::vector<report::finding_text>{{"overfitting", report::severity::warning, "val_loss rose <fast>",
                                           "epoch 4: 1.0 -> epoch 6: 1.3", "add st::dropout<0.5>"}};

    const std::string page = report::to_html(c);
    for (const char* id :
         {"id=\"findings\"", "id=\"network\"", "id=\"training\"", "id=\"confusion\"", "id=\"images\""})
        CHECK_MESSAGE(page.find(id) != std::string::npos, id);
    // loss, accuracy and f1_macro curves, the learning rate, the heat map and the bars
    CHECK(occurrences(page, "<svg ") == 6);
    CHECK(occurrences(page, "<img ") == 1);
    CHECK(occurrences(page, "src=\"data:image/png;base64,") == 1);
    CHECK(page.find("<script") == std::string::npos);
    CHECK(page.find("http://") ==
          page.find("http://www.w3.org/2000/svg"));  // no resource but the SVG namespace
    CHECK(page.find("https://") == std::string::npos);
    // Every string of the caller's, escaped.
    for (const char* raw : {"<1>", "<b>", "<images>", "<fast>", "<val_loss>"})
        CHECK_MESSAGE(page.find(raw) == std::string::npos, raw);
    for (const char* escaped : {"Run &lt;1&gt; &amp; co", "&lt;b&gt;&amp;", "Wrong &lt;images&gt;",
                                "val_loss rose &lt;fast&gt;", "add st::dropout&lt;0.5&gt;"})
        CHECK_MESSAGE(page.find(escaped) != std::string::npos, escaped);
    CHECK(page.find("conv2d_0") != std::string::npos);
    CHECK(page.find("tr class=\"finding warning\"") != std::string::npos);
    // Every chart in the page is well-formed on its own.
    for (auto at = page.find("<svg "); at != std::string::npos; at = page.find("<svg ", at + 1)) {
        const auto end = page.find("</svg>", at);
        REQUIRE(end != std::string::npos);
        (void)parse_svg(page.substr(at, end + 6 - at));
    }

    SUBCASE("pieces left empty are left out; findings that ran and found nothing say so") {
        report::content few;
        few.findings = std::vector<report::finding_text>{};
        const std::string short_page = report::to_html(few);
        CHECK(short_page.find("no problem") != std::string::npos);
        CHECK(short_page.find("<svg") == std::string::npos);
        CHECK(short_page.find("id=\"network\"") == std::string::npos);
        CHECK(report::to_html(report::content{}).find("id=\"findings\"") == std::string::npos);
    }
    SUBCASE("html() replaces the file whole and leaves no temporary file") {
        const fs::path dir = fs::temp_directory_path() / ("strata_report_" + std::to_string(::getpid()));
        fs::remove_all(dir);
        fs::create_directories(dir);
        const fs::path file = dir / "report.html";
        {
            std::ofstream old(file);
            old << "an old report";
        }
        report::html(file, c);
        std::ifstream in(file);
        std::stringstream written;
        written << in.rdbuf();
        CHECK(written.str() == page);
        std::size_t entries = 0;
        for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir)) ++entries;
        CHECK(entries == 1);
        CHECK_THROWS_AS(report::html(dir / "missing" / "report.html", c), st::data_error);
        report::save_svg(dir / "loss.svg", report::learning_curves_svg(*c.training));
        CHECK(fs::file_size(dir / "loss.svg") > 500);
        fs::remove_all(dir);
    }
}

TEST_CASE("feature maps: each convolution's channels, tiled, from a forward pass") {
    using net_t = st::sequential<st::input<8, 8, 1>, st::conv2d<4, 3, st::relu>, st::max_pool<2>,
                                 st::conv2d<2, 3>, st::flatten, st::dense<2>>;
    net_t net;
    // Filter 0 of the first convolution copies the centre pixel; the others are zero.
    auto first = net.layer_parameters<0>();
    std::fill(first.begin(), first.end(), 0.f);
    first[((1 * 3 + 1) * 1 + 0) * 4 + 0] = 1.f;
    std::vector<float> sample(64);
    for (std::size_t i = 0; i < 64; ++i) sample[i] = static_cast<float>(i);  // y * 8 + x

    const auto maps = report::feature_maps(net, std::span<const float>(sample));
    REQUIRE(maps.size() == 2);
    CHECK(maps[0].caption == "0_conv2d: 4 channels, 6 x 6");
    CHECK(maps[1].caption == "2_conv2d: 2 channels, 1 x 1");
    CHECK(maps[0].width == 13);  // 2 x 2 tiles of 6 x 6 with a pixel between
    CHECK(maps[0].height == 13);
    CHECK(maps[1].width == 3);
    CHECK(maps[1].height == 1);
    // Channel 0 (top left) is the input's inner 6 x 6, values 9..54 scaled to 0..255.
    for (std::size_t y = 0; y < 6; ++y)
        for (std::size_t x = 0; x < 6; ++x) {
            const double value = static_cast<double>((y + 1) * 8 + x + 1);
            CHECK(maps[0].pixels[y * 13 + x] == std::lround((value - 9) * 255 / 45));
        }
    CHECK(maps[0].pixels[6] == 255);         // the white line between tiles
    CHECK(maps[0].pixels[7 * 13 + 7] == 0);  // channel 3: constant zero, black
    CHECK(!maps[0].png().empty());

    const auto three = report::feature_maps(net, std::span<const float>(sample), 3);
    CHECK(three[0].caption == "0_conv2d: 3 of 4 channels, 6 x 6");
    CHECK(three[0].width == 13);
    CHECK_THROWS_AS(report::feature_maps(net, std::span<const float>(sample.data(), 10)), st::usage_error);
}
