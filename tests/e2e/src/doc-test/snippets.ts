/**
 * README's shell snippets as a doc test: every ```bash block runs, top to bottom, in one
 * shell, unless a marker on the line before it says otherwise:
 *
 *   <!-- doc-test: skip (why) -->    not run (it installs, deploys, or stops the stack)
 *   <!-- doc-test: stream -->        each command streams until stopped: it runs for a few
 *                                    seconds and must still be running then (a stream that
 *                                    could not open ends at once); then it is stopped and
 *                                    what it printed is checked
 *
 * A command is one line, or several joined by a trailing backslash. It must exit 0 and print
 * no error (a GraphQL `"errors"`, a grpcurl `ERROR:`), unless the README says which error it
 * answers, as a comment starting with an arrow, on the command's line or the line below:
 *
 *   $G … CancelOrder   # → FAILED_PRECONDITION: a confirmed order cannot be cancelled
 *
 * Then the output must name that code instead. (An arrow followed by anything but a code in
 * capitals is no expectation; README writes example output as `# prints …`.)
 */

export type Mode = 'run' | 'skip' | 'stream';

export interface Command {
  /** README line of its first line (1-based). */
  line: number;
  text: string;
  /** The error code the README says it answers (`FAILED_PRECONDITION`). */
  expects?: string;
}

export interface Snippet {
  line: number;
  mode: Mode;
  commands: Command[];
}

const marker = /^<!--\s*doc-test:\s*(skip|stream)\b.*-->\s*$/;
const expectation = /#\s*→\s*([A-Z][A-Z_]{2,})\b/;
/** What a snippet may say to a reader but the doc test must never run: it stops or wipes the stack, or deploys. */
const unsafe = /\bstack -- (down|reset|install)\b|\b(kubectl|minikube|docker)\b|\brm -rf\b|\bnpm (start|test)\b/;

export function snippets(markdown: string): Snippet[] {
  const lines = markdown.split('\n');
  const found: Snippet[] = [];
  for (let i = 0; i < lines.length; i++) {
    if (lines[i]!.trim() !== '```bash') continue;
    const mode = (marker.exec(lines[i - 1]?.trim() ?? '')?.[1] as Mode | undefined) ?? 'run';
    const start = i;
    const body: Array<{ line: number; text: string }> = [];
    for (i++; i < lines.length && lines[i]!.trim() !== '```'; i++) body.push({ line: i + 1, text: lines[i]! });
    if (i >= lines.length) throw new Error(`README.md:${start + 1}: a bash block is not closed`);
    const snippet = { line: start + 1, mode, commands: commandsOf(body) };
    const risky = mode === 'skip' ? undefined : snippet.commands.find((c) => unsafe.test(c.text));
    if (risky) throw new Error(`README.md:${risky.line}: the doc test would run this on the developer's machine; mark its block <!-- doc-test: skip (why) -->`);
    found.push(snippet);
  }
  return found;
}

function commandsOf(body: Array<{ line: number; text: string }>): Command[] {
  const commands: Command[] = [];
  let current: Command | undefined;
  for (const { line, text } of body) {
    const trimmed = text.trim();
    if (current) {
      current.text += `\n${text}`;
      if (!trimmed.endsWith('\\')) {
        finish(current);
        current = undefined;
      }
      continue;
    }
    if (trimmed.startsWith('#')) {
      // A comment; right below a command, it may say which error that command answers.
      const last = commands.at(-1);
      const code = expectation.exec(trimmed)?.[1];
      if (last && code && last.line + last.text.split('\n').length === line) last.expects ??= code;
      continue;
    }
    if (trimmed === '') continue;
    const command: Command = { line, text };
    commands.push(command);
    if (trimmed.endsWith('\\')) current = command;
    else finish(command);
  }
  if (current) throw new Error(`README.md:${current.line}: a command ends with a line continuation`);
  return commands;
}

/** An arrow comment on the command's own (last) line. */
function finish(command: Command): void {
  const last = command.text.split('\n').at(-1)!;
  const hash = last.search(/\s#\s*→/);
  if (hash >= 0) command.expects ??= expectation.exec(last.slice(hash))?.[1];
}

/** grpcurl prints a status by its Go name: FAILED_PRECONDITION is `Code: FailedPrecondition`. */
export function grpcurlCodeName(code: string): string {
  return code.toLowerCase().replace(/(^|_)([a-z])/g, (_, _sep: string, c: string) => c.toUpperCase());
}

/** What is wrong with a command's outcome, or undefined when it did what the README says. */
export function verdict(command: Command, exitCode: number, output: string): string | undefined {
  const graphqlError = /"errors"\s*:/.test(output);
  const grpcError = /^ERROR:\s*$/m.test(output);
  if (!command.expects) {
    if (exitCode !== 0) return `exited with ${exitCode}`;
    if (graphqlError || grpcError) return 'answered an error';
    return undefined;
  }
  const named = output.includes(`"code":"${command.expects}"`) || output.includes(`Code: ${grpcurlCodeName(command.expects)}`);
  return named ? undefined : `should answer ${command.expects}`;
}

/**
 * One bash script for the runnable snippets: each command runs in the script's own shell
 * (so its variables and functions carry on to the next), with its output and exit code kept
 * in `$DOC_OUT/<n>.out` and `.rc`. A stream command runs in the background and is stopped.
 */
export function script(all: Snippet[], streamSeconds: number): { text: string; commands: Command[] } {
  const commands: Command[] = [];
  const parts = ['set -o pipefail', 'cd "$DOC_ROOT"'];
  for (const snippet of all) {
    if (snippet.mode === 'skip') continue;
    parts.push(`# README.md:${snippet.line}`);
    for (const command of snippet.commands) {
      const n = commands.push(command) - 1;
      const out = `"$DOC_OUT/${n}.out"`;
      const rc = `"$DOC_OUT/${n}.rc"`;
      if (snippet.mode === 'stream') {
        // Still running when stopped: 0; a stream that ended by itself: its own exit code, or 1.
        parts.push(
          `{ ${command.text}\n} >${out} 2>&1 & pid=$!; sleep ${streamSeconds}; ` +
            `if kill -0 $pid 2>/dev/null; then pkill -P $pid; kill $pid 2>/dev/null; wait $pid; echo 0 >${rc}; ` +
            `else wait $pid; code=$?; echo $(( code == 0 ? 1 : code )) >${rc}; fi`,
        );
      } else {
        parts.push(`{ ${command.text}\n} >${out} 2>&1; echo $? >${rc}`);
      }
    }
  }
  return { text: `${parts.join('\n')}\n`, commands };
}
