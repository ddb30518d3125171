import { parseArgs } from 'node:util';
import { exchangeTcp, exchangeUdp, parseServerAddress, randomQueryId } from '../resolver/dns-transport.js';
import { defaultEdns } from '../wire/edns.js';
import { encodeMessage } from '../wire/message-encoder.js';
import { newMessage } from '../wire/message.js';
import { Name } from '../wire/name.js';
import { RRClass, parseType } from '../wire/rr-type.js';
import { formatDig, messageJson } from './dig-format.js';

export const QUERY_USAGE = `usage: keymaster query NAME [TYPE] [--server ADDR[:PORT]] [--dnssec] [--cd] [--tcp] [--json] [--timeout MS]

A stub client, like dig: sends one recursive query (RD, AD, EDNS 1232) and prints the answer.
  --server ADDR[:PORT]  server to ask (default 127.0.0.1:5300, the default listen address)
  --dnssec              set DO: ask for RRSIG and NSEC records
  --cd                  set CD: ask for the data without validation
  --tcp                 use TCP (UDP otherwise; TCP is used anyway when the answer is truncated)
  --json                print the response as JSON
  --timeout MS          per-try timeout (default 5000)
`;

export async function runQueryCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      server: { type: 'string', default: '127.0.0.1:5300' },
      dnssec: { type: 'boolean', default: false },
      cd: { type: 'boolean', default: false },
      tcp: { type: 'boolean', default: false },
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
  const server = parseServerAddress(values.server!);
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
    let ex = values.tcp ? await exchangeTcp(server, query, wire, timeout) : await exchangeUdp(server, query, wire, timeout);
    if (ex.response.tc && ex.transport === 'udp') ex = await exchangeTcp(server, query, wire, timeout);
    const elapsedMs = performance.now() - started;
    const serverText = `${server.host}#${server.port}`;
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
