ittybit image \
  -i photo.png \
  -o photo-full.webp \
  --width 1920 \
  --quality high

ittybit image \
  -i photo.png \
  -o photo-thumb.webp \
  --width 320 \
  --quality medium
