ittybit video \
  -i clip.mov \
  -o clip-hd.mp4 \
  --width 1920 \
  --quality high

ittybit image \
  -i clip.mov \
  -o clip-thumb.webp \
  --start 2 \
  --width 640

ittybit video \
  -i clip.mov \
  -o clip-preview.mp4 \
  --width 480 \
  --quality low
