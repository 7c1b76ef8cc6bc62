// Runs one execution of an Amazon States Language definition with
// aws-local-stepfunctions, a real ASL engine. Lambda Task states call the
// Lambda Invoke API at AWS_ENDPOINT_URL_LAMBDA (the local server).
//   node run.mjs DEFINITION.asl.json [Key=Value ...] < input.json
// Key=Value pairs fill ${Key} as template.yaml's DefinitionSubstitutions do.
// Prints the execution's output; exits 1 with {"error","cause"} on failure.
import { readFile } from 'node:fs/promises';

// Node 20 lacks Promise.withResolvers, which aws-local-stepfunctions 3.0.0 calls.
if (!Promise.withResolvers) {
  Promise.withResolvers = function withResolvers() {
    let resolve, reject;
    const promise = new Promise((res, rej) => { resolve = res; reject = rej; });
    return { promise, resolve, reject };
  };
}
const { StateMachine } = await import('aws-local-stepfunctions');

const [file, ...subs] = process.argv.slice(2);
let text = await readFile(file, 'utf8');
for (const sub of subs) {
  const i = sub.indexOf('=');
  text = text.split('${' + sub.slice(0, i) + '}').join(sub.slice(i + 1));
}
let input = '';
for await (const chunk of process.stdin) input += chunk;

try {
  const machine = new StateMachine(JSON.parse(text));
  const execution = machine.run(input.trim() ? JSON.parse(input) : {});
  const output = await execution.result;
  process.stdout.write(JSON.stringify(output ?? null) + '\n');
} catch (err) {
  process.stdout.write(JSON.stringify({ error: err.name ?? 'Error', cause: err.message ?? String(err) }) + '\n');
  process.exit(1);
}
