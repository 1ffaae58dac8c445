// The report's charts as standalone SVG text, written by hand so the core
// needs no plotting library: learning curves (training and validation, best
// epoch and early stop marked), the learning rate, the confusion matrix as a
// heat map and per-class precision, recall and F1 bars. The output depends
// only on the input (no clocks, no hash order, locale-free numbers), so a
// chart can be compared byte for byte.
#pragma once

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "../core/error.hpp"
#include "../core/metric.hpp"
#include "../data/npy.hpp"
#include "../metrics/metrics.hpp"
#include "../train/history.hpp"

namespace strata::report {

enum class axis_scale {
    automatic,  // linear, except a learning rate that spans a factor of 10 or more
    linear,
    logarithmic,  // values <= 0 cannot be drawn and become gaps
};

struct svg_options {
    std::size_t width = 640, height = 360;  // the whole picture, in pixels
    axis_scale y_scale = axis_scale::automatic;
    std::string title;  // empty: the quantity's name
};

namespace detail {

// Text and attribute values alike: the five characters XML reserves.
inline std::string escape_xml(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (const char c : text) {
        switch (c) {
            case '&':
                out += "&amp;";
                break;
            case '<':
                out += "&lt;";
                break;
            case '>':
                out += "&gt;";
                break;
            case '"':
                out += "&quot;";
                break;
            case '\'':
                out += "&#39;";
                break;
            default:
                out += c;
        }
    }
    return out;
}

// A value for people: at most `digits` significant digits ("0.25", "1e-05").
inline std::string format_number(double v, int digits = 4) {
    if (std::isnan(v)) return "NaN";
    if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
    if (v == 0) v = 0;  // no "-0"
    char text[40];
    const auto end = std::to_chars(text, text + sizeof text, v, std::chars_format::general, digits).ptr;
    return std::string(text, end);
}

// A coordinate: one decimal is finer than a pixel, and short output stays readable.
inline std::string coord(double v) {
    char text[40];
    const auto end = std::to_chars(text, text + sizeof text, v, std::chars_format::fixed, 1).ptr;
    std::string s(text, end);
    if (s.ends_with(".0")) s.resize(s.size() - 2);
    return s == "-0" ? "0" : s;
}

// Names longer than this are cut on the chart (the tooltip keeps them whole).
inline constexpr std::size_t shown_name_chars = 20;
// Estimated width of a character of 12-pixel sans-serif text, to make room for labels.
inline constexpr double char_width = 7;

// At most `chars` characters, cut on a UTF-8 character boundary, with an ellipsis when cut.
inline std::string shorten(std::string_view name, std::size_t chars = shown_name_chars) {
    if (name.size() <= chars) return std::string(name);
    std::size_t cut = chars;
    while (cut > 0 && (static_cast<unsigned char>(name[cut]) & 0xC0) == 0x80) --cut;
    return std::string(name.substr(0, cut)) + "\u2026";
}

inline std::string hex_colour(double r, double g, double b) {
    static constexpr char digits[] = "0123456789abcdef";
    std::string out = "#";
    for (const double c : {r, g, b}) {
        const int v = static_cast<int>(std::lround(std::clamp(c, 0.0, 255.0)));
        out += digits[v >> 4];
        out += digits[v & 15];
    }
    return out;
}

// Appends elements with escaped text and short numbers.
class svg_writer {
public:
    svg_writer(double width, double height, std::string_view title) {
        out_ += "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + coord(width) + "\" height=\"" +
                coord(height) + "\" viewBox=\"0 0 " + coord(width) + " " + coord(height) +
                "\" font-family=\"sans-serif\" font-size=\"12\" role=\"img\">\n<title>" + escape_xml(title) +
                "</title>\n<rect width=\"" + coord(width) + "\" height=\"" + coord(height) +
                "\" fill=\"#ffffff\"/>\n";
    }
    // `attributes` is trusted markup made by this file; `content` is escaped.
    void text(double x, double y, std::string_view content, std::string_view attributes = {}) {
        out_ += "<text x=\"" + coord(x) + "\" y=\"" + coord(y) + "\"";
        if (!attributes.empty()) (out_ += ' ') += attributes;
        out_ += ">" + escape_xml(content) + "</text>\n";
    }
    // Text turned by `degrees` about its anchor point.
    void turned_text(double x, double y, double degrees, std::string_view content,
                     std::string_view attributes) {
        out_ += "<text transform=\"translate(" + coord(x) + "," + coord(y) + ") rotate(" + coord(degrees) +
                ")\" " + std::string(attributes) + ">" + escape_xml(content) + "</text>\n";
    }
    void line(double x1, double y1, double x2, double y2, std::string_view stroke,
              std::string_view attributes = {}) {
        out_ += "<line x1=\"" + coord(x1) + "\" y1=\"" + coord(y1) + "\" x2=\"" + coord(x2) + "\" y2=\"" +
                coord(y2) + "\" stroke=\"" + std::string(stroke) + "\"";
        if (!attributes.empty()) (out_ += ' ') += attributes;
        out_ += "/>\n";
    }
    // A rectangle, with a tooltip when `tooltip` is not empty.
    void rect(double x, double y, double w, double h, std::string_view fill, std::string_view attributes = {},
              std::string_view tooltip = {}) {
        out_ += "<rect x=\"" + coord(x) + "\" y=\"" + coord(y) + "\" width=\"" + coord(w) + "\" height=\"" +
                coord(h) + "\" fill=\"" + std::string(fill) + "\"";
        if (!attributes.empty()) (out_ += ' ') += attributes;
        if (tooltip.empty())
            out_ += "/>\n";
        else
            out_ += "><title>" + escape_xml(tooltip) + "</title></rect>\n";
    }
    void raw(std::string_view markup) { out_ += markup; }
    std::string finish() && {
        out_ += "</svg>\n";
        return std::move(out_);
    }

private:
    std::string out_;
};

// 1, 2, 2.5 or 5 times a power of ten, giving about `ticks` intervals over span.
inline double nice_step(double span, double ticks, bool integers) {
    const double raw = span / ticks;
    const double magnitude = std::pow(10.0, std::floor(std::log10(raw)));
    const double r = raw / magnitude;
    double step = r <= 1 ? 1 : r <= 2 ? 2 : (r <= 2.5 && !integers) ? 2.5 : r <= 5 ? 5 : 10;
    step *= magnitude;
    return integers ? std::max(1.0, std::round(step)) : step;
}

// An axis's domain and where its labelled ticks go.
struct axis {
    double low = 0, high = 1;
    bool logarithmic = false;
    std::vector<double> ticks;

    // 0 at low, 1 at high.
    double fraction(double v) const {
        return logarithmic ? (std::log10(v) - std::log10(low)) / (std::log10(high) - std::log10(low))
                           : (v - low) / (high - low);
    }
};

// A value axis widened to round numbers.
inline axis value_axis(double lo, double hi) {
    if (!(hi > lo)) {  // one value, or a flat curve: centre it
        const double pad = lo == 0 ? 1 : std::abs(lo) * 0.1;
        lo -= pad;
        hi += pad;
    }
    const double step = nice_step(hi - lo, 5, false);
    axis a;
    a.low = std::floor(lo / step) * step;
    a.high = std::ceil(hi / step) * step;
    for (double k = std::round(a.low / step); k * step <= a.high + step * 1e-9; ++k)
        a.ticks.push_back(k * step);
    return a;
}

// Decades around positive values, a tick on each (or every few).
inline axis log_axis(double lo, double hi) {
    double first = std::floor(std::log10(lo)), last = std::ceil(std::log10(hi));
    if (last == first) ++last;
    axis a{std::pow(10.0, first), std::pow(10.0, last), true, {}};
    const double every = std::ceil((last - first) / 6);
    for (double e = first; e <= last; e += every) {
        a.ticks.push_back(std::pow(10.0, e));
        if (last - first <= 2 && e < last)  // few decades: 2 and 5 times each too
            for (const double m : {2.0, 5.0}) a.ticks.push_back(m * std::pow(10.0, e));
    }
    std::sort(a.ticks.begin(), a.ticks.end());
    return a;
}

// Epochs exactly, whole-number ticks; one epoch gets half an epoch either side.
inline axis epoch_axis(double first, double last) {
    axis a{first, last, false, {}};
    if (last <= first) {
        a.low = first - 0.5;
        a.high = first + 0.5;
        a.ticks = {first};
        return a;
    }
    const double step = nice_step(last - first, 8, true);
    for (double k = std::ceil(first / step); k * step <= last; ++k) a.ticks.push_back(k * step);
    return a;
}

struct chart_series {
    std::string label, css_class, colour;
    std::vector<double> values;  // one per epoch; NaN: not measured (a gap)
};

struct chart_marker {
    double epoch = 0;
    std::string label, css_class, colour, dash;
};

struct line_chart {
    std::string title, y_label;
    std::vector<double> epochs;
    std::vector<chart_series> series;
    std::vector<chart_marker> markers;
    bool log_y = false;
};

// Series over epochs: lines through consecutive measured values, a dot on
// each (so a lone value still shows), vertical dashed markers, a legend.
inline std::string draw(const line_chart& c, const svg_options& options) {
    const double width = static_cast<double>(std::max<std::size_t>(options.width, 240));
    const double height = static_cast<double>(std::max<std::size_t>(options.height, 160));
    constexpr double left = 64, right = 20, bottom = 44, swatch = 18, legend_row = 16;

    auto drawable = [&](double v) { return std::isfinite(v) && (!c.log_y || v > 0); };

    // Legend entries first: they decide how much room the top needs.
    struct legend_entry {
        std::string label, colour, dash;
    };
    std::vector<legend_entry> legend;
    for (const auto& s : c.series) legend.push_back({s.label, s.colour, {}});
    for (const auto& m : c.markers) legend.push_back({m.label, m.colour, m.dash});
    std::vector<std::pair<double, double>> legend_at;  // x, row
    double lx = left, row = 0;
    for (const auto& e : legend) {
        const double w = swatch + 6 + char_width * static_cast<double>(e.label.size()) + 16;
        if (lx > left && lx + w > width - right) {
            lx = left;
            ++row;
        }
        legend_at.emplace_back(lx, row);
        lx += w;
    }
    const double top = 30 + (row + 1) * legend_row + 10;
    const double x0 = left, x1 = width - right, y0 = top, y1 = height - bottom;

    double lo = 0, hi = 0;
    bool any = false;
    for (const auto& s : c.series)
        for (const double v : s.values)
            if (drawable(v)) {
                lo = any ? std::min(lo, v) : v;
                hi = any ? std::max(hi, v) : v;
                any = true;
            }
    const axis ya = !any ? value_axis(0, 1) : c.log_y ? log_axis(lo, hi) : value_axis(lo, hi);
    double first = c.epochs.front(), last = c.epochs.back();
    for (const auto& m : c.markers) {
        first = std::min(first, m.epoch);
        last = std::max(last, m.epoch);
    }
    const axis xa = epoch_axis(first, last);
    auto px = [&](double epoch) { return x0 + xa.fraction(epoch) * (x1 - x0); };
    auto py = [&](double v) { return y1 - ya.fraction(v) * (y1 - y0); };

    svg_writer svg(width, height, c.title);
    svg.text(width / 2, 20, c.title, "text-anchor=\"middle\" font-size=\"14\" font-weight=\"bold\"");
    svg.raw("<g class=\"legend\">\n");
    for (std::size_t i = 0; i < legend.size(); ++i) {
        const auto [x, r] = legend_at[i];
        const double y = 34 + r * legend_row;
        svg.line(
            x, y, x + swatch, y, legend[i].colour,
            "stroke-width=\"2\"" +
                (legend[i].dash.empty() ? std::string() : " stroke-dasharray=\"" + legend[i].dash + "\""));
        svg.text(x + swatch + 6, y + 4, legend[i].label);
    }
    svg.raw("</g>\n<g class=\"axes\">\n");
    for (const double t : ya.ticks) {
        const double y = py(t);
        svg.line(x0, y, x1, y, "#e6e6e6");
        svg.line(x0 - 4, y, x0, y, "#444444");
        svg.text(x0 - 7, y + 4, format_number(t), "text-anchor=\"end\"");
    }
    for (const double t : xa.ticks) {
        const double x = px(t);
        svg.line(x, y1, x, y1 + 4, "#444444");
        svg.text(x, y1 + 17, format_number(t, 6), "text-anchor=\"middle\"");
    }
    svg.line(x0, y0, x0, y1, "#444444");
    svg.line(x0, y1, x1, y1, "#444444");
    svg.text((x0 + x1) / 2, height - 8, "epoch", "text-anchor=\"middle\"");
    svg.turned_text(16, (y0 + y1) / 2, -90, c.y_label, "text-anchor=\"middle\"");
    svg.raw("</g>\n");

    for (const auto& s : c.series) {
        svg.raw("<g class=\"series " + s.css_class + "\" data-label=\"" + escape_xml(s.label) + "\">\n");
        // A polyline per run of measured values: NaN breaks the line.
        std::string run;
        std::size_t run_length = 0;
        auto end_run = [&] {
            if (run_length >= 2)
                svg.raw("<polyline fill=\"none\" stroke=\"" + s.colour + "\" stroke-width=\"2\" points=\"" +
                        run + "\"/>\n");
            run.clear();
            run_length = 0;
        };
        for (std::size_t i = 0; i < s.values.size(); ++i) {
            if (!drawable(s.values[i])) {
                end_run();
                continue;
            }
            if (run_length++) run += ' ';
            run += coord(px(c.epochs[i])) + "," + coord(py(s.values[i]));
        }
        end_run();
        for (std::size_t i = 0; i < s.values.size(); ++i)
            if (drawable(s.values[i]))
                svg.raw("<circle class=\"point\" cx=\"" + coord(px(c.epochs[i])) + "\" cy=\"" +
                        coord(py(s.values[i])) + "\" r=\"2.5\" fill=\"" + s.colour + "\"><title>epoch " +
                        format_number(c.epochs[i], 6) + ": " + format_number(s.values[i]) +
                        "</title></circle>\n");
        svg.raw("</g>\n");
    }

    for (std::size_t i = 0; i < c.markers.size(); ++i) {
        const auto& m = c.markers[i];
        const double x = px(m.epoch);
        svg.raw("<g class=\"marker " + m.css_class + "\">\n");
        svg.line(x, y0, x, y1, m.colour, "stroke-width=\"1.5\" stroke-dasharray=\"" + m.dash + "\"");
        // Near the right edge the label goes left of the line; markers stack so equal epochs stay readable.
        const bool flip = x > x0 + 0.75 * (x1 - x0);
        svg.text(
            flip ? x - 4 : x + 4, y0 + 12 + 14 * static_cast<double>(i), m.label,
            std::string("fill=\"") + m.colour +
                "\" stroke=\"#ffffff\" stroke-width=\"3\" paint-order=\"stroke\"" +  // readable over lines
                (flip ? " text-anchor=\"end\"" : ""));
        svg.raw("</g>\n");
    }
    return std::move(svg).finish();
}

inline std::vector<double> epochs_of(const history& h) {
    std::vector<double> x;
    for (std::size_t i = 0; i < h.epochs.size(); ++i)
        x.push_back(static_cast<double>(h.epochs[i].epoch ? h.epochs[i].epoch : i + 1));
    return x;
}

inline bool any_finite(const std::vector<double>& values) {
    return std::any_of(values.begin(), values.end(), [](double v) { return std::isfinite(v); });
}

// Every quantity the history measured in some epoch, by Keras name, in first-seen order.
inline std::vector<std::string> measured_quantities(const history& h) {
    std::vector<std::string> names;
    auto add = [&](std::string_view name) {
        if (std::find(names.begin(), names.end(), name) == names.end()) names.emplace_back(name);
    };
    for (const metric m : {metric::loss, metric::val_loss, metric::accuracy, metric::val_accuracy})
        for (const auto& e : h.epochs)
            if (std::isfinite(e.value(m))) {
                add(metric_name(m));
                break;
            }
    for (const auto& e : h.epochs)
        for (const auto& [name, v] : e.metrics)
            if (std::isfinite(v)) add(name);
    return names;
}

inline std::vector<std::string> names_or_indices(const metrics::confusion_matrix& m,
                                                 const std::vector<std::string>& names, const char* caller) {
    if (m.classes() == 0) throw usage_error(std::string(caller) + ": the confusion matrix has no classes");
    if (names.empty()) {
        std::vector<std::string> indices;
        for (std::size_t c = 0; c < m.classes(); ++c) indices.push_back(std::to_string(c));
        return indices;
    }
    if (names.size() != m.classes())
        throw usage_error(std::string(caller) + ": " + std::to_string(names.size()) + " class names for " +
                          std::to_string(m.classes()) + " classes");
    return names;
}

inline double widest_name(const std::vector<std::string>& names) {
    std::size_t chars = 1;
    for (const auto& n : names) chars = std::max(chars, std::min(n.size(), shown_name_chars + 1));
    return char_width * static_cast<double>(chars);
}

}  // namespace detail

// Training and validation curves of one quantity over the epochs: "loss",
// "accuracy" or any metric fit recorded (the validation curve is
// "val_" + quantity). Marks the best epoch (history::best_epoch, else the best
// validation value: the lowest for losses and errors, the highest for scores)
// with a dashed line, and the epoch training stopped early in. Epochs that did
// not measure the quantity are gaps in the line.
inline std::string learning_curves_svg(const history& h, std::string_view quantity = "loss",
                                       const svg_options& options = {}) {
    if (h.epochs.empty()) throw usage_error("learning_curves_svg: the history has no epochs");
    if (quantity.starts_with("val_")) quantity.remove_prefix(4);
    const std::string train_name(quantity), validation_name = "val_" + train_name;
    detail::line_chart chart;
    chart.title = options.title.empty() ? train_name : options.title;
    chart.y_label = train_name;
    chart.epochs = detail::epochs_of(h);
    chart.log_y = options.y_scale == axis_scale::logarithmic;
    std::vector<double> train, validation;
    for (const auto& e : h.epochs) {
        train.push_back(e.value(train_name));
        validation.push_back(e.value(validation_name));
    }
    if (!detail::any_finite(train) && !detail::any_finite(validation)) {
        std::string measured;
        for (const auto& n : detail::measured_quantities(h)) measured += (measured.empty() ? "" : ", ") + n;
        throw usage_error("learning_curves_svg: no epoch measured '" + train_name + "' or '" +
                          validation_name + "'; the history has " +
                          (measured.empty() ? "no measured quantity" : measured));
    }
    if (detail::any_finite(train))
        chart.series.push_back({"training", "training", "#1f77b4", std::move(train)});
    const bool validated = detail::any_finite(validation);
    if (validated) chart.series.push_back({"validation", "validation", "#ff7f0e", validation});

    double best = 0;
    if (h.best_epoch != 0) {
        best = static_cast<double>(h.best_epoch);
    } else if (validated) {
        const bool lower = lower_is_better(train_name);
        std::size_t at = validation.size();
        for (std::size_t i = 0; i < validation.size(); ++i)
            if (std::isfinite(validation[i]) &&
                (at == validation.size() ||
                 (lower ? validation[i] < validation[at] : validation[i] > validation[at])))
                at = i;
        best = chart.epochs[at];
    }
    if (best != 0)
        chart.markers.push_back(
            {best, "best epoch " + detail::format_number(best, 6), "best-epoch", "#2ca02c", "6 4"});
    if (h.stopped_early() && h.stopped_epoch != 0) {
        const double stop = static_cast<double>(h.stopped_epoch);
        chart.markers.push_back(
            {stop, "stopped in epoch " + detail::format_number(stop, 6), "early-stop", "#d62728", "2 3"});
    }
    return detail::draw(chart, options);
}

// The learning rate of each epoch's last step. With the automatic scale the
// axis is logarithmic when the rate spans a factor of 10 or more (decays,
// warm-ups) and every rate is positive.
inline std::string learning_rate_svg(const history& h, const svg_options& options = {}) {
    if (h.epochs.empty()) throw usage_error("learning_rate_svg: the history has no epochs");
    detail::line_chart chart;
    chart.title = options.title.empty() ? "learning rate" : options.title;
    chart.y_label = "learning rate";
    chart.epochs = detail::epochs_of(h);
    std::vector<double> rates;
    for (const auto& e : h.epochs) rates.push_back(e.learning_rate);
    if (!detail::any_finite(rates))
        throw usage_error("learning_rate_svg: no epoch recorded its learning rate");
    double lo = 0, hi = 0;
    bool positive = true, first = true;
    for (const double r : rates)
        if (std::isfinite(r)) {
            positive = positive && r > 0;
            lo = first ? r : std::min(lo, r);
            hi = first ? r : std::max(hi, r);
            first = false;
        }
    chart.log_y = options.y_scale == axis_scale::logarithmic ||
                  (options.y_scale == axis_scale::automatic && positive && hi >= 10 * lo);
    chart.series.push_back({"learning rate", "learning-rate", "#9467bd", std::move(rates)});
    return detail::draw(chart, options);
}

// The confusion matrix as a heat map: rows are true classes, columns
// predicted ones; a cell's colour is its share of the row (so the diagonal
// reads as each class's recall) and its text the count. Names default to the
// class indices.
inline std::string confusion_matrix_svg(const metrics::confusion_matrix& m,
                                        const std::vector<std::string>& names = {}) {
    const auto labels = detail::names_or_indices(m, names, "confusion_matrix_svg");
    const std::size_t n = m.classes();
    const double cell = std::clamp(std::floor(400.0 / static_cast<double>(n)), 14.0, 48.0);
    const double name_width = detail::widest_name(labels);
    const double gx = 32 + name_width + 8, gy = 44, side = cell * static_cast<double>(n);
    const double turned_extent = name_width * 0.71 + 14;  // names at 45 degrees under the columns
    const double legend_x = gx + side + 18, legend_height = std::min(side, 200.0);
    const double width = legend_x + 14 + 44, height = gy + side + turned_extent + 30;
    const double font = std::clamp(cell * 0.32, 7.0, 12.0);

    // Share 0 is near-white, share 1 dark blue (matplotlib's "Blues" ends).
    auto colour = [](double share) {
        return detail::hex_colour(247 + (8 - 247) * share, 251 + (48 - 251) * share,
                                  255 + (107 - 255) * share);
    };

    detail::svg_writer svg(width, height, "confusion matrix");
    svg.text(width / 2, 20, "confusion matrix",
             "text-anchor=\"middle\" font-size=\"14\" font-weight=\"bold\"");
    svg.raw("<g class=\"cells\">\n");
    for (std::size_t t = 0; t < n; ++t) {
        const double support = static_cast<double>(m.support(t));
        for (std::size_t p = 0; p < n; ++p) {
            const std::size_t count = m(t, p);
            const double share = support > 0 ? static_cast<double>(count) / support : 0.0;
            const double x = gx + cell * static_cast<double>(p), y = gy + cell * static_cast<double>(t);
            svg.rect(x, y, cell, cell, colour(share),
                     "class=\"cell\" data-true=\"" + std::to_string(t) + "\" data-predicted=\"" +
                         std::to_string(p) + "\" stroke=\"#ffffff\"",
                     "true " + labels[t] + ", predicted " + labels[p] + ": " + std::to_string(count) + " (" +
                         detail::format_number(100 * share, 3) + "% of the row)");
            svg.text(x + cell / 2, y + cell / 2 + font * 0.35, std::to_string(count),
                     "class=\"count\" text-anchor=\"middle\" font-size=\"" + detail::coord(font) +
                         "\" fill=\"" + (share > 0.5 ? "#ffffff" : "#222222") + "\"");
        }
    }
    svg.raw("</g>\n<g class=\"labels\">\n");
    for (std::size_t c = 0; c < n; ++c) {
        const double centre = cell * (static_cast<double>(c) + 0.5);
        svg.text(gx - 6, gy + centre + 4, detail::shorten(labels[c]),
                 "class=\"true-name\" text-anchor=\"end\"");
        svg.turned_text(gx + centre + 4, gy + side + 8, -45, detail::shorten(labels[c]),
                        "class=\"predicted-name\" text-anchor=\"end\"");
    }
    svg.turned_text(14, gy + side / 2, -90, "true", "text-anchor=\"middle\" font-weight=\"bold\"");
    svg.text(gx + side / 2, height - 10, "predicted", "text-anchor=\"middle\" font-weight=\"bold\"");
    svg.raw("</g>\n<g class=\"colour-scale\">\n");
    constexpr int steps = 10;
    for (int s = 0; s < steps; ++s) {
        const double share = (steps - 1 - s + 0.5) / steps;
        svg.rect(legend_x, gy + legend_height * s / steps, 14, legend_height / steps + 0.5, colour(share));
    }
    svg.text(legend_x + 18, gy + 9, "100%");
    svg.text(legend_x + 18, gy + legend_height, "0%");
    svg.turned_text(legend_x + 30, gy + legend_height / 2, -90, "share of row",
                    "text-anchor=\"middle\" font-size=\"10\"");
    svg.raw("</g>\n");
    return std::move(svg).finish();
}

// Per-class precision, recall and F1 as grouped bars on a 0..1 axis.
inline std::string class_scores_svg(const metrics::confusion_matrix& m,
                                    const std::vector<std::string>& names = {}) {
    const auto labels = detail::names_or_indices(m, names, "class_scores_svg");
    const std::size_t n = m.classes();
    constexpr double left = 52, right = 16, top = 58, plot_height = 200;
    const double group = 48, bar = (group - 12) / 3;
    const double name_width = detail::widest_name(labels);
    const bool turn = name_width > group - 6;  // names that do not fit under their group are turned
    const double name_extent = turn ? name_width * 0.64 + 16 : 20;
    const double width = std::max(left + group * static_cast<double>(n) + right, 360.0);
    const double y0 = top, y1 = top + plot_height, height = y1 + name_extent + 8;
    auto py = [&](double v) { return y1 - v * plot_height; };

    struct score {
        const char* name;
        const char* colour;
    };
    const score scores[] = {{"precision", "#4c72b0"}, {"recall", "#dd8452"}, {"f1", "#55a868"}};
    auto score_of = [&](std::size_t k, std::size_t c) {
        return k == 0 ? m.precision(c) : k == 1 ? m.recall(c) : m.f1(c);
    };

    detail::svg_writer svg(width, height, "per-class precision, recall and F1");
    svg.text(width / 2, 20, "per-class precision, recall and F1",
             "text-anchor=\"middle\" font-size=\"14\" font-weight=\"bold\"");
    svg.raw("<g class=\"legend\">\n");
    double lx = left;
    for (const auto& s : scores) {
        svg.rect(lx, 30, 12, 12, s.colour);
        svg.text(lx + 16, 40, s.name);
        lx += 16 + detail::char_width * static_cast<double>(std::string_view(s.name).size()) + 18;
    }
    svg.raw("</g>\n<g class=\"axes\">\n");
    for (int t = 0; t <= 5; ++t) {
        const double v = t / 5.0, y = py(v);
        svg.line(left, y, width - right, y, "#e6e6e6");
        svg.line(left - 4, y, left, y, "#444444");
        svg.text(left - 7, y + 4, detail::format_number(v), "text-anchor=\"end\"");
    }
    svg.line(left, y0, left, y1, "#444444");
    svg.line(left, y1, width - right, y1, "#444444");
    svg.raw("</g>\n<g class=\"bars\">\n");
    for (std::size_t c = 0; c < n; ++c) {
        const double gx = left + group * static_cast<double>(c) + 6;
        for (std::size_t k = 0; k < 3; ++k) {
            const double v = score_of(k, c);
            svg.rect(gx + bar * static_cast<double>(k), py(v), bar - 1, y1 - py(v), scores[k].colour,
                     std::string("class=\"bar ") + scores[k].name + "\"",
                     labels[c] + ": " + scores[k].name + " " + detail::format_number(v, 3));
        }
        const double centre = left + group * (static_cast<double>(c) + 0.5);
        if (turn)
            svg.turned_text(centre + 4, y1 + 10, -40, detail::shorten(labels[c]),
                            "class=\"class-name\" text-anchor=\"end\"");
        else
            svg.text(centre, y1 + 16, labels[c], "class=\"class-name\" text-anchor=\"middle\"");
    }
    svg.raw("</g>\n");
    return std::move(svg).finish();
}

// A chart as a standalone .svg file, written atomically.
inline void save_svg(const std::filesystem::path& file, std::string_view svg) {
    strata::detail::write_file_atomically(file, svg);
}

}  // namespace strata::report
