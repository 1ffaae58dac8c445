#!/usr/bin/python3
"""The sample report from report_tool in a real browser: headless Chromium
renders it to a screenshot and dumps its DOM. The DOM must hold every chart
and image (each image a PNG that decodes), nothing linked from outside and no
markup made from the caller's strings; the screenshot must not be blank.
Skips (exit 77) when chromium or PIL is missing.

usage: render_check.py REPORT_TOOL DIR
"""
import os
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import report_checks as rc  # noqa: E402

WINDOW = (1200, 3000)
# A rendered report has text, charts and pictures: many colours and a fair
# share of non-white pixels. A blank or failed page has one or two colours.
MIN_COLOURS = 64
MIN_INK_SHARE = 0.04


def chromium(browser, directory, *args):
    command = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
               "--user-data-dir=" + os.path.join(directory, "profile"),
               f"--window-size={WINDOW[0]},{WINDOW[1]}", *args,
               "file://" + os.path.abspath(os.path.join(directory, "report.html"))]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        sys.exit(f"chromium failed ({done.returncode}): {' '.join(command)}\n{done.stderr}")
    return done


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        print("SKIP: chromium is not installed (Debian's chromium package; scripts/setup.sh installs it)")
        sys.exit(rc.SKIP)
    Image = rc.pil_image_or_skip()
    tool, directory = sys.argv[1:]
    rc.run_tool(tool, directory)
    problems = []

    screenshot = os.path.join(directory, "screenshot.png")
    shot = chromium(browser, directory, "--screenshot=" + screenshot)
    dom = chromium(browser, directory, "--dump-dom")
    for run in (shot, dom):
        for line in run.stderr.splitlines():
            if "net::ERR_" in line or "Not allowed to load" in line:
                problems.append("a resource failed to load: " + line)

    tags = rc.check_page_structure(dom.stdout, problems)
    images = rc.decode_images(tags.image_sources, problems)

    im = Image.open(screenshot).convert("RGB")
    if im.size != WINDOW:
        problems.append(f"the screenshot is {im.size}, expected {WINDOW}")
    colours = im.getcolors(maxcolors=1 << 24)
    white = next((n for n, c in colours if c == (255, 255, 255)), 0)
    ink = 1 - white / (im.size[0] * im.size[1])
    if len(colours) < MIN_COLOURS or ink < MIN_INK_SHARE:
        problems.append(f"the screenshot looks blank: {len(colours)} colours, {ink:.1%} non-white pixels "
                        f"(expected >= {MIN_COLOURS} and >= {MIN_INK_SHARE:.0%})")

    if problems:
        sys.exit("\n".join(problems))
    print(f"chromium rendered {tags.tags['svg']} charts and {len(images)} images; "
          f"screenshot {screenshot}: {len(colours)} colours, {ink:.1%} non-white")


if __name__ == "__main__":
    main()
