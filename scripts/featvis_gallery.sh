#!/usr/bin/env bash
# Remake gallery/featvis/{fourier_vs_maco,channels_fourier_vs_maco,diversity,transparent,accent}.png with the CLI
# (bundled Lite0, CPU). Run from the repository root: bash scripts/featvis_gallery.sh
set -euo pipefail
out=gallery/featvis
tmp=$(mktemp -d)
dreamer() { python -m dreamer "$@"; }
classes="goldfish,flamingo,jellyfish,daisy,lemon,volcano"
for p in fourier maco; do
  dreamer grid --classes "$classes" --param $p --size 128 --seed 1 --columns 6 -o "$tmp/classes_$p.png" -q
  dreamer grid --layer blocks.5 --channels 3,17,29,60 --param $p --size 112 --seed 1 --columns 4 -o "$tmp/chan_$p.png" -q
done
python scripts/stack_rows.py "$out/fourier_vs_maco.png" fourier "$tmp/classes_fourier.png" maco "$tmp/classes_maco.png"
python scripts/stack_rows.py "$out/channels_fourier_vs_maco.png" fourier "$tmp/chan_fourier.png" maco "$tmp/chan_maco.png"
dreamer grid --layer blocks.4 --channels 29,56 --diversity 4 --size 96 --seed 1 -o "$out/diversity.png" -q
dreamer grid --classes "goldfish,flamingo,daisy,lemon" --alpha --size 128 --seed 1 -o "$out/transparent.png" -q
dreamer accent dreamer/assets/chelsea.png --class goldfish --seed 1 -o "$tmp/accent_goldfish.png" -q
dreamer accent dreamer/assets/chelsea.png --channel blocks.5:17 --seed 1 -o "$tmp/accent_b5_17.png" -q
python scripts/diff_image.py dreamer/assets/chelsea.png "$tmp/accent_goldfish.png" "$tmp/diff_goldfish.png"
python scripts/diff_image.py dreamer/assets/chelsea.png "$tmp/accent_b5_17.png" "$tmp/diff_b5_17.png"
python scripts/stack_rows.py "$out/accent.png" --side photo dreamer/assets/chelsea.png \
  "class goldfish" "$tmp/accent_goldfish.png" "|change| x4" "$tmp/diff_goldfish.png" \
  "blocks.5:17" "$tmp/accent_b5_17.png" "|change| x4" "$tmp/diff_b5_17.png"
