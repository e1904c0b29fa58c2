// The fuzz suite (test/unit/fuzz), with more inputs or another seed than CI's fixed ones:
//   npm run fuzz                          # CI's run counts and seed
//   npm run fuzz -- --runs 20000          # every property with 20,000 inputs
//   npm run fuzz -- --runs 5000 --seed 42 # another seed (each property derives its own from it)
//   npm run fuzz -- --runs 5000 tokenizer # only the files whose path contains "tokenizer"
// A failure prints the property's seed and fast-check's counterexample path; a hang prints "FUZZ HANG: case …".
import { spawnSync } from 'node:child_process';

const args = process.argv.slice(2);
const env = { ...process.env };
const filters = [];
for (let i = 0; i < args.length; i++) {
  const a = args[i];
  const value = () => {
    const v = args[++i];
    if (v === undefined || !/^-?\d+$/.test(v)) {
      console.error(`fuzz: ${a} needs an integer`);
      process.exit(2);
    }
    return v;
  };
  if (a === '--runs') env.FUZZ_RUNS = value();
  else if (a === '--seed') env.FUZZ_SEED = value();
  else if (a === '--help' || a === '-h') {
    console.log('usage: npm run fuzz -- [--runs N] [--seed S] [file filter …]');
    process.exit(0);
  } else filters.push(a);
}
const only = filters.length ? filters.map((f) => `test/unit/fuzz/${f}`) : ['test/unit/fuzz'];
console.log(`fuzz: seed ${env.FUZZ_SEED ?? '(the suite\'s fixed one)'}, runs ${env.FUZZ_RUNS ?? '(CI\'s per property)'}`);
const r = spawnSync(process.execPath, ['tools/run-unit-tests.mjs', ...only], { stdio: 'inherit', env });
process.exit(r.status ?? 1);
