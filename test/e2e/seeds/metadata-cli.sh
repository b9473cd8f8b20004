ittybit video \
  -i https://tapestry-app.com/submissions/video-9182.mov \
  --width 1280 \
  --format mp4
