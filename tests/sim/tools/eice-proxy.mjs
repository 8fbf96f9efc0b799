#!/usr/bin/env node
// An ssh ProxyCommand for the EICE tunnel, the way `aws ec2-instance-connect open-tunnel` is used:
// stdin/stdout ⇄ binary WebSocket frames. Args: <presigned wss://DnsName/openTunnel?… URL> [dial-via URL].
// With dial-via (the simulator's http://127.0.0.1:PORT) it connects there and sends the signed Host.
import WebSocket from 'ws';

const [url, via] = process.argv.slice(2);
const signed = new URL(url);
const target = via ? `ws://${new URL(via).host}${signed.pathname}${signed.search}` : url;
const ws = new WebSocket(target, { headers: { host: signed.host }, perMessageDeflate: false });
ws.on('open', () => {
  process.stdin.on('data', (d) => {
    for (let off = 0; off < d.length; off += 65000) ws.send(d.subarray(off, off + 65000), { binary: true });
  });
  process.stdin.on('end', () => ws.close(1000));
});
ws.on('message', (data, isBinary) => {
  if (!isBinary) {
    process.stderr.write(`eice-proxy: text frame from server: ${data}\n`);
    process.exit(2);
  }
  process.stdout.write(data);
});
ws.on('unexpected-response', (_req, res) => {
  let body = '';
  res.on('data', (d) => (body += d));
  res.on('end', () => {
    process.stderr.write(`eice-proxy: HTTP ${res.statusCode}: ${body}\n`);
    process.exit(3);
  });
});
ws.on('close', (code, reason) => {
  if (code !== 1000) process.stderr.write(`eice-proxy: closed ${code} ${reason}\n`);
  process.exit(code === 1000 ? 0 : 4);
});
ws.on('error', (e) => {
  process.stderr.write(`eice-proxy: ${e.message}\n`);
  process.exit(5);
});
