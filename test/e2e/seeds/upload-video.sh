TASK='{
  "input": "https://darkroom-app.com/uploads/clip.mov",
  "kind": "video",
  "options": {
    "width": 1920,
    "format": "mp4",
    "quality": "high"
  }
}'

curl -X POST https://api.ittybit.com/jobs \
  -H "Authorization: Bearer $ITTYBIT_API_KEY" \
  -H "Content-Type: application/json" \
  -d "$TASK"
