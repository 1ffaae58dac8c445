"""What report_tool writes, shared by check_outputs.py and render_check.py:
running it, the numbers its sample data must show, and an HTML tag counter."""
import base64
import html.parser
import io
import os
import shutil
import subprocess
import sys

# report_tool's page: loss, accuracy and f1_macro curves, the learning rate,
# the confusion matrix and the class scores; 6 grey, 2 RGB and 2 feature-map images.
CHARTS = 6
IMAGES = 10
SECTIONS = ("findings", "network", "training", "confusion", "images")
HOSTILE_NAME = "<b>Bag</b> & co"
SKIP = 77  # ctest's SKIP_RETURN_CODE for these tests


def pil_image_or_skip():
    """PIL's Image module, or exit with ctest's SKIP code saying what is missing."""
    try:
        from PIL import Image
    except ImportError:
        print("SKIP: this Python has no PIL (Debian's python3-pil; scripts/setup.sh installs it)")
        sys.exit(SKIP)
    return Image


def run_tool(tool, directory):
    shutil.rmtree(directory, ignore_errors=True)
    os.makedirs(directory)
    subprocess.run([tool, directory], check=True)


def confusion_counts():
    """report_tool's sample_confusion(), cell by cell."""
    m = [[800 + 15 * t if t == p else (40 + t if (t * 7 + p * 3) % 11 == 0 else (t + p) % 4) for p in range(10)]
         for t in range(10)]
    m[6][0] += 120
    return m


class TagCounter(html.parser.HTMLParser):
    """Start tags by name, ids, image sources and the text of the page."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags = {}
        self.ids = []
        self.image_sources = []
        self.links = []
        self.text = []

    def handle_starttag(self, tag, attrs):
        self.tags[tag] = self.tags.get(tag, 0) + 1
        attrs = dict(attrs)
        if "id" in attrs:
            self.ids.append(attrs["id"])
        if tag == "img":
            self.image_sources.append(attrs.get("src", ""))
        for key in ("href", "src", "xlink:href"):
            if key in attrs and tag != "img":
                self.links.append(attrs[key])

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)

    def handle_data(self, data):
        self.text.append(data)


def count_tags(page):
    counter = TagCounter()
    counter.feed(page)
    counter.close()
    return counter


def check_page_structure(page, problems):
    """The tags, sections and escaping every rendering of the page must have."""
    tags = count_tags(page)
    if tags.tags.get("svg", 0) != CHARTS:
        problems.append(f"{tags.tags.get('svg', 0)} <svg> elements, expected {CHARTS}")
    if tags.tags.get("img", 0) != IMAGES:
        problems.append(f"{tags.tags.get('img', 0)} <img> elements, expected {IMAGES}")
    for tag in ("script", "b", "iframe", "link"):
        if tags.tags.get(tag):
            problems.append(f"the page has a <{tag}> element: a string was not escaped or a resource is linked")
    for section in SECTIONS:
        if section not in tags.ids:
            problems.append(f"no section with id {section}")
    for link in tags.links:
        if not link.startswith("#"):
            problems.append(f"the page links to {link!r}; it must need nothing but itself")
    text = "".join(tags.text)
    if HOSTILE_NAME not in text:
        problems.append(f"the class name {HOSTILE_NAME!r} is not shown as text")
    if "<script>alert('not run')</script>" not in text:
        problems.append("the finding's advice '<script>...' is not shown as text")
    return tags


def decode_images(sources, problems):
    """Each data URI as a PIL image (PIL imported by the caller)."""
    from PIL import Image

    images = []
    for i, src in enumerate(sources):
        prefix = "data:image/png;base64,"
        if not src.startswith(prefix):
            problems.append(f"image {i} is not an inline PNG: {src[:40]!r}")
            continue
        try:
            im = Image.open(io.BytesIO(base64.b64decode(src[len(prefix):], validate=True)))
            im.load()
            images.append(im)
        except Exception as e:  # a broken image is a finding, not a crash
            problems.append(f"image {i} does not decode: {e}")
    return images
