#!/usr/bin/env node
// `node scripts/build-stale.mjs <project>...`: runs `tsc -b <project>...` only when one of those TypeScript
// projects (or a project they reference) has a source newer than its last build, or its last build had errors.
// `tsc -b` alone finds the same answer, but loading the compiler takes seconds on a busy machine: this check
// takes milliseconds, so `npm start` and the other service scripts stay as quick as running the build.
// A project may also name, in its package.json, a file its build generates with its own built code
// (`"generated": {"file": "dist/...", "by": "dist/..."}`, such as the control plane's validators): that runs
// after the build whenever the file is older than the project's build or a build it references, or missing.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const ROOT = path.resolve(import.meta.dirname, '..');

/** A project's tsconfig path from a folder or a file name, as `tsc -b` takes it. */
const configOf = (p) =>
  p.endsWith('.json') ? path.resolve(ROOT, p) : path.resolve(ROOT, p, 'tsconfig.json');

function newestUnder(target, newest = 0) {
  let st;
  try {
    st = fs.statSync(target);
  } catch {
    return newest;
  }
  if (!st.isDirectory()) return /\.(ts|json)$/.test(target) ? Math.max(newest, st.mtimeMs) : newest;
  for (const name of fs.readdirSync(target)) {
    if (name === 'dist' || name === 'node_modules') continue;
    newest = newestUnder(path.join(target, name), newest);
  }
  return newest;
}

/** Whether `config` or any project it references needs a build; `seen` keeps a shared reference to one look. */
function stale(config, seen = new Map()) {
  if (seen.has(config)) return seen.get(config);
  seen.set(config, false);
  const dir = path.dirname(config);
  const tsconfig = JSON.parse(fs.readFileSync(config, 'utf8'));
  const options = tsconfig.compilerOptions ?? {};
  let result = false;
  for (const ref of tsconfig.references ?? [])
    result = stale(configOf(path.resolve(dir, ref.path)), seen) || result;
  if (options.tsBuildInfoFile) {
    const info = path.resolve(dir, options.tsBuildInfoFile);
    let built;
    try {
      built = fs.statSync(info).mtimeMs;
    } catch {
      built = -1;
    }
    const inputs = [
      config,
      path.join(ROOT, 'tsconfig.base.json'),
      ...(tsconfig.include ?? []).map((p) => path.resolve(dir, p)),
      ...(tsconfig.files ?? []).map((p) => path.resolve(dir, p)),
    ];
    const newest = inputs.reduce((n, p) => newestUnder(p, n), 0);
    // tsc writes the build info even when the build had errors, and keeps each diagnostic (with its code) in it.
    result =
      result ||
      built < newest ||
      (built >= 0 && /"code":\d|"errors":true/.test(fs.readFileSync(info, 'utf8')));
  }
  seen.set(config, result);
  return result;
}

const mtime = (file) => {
  try {
    return fs.statSync(file).mtimeMs;
  } catch {
    return -1;
  }
};

/** When `config`'s build or a build it references last finished (the newest build info). */
function builtAt(config, seen = new Set()) {
  if (seen.has(config)) return -1;
  seen.add(config);
  const dir = path.dirname(config);
  const tsconfig = JSON.parse(fs.readFileSync(config, 'utf8'));
  const info = tsconfig.compilerOptions?.tsBuildInfoFile;
  let newest = info ? mtime(path.resolve(dir, info)) : -1;
  for (const ref of tsconfig.references ?? [])
    newest = Math.max(newest, builtAt(configOf(path.resolve(dir, ref.path)), seen));
  return newest;
}

/** Runs the generator of each project in `configs` whose generated file is missing or older than its build. */
function generate(configs) {
  for (const config of configs) {
    const dir = path.dirname(config);
    let generated;
    try {
      generated = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')).generated;
    } catch {
      continue;
    }
    if (!generated) continue;
    const file = path.resolve(dir, generated.file);
    if (mtime(file) > builtAt(config)) continue;
    const { status } = spawnSync(process.execPath, [path.resolve(dir, generated.by)], {
      cwd: dir,
      stdio: 'inherit',
    });
    if (status !== 0) {
      console.error(
        `build-stale: ${path.relative(ROOT, path.resolve(dir, generated.by))} failed, so ${path.relative(ROOT, file)} is not current`,
      );
      process.exit(status ?? 1);
    }
  }
}

const projects = process.argv.slice(2);
if (projects.length === 0) projects.push('tsconfig.build.json');
const seen = new Map();
// Every project looked at (not `some`, which would stop at the first stale one): each may have a file to generate.
if (projects.map((p) => stale(configOf(p), seen)).includes(true)) {
  const tsc = path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
  const { status } = spawnSync(process.execPath, [tsc, '-b', ...projects], { cwd: ROOT, stdio: 'inherit' });
  if (status !== 0) process.exit(status ?? 1);
}
// `seen` holds every project the ones asked for reference, down to the bottom.
generate([...seen.keys()]);
