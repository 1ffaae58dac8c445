// One self-contained HTML page about a training run: findings, the network
// summary, learning curves for every measured quantity, the learning rate,
// the confusion matrix and per-class scores, and captioned images. Charts are
// inline SVG and images PNG data URIs; there are no scripts and nothing is
// fetched, so the file can be mailed, archived or opened offline.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "../core/error.hpp"
#include "../data/npy.hpp"
#include "../diagnose/finding.hpp"
#include "../metrics/metrics.hpp"
#include "../train/history.hpp"
#include "image.hpp"
#include "svg.hpp"

namespace strata::report {

// The diagnosis's severities (info, warning, error), shared so findings convert field by field.
using strata::severity;

// One finding of a diagnosis, as text: the report shows it and knows nothing
// of how it was found (convert the diagnosis's own type to this).
struct finding_text {
    std::string kind;  // "overfitting", "learning rate too high", ...
    report::severity severity = severity::info;
    std::string summary;   // one sentence
    std::string evidence;  // the numbers behind it
    std::string advice;    // what to change
};

// A diagnose() finding as the report shows it.
inline finding_text text_of(const strata::finding& f) {
    return {std::string(to_string(f.kind)), f.level, f.summary, f.evidence, f.advice};
}

// Images shown together under a heading ("Most confidently wrong test
// images", "Feature maps of 0_conv2d").
struct image_group {
    std::string title;
    std::vector<image> images;
};

// The report's pieces; each one left empty is left out.
struct content {
    std::string title = "Training report";
    std::string network_summary;  // e.g. the text of strata::summary(net)
    std::optional<history> training;
    std::optional<metrics::confusion_matrix> confusion;
    std::vector<std::string> class_names;        // for the confusion matrix; empty: class indices
    std::string confusion_caption = "Test set";  // which data the matrix counts
    std::vector<image_group> images;
    // nullopt: no diagnosis ran; empty: it ran and found nothing.
    std::optional<std::vector<finding_text>> findings;
};

namespace detail {

// Images smaller than 96 pixels are drawn larger (without smoothing) so a 28 x 28 digit is visible.
inline std::size_t display_scale(const image& im) {
    const std::size_t side = std::max(im.width, im.height);
    return std::clamp<std::size_t>(side ? 192 / side : 1, 1, 8);
}

inline const char* report_style() {
    return R"(body{font-family:sans-serif;margin:24px auto;max-width:1120px;padding:0 16px;color:#222}
h1{font-size:24px;margin-bottom:4px}h2{font-size:19px;border-bottom:1px solid #ddd;padding-bottom:4px;margin-top:32px}
h3{font-size:15px}.meta{color:#555}nav a{margin-right:14px}
pre{background:#f6f8fa;padding:12px;overflow-x:auto;font-size:12px}
figure{display:inline-block;margin:8px 16px 8px 0;vertical-align:top}
figure svg{max-width:100%;height:auto}figcaption{font-size:12px;color:#444;max-width:240px}
img{image-rendering:pixelated;border:1px solid #ccc}
table.findings{border-collapse:collapse;width:100%}
table.findings td,table.findings th{border:1px solid #ddd;padding:6px 8px;text-align:left;vertical-align:top}
table.findings th{background:#f3f3f3}
.severity{font-weight:bold;text-transform:uppercase;font-size:12px}
tr.error .severity{color:#b00020}tr.warning .severity{color:#9a6700}tr.info .severity{color:#0b5cad}
tr.error{background:#fdecee}tr.warning{background:#fff8e1}
)";
}

inline void findings_section(std::string& out, const std::vector<finding_text>& findings) {
    out += "<section id=\"findings\">\n<h2>Findings</h2>\n";
    if (findings.empty()) {
        out += "<p class=\"no-findings\">The diagnosis found no problem.</p>\n</section>\n";
        return;
    }
    out +=
        "<table class=\"findings\">\n<tr><th>severity</th><th>kind</th><th>summary</th><th>evidence</th>"
        "<th>advice</th></tr>\n";
    for (const auto& f : findings) {
        const std::string s(to_string(f.severity));
        out += "<tr class=\"finding " + s + "\"><td class=\"severity\">" + s + "</td><td>" +
               escape_xml(f.kind) + "</td><td>" + escape_xml(f.summary) + "</td><td>" +
               escape_xml(f.evidence) + "</td><td>" + escape_xml(f.advice) + "</td></tr>\n";
    }
    out += "</table>\n</section>\n";
}

inline void figure(std::string& out, const std::string& svg, std::string_view caption = {}) {
    out += "<figure>\n" + svg;
    if (!caption.empty()) out += "<figcaption>" + escape_xml(caption) + "</figcaption>\n";
    out += "</figure>\n";
}

inline void training_section(std::string& out, const history& h) {
    out += "<section id=\"training\">\n<h2>Training</h2>\n<p class=\"meta\">";
    out += std::to_string(h.epochs.size()) + (h.epochs.size() == 1 ? " epoch" : " epochs") + ", " +
           format_number(h.train_seconds(), 3) + " s of training";
    if (h.best_epoch) out += "; best epoch " + std::to_string(h.best_epoch);
    if (h.stopped_early())
        out += "; stopped early" + (h.stopped_epoch ? " in epoch " + std::to_string(h.stopped_epoch) : "") +
               ": " + escape_xml(h.stop_reason);
    out += "</p>\n";
    if (h.epochs.empty()) {
        out += "</section>\n";
        return;
    }
    // Two charts side by side on a wide screen.
    svg_options chart_size;
    chart_size.width = 540;
    chart_size.height = 330;
    // One chart per quantity: "val_x" shares the chart of "x".
    std::vector<std::string> charted;
    for (std::string name : measured_quantities(h)) {
        if (name.starts_with("val_")) name.erase(0, 4);
        if (std::find(charted.begin(), charted.end(), name) != charted.end()) continue;
        charted.push_back(name);
        figure(out, learning_curves_svg(h, name, chart_size));
    }
    const bool has_rate = std::any_of(h.epochs.begin(), h.epochs.end(),
                                      [](const epoch_record& e) { return std::isfinite(e.learning_rate); });
    if (has_rate) figure(out, learning_rate_svg(h, chart_size));
    out += "</section>\n";
}

inline void confusion_section(std::string& out, const content& c) {
    const auto& m = *c.confusion;
    out += "<section id=\"confusion\">\n<h2>Confusion matrix</h2>\n<p class=\"meta\">" +
           escape_xml(c.confusion_caption) + ": " + std::to_string(m.total()) + " samples, accuracy " +
           format_number(m.accuracy(), 4) + ", macro F1 " + format_number(m.macro().f1, 4) + "</p>\n";
    figure(out, confusion_matrix_svg(m, c.class_names));
    figure(out, class_scores_svg(m, c.class_names));
    out += "<pre class=\"classification-report\">" +
           escape_xml(metrics::classification_report(m, c.class_names)) + "</pre>\n</section>\n";
}

inline void images_section(std::string& out, const std::vector<image_group>& groups) {
    out += "<section id=\"images\">\n<h2>Images</h2>\n";
    for (const auto& g : groups) {
        out += "<div class=\"image-group\">\n";
        if (!g.title.empty()) out += "<h3>" + escape_xml(g.title) + "</h3>\n";
        for (const auto& im : g.images) {
            const std::size_t scale = display_scale(im);
            out += "<figure><img src=\"" + png_data_uri(im.png()) + "\" width=\"" +
                   std::to_string(im.width * scale) + "\" height=\"" + std::to_string(im.height * scale) +
                   "\" alt=\"" + escape_xml(im.caption) + "\">";
            if (!im.caption.empty()) out += "<figcaption>" + escape_xml(im.caption) + "</figcaption>";
            out += "</figure>\n";
        }
        out += "</div>\n";
    }
    out += "</section>\n";
}

}  // namespace detail

// The page as text.
inline std::string to_html(const content& c) {
    using detail::escape_xml;
    std::string out = "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>" +
                      escape_xml(c.title) + "</title>\n<style>\n" + detail::report_style() +
                      "</style>\n</head>\n<body>\n<h1>" + escape_xml(c.title) + "</h1>\n<nav>";
    auto link = [&](bool present, std::string_view id, std::string_view text) {
        if (present) out += "<a href=\"#" + std::string(id) + "\">" + std::string(text) + "</a>";
    };
    const bool has_images =
        std::any_of(c.images.begin(), c.images.end(), [](const image_group& g) { return !g.images.empty(); });
    link(c.findings.has_value(), "findings", "Findings");
    link(!c.network_summary.empty(), "network", "Network");
    link(c.training.has_value(), "training", "Training");
    link(c.confusion.has_value(), "confusion", "Confusion matrix");
    link(has_images, "images", "Images");
    out += "</nav>\n";
    if (c.findings) detail::findings_section(out, *c.findings);
    if (!c.network_summary.empty())
        out += "<section id=\"network\">\n<h2>Network</h2>\n<pre class=\"summary\">" +
               escape_xml(c.network_summary) + "</pre>\n</section>\n";
    if (c.training) detail::training_section(out, *c.training);
    if (c.confusion) detail::confusion_section(out, c);
    if (has_images) detail::images_section(out, c.images);
    out += "<footer class=\"meta\"><p>Written by strata.</p></footer>\n</body>\n</html>\n";
    return out;
}

// Writes the page to `file` atomically: a reader sees the old file or the
// whole new one, never half of it.
inline void html(const std::filesystem::path& file, const content& c) {
    strata::detail::write_file_atomically(file, to_html(c));
}

}  // namespace strata::report
