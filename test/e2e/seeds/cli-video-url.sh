ittybit video \
  -i https://darkroom-app.com/uploads/clip.mov \
  --width 1920 \
  --format mp4 \
  --quality high
