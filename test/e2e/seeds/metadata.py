import requests

task = {
    "input": "https://tapestry-app.com/submissions/video-9182.mov",
    "kind": "video",
    "options": {
        "width": 1280,
        "format": "mp4",
    },
    "metadata": {
        "user_id": "usr_abc123",
        "submission_id": "sub_9182",
        "campaign": "summer-launch",
    },
}

res = requests.post(
    "https://api.ittybit.com/jobs",
    headers={"Authorization": f"Bearer {api_key}"},
    json=task,
)
data = res.json()
