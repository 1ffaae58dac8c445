"""Writes an image folder in every format and mode strata reads, then loads it
with keras_preprocessing's flow_from_directory (Debian's
python3-keras-preprocessing, on Pillow) in each configuration the C++ test
compares: file order, class indices, subsets and pixels.

Usage: image_folder_reference.py OUT_DIR
"""
import os
import struct
import sys

import numpy as np
from PIL import Image
from keras_preprocessing.image import ImageDataGenerator

out = sys.argv[1]
rng = np.random.default_rng(7)


def pixels(h, w, c):
    # Smooth gradients plus noise: resampling filters see real structure.
    y, x = np.mgrid[0:h, 0:w]
    base = (x * 255 // max(w - 1, 1) + y * 97 // max(h - 1, 1))[..., None] + np.arange(c) * 60
    return ((base + rng.integers(0, 60, (h, w, c))) % 256).astype(np.uint8)


def save(path, img, **kw):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    img.save(path, **kw)


def fill(root, sizes):
    """One folder tree per root; sizes cycles over the images."""
    k = 0

    def size():
        nonlocal k
        k += 1
        return sizes[k % len(sizes)]

    def rgb(h, w):
        return Image.fromarray(pixels(h, w, 3), "RGB")

    entries = {
        "cat/a.png": lambda h, w: rgb(h, w),
        "cat/b.PNG": lambda h, w: Image.fromarray(pixels(h, w, 1)[..., 0], "L"),
        "cat/c.png": lambda h, w: Image.fromarray(pixels(h, w, 4), "RGBA"),
        "cat/d.jpg": lambda h, w: rgb(h, w),
        "cat/e.JpEg": lambda h, w: Image.fromarray(pixels(h, w, 1)[..., 0], "L"),
        "cat/f.bmp": lambda h, w: rgb(h, w),
        "cat/nested/deeper/g.png": lambda h, w: rgb(h, w).quantize(17),
        "cat/nested/h.ppm": lambda h, w: rgb(h, w),
        "cat/nested/i.tif": lambda h, w: rgb(h, w),
        "cat/readme.txt": None,
        "dog/a.bmp": lambda h, w: rgb(h, w).quantize(50),
        "dog/b.TIFF": lambda h, w: Image.fromarray(pixels(h, w, 1)[..., 0], "L"),
        "dog/c.png": lambda h, w: Image.fromarray(pixels(h, w, 2), "LA"),
        "dog/d.jpeg": lambda h, w: rgb(h, w),
        "dog/sub a/e.png": lambda h, w: rgb(h, w),
        "dog/sub/f.png": lambda h, w: rgb(h, w),
        "dog/sub/g.bmp": lambda h, w: Image.fromarray(pixels(h, w, 1)[..., 0], "L"),
        "zebra/1.png": lambda h, w: rgb(h, w),
        "zebra/2.png": lambda h, w: rgb(h, w).quantize(8),
        "zebra/3.jpg": lambda h, w: rgb(h, w),
        "zebra/4.tiff": lambda h, w: Image.fromarray(pixels(h, w, 4), "RGBA"),
        "zebra/5.png": lambda h, w: Image.fromarray(pixels(h, w, 3), "RGB"),
    }
    for name, make in entries.items():
        path = os.path.join(root, name)
        if make is None:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "w") as f:
                f.write("not an image\n")
            continue
        h, w = size()
        img = make(h, w)
        if name.lower().endswith((".jpg", ".jpeg")):
            save(path, img, quality=90)
        else:
            save(path, img)
    # A palette PNG with a transparent colour: RGBA conversion applies it.
    p = rgb(*size()).quantize(6)
    save(os.path.join(root, "zebra/6.png"), p, transparency=2)


fill(os.path.join(out, "varied"), [(20, 24), (33, 17), (9, 40), (64, 48), (24, 20)])
fill(os.path.join(out, "same"), [(20, 24)])


def bmp_bitfields(path, rgb, bits, masks, top_down):
    """A BI_BITFIELDS BMP (V4 header) written by hand: Pillow cannot write these."""
    h, w, _ = rgb.shape
    stride = (w * bits + 31) // 32 * 4
    rows = []
    for y in (range(h) if top_down else range(h - 1, -1, -1)):
        row = bytearray()
        for x in range(w):
            value = 0
            for channel, mask in enumerate(masks):
                if mask == 0:
                    continue
                shift = (mask & -mask).bit_length() - 1
                top = mask >> shift
                v = 255 if channel == 3 else int(rgb[y, x, channel])
                value |= (v * top // 255) << shift
            row += value.to_bytes(bits // 8, "little")
        row += bytes(stride - len(row))
        rows.append(bytes(row))
    pixels = b"".join(rows)
    header = struct.pack("<IiiHHIIiiII", 108, w, -h if top_down else h, 1, bits, 3, len(pixels), 2835, 2835, 0, 0)
    header += struct.pack("<IIII", *masks) + b"sRGB" + bytes(36 + 12)
    offset = 14 + len(header)
    with open(path, "wb") as f:
        f.write(b"BM" + struct.pack("<IHHI", offset + len(pixels), 0, 0, offset) + header + pixels)


formats = os.path.join(out, "formats")
for d in ("a", "b"):
    os.makedirs(os.path.join(formats, d), exist_ok=True)
rgb = pixels(20, 24, 3)
# (16-bit grey PNGs are left out: Pillow clips them to 255 where strata keeps the high byte.)
Image.fromarray(rgb).convert("1").save(os.path.join(formats, "a/bits1.bmp"))
Image.fromarray(rgb).convert("1").save(os.path.join(formats, "a/bits1.png"))
Image.fromarray(rgb).convert("L").save(os.path.join(formats, "a/grey.ppm"))  # P5
Image.fromarray(rgb).save(os.path.join(formats, "a/progressive.jpg"), progressive=True, quality=80)
Image.fromarray(rgb).save(os.path.join(formats, "a/subsampled.jpg"), subsampling=2, quality=75)
bmp_bitfields(os.path.join(formats, "b/rgb565.bmp"), rgb, 16, (0xF800, 0x7E0, 0x1F, 0), False)
bmp_bitfields(os.path.join(formats, "b/bgra_top_down.bmp"), rgb, 32, (0xFF0000, 0xFF00, 0xFF, 0xFF000000), True)
Image.fromarray(pixels(20, 24, 4), "RGBA").save(os.path.join(formats, "b/lzw.tif"), compression="tiff_lzw")
Image.fromarray(rgb).quantize(5).save(os.path.join(formats, "b/palette.tif"))

configs = []
for mode in ("grayscale", "rgb", "rgba"):
    configs.append(("formats", (20, 24), mode, "nearest", None))
for folder, target in (("same", (20, 24)), ("varied", (20, 24)), ("varied", (37, 11))):
    for mode in ("grayscale", "rgb", "rgba"):
        for interp in ("nearest", "bilinear", "box"):
            if folder == "same" and interp != "nearest":
                continue
            for subset in (None, "training", "validation"):
                configs.append((folder, target, mode, interp, subset))

with open(os.path.join(out, "configs.txt"), "w") as index:
    for n, (folder, target, mode, interp, subset) in enumerate(configs):
        gen = ImageDataGenerator(validation_split=0.3 if subset else 0.0)
        it = gen.flow_from_directory(os.path.join(out, folder), target_size=target, color_mode=mode,
                                     class_mode="sparse", batch_size=1000, shuffle=False, subset=subset,
                                     interpolation=interp)
        x, y = next(it)
        np.save(os.path.join(out, f"x{n}.npy"), x.astype(np.float32))
        with open(os.path.join(out, f"files{n}.txt"), "w") as f:
            for name, cls in zip(it.filenames, it.classes):
                f.write(f"{cls} {name}\n")
        index.write(f"{n} {folder} {target[0]} {target[1]} {mode} {interp} {subset or 'all'} {len(it.filenames)}\n")
print(f"wrote {len(configs)} configurations to {out}")
