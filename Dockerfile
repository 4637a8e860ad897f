# One image for every Shop process (services, BFF, and the projectors and relays to
# come). The entry file is the CMD, so a Deployment or compose service picks its
# process with `args:` / `command:`, e.g. `services/product/src/main.ts`.
#
#   docker build -t shop:dev .
#   docker run --rm shop:dev services/product/src/main.ts   # + the env vars it needs
#
# TypeScript runs through tsx, exactly as in development (`node --import tsx`): there is
# no build step whose output could differ from what the tests ran.

ARG NODE_IMAGE=node:20-bookworm-slim

# --- manifests: package.json files and the lockfile, nothing else --------------------
# npm ci below depends only on these. Copying the whole context here and keeping the
# manifests means an edit to a .ts file leaves this stage's output unchanged, so the
# (slow) npm ci layer stays cached; listing every workspace by hand would have to be
# kept in step with package.json's "workspaces".
FROM ${NODE_IMAGE} AS manifests
WORKDIR /src
COPY . .
RUN mkdir -p /out \
 && find . -name package.json -not -path '*/node_modules/*' -exec cp --parents {} /out/ \; \
 && cp package-lock.json /out/

# --- deps: production dependencies from the committed lockfile ----------------------
# tsx is a root production dependency (the ENTRYPOINT loads it), so `npm ci --omit=dev`
# brings it and leaves TypeScript, buf, ava and esbuild's dev copy out (~70 MB, not ~250).
# --ignore-scripts: no package needs an install script at run time (esbuild's binary
# comes from its @esbuild/<platform> optional dependency), and none gets to run.
# No BuildKit-only syntax (RUN --mount cache): the file also builds with the classic
# builder, which is what `docker build` falls back to where buildx is missing (some
# minikube setups). The npm ci layer is still reused as long as the package.json files
# and the lockfile are unchanged, thanks to the manifests stage.
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY --from=manifests /out/ ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund --loglevel=warn \
 && node -e "import('tsx/esm/api').then(() => console.log('tsx ok'))"

# --- runtime ---------------------------------------------------------------------------
FROM ${NODE_IMAGE} AS runtime

# tsx keeps a transform cache in $TMPDIR/tsx-<uid>. With a read-only root filesystem and
# no writable /tmp, a process started that way hung before its first log line (seen);
# with the cache disabled it starts either way. The cache would only speed up restarts
# of the same container (a new one starts with an empty /tmp), and measured on 2 cores
# the BFF reached /healthz in about 3.5 s with or without it.
ENV NODE_ENV=production \
    TSX_DISABLE_CACHE=1

# A fixed numeric uid/gid: Kubernetes' runAsNonRoot can only verify a numeric USER.
RUN groupadd --system --gid 10001 shop \
 && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin shop

WORKDIR /app
# node_modules (root and any nested per-workspace ones) from the deps stage, then the
# sources on top (.dockerignore keeps local node_modules, .stack and *.spec.ts out). Both
# stay owned by root: the process can read its code but not change it.
COPY --from=deps /app/ ./
COPY . .

USER 10001:10001

# --enable-source-maps: stack traces point at the .ts lines.
ENTRYPOINT ["node", "--enable-source-maps", "--import", "tsx"]
# The public API by default; every Deployment / compose service names its own entry.
CMD ["bff/src/main.ts"]
