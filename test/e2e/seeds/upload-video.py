
task = {
    "input": "https://darkroom-app.com/uploads/clip.mov",
    "kind": "video",
    "options": {
        "width": 1920,
        "format": "mp4",
        "quality": "high",
    },
}

res = requests.post(
    "https://api.ittybit.com/jobs",
    headers={"Authorization": f"Bearer {api_key}"},
    json=task,
)
data = res.json()
