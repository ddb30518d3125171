import { parseArgs } from 'node:util';
import { exchangeTcp, exchangeUdp, parseServerAddress, randomQueryId } from '../resolver/dns-transport.js';
import { defaultEdns } from '../wire/edns.js';
import { encodeMessage } from '../wire/message-encoder.js';
import { type Message, newMessage } from '../wire/message.js';
import { exchangeHttps, exchangeTls } from './secure-exchange.js';
import { Name } from '../wire/name.js';
import { RRClass, parseType } from '../wire/rr-type.js';
import { formatDig, messageJson } from './dig-format.js';

export const QUERY_USAGE = `usage: keymaster query NAME [TYPE] [--server ADDR[:PORT]] [--dnssec] [--cd] [--tcp | --tls | --https URL] [--json] [--timeout MS]

A stub client, like dig: sends one recursive query (RD, AD, EDNS 1232) and prints the answer.
  --server ADDR[:PORT]  server to ask (default 127.0.0.1:5300, the default listen address)
  --dnssec              set DO: ask for RRSIG and NSEC records
  --cd                  set CD: ask for the data without validation
  --tcp                 use TCP (UDP otherwise; TCP is used anyway when the answer is truncated)
  --tls                 use DNS over TLS (RFC 7858; --server's port defaults to 853)
  --https URL           use DNS over HTTPS (RFC 8484), e.g. https://127.0.0.1/dns-query
  --ca FILE             check the server's certificate against this PEM file (TLS, HTTPS)
  --insecure            do not check the server's certificate at all (TLS, HTTPS)
  --json                print the response as JSON
  --timeout MS          per-try timeout (default 5000)
`;

export async function runQueryCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      server: { type: 'string' },
      dnssec: { type: 'boolean', default: false },
      cd: { type: 'boolean', default: false },
      tcp: { type: 'boolean', default: false },
      tls: { type: 'boolean', default: false },
      https: { type: 'string' },
      ca: { type: 'string' },
      insecure: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      timeout: { type: 'string', default: '5000' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help || positionals.length < 1 || positionals.length > 2) {
    (values.help ? process.stdout : process.stderr).write(QUERY_USAGE);
    return values.help ? 0 : 2;
  }
  let name: Name;
  let type: number;
  try {
    name = Name.parse(positionals[0]!);
    type = parseType(positionals[1] ?? 'A');
  } catch (e) {
    process.stderr.write(`keymaster query: ${(e as Error).message}\n`);
    return 2;
  }
  if ([values.tcp, values.tls, values.https !== undefined].filter(Boolean).length > 1) {
    process.stderr.write('keymaster query: --tcp, --tls and --https exclude each other\n');
    return 2;
  }
  const server = parseServerAddress(values.server ?? (values.tls ? '127.0.0.1' : '127.0.0.1:5300'), values.tls ? 853 : 53);
  const timeout = Number(values.timeout);
  const query = newMessage({
    id: randomQueryId(),
    rd: true,
    ad: true,
    cd: values.cd!,
    question: [{ name, type, class: RRClass.IN }],
    edns: defaultEdns({ dnssecOk: values.dnssec! }),
  });
  const wire = encodeMessage(query);
  const started = performance.now();
  try {
    const check = { ...(values.ca ? { ca: values.ca } : {}), insecure: values.insecure! };
    let ex: { response: Message; bytes: Uint8Array; transport: string };
    if (values.https !== undefined) ex = await exchangeHttps(new URL(values.https), query, wire, timeout, check);
    else if (values.tls) ex = await exchangeTls(server, query, wire, timeout, check);
    else ex = values.tcp ? await exchangeTcp(server, query, wire, timeout) : await exchangeUdp(server, query, wire, timeout);
    if (ex.response.tc && ex.transport === 'udp') ex = await exchangeTcp(server, query, wire, timeout);
    const elapsedMs = performance.now() - started;
    const serverText = values.https ?? `${server.host}#${server.port}`;
    if (values.json) {
      process.stdout.write(JSON.stringify({ server: serverText, transport: ex.transport, elapsedMs: Math.round(elapsedMs), size: ex.bytes.length, ...messageJson(ex.response) }, null, 2) + '\n');
    } else {
      process.stdout.write(`; <<>> keymaster query <<>> ${name.toString()} ${positionals[1]?.toUpperCase() ?? 'A'} @${serverText}${values.dnssec ? ' +dnssec' : ''}${values.cd ? ' +cd' : ''}\n`);
      process.stdout.write(formatDig(ex.response, { server: serverText, transport: ex.transport, elapsedMs, size: ex.bytes.length }));
    }
    return 0;
  } catch (e) {
    process.stderr.write(`;; ${(e as Error).message}\n`);
    return 9;
  }
}
