# The processor image the ProcessorContainer class runs (wrangler.toml [[containers]]).
# Same entrypoint as `npm run processor`, which `npm run dev` and the Node-side tests start.
#
# Debian's ffmpeg pulls in ~700 MB of packages (Mesa, LLVM, X11, speech synthesis…) of which
# ffmpeg, ffprobe and libheif's tools load well under half, so the `media` stage installs them and
# the final image takes only those binaries and the shared libraries they link. Few instructions:
# with the classic builder every one is a layer commit, which storage drivers like vfs copy whole.

FROM node:24-bookworm-slim AS media
RUN apt-get update \
 && apt-get install -y --no-install-recommends ffmpeg libheif-examples tini ca-certificates
# Each binary and libheif codec plugin with every library ldd says it loads, at /usr paths
# (bookworm's /lib is a symlink to /usr/lib, and copying a real /lib over it would break it).
RUN set -eu; mkdir -p /rootfs/usr/bin /rootfs/etc/ssl /rootfs/usr/share; \
    plugins=$(find /usr/lib/x86_64-linux-gnu/libheif -name '*.so' 2>/dev/null || true); \
    for bin in ffmpeg ffprobe heif-convert heif-enc tini; do cp /usr/bin/$bin /rootfs/usr/bin/; done; \
    for so in $plugins; do mkdir -p /rootfs$(dirname $so); cp $so /rootfs$so; done; \
    for f in /usr/bin/ffmpeg /usr/bin/ffprobe /usr/bin/heif-convert /usr/bin/heif-enc $plugins; do ldd $f; done \
      | awk '$2 == "=>" && $3 ~ /^\// { print $3 }' | sort -u | while read -r lib; do \
        dir=$(readlink -f "$(dirname "$lib")"); real=$(readlink -f "$lib"); mkdir -p "/rootfs$dir"; \
        cp -a "$dir/$(basename "$lib")" "/rootfs$dir/"; cp -a "$real" "/rootfs$dir/"; \
      done; \
    cp -a /etc/ssl/certs /rootfs/etc/ssl/; cp -a /usr/share/ca-certificates /rootfs/usr/share/

FROM node:24-bookworm-slim AS app
# The CA bundle apt trusts, so npm reaches the same registries.
COPY --from=media /etc/ssl/certs /etc/ssl/certs
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm install --omit=dev --no-audit --no-fund && npm cache clean --force
COPY schemas ./schemas
COPY common ./common
COPY container ./container

FROM node:24-bookworm-slim
COPY --from=media /rootfs/ /
# Fail the build, not the first job, if a library is missing: encode one frame with each codec
# Kiln uses, and round-trip a HEIC.
RUN set -eu; ldconfig; cd /tmp; \
    ffmpeg -v error -f lavfi -i testsrc2=size=64x64:rate=5 -f lavfi -i sine -t 1 -pix_fmt yuv420p -c:v libx264 -c:a aac t.mp4; \
    ffmpeg -v error -i t.mp4 -c:v libx265 -x265-params log-level=error -an t.hevc.mp4; \
    ffmpeg -v error -i t.mp4 -c:v libvpx-vp9 -c:a libopus t.webm; \
    ffmpeg -v error -i t.mp4 -c:v libsvtav1 -an t.av1.mp4; \
    ffmpeg -v error -i t.mp4 -frames:v 1 -c:v libwebp t.webp; \
    ffmpeg -v error -i t.mp4 -vn -c:a libmp3lame t.mp3; \
    ffmpeg -v error -i t.mp4 -frames:v 1 t.png; \
    heif-enc -q 50 -o t.heic t.png >/dev/null; heif-convert t.heic t2.png >/dev/null; \
    ffprobe -v error t.hevc.mp4; rm -f t.* t2.*
COPY --from=app /app /app

ENV NODE_ENV=production \
    PORT=8080 \
    KILN_TMP_DIR=/tmp/kiln
USER node
# wrangler dev publishes only EXPOSEd ports.
EXPOSE 8080
# For Docker and self-hosting (Cloudflare does not run it: a misconfigured processor says why in
# its answer to every task, and ProcessorContainer asks /health before letting a container sleep).
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||8080)+'/health').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["node", "/app/container/main.ts"]
