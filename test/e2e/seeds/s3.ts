const task = {
  input: 's3://uploads/clip.mov',
  kind: 'video',
  options: {
    width: 1920,
    format: 'mp4',
    quality: 'high',
  },
  output: 's3://processed/clip-hd.mp4',
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
