JOB='{
  "input": "https://tapestry-app.com/submissions/video-9182.mov",
  "kind": "video",
  "options": {
    "width": 1280,
    "format": "mp4"
  },
  "metadata": {
    "user_id": "usr_abc123",
    "submission_id": "sub_9182",
    "campaign": "summer-launch"
  }
}'

curl -X POST https://api.ittybit.com/jobs \
  -H "Authorization: Bearer $ITTYBIT_API_KEY" \
  -H "Content-Type: application/json" \
  -d "$JOB"
