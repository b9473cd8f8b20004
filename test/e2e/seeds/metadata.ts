const task = {
  input: 'https://tapestry-app.com/submissions/video-9182.mov',
  kind: 'video',
  options: {
    width: 1280,
    format: 'mp4',
  },
  metadata: {
    user_id: 'usr_abc123',
    submission_id: 'sub_9182',
    campaign: 'summer-launch',
  },
};

const res = await fetch('https://api.ittybit.com/jobs', {
  method: 'POST',
  headers: {
    Authorization: `Bearer ${process.env.ITTYBIT_API_KEY}`,
    'Content-Type': 'application/json',
  },
  body: JSON.stringify(task),
});
const data = await res.json();
