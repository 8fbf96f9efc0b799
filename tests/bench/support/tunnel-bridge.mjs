// ssh ProxyCommand for the benchmark's sequential (AWS CLI-style) path: bridges stdin/stdout to
// an openTunnel WebSocket, as `aws ec2-instance-connect open-tunnel` does. The presigned URL comes
// in the environment (KEYLESS_BENCH_TUNNEL_URL), the address to dial in KEYLESS_BENCH_TUNNEL_DIAL.
import WebSocket from 'ws';

const signed = new URL(process.env.KEYLESS_BENCH_TUNNEL_URL);
const dial = new URL(signed.pathname + signed.search, process.env.KEYLESS_BENCH_TUNNEL_DIAL);
dial.protocol = 'ws:';
const ws = new WebSocket(dial, { headers: { Host: signed.host }, perMessageDeflate: false });
ws.on('open', () => {
  process.stdin.on('data', (d) => {
    for (let i = 0; i < d.length; i += 65000) ws.send(d.subarray(i, i + 65000), { binary: true });
  });
  process.stdin.on('end', () => ws.close(1000));
});
ws.on('message', (d) => process.stdout.write(d));
ws.on('close', () => process.exit(0));
ws.on('error', (e) => {
  process.stderr.write(`tunnel: ${e.message}\n`);
  process.exit(1);
});
