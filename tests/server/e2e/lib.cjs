// Shared helpers of the server e2e and load tests: start/stop `nuri serve`, read /metrics,
// small assertions. Plain Node.js (>= 18: global fetch), no dependencies besides `openai`.
'use strict';
const { spawn, execFileSync } = require('child_process');

function parseArgs(argv) {
  const args = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a.startsWith('--')) {
      const k = a.slice(2);
      const v = i + 1 < argv.length && !argv[i + 1].startsWith('--') ? argv[++i] : 'true';
      args[k] = v;
    }
  }
  return args;
}

// Starts `nuri serve --port 0 ...` and resolves { url, port, proc, log() } once it listens.
function startServer(nuri, extraArgs, { timeoutMs = 120000 } = {}) {
  return new Promise((resolve, reject) => {
    const proc = spawn(nuri, ['serve', '--port', '0', ...extraArgs], { stdio: ['ignore', 'ignore', 'pipe'] });
    let log = '';
    let done = false;
    const timer = setTimeout(() => {
      if (done) return;
      done = true;
      proc.kill('SIGKILL');
      reject(new Error('nuri serve did not start listening in time:\n' + log));
    }, timeoutMs);
    proc.stderr.on('data', (d) => {
      log += d.toString();
      const m = log.match(/listening on http:\/\/([0-9.]+):(\d+)/);
      if (m && !done) {
        done = true;
        clearTimeout(timer);
        const url = `http://${m[1]}:${m[2]}`;
        resolve({ url, port: Number(m[2]), proc, log: () => log });
      }
    });
    proc.on('exit', (code, sig) => {
      if (!done) {
        done = true;
        clearTimeout(timer);
        reject(new Error(`nuri serve exited (code ${code}, signal ${sig}) before listening:\n${log}`));
      }
    });
  });
}

// Stops the server with SIGTERM; resolves with its exit code (fails on a crash signal).
function stopServer(srv, { timeoutMs = 20000 } = {}) {
  return new Promise((resolve, reject) => {
    if (srv.proc.exitCode !== null || srv.proc.signalCode !== null) {
      return resolve({ code: srv.proc.exitCode, signal: srv.proc.signalCode });
    }
    const t = setTimeout(() => {
      srv.proc.kill('SIGKILL');
      reject(new Error('nuri serve did not exit within 20 s of SIGTERM'));
    }, timeoutMs);
    srv.proc.on('exit', (code, signal) => {
      clearTimeout(t);
      resolve({ code, signal });
    });
    srv.proc.kill('SIGTERM');
  });
}

async function metrics(url) {
  const r = await fetch(url + '/metrics');
  const text = await r.text();
  const m = {};
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const sp = line.lastIndexOf(' ');
    m[line.slice(0, sp)] = Number(line.slice(sp + 1));
  }
  return m;
}

// Polls /metrics until pred(m) holds or the timeout passes; returns the last metrics.
async function waitMetrics(url, pred, timeoutMs = 10000) {
  const t0 = Date.now();
  let m = await metrics(url);
  while (!pred(m) && Date.now() - t0 < timeoutMs) {
    await new Promise((r) => setTimeout(r, 100));
    m = await metrics(url);
  }
  return m;
}

function run(nuri, args) {
  return execFileSync(nuri, args, { stdio: ['ignore', 'pipe', 'ignore'], maxBuffer: 1 << 24 }).toString();
}

let failures = 0;
let passes = 0;
function check(cond, what, detail) {
  if (cond) {
    passes++;
    console.log(`  ok   ${what}`);
  } else {
    failures++;
    console.log(`  FAIL ${what}${detail !== undefined ? ': ' + (typeof detail === 'string' ? detail : JSON.stringify(detail)) : ''}`);
  }
}
function summary() {
  return { passes, failures };
}

module.exports = { parseArgs, startServer, stopServer, metrics, waitMetrics, run, check, summary };
