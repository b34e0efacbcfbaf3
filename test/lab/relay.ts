/**
 * A TCP relay that delays every chunk by a fixed time in each direction: the lab's latency, since
 * this kernel has no netem. Run inside a host; nftables redirects the connections to delay here.
 * Usage: relay.js LISTEN_PORT TARGET_HOST TARGET_PORT DELAY_MS
 */
import { createServer, connect, type Socket } from 'node:net';

const [port, host, targetPort, delay] = process.argv.slice(2);
const ms = Number(delay);

function pipeDelayed(from: Socket, to: Socket): void {
  from.on('data', (chunk) => setTimeout(() => to.write(chunk), ms));
  from.on('end', () => setTimeout(() => to.end(), ms));
  from.on('error', () => to.destroy());
}

createServer((client) => {
  process.stdout.write('connection\n');
  const upstream = connect(Number(targetPort), host);
  pipeDelayed(client, upstream);
  pipeDelayed(upstream, client);
  upstream.on('close', () => client.destroy());
  client.on('close', () => upstream.destroy());
}).listen(Number(port), '127.0.0.1', () => process.stdout.write('listening\n'));
