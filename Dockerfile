# One image for every Shop process (services, BFF, projectors, relays). It runs the
# compiled JavaScript of `npm run build` with production dependencies only: no TypeScript,
# no tsx, no esbuild at run time. The entry file is the CMD, so a Deployment or compose
# service picks its process with `args:` / `command:`, e.g. `services/product/dist/main.js`
# (tools/deploy/image.ts containerArgs maps a source entry to it).
#
#   docker build -t shop:dev .
#   docker run --rm shop:dev services/product/dist/main.js   # + the env vars it needs

# Pinned by digest (tools/deploy/image.ts nodeImage says where it comes from; tests/build
# checks that both hold the same reference).
ARG NODE_IMAGE=node:20.20.2-bookworm-slim@sha256:2cf067cfed83d5ea958367df9f966191a942351a2df77d6f0193e162b5febfc0

# --- manifests: package.json files and the lockfile, nothing else --------------------
# The npm ci stages below depend only on these. Copying the whole context here and keeping
# the manifests means an edit to a .ts file leaves this stage's output unchanged, so the
# (slow) npm ci layers stay cached; listing every workspace by hand would have to be kept
# in step with package.json's "workspaces".
FROM ${NODE_IMAGE} AS manifests
WORKDIR /src
COPY . .
RUN mkdir -p /out \
 && find . -name package.json -not -path '*/node_modules/*' -exec cp --parents {} /out/ \; \
 && cp package-lock.json /out/

# --- build: every dependency, then `npm run build` and the image's file set ------------
# --ignore-scripts: no package needs an install script here (esbuild's binary comes from
# its @esbuild/<platform> optional dependency), and none gets to run.
# No BuildKit-only syntax (RUN --mount cache): the file also builds with the classic
# builder, which is what `docker build` falls back to where buildx is missing (some
# minikube setups).
FROM ${NODE_IMAGE} AS build
WORKDIR /src
COPY --from=manifests /out/ ./
RUN npm ci --ignore-scripts --no-audit --no-fund --loglevel=warn
# The sources on top (.dockerignore keeps local node_modules, dist, .stack, specs out).
COPY . .
# stage.ts copies an allowlist (tools/build/stage.ts): every workspace's package.json, the
# shipped workspaces' dist/ and the files their compiled code names with import.meta.url
# (migrations, the descriptor set); nothing else of a workspace, no src/, tests/, bench/ or tools/.
RUN npm run build \
 && node --import tsx tools/build/stage.ts /out

# --- deps: production dependencies from the committed lockfile ----------------------
# tsx, esbuild, TypeScript, ava and buf are devDependencies: left out. Only the shipped
# workspaces' dependencies (tools/build/workspaces.ts shippedWorkspaces; tests/build checks
# that this list is that one): nothing only tools/, tests/e2e, packages/testing or envoy/ need.
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY --from=manifests /out/ ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund --loglevel=warn --include-workspace-root \
    --workspace=bff \
    --workspace=packages/contracts --workspace=packages/eventsourcing --workspace=packages/platform \
    --workspace=services/cart --workspace=services/notifications --workspace=services/order \
    --workspace=services/payment --workspace=services/product --workspace=services/reports \
    --workspace=services/user

# --- runtime ---------------------------------------------------------------------------
FROM ${NODE_IMAGE} AS runtime

ENV NODE_ENV=production

# A fixed numeric uid/gid: Kubernetes' runAsNonRoot can only verify a numeric USER.
RUN groupadd --system --gid 10001 shop \
 && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin shop

WORKDIR /app
# node_modules (root and any nested per-workspace ones) with the manifests, then the
# compiled code and its files. Both stay owned by root: the process can read its code but
# not change it.
COPY --from=deps /app/ ./
COPY --from=build /out/ ./

USER 10001:10001

# --conditions=compiled: the workspaces' package.json "exports" send @shop/* imports to
# dist/*.js (development resolves the same imports to src/*.ts).
# --enable-source-maps: stack traces point at the .ts lines.
ENTRYPOINT ["node", "--enable-source-maps", "--conditions=compiled"]
# The public API by default; every Deployment / compose service names its own entry.
CMD ["bff/dist/main.js"]
