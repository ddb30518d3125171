/** Help texts. The verbs and flags are a contract (DESIGN.md): scripts and operators use them. */

export const CLIENT_FLAGS_HELP = `  --config FILE        the config file the server read (gives its control address and state dir;
                       default: config/keymaster.yaml when present, else built-in defaults)
  --control ADDR:PORT  the control API address (overrides the config file's "control")
  --state-dir DIR      where the server keeps control.token (overrides "stateDir")`;

export const SERVE_USAGE = `usage: keymaster serve [--config FILE] [--listen ADDR:PORT]... [--state-dir DIR]
                       [--root-hints FILE] [--root-anchors FILE|URL] [--control ADDR:PORT]

Runs the server in the foreground, logging JSON lines to stdout; SIGINT or SIGTERM stops it.
  --config FILE             YAML config (default: config/keymaster.yaml when present, else built-in defaults)
  --listen ADDR:PORT        DNS listen address, UDP and TCP; repeat for several ("[::1]:53" for IPv6)
  --state-dir DIR           trust anchor store, zones, keys, dsset-/keyset- files, control.token
  --root-hints FILE         a named.root-style file instead of the built-in root hints
  --root-anchors FILE|URL   where the root trust point's root-anchors.xml comes from
  --control ADDR:PORT       control API address (loopback only)
Flags override the config file.
`;

export const STATUS_USAGE = `usage: keymaster status [--json] [--config FILE | --control ADDR:PORT --state-dir DIR]

Shows the running server's version, uptime, listeners, config file and state dir.
  --json               print the status as JSON
${CLIENT_FLAGS_HELP}
`;

/** Verbs of the contract that this version does not implement yet, with their planned usage. */
export const PENDING_VERB_USAGE: Readonly<Record<string, string>> = {
  'trust-point': `keymaster trust-point list | show ZONE | add-root [--url URL | --file FILE] | remove ZONE | refresh ZONE`,
  'trust-anchor': `keymaster trust-anchor list [ZONE] | add ZONE (--ds RDATA | --dnskey RDATA)
                       | import (--keyset FILE | --dsset FILE) | remove ZONE KEYTAG`,
  policy: `keymaster policy list | add NAMESPACE [--require-validation | --log-only | --no-validation
                       [--until TIME]] [--forwarders ADDR,...] | remove NAMESPACE`,
  zone: `keymaster zone list | add ZONE --file FILE | remove ZONE | sign ZONE [--defaults | --like ZONE | options]
                       | unsign ZONE | keys ZONE | export-keys ZONE [--digest sha256]
                       | key-master ZONE [SERVER] | roll ZONE KEY-ID | step-rollover ZONE KEY-ID
                       | record add|remove ZONE NAME TYPE RDATA`,
  explain: `keymaster explain NAME [TYPE]`,
};

export const MAIN_USAGE = `usage: keymaster VERB [ARGS...]

Keymaster: a caching validating recursive DNS resolver, trust-point manager and DNSSEC Key Master.

Verbs:
  serve          run the server
  query          send one query, like dig
  status         show the running server's status
  trust-point    manage trust points (RFC 5011)            [not available yet]
  trust-anchor   manage trust anchors                      [not available yet]
  policy         manage the validation policy table        [not available yet]
  zone           manage local zones and their signing      [not available yet]
  explain        show the chain of trust for a name        [not available yet]
  cache          flush the cache

"keymaster VERB --help" shows a verb's flags; "keymaster --version" the version.
Every verb but serve and query talks to the running server's control API.
`;

/** A command line that does not fit the verb's usage: exit status 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}
