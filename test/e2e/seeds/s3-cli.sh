ittybit video \
  -i s3://uploads/clip.mov \
  -o s3://processed/clip-hd.mp4 \
  --width 1920 \
  --format mp4 \
  --quality high
