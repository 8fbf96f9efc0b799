// The terminal benchmark's bare pipe (the architecture electerm uses): sshd → ssh2 → a plain
// WebSocket → xterm.write in the page, with no flow control, no contract and no app. Each
// WebSocket connection (ws://127.0.0.1:<port>/?cols=&rows=) opens a shell with a PTY on the sshd
// given in the environment; its output is sent as it comes, whatever the page has parsed, and the
// page's messages are the keys typed. Prints its port on the first line of stdout.
import { readFileSync } from 'node:fs';
import { Client } from 'ssh2';
import { WebSocketServer } from 'ws';

const { KEYLESS_BENCH_SSHD_PORT: port, KEYLESS_BENCH_SSHD_USER: username, KEYLESS_BENCH_SSHD_KEY: keyPath } = process.env;
const privateKey = readFileSync(keyPath);
const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false });
wss.on('connection', (ws, req) => {
  const q = new URL(req.url ?? '/', 'http://x').searchParams;
  const ssh = new Client();
  ssh.on('ready', () => {
    ssh.shell({ term: 'xterm-256color', cols: Number(q.get('cols')) || 80, rows: Number(q.get('rows')) || 24 }, (err, stream) => {
      if (err) {
        ws.close(1011, err.message);
        return;
      }
      stream.on('data', (d) => ws.send(d, { binary: true }));
      stream.on('close', () => ws.close(1000));
      ws.on('message', (m) => stream.write(m));
      ws.on('close', () => ssh.end());
    });
  });
  ssh.on('error', (e) => ws.close(1011, e.message.slice(0, 100)));
  // The benchmark's own loopback sshd, whose key Keyless was told to trust in the same run.
  ssh.connect({ host: '127.0.0.1', port: Number(port), username, privateKey, hostVerifier: () => true });
});
wss.on('listening', () => process.stdout.write(`${wss.address().port}\n`));
