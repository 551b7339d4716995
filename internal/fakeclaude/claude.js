#!/usr/bin/env node
// fake-claude: the test agent image's stand-in for Claude Code
// (Dockerfile.agent-test installs it as /usr/local/bin/claude). Claude Code
// cannot be installed here (no npm registry), so this Node program behaves
// like the real CLI on everything claude-bottle relies on
// (docs/CLAUDE-CODE.md, "The test stand-in"):
//
//   - the credential comes from the variable of its kind:
//     ANTHROPIC_AUTH_TOKEN or CLAUDE_CODE_OAUTH_TOKEN -> Authorization: Bearer,
//     ANTHROPIC_API_KEY -> x-api-key; ANTHROPIC_BASE_URL replaces
//     https://api.anthropic.com;
//   - it calls the Messages API (POST /v1/messages, anthropic-version)
//     through HTTPS_PROXY (CONNECT) with Node's own TLS, so the bottle's CA
//     must reach it through NODE_EXTRA_CA_CERTS;
//   - `-p` refuses to run without --dangerously-skip-permissions (or
//     another --permission-mode), without the first-run state in
//     ~/.claude.json and without the no-update / no-nonessential-traffic
//     environment; --dangerously-skip-permissions refuses root;
//   - it prints its arguments (on stderr with -p, so stdout is the
//     answer), supports -p, --continue, --model, --allowedTools,
//     --disallowedTools, --append-system-prompt-file, --output-format
//     (text, json, stream-json with --verbose), --max-turns,
//     --permission-mode, `mcp add`, --version;
//   - a prompt containing exit:<N> (or "exit <N>") makes it exit with N
//     after answering, "sleep <N>" makes it wait N seconds first;
//   - FAKE_CLAUDE_NO_MODEL=1 (test bottles not about the model) skips the
//     credential and the model call; every other check still applies.
//
// Interactive (no -p) it prints what it was attached with, asks for an
// exit code and exits with it (internal/cli's attach test types it).
'use strict';

const fs = require('fs');
const os = require('os');
const path = require('path');
const http = require('http');
const tls = require('tls');
const crypto = require('crypto');
const readline = require('readline');

const VERSION = '2.0.0 (claude-bottle stand-in)';
const home = os.homedir();
const configFile = path.join(home, '.claude.json');

// note writes one of the stand-in's own lines (see main).
let note = s => process.stderr.write(s);

function die(msg, code) {
  process.stderr.write(msg + '\n');
  process.exit(code === undefined ? 1 : code);
}

// Options that take a value, and boolean flags; anything else starting
// with "-" is an error, as in the real CLI.
const valued = new Set(['--model', '--allowedTools', '--allowed-tools', '--disallowedTools', '--disallowed-tools',
  '--append-system-prompt-file', '--output-format', '--permission-mode', '--max-turns', '--input-format']);
const booleans = new Set(['-p', '--print', '--continue', '-c', '--dangerously-skip-permissions', '--verbose', '--version', '-v']);

function parse(argv) {
  const o = { print: false, prompt: [], values: {} };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--') { o.prompt.push(...argv.slice(i + 1)); break; }
    if (a.startsWith('-') && a.length > 1) {
      let name = a, val;
      const eq = a.indexOf('=');
      if (a.startsWith('--') && eq > 0) { name = a.slice(0, eq); val = a.slice(eq + 1); }
      if (valued.has(name)) {
        if (val === undefined) {
          if (i + 1 >= argv.length) die(`error: option '${name} <value>' argument missing`);
          val = argv[++i];
        }
        o.values[name.replace('allowed-tools', 'allowedTools').replace('disallowed-tools', 'disallowedTools')] = val;
        continue;
      }
      if (booleans.has(name)) {
        if (name === '-p' || name === '--print') o.print = true;
        else if (name === '-c' || name === '--continue') o.continue = true;
        else if (name === '-v' || name === '--version') o.version = true;
        else if (name === '--verbose') o.verbose = true;
        else o.skip = true;
        continue;
      }
      die(`error: unknown option '${a}'`);
    }
    o.prompt.push(a);
  }
  return o;
}

function readConfig() {
  try {
    return JSON.parse(fs.readFileSync(configFile, 'utf8'));
  } catch (e) {
    if (e.code === 'ENOENT') return {};
    die(`fake-claude: ${configFile} is not valid JSON: ${e.message}`);
  }
}

// `claude mcp add [--scope user] [--transport http] <name> <url>`: the
// real CLI records user-scope servers in ~/.claude.json.
function mcp(args) {
  if (args[0] !== 'add') die(`fake-claude: mcp ${args[0] || ''}: only "mcp add" is supported`);
  let scope = 'local', transport = 'stdio';
  const pos = [];
  for (let i = 1; i < args.length; i++) {
    if (args[i] === '--scope' || args[i] === '-s') scope = args[++i];
    else if (args[i] === '--transport' || args[i] === '-t') transport = args[++i];
    else pos.push(args[i]);
  }
  if (pos.length < 2) die('error: missing required argument: mcp add <name> <commandOrUrl>');
  const cfg = readConfig();
  cfg.mcpServers = cfg.mcpServers || {};
  cfg.mcpServers[pos[0]] = { type: transport, url: pos[1] };
  fs.writeFileSync(configFile, JSON.stringify(cfg, null, 2) + '\n');
  console.log(`Added ${transport} MCP server ${pos[0]} with URL: ${pos[1]} to ${scope} config`);
  process.exit(0);
}

// The credential and the header it goes in, by Claude Code's precedence.
function credential() {
  const env = process.env;
  if (env.ANTHROPIC_AUTH_TOKEN) return { header: 'authorization', value: 'Bearer ' + env.ANTHROPIC_AUTH_TOKEN, kind: 'auth_token', raw: env.ANTHROPIC_AUTH_TOKEN };
  if (env.CLAUDE_CODE_OAUTH_TOKEN) return { header: 'authorization', value: 'Bearer ' + env.CLAUDE_CODE_OAUTH_TOKEN, kind: 'oauth', raw: env.CLAUDE_CODE_OAUTH_TOKEN };
  if (env.ANTHROPIC_API_KEY) return { header: 'x-api-key', value: env.ANTHROPIC_API_KEY, kind: 'api_key', raw: env.ANTHROPIC_API_KEY };
  return null;
}

// firstRunProblems lists what the real CLI would stop at before an
// unattended run could start.
function firstRunProblems(o, cred, cwd) {
  const p = [];
  const cfg = readConfig();
  if (cfg.hasCompletedOnboarding !== true) p.push('onboarding not completed (~/.claude.json hasCompletedOnboarding)');
  if (o.mode === 'bypassPermissions' && cfg.bypassPermissionsModeAccepted !== true) p.push('the bypass-permissions warning was never accepted (~/.claude.json bypassPermissionsModeAccepted)');
  const proj = (cfg.projects || {})['/workspace'] || {};
  if (proj.hasTrustDialogAccepted !== true) p.push('/workspace is not trusted (~/.claude.json projects["/workspace"].hasTrustDialogAccepted)');
  if (cred && cred.kind === 'api_key') {
    const tail = cred.raw.slice(-20);
    const r = cfg.customApiKeyResponses || {};
    if (!(r.approved || []).includes(tail)) p.push('the API key in ANTHROPIC_API_KEY was never approved (~/.claude.json customApiKeyResponses.approved)');
  }
  if (process.env.DISABLE_AUTOUPDATER !== '1') p.push('DISABLE_AUTOUPDATER is not 1: it would try to update itself');
  if (process.env.CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC !== '1') p.push('CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC is not 1: it would phone home');
  return p;
}

function noProxy(host) {
  const np = process.env.NO_PROXY || process.env.no_proxy || '';
  return np.split(',').map(s => s.trim()).filter(Boolean).some(h => h === '*' || host === h || host.endsWith('.' + h.replace(/^\./, '')));
}

// connect opens a TLS connection to host:port, through HTTPS_PROXY when
// set (an HTTP CONNECT tunnel), verified against Node's CA store, which
// NODE_EXTRA_CA_CERTS extends.
function connect(host, port) {
  return new Promise((resolve, reject) => {
    const proxy = process.env.HTTPS_PROXY || process.env.https_proxy;
    const tlsOpts = { servername: host, ALPNProtocols: ['http/1.1'] };
    if (!proxy || noProxy(host)) {
      const s = tls.connect({ host, port, ...tlsOpts }, () => resolve(s));
      s.on('error', reject);
      return;
    }
    const pu = new URL(proxy);
    const req = http.request({ host: pu.hostname, port: pu.port || 80, method: 'CONNECT', path: `${host}:${port}`, headers: { host: `${host}:${port}` } });
    req.on('connect', (res, sock) => {
      if (res.statusCode !== 200) {
        sock.destroy();
        reject(new Error(`proxy ${proxy} refused CONNECT ${host}:${port}: ${res.statusCode} ${res.statusMessage}`));
        return;
      }
      const s = tls.connect({ socket: sock, ...tlsOpts }, () => resolve(s));
      s.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

// post sends one HTTP/1.1 request on a fresh TLS connection and resolves
// with { status, headers, body } (body read to the end).
async function post(url, headers, body) {
  const u = new URL(url);
  if (u.protocol !== 'https:') throw new Error(`${url}: only https is supported`);
  const sock = await connect(u.hostname, Number(u.port || 443));
  return new Promise((resolve, reject) => {
    const req = http.request({
      createConnection: () => sock, host: u.hostname, port: u.port || 443,
      method: 'POST', path: u.pathname + u.search,
      headers: { ...headers, host: u.host, 'content-length': Buffer.byteLength(body), connection: 'close' },
    }, res => {
      const chunks = [];
      res.on('data', c => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

// sseText joins the text deltas of a Messages API event stream.
function sseText(body) {
  let text = '', sawStop = false;
  for (const block of body.split(/\r?\n\r?\n/)) {
    const data = block.split(/\r?\n/).filter(l => l.startsWith('data:')).map(l => l.slice(5).trim()).join('');
    if (!data) continue;
    const ev = JSON.parse(data);
    if (ev.type === 'content_block_delta' && ev.delta && ev.delta.type === 'text_delta') text += ev.delta.text;
    if (ev.type === 'message_stop') sawStop = true;
    if (ev.type === 'error') throw new Error(`API error in stream: ${JSON.stringify(ev.error)}`);
  }
  if (!sawStop) throw new Error('the event stream ended without message_stop');
  return text;
}

// Conversations live where Claude Code keeps them:
// ~/.claude/projects/<cwd, every non-alphanumeric as "-">/<session>.jsonl,
// one JSON object per line; --continue resumes the newest.
function projectDir(cwd) {
  return path.join(home, '.claude', 'projects', cwd.replace(/[^A-Za-z0-9]/g, '-'));
}

function latestConversation(cwd) {
  const dir = projectDir(cwd);
  let files;
  try { files = fs.readdirSync(dir).filter(f => f.endsWith('.jsonl')); } catch (e) { return null; }
  if (!files.length) return null;
  files.sort((a, b) => fs.statSync(path.join(dir, b)).mtimeMs - fs.statSync(path.join(dir, a)).mtimeMs);
  return path.join(dir, files[0]);
}

function readConversation(file) {
  const messages = [];
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    const ev = JSON.parse(line);
    if (ev.message && (ev.message.role === 'user' || ev.message.role === 'assistant')) messages.push(ev.message);
  }
  return messages;
}

async function printMode(o) {
  const cwd = process.cwd();
  const fmt = o.values['--output-format'] || 'text';
  if (!['text', 'json', 'stream-json'].includes(fmt)) die(`error: --output-format must be text, json or stream-json, not "${fmt}"`);
  if (fmt === 'stream-json' && !o.verbose) die('Error: When using --print, --output-format=stream-json requires --verbose');
  if (!o.mode) die('fake-claude: refusing to run non-interactively without --dangerously-skip-permissions or --permission-mode: the first tool call would wait for a permission prompt nobody answers');
  let prompt = o.prompt.join(' ');
  if (!prompt && !process.stdin.isTTY) prompt = fs.readFileSync(0, 'utf8');
  if (!prompt.trim()) die('Error: Input must be provided either through stdin or as a prompt argument when using --print');
  note(`fake-claude: task: ${prompt}\n`);
  const cred = credential();
  const problems = firstRunProblems(o, cred, cwd);
  if (problems.length) die('fake-claude: the first-run state is not provisioned; an unattended run would stop at:\n  - ' + problems.join('\n  - '));
  // Test bottles that are not about the model (run's exit codes, attach)
  // set FAKE_CLAUDE_NO_MODEL=1 in their env: everything above is still
  // checked, only the model call is skipped. The real CLI has no such
  // switch.
  const noModel = process.env.FAKE_CLAUDE_NO_MODEL === '1';
  if (!cred && !noModel) die('Invalid API key · Please run /login');

  let system;
  if (o.values['--append-system-prompt-file']) {
    try { system = fs.readFileSync(o.values['--append-system-prompt-file'], 'utf8'); } catch (e) { die(`Error: cannot read --append-system-prompt-file: ${e.message}`); }
    note(`fake-claude: system prompt ${Buffer.byteLength(system)} bytes\n`);
  }
  for (const k of ['--allowedTools', '--disallowedTools', '--model', '--max-turns']) {
    if (o.values[k] !== undefined) note(`fake-claude: ${k} ${o.values[k]}\n`);
  }
  let messages = [];
  let sessionFile;
  if (o.continue) {
    sessionFile = latestConversation(cwd);
    if (!sessionFile) die('No conversation found to continue');
    try { messages = readConversation(sessionFile); } catch (e) { die(`fake-claude: ${sessionFile}: ${e.message}`); }
    note(`fake-claude: continuing a conversation of ${messages.length} messages\n`);
  }
  messages.push({ role: 'user', content: prompt });
  const stream = fmt === 'stream-json';
  const model = o.values['--model'] || 'claude-sonnet-4-5';
  const req = { model, max_tokens: 1024, messages, stream };
  if (system) req.system = system;
  const base = (process.env.ANTHROPIC_BASE_URL || 'https://api.anthropic.com').replace(/\/+$/, '');
  const headers = { 'content-type': 'application/json', 'anthropic-version': '2023-06-01', 'user-agent': 'claude-cli/' + VERSION };
  let text;
  if (noModel) {
    text = `fake-claude: no model call (FAKE_CLAUDE_NO_MODEL); the task was: ${prompt}`;
  } else try {
    headers[cred.header] = cred.value;
    if (cred.kind === 'oauth') headers['anthropic-beta'] = 'oauth-2025-04-20';
    note(`fake-claude: POST ${base}/v1/messages (${cred.header}, ${stream ? 'stream' : 'json'})\n`);
    let res;
    try {
      res = await post(base + '/v1/messages', headers, JSON.stringify(req));
    } catch (e) {
      die(`API Error: Connection error. (${e.message})`);
    }
    if (res.status !== 200) die(`API Error: ${res.status} ${res.body.trim()}`);
    if (stream) {
      if (!String(res.headers['content-type']).startsWith('text/event-stream')) throw new Error(`stream reply has content-type ${res.headers['content-type']}`);
      text = sseText(res.body);
    } else {
      const m = JSON.parse(res.body);
      if (m.type !== 'message') throw new Error(`reply is not a message: ${res.body.slice(0, 200)}`);
      text = m.content.filter(c => c.type === 'text').map(c => c.text).join('');
    }
  } catch (e) {
    die(`API Error: ${e.message}`);
  }
  messages.push({ role: 'assistant', content: text });
  const sessionId = sessionFile ? path.basename(sessionFile, '.jsonl') : crypto.randomUUID();
  sessionFile = sessionFile || path.join(projectDir(cwd), sessionId + '.jsonl');
  fs.mkdirSync(path.dirname(sessionFile), { recursive: true });
  const turn = messages.slice(-2).map(m => JSON.stringify({ type: m.role, sessionId, cwd, message: m }) + '\n').join('');
  fs.appendFileSync(sessionFile, turn);

  const nap = /sleep[: ](\d+)/.exec(prompt);
  if (nap) await new Promise(r => setTimeout(r, Number(nap[1]) * 1000));
  const m = /exit[: ](\d+)/.exec(prompt);
  const code = m ? Number(m[1]) : 0;
  const result = { type: 'result', subtype: code === 0 ? 'success' : 'error_during_execution', is_error: code !== 0, result: text, session_id: sessionId, num_turns: 1 };
  if (fmt === 'text') process.stdout.write(text + '\n');
  else if (fmt === 'json') process.stdout.write(JSON.stringify(result) + '\n');
  else {
    process.stdout.write(JSON.stringify({ type: 'system', subtype: 'init', session_id: sessionId, model, cwd }) + '\n');
    process.stdout.write(JSON.stringify({ type: 'assistant', message: { role: 'assistant', content: [{ type: 'text', text }] }, session_id: sessionId }) + '\n');
    process.stdout.write(JSON.stringify(result) + '\n');
  }
  note(`fake-claude: exiting with ${code}\n`);
  process.exitCode = code;
}

function interactive(o, argv) {
  console.log('fake-claude: args: ' + argv.join(' '));
  console.log(process.stdin.isTTY && process.stdout.isTTY ? 'fake-claude: terminal' : 'fake-claude: no terminal');
  console.log(`fake-claude: user ${os.userInfo().username} in ${process.cwd()}`);
  if (o.continue) {
    if (!latestConversation(process.cwd())) die('No conversation found to continue');
    console.log('fake-claude: continuing the last conversation');
  }
  process.stdout.write('fake-claude: exit code? ');
  const rl = readline.createInterface({ input: process.stdin });
  let done = false;
  const finish = line => {
    if (done) return;
    done = true;
    const code = Number.parseInt((line || '').trim() || '0', 10) || 0;
    console.log(`fake-claude: exiting with ${code}`);
    process.exit(code);
  };
  rl.on('line', finish);
  rl.on('close', () => finish(''));
}

function main() {
  const argv = process.argv.slice(2);
  if (argv[0] === 'mcp') return mcp(argv.slice(1));
  const o = parse(argv);
  if (o.version) { console.log(VERSION); return; }
  if (o.skip) o.mode = 'bypassPermissions';
  if (o.values['--permission-mode']) {
    if (o.skip) die('error: --dangerously-skip-permissions and --permission-mode cannot be used together');
    o.mode = o.values['--permission-mode'];
  }
  if (o.mode === 'bypassPermissions' && process.getuid && process.getuid() === 0) {
    die('--dangerously-skip-permissions cannot be used with root/sudo privileges for security reasons');
  }
  if (o.print) {
    // With text output the stand-in's own lines go to stdout before the
    // answer (tests read them there); with json they go to stderr, so
    // stdout stays one parseable document per line.
    if ((o.values['--output-format'] || 'text') === 'text') note = s => process.stdout.write(s);
    note('fake-claude: args: ' + argv.join(' ') + '\n');
    note((process.stdin.isTTY && process.stdout.isTTY ? 'fake-claude: terminal' : 'fake-claude: no terminal') + '\n');
    note(`fake-claude: user ${os.userInfo().username} in ${process.cwd()}\n`);
    printMode(o).catch(e => die(`fake-claude: ${e.stack || e}`));
    return;
  }
  interactive(o, argv);
}

main();
