// Runs Amazon States Language definitions with aws-local-stepfunctions, a
// real ASL engine. Lambda Task states call the Lambda Invoke API at
// AWS_ENDPOINT_URL_LAMBDA (the local server), signed with the AWS_* keys.
//   node run.mjs DEFINITION.asl.json [Key=Value ...] < input.json
//     one execution: prints its output; exits 1 with {"error","cause"} on failure.
//   node run.mjs --serve [Key=Value ...]
//     an engine for many executions, so none pays Node's start-up: each
//     stdin line {"id","definition","input"} starts one, {"stop":id} aborts
//     one; each ending prints a line {"id","output"} or {"id","error","cause"}.
// Key=Value pairs fill ${Key} as template.yaml's DefinitionSubstitutions do.
import { readFile } from 'node:fs/promises';
import { createInterface } from 'node:readline';

// Node 20 lacks Promise.withResolvers, which aws-local-stepfunctions 3.0.0 calls.
if (!Promise.withResolvers) {
  Promise.withResolvers = function withResolvers() {
    let resolve, reject;
    const promise = new Promise((res, rej) => { resolve = res; reject = rej; });
    return { promise, resolve, reject };
  };
}
const { StateMachine } = await import('aws-local-stepfunctions');

const args = process.argv.slice(2);
const serve = args[0] === '--serve';
const file = serve ? null : args[0];
const subs = args.slice(1);

// Definitions are parsed and validated once per engine (it costs more than
// a short execution).
const machines = new Map();

function machine(path) {
  if (!machines.has(path)) {
    machines.set(path, load(path).catch((err) => { machines.delete(path); throw err; }));
  }
  return machines.get(path);
}

async function load(path) {
  let text = await readFile(path, 'utf8');
  for (const sub of subs) {
    const i = sub.indexOf('=');
    text = text.split('${' + sub.slice(0, i) + '}').join(sub.slice(i + 1));
  }
  return new StateMachine(JSON.parse(text));
}

function failure(err) {
  return { error: err.name ?? 'Error', cause: err.message ?? String(err) };
}

if (!serve) {
  let input = '';
  for await (const chunk of process.stdin) input += chunk;
  try {
    const execution = (await machine(file)).run(input.trim() ? JSON.parse(input) : {});
    const output = await execution.result;
    process.stdout.write(JSON.stringify(output ?? null) + '\n');
  } catch (err) {
    process.stdout.write(JSON.stringify(failure(err)) + '\n');
    process.exit(1);
  }
} else {
  const running = new Map();
  const say = (msg) => process.stdout.write(JSON.stringify(msg) + '\n');
  for await (const line of createInterface({ input: process.stdin })) {
    if (!line.trim()) continue;
    let cmd;
    try {
      cmd = JSON.parse(line);
    } catch (err) {
      process.stderr.write(`bad command: ${err.message}\n`);
      continue;
    }
    if (cmd.stop !== undefined) {
      running.get(cmd.stop)?.abort();
      continue;
    }
    const { id } = cmd;
    machine(cmd.definition)
      .then((m) => {
        const execution = m.run(cmd.input ?? {});
        running.set(id, execution);
        return execution.result;
      })
      .then((output) => say({ id, output: output ?? null }), (err) => say({ id, ...failure(err) }))
      .finally(() => running.delete(id));
  }
  // stdin closed: the Go side is gone, so are its executions.
  process.exit(0);
}
