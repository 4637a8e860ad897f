import test from 'ava';
import { grpcurlCodeName, script, snippets, verdict } from './snippets.js';

const readme = [
  'Intro',
  '<!-- doc-test: skip (installs) -->',
  '```bash',
  'npm start',
  '```',
  '```bash',
  'A=1   # a comment',
  'curl -s one \\',
  '  -d two',
  '$G call CancelOrder   # → FAILED_PRECONDITION once confirmed',
  'gql cancel',
  '# → NOT_FOUND when it is gone',
  '# → {"result": "an output, not a code"}',
  '',
  '# a plain comment',
  'echo done',
  '```',
  '<!-- doc-test: stream -->',
  '```bash',
  'curl -sN events',
  '```',
  '```json',
  '{"not": "shell"}',
  '```',
].join('\n');

test('bash blocks are found with their markers; other blocks are not', (t) => {
  const found = snippets(readme);
  t.deepEqual(found.map((s) => [s.line, s.mode]), [[3, 'skip'], [6, 'run'], [19, 'stream']]);
});

test('commands: continuation lines join, an arrow comment names the expected code, on its line or the next', (t) => {
  const [, run] = snippets(readme);
  t.deepEqual(run!.commands, [
    { line: 7, text: 'A=1   # a comment' },
    { line: 8, text: 'curl -s one \\\n  -d two' },
    { line: 10, text: '$G call CancelOrder   # → FAILED_PRECONDITION once confirmed', expects: 'FAILED_PRECONDITION' },
    { line: 11, text: 'gql cancel', expects: 'NOT_FOUND' },
    { line: 16, text: 'echo done' },
  ]);
});

test('an unclosed block or a dangling continuation is an error naming the line', (t) => {
  t.throws(() => snippets('```bash\necho'), { message: /README.md:1: a bash block is not closed/ });
  t.throws(() => snippets('```bash\necho \\\n```'), { message: /README.md:2: a command ends with a line continuation/ });
});

test('a runnable block that would stop the stack, deploy or wipe files must be marked skip', (t) => {
  for (const command of ['npm run stack -- reset', 'kubectl apply -k k8s', 'docker compose up', 'rm -rf .stack', 'npm test']) {
    t.throws(() => snippets(`text\n\`\`\`bash\necho ok\n${command}\n\`\`\``), { message: /README.md:4: the doc test would run this/ }, command);
    t.notThrows(() => snippets(`<!-- doc-test: skip (deploys) -->\n\`\`\`bash\n${command}\n\`\`\``), command);
  }
});

test('verdicts: an exit code or an error fails a plain command; an expected code must be named', (t) => {
  const plain = { line: 1, text: 'x' };
  t.is(verdict(plain, 0, '{"data":{"a":1}}'), undefined);
  t.is(verdict(plain, 7, ''), 'exited with 7');
  t.is(verdict(plain, 0, '{"errors":[{"message":"no"}],"data":null}'), 'answered an error');
  t.is(verdict(plain, 0, 'ERROR:\n  Code: NotFound\n  Message: gone'), 'answered an error');
  t.is(verdict(plain, 0, 'ERROR Error processing message, terminating consumer process'), undefined);
  const expecting = { line: 1, text: 'x', expects: 'FAILED_PRECONDITION' };
  t.is(verdict(expecting, 0, '{"errors":[{"extensions":{"code":"FAILED_PRECONDITION"}}]}'), undefined);
  t.is(verdict(expecting, 66, 'ERROR:\n  Code: FailedPrecondition\n  Message: confirmed'), undefined);
  t.is(verdict(expecting, 0, '{"data":{"cancelOrder":{"status":"CANCELLED"}}}'), 'should answer FAILED_PRECONDITION');
  t.is(grpcurlCodeName('PERMISSION_DENIED'), 'PermissionDenied');
});

test('the script runs every runnable command in one shell, skipping what is marked skip', (t) => {
  const { text, commands } = script(snippets(readme), 3);
  t.is(commands.length, 6);
  t.false(text.includes('npm start'));
  t.true(text.includes('{ A=1   # a comment\n} >"$DOC_OUT/0.out" 2>&1; echo $? >"$DOC_OUT/0.rc"'));
  t.regex(text, /\{ curl -sN events\n\} >"\$DOC_OUT\/5.out" 2>&1 & pid=\$!; sleep 3; if kill -0 \$pid/);
});
