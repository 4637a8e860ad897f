// The binary FileDescriptorSet of every proto (imports and well-known types
// included, comments kept), built by `npm run generate`. gRPC servers feed it
// to @grpc/reflection so that `grpcurl list` / `describe` work.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** Absolute path of packages/contracts/descriptors.binpb. */
export const descriptorSetPath: string = fileURLToPath(new URL('../descriptors.binpb', import.meta.url));

/** Reads the descriptor set, e.g. for `protoLoader.loadFileDescriptorSetFromBuffer`. */
export function loadDescriptorSet(): Buffer {
  return readFileSync(descriptorSetPath);
}
