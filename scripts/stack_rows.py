"""Stack images into one sheet with a caption each: ``stack_rows.py OUT [--side] LABEL IMAGE [LABEL IMAGE ...]``.

Rows by default (the same sheet made two ways, one above the other); ``--side`` puts them side by side at one height.
"""

from __future__ import annotations

import sys

from PIL import Image, ImageDraw

from dreamer.outputs.images import save_image


def main() -> None:
    """Read the arguments, lay the images out, write OUT."""
    args = sys.argv[1:]
    out, side = args.pop(0), args[0] == "--side"
    args = args[1:] if side else args
    pairs = [(args[i], Image.open(args[i + 1]).convert("RGB")) for i in range(0, len(args), 2)]
    if side:
        h = min(im.height for _, im in pairs)
        pairs = [(label, im.resize((round(im.width * h / im.height), h))) for label, im in pairs]
        w, total_h = sum(im.width for _, im in pairs) + 4 * (len(pairs) - 1), h + 16
    else:
        w, total_h = max(im.width for _, im in pairs), sum(im.height + 16 for _, im in pairs)
    sheet = Image.new("RGB", (w, total_h), "white")
    draw, x, y = ImageDraw.Draw(sheet), 0, 0
    for label, im in pairs:
        draw.text((x + 4, y + 2), label, fill="black")
        sheet.paste(im, (x, y + 16))
        x, y = (x + im.width + 4, y) if side else (x, y + im.height + 16)
    save_image(sheet, out)


if __name__ == "__main__":
    main()
