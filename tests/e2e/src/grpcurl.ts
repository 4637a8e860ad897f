import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { grpcurlBinary } from '@shop/tools/install/grpcurl';

/** A program run as a user would run it (stdout and stderr kept). */
export const run = promisify(execFile);

/** `grpcurl -plaintext ADDRESS VERB [SYMBOL]` (list, describe), as a user would type it. */
export async function grpcurl(address: string, ...verb: string[]): Promise<string> {
  const { stdout } = await run(grpcurlBinary(), ['-plaintext', address, ...verb], { timeout: 20_000 });
  return stdout;
}

/** grpcurl with a JSON request body. */
export async function grpcurlCall(address: string, method: string, body: unknown, headers: string[] = []): Promise<unknown> {
  const { stdout } = await run(grpcurlBinary(), ['-plaintext', ...headers.flatMap((h) => ['-H', h]), '-d', JSON.stringify(body), address, method], { timeout: 20_000 });
  return JSON.parse(stdout);
}
