#!/usr/bin/env python3
"""An ImageNet-shaped image folder of synthetic JPEGs, for `parseval bench data` (decode speed).

    python3 bench/make_image_folder.py OUT [--classes 10] [--per-class 40] [--width 500] [--height 375] [--seed 1]

Writes OUT/train/cNNN/*.JPEG and OUT/val/cNNN/*.JPEG (a quarter as many), each a smooth random
colour field with fine noise at JPEG quality 90 — about ImageNet's typical size (500 × 375)
and file size (tens of kB), so decoding costs what it costs on ImageNet. Needs numpy and Pillow
(not a Parseval dependency). Deterministic for a seed.
"""
import argparse
import os

import numpy as np
from PIL import Image


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out")
    parser.add_argument("--classes", type=int, default=10)
    parser.add_argument("--per-class", type=int, default=40)
    parser.add_argument("--width", type=int, default=500)
    parser.add_argument("--height", type=int, default=375)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    for split, count in (("train", args.per_class), ("val", max(1, args.per_class // 4))):
        for c in range(args.classes):
            folder = os.path.join(args.out, split, f"c{c:03d}")
            os.makedirs(folder, exist_ok=True)
            for i in range(count):
                coarse = rng.uniform(0, 255, size=(args.height // 25 + 2, args.width // 25 + 2, 3))
                field = np.asarray(Image.fromarray(coarse.astype(np.uint8)).resize((args.width, args.height), Image.BICUBIC),
                                   dtype=np.float32)
                pixels = np.clip(field + rng.normal(0, 12, size=field.shape), 0, 255).astype(np.uint8)
                Image.fromarray(pixels).save(os.path.join(folder, f"{split}_{c:03d}_{i:05d}.JPEG"), quality=90)
    print(f"wrote {args.classes} classes to {args.out}/train and {args.out}/val")


if __name__ == "__main__":
    main()
