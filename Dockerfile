# The processor image the ProcessorContainer class runs (wrangler.toml [[containers]]).
# Same entrypoint as `npm run processor`, which the tests and `npm run dev` start.
FROM node:24-bookworm-slim

# Debian's ffmpeg for video/audio, libheif's tools for HEIC (the prebuilt sharp cannot decode it).
RUN apt-get update \
 && apt-get install -y --no-install-recommends ffmpeg libheif-examples ca-certificates tini \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY package.json package-lock.json ./
RUN npm install --omit=dev --no-audit --no-fund && npm cache clean --force
COPY schemas ./schemas
COPY common ./common
COPY container ./container

ENV NODE_ENV=production \
    PORT=8080 \
    KILN_TMP_DIR=/tmp/kiln
USER node
EXPOSE 8080
ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["node", "container/main.ts"]
