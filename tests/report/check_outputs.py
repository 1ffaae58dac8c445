#!/usr/bin/python3
"""The sample report from report_tool, read by other parsers than strata's
tests: every chart (as a file and inside the page) with Python's XML parser,
the page with its HTML parser, every PNG with PIL, checking the points, gaps,
markers, cells and pixels the sample data must give.

usage: check_outputs.py REPORT_TOOL DIR
"""
import os
import re
import sys
import xml.etree.ElementTree as ET

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import report_checks as rc  # noqa: E402

SVG = "{http://www.w3.org/2000/svg}"


def with_class(root, name, tag=None):
    return [e for e in root.iter(tag and SVG + tag) if name in e.get("class", "").split()]


def point_at(group, epoch):
    for circle in group.iter(SVG + "circle"):
        title = circle.find(SVG + "title")
        if title is not None and title.text.startswith(f"epoch {epoch}:"):
            return circle
    return None


def marker_x(root, which):
    (marker,) = with_class(root, which, "g")
    (line,) = marker.iter(SVG + "line")
    return line.get("x1")


def check_curves(root, name, problems, train_points, validation_points, validation_runs):
    (train,) = with_class(root, "training", "g")
    (validation,) = with_class(root, "validation", "g")
    got = (len(list(train.iter(SVG + "circle"))), len(list(validation.iter(SVG + "circle"))),
           len(list(validation.iter(SVG + "polyline"))))
    if got != (train_points, validation_points, validation_runs):
        problems.append(f"{name}: training points, validation points and validation lines are {got}, expected "
                        f"{(train_points, validation_points, validation_runs)}")
    if marker_x(root, "best-epoch") != point_at(validation, 9).get("cx"):
        problems.append(f"{name}: the best-epoch marker is not at epoch 9")
    if marker_x(root, "early-stop") != point_at(train, 15).get("cx"):
        problems.append(f"{name}: the early-stop marker is not at epoch 15")


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    Image = rc.pil_image_or_skip()
    tool, directory = sys.argv[1:]
    rc.run_tool(tool, directory)
    problems = []

    charts = {}
    for name in ("loss", "accuracy", "f1_macro", "learning_rate", "confusion", "class_scores"):
        try:
            charts[name] = ET.parse(os.path.join(directory, name + ".svg")).getroot()
        except ET.ParseError as e:
            problems.append(f"{name}.svg is not well-formed XML: {e}")
    if problems:
        sys.exit("\n".join(problems))
    # 15 epochs; epoch 4 was not validated, so the validation line breaks there.
    for name in ("loss", "accuracy", "f1_macro"):
        check_curves(charts[name], name, problems, 15, 14, 2)
    if len(list(charts["learning_rate"].iter(SVG + "circle"))) != 15:
        problems.append("learning_rate: not 15 points")
    cells = with_class(charts["confusion"], "cell", "rect")
    counts = [int(t.text) for t in with_class(charts["confusion"], "count", "text")]
    expected = [c for row in rc.confusion_counts() for c in row]
    if len(cells) != 100 or counts != expected:
        problems.append(f"confusion: {len(cells)} cells with counts {counts}, expected 100 with {expected}")
    names = [t.text for t in with_class(charts["confusion"], "true-name", "text")]
    if rc.HOSTILE_NAME not in names:
        problems.append(f"confusion: the class names read {names}")
    if len(with_class(charts["class_scores"], "bar", "rect")) != 30:
        problems.append("class_scores: not 3 bars for each of 10 classes")

    with open(os.path.join(directory, "report.html"), encoding="utf-8") as f:
        page = f.read()
    tags = rc.check_page_structure(page, problems)
    inline = re.findall(r"<svg .*?</svg>", page, flags=re.S)
    for i, svg in enumerate(inline):
        try:
            ET.fromstring(svg)
        except ET.ParseError as e:
            problems.append(f"chart {i} in the page is not well-formed XML: {e}")
    images = rc.decode_images(tags.image_sources, problems)
    shapes = [(im.mode, im.size) for im in images]
    expected_shapes = [("L", (28, 28))] * 6 + [("RGB", (32, 32))] * 2 + [("L", (80, 80)), ("L", (47, 47))]
    if shapes != expected_shapes:
        problems.append(f"images in the page: {shapes}, expected {expected_shapes}")

    grey = Image.open(os.path.join(directory, "grey.png"))
    want = [(x * 37 + y * 11) % 256 for y in range(5) for x in range(7)]
    if grey.mode != "L" or grey.size != (7, 5) or list(grey.getdata()) != want:
        problems.append(f"grey.png: {grey.mode} {grey.size} {list(grey.getdata())}, expected L (7, 5) {want}")
    rgb = Image.open(os.path.join(directory, "rgb.png"))
    want = [(x * 40, y * 60, (x + y) * 20) for y in range(4) for x in range(6)]
    if rgb.mode != "RGB" or rgb.size != (6, 4) or list(rgb.getdata()) != want:
        problems.append(f"rgb.png: {rgb.mode} {rgb.size} {list(rgb.getdata())}, expected RGB (6, 4) {want}")

    if problems:
        sys.exit("\n".join(problems))
    print(f"6 chart files and {len(inline)} inline charts well-formed, {len(images)} inline PNGs and 2 PNG files "
          "decode with the expected pixels")


if __name__ == "__main__":
    main()
