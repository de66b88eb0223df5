#!/usr/bin/env python3
"""Writes the odd images of tests/data/odd/ from the model's ship sample.

Real encoders, so that the files are what cameras, editors and phones produce: Pillow 13.0.0
(JPEG through libjpeg-turbo, PNG, GIF, TIFF, WebP) and pillow-heif 1.8.1 (HEIC through libheif).
The 16-bit PNG is written by hand below (Pillow does not save 48-bit RGB). Run once and commit
the output; the tests never run it:

    python3 -m venv /tmp/odd && /tmp/odd/bin/pip install Pillow==13.0.0 pillow-heif==1.8.1
    /tmp/odd/bin/python tests/data/odd/make_odd.py

The 6000x4000 photo and the headers that declare 65,000 px sides are made by the test itself
(tests/odd_images.rs), so the repository stays small.
"""

import struct
import zlib
from pathlib import Path

from PIL import Image, ImageOps
import pillow_heif

HERE = Path(__file__).resolve().parent
SAMPLES = HERE.parent.parent.parent / "crates/model/samples"


def main():
    ship = Image.open(SAMPLES / "0001_ship.jpg").convert("RGB")
    frog = Image.open(SAMPLES / "0004_frog.jpg").convert("RGB")
    # A phone-sized picture would make the repository heavy; 320x240 (4:3, as cameras take
    # them) is enough for every encoder's features (progressive scans, subsampling, EXIF
    # turns that swap the sides) to matter. Uncompressed formats get a smaller copy.
    big = ship.resize((320, 240), Image.Resampling.BICUBIC)
    small = ship.resize((128, 96), Image.Resampling.BICUBIC)

    big.save(HERE / "ship_baseline.jpg", quality=90)
    big.save(HERE / "ship_progressive.jpg", quality=90, progressive=True)
    # Adobe CMYK, as print workflows and some stock photos deliver.
    big.convert("CMYK").save(HERE / "ship_cmyk.jpg", quality=90)

    # EXIF orientation: the pixels are stored turned, the tag says how to show them upright.
    for tag, stored in [
        (6, big.transpose(Image.Transpose.ROTATE_90)),  # shown after turning 90° clockwise
        (3, big.transpose(Image.Transpose.ROTATE_180)),
        (8, big.transpose(Image.Transpose.ROTATE_270)),
    ]:
        exif = Image.Exif()
        exif[0x0112] = tag
        path = HERE / f"ship_exif_orientation_{tag}.jpg"
        stored.save(path, quality=90, exif=exif.tobytes())
        # What a viewer shows is the upright ship (checked with Pillow's own transpose).
        shown = ImageOps.exif_transpose(Image.open(path))
        assert shown.size == big.size, (tag, shown.size)

    big.quantize(colors=64).save(HERE / "ship_palette.png")
    grey_alpha = big.convert("LA")
    grey_alpha.putalpha(Image.linear_gradient("L").resize(big.size))
    grey_alpha.save(HERE / "ship_grey_alpha.png")
    write_png16(HERE / "ship_16bit.png", small)
    big.save(HERE / "ship.webp", quality=90)
    small.save(HERE / "ship.bmp")

    # Animated GIF: the ship first, then the frog; the model sees the first frame.
    frames = [small, frog.resize(small.size, Image.Resampling.BICUBIC)]
    frames[0].save(HERE / "ship_animated.gif", save_all=True, append_images=frames[1:],
                   duration=500, loop=0)

    Image.new("RGB", (1, 1), (40, 90, 160)).save(HERE / "pixel_1x1.png")
    Image.new("RGB", (1, 1), (40, 90, 160)).save(HERE / "pixel_1x1.jpg", quality=95)

    # Formats the pipeline does not take: each must be refused with a clear message.
    small.save(HERE / "ship.tiff", compression="tiff_lzw")
    pillow_heif.register_heif_opener()
    big.save(HERE / "ship.heic", quality=80)
    (HERE / "drawing.svg").write_text(
        '<svg xmlns="http://www.w3.org/2000/svg" width="64" height="64">'
        '<rect width="64" height="64" fill="#0a5"/></svg>\n'
    )


def write_png16(path, image):
    """RGB, 16 bits a channel: each 8-bit value v stored as v * 257 (the exact widening)."""
    w, h = image.size
    px = image.load()
    rows = bytearray()
    for y in range(h):
        rows.append(0)  # filter: none
        for x in range(w):
            for c in px[x, y]:
                rows += struct.pack(">H", c * 257)

    def chunk(kind, data):
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    ihdr = struct.pack(">IIBBBBB", w, h, 16, 2, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr)
                     + chunk(b"IDAT", zlib.compress(bytes(rows), 9)) + chunk(b"IEND", b""))


if __name__ == "__main__":
    main()
