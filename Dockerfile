# syntax=docker/dockerfile:1
# Keyport's image. The build stage runs the commands CI runs (.ci/run): `npm ci`, whose root
# `prepare` script is `npm run build` (each package compiles to dist/). There is no Docker
# daemon where Keyport is developed: packages/cli/test/dockerfile.test.ts checks these steps
# against package.json and .ci/run, not the image itself.

FROM node:20-slim AS build
WORKDIR /app
# Compilers for the native modules (better-sqlite3, argon2) when no prebuilt binary fits.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
COPY . .
RUN npm ci --no-audit --no-fund
RUN npm prune --omit=dev --no-audit --no-fund

FROM node:20-slim
ENV NODE_ENV=production \
    KEYPORT_HOST=0.0.0.0 \
    KEYPORT_PORT=8787 \
    KEYPORT_DATABASE=/data/keyport.sqlite
WORKDIR /app
COPY --from=build /app /app
# The data directory belongs to the unprivileged `node` user of the base image (uid 1000).
RUN mkdir -p /data && chown node:node /data && chmod 0700 /data
USER node
VOLUME ["/data"]
EXPOSE 8787
# No curl in the slim image: Node's own fetch asks for liveness.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.KEYPORT_PORT||8787)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# SIGTERM (docker stop) finishes in-flight streams for KEYPORT_SHUTDOWN_GRACE_MS, then exits 0:
# give `docker stop -t` more than that.
STOPSIGNAL SIGTERM
ENTRYPOINT ["node", "packages/cli/dist/keyport.cjs"]
CMD ["serve"]
