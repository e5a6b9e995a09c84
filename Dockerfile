# Tollgate: the built server package, installed as a user installs it, running as a non-root user.
#   docker build -t tollgate .
#   docker run -p 8787:8787 -v tollgate-data:/data -e TOLLGATE_SECRET=… tollgate
# Stage 1 builds and packs @tollgate/server (JavaScript, prebuilt web assets, the PGlite baseline);
# stage 2 installs only that tarball and its production dependencies: no sources, no TypeScript tooling.

FROM node:20-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
COPY packages/server/package.json packages/server/
COPY packages/client/package.json packages/client/
# Scripts run later, once the sources are here (prepare would build before they are).
RUN npm install --no-audit --no-fund --ignore-scripts
COPY tsconfig.json ./
COPY scripts scripts
COPY packages packages
RUN node node_modules/esbuild/install.js \
 && node --import tsx scripts/build.ts server \
 && cd packages/server && npm pack --ignore-scripts --pack-destination /src

FROM node:20-bookworm-slim AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /src/tollgate-server-*.tgz /tmp/
RUN npm install --omit=dev --no-audit --no-fund /tmp/tollgate-server-*.tgz \
 && rm /tmp/tollgate-server-*.tgz && npm cache clean --force \
 && mkdir /data && chown node:node /data
USER node
ENV HOST=0.0.0.0 PORT=8787 TOLLGATE_DATA_DIR=/data
VOLUME /data
EXPOSE 8787
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s \
  CMD node -e "fetch('http://127.0.0.1:'+(process.env.PORT||8787)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
ENTRYPOINT ["node", "/app/node_modules/@tollgate/server/bin/tollgate.mjs"]
CMD ["serve"]
