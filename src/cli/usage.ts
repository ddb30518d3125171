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

export const POLICY_USAGE = `usage: keymaster policy list [--json]
       keymaster policy add NAMESPACE [--require-validation | --log-only | --no-validation [--until TIME]]
                                      [--forwarders ADDR[:PORT],...] [--json]
       keymaster policy remove NAMESPACE [--json]

The NRPT-like policy table: rules keyed by namespace, the longest match wins.
NAMESPACE is ".corp.example" (that name and everything below it), "corp.example" (that
name only) or "." (every name); an exact name beats the suffix of the same name, otherwise
the namespace with more labels wins. A rule's mode and its forwarders are each taken from
the longest matching rule that sets them.
  --require-validation  answers that are not secure are refused (SERVFAIL, with an EDE saying so)
  --log-only            validate, but answer anyway (without AD) and log failures (a roll-out mode)
  --no-validation       a negative trust anchor (RFC 7646): no validation and no AD for the namespace
  --until TIME          with --no-validation: it ends at TIME, an RFC 3339 time with its offset
                        (2026-12-31T00:00:00Z) or a duration from now (90m, 12h, 7d); it is also
                        removed earlier when the zone validates again
  --forwarders LIST     send queries for the namespace to these servers (port 53 by default)
  --json                print the server's JSON reply
${CLIENT_FLAGS_HELP}
Rules added here take effect at once and are kept in STATEDIR/policy.json across restarts.
Rules from the config file's "policy:" list load at every start; a rule added here for the
same namespace overrides it (Source "store (overrides config)") until removed. A config
rule cannot be removed here: edit the config file and restart.
`;

export const ZONE_USAGE = `usage: keymaster zone list [--json]
       keymaster zone show ZONE [--json]
       keymaster zone add ZONE --file FILE [--allow-transfer CIDR,...] [--reuse-keys]
       keymaster zone add ZONE --primary ADDR[:PORT][,ADDR...] [--tsig KEY] [--allow-transfer CIDR,...]   (a secondary zone)
       keymaster zone remove ZONE
       keymaster zone sign ZONE [--defaults | --like ZONE | options...] [--yes]
       keymaster zone unsign ZONE [--now]     # the DS goes first; --now: no parent has one
       keymaster zone keys ZONE [--wide | --output COLUMNS] [--json]
       keymaster zone export-keys ZONE [--digest sha256|sha384] [--json]
       keymaster zone key-master ZONE [SERVER [--seize]]
       keymaster zone roll ZONE KEY | step-rollover ZONE KEY
       keymaster zone record add ZONE NAME TYPE RDATA... [--ttl DUR] | record remove ZONE NAME TYPE [RDATA...]

Local zones: served authoritatively from their zone files, transferred (AXFR, TCP) to the
allowed secondaries, and signed by this server as their Key Master.

  sign          signs with the defaults (ECDSAP256SHA256, NSEC3 without extra iterations or salt,
                RFC 5011 rollover: a standby KSK and a pre-published next ZSK), with the
                parameters of another signed zone (--like), or with the defaults changed by:
    --algorithm ALG            8/RSASHA256, 10/RSASHA512, 13/ECDSAP256SHA256, 14/ECDSAP384SHA384,
                               15/ED25519, 16/ED448
    --ksk-size BITS, --zsk-size BITS   RSA key sizes (default 2048)
    --nsec | --nsec3           authenticated denial of existence (default NSEC3)
    --iterations N, --salt-length OCTETS, --opt-out   NSEC3 parameters (default 0, 0, no)
    --dnskey-validity DUR      signatures over the DNSKEY RRset (default 168h)
    --ds-validity DUR          signatures over DS RRsets (default 168h)
    --signature-validity DUR   every other signature (default 240h)
    --inception DUR            signature inception this long before now (default 1h)
    --dnskey-ttl DUR, --ds-ttl DUR      (default 1h)
    --ds-digest sha256|sha384  digest of the dsset- file (default sha256)
    --ksk-rollover DUR, --zsk-rollover DUR   rollover frequencies (default 755d, 90d)
    --no-rfc5011               one KSK and one ZSK, no standby keys
    --distribute-trust-anchor  add the zone's trust anchor to this server's store
                writes STATEDIR/dsset-ZONE. and STATEDIR/keyset-ZONE. for the parent.
                On a signed zone it shows what would change (options old → new, an algorithm
                rollover that would start) and does nothing (exit 1) unless --yes is given.
  unsign        removes every DNSSEC record (the keys stay in the key store)
  keys          the zone's signing keys, like Get-DnsServerSigningKey (never private keys), with
                each key's rollover status, next action and how long until it; within 120
                columns (key tag, the KeyId's first 8 characters); --wide: every column in full;
                --output tag,id,type,state,status,next,...: these columns (keyid, id, tag, type,
                keytype, state, alg, algorithm, length, status, action, next, nexttime, last,
                method, created, activated, retired, storage)
  KEY           for roll and step-rollover: a key tag, a KeyId, or a prefix of a KeyId that only
                one key has (an ambiguous one lists the candidates)
  roll          starts the rollover of an active key now (Invoke-DnsServerSigningKeyRollover)
  step-rollover tells a KSK waiting in KskWaitingForDSUpdate that the parent's DS is there
                (Step-DnsServerSigningKeyRollover); the DS TTL is still waited out
  export-keys   prints the dsset- and keyset- text for the parent
  key-master    shows the zone's Key Master, or sets it (before signing); a file-backed zone's
                Key Master is always this server
  record        adds or removes one record (remove without RDATA: the whole RRset); NAME is
                relative to the zone unless it ends in a dot; a signed zone re-signs only what
                changed; the serial goes up and the change is journaled before the reply
${CLIENT_FLAGS_HELP}
`;

export const MAIN_USAGE = `usage: keymaster VERB [ARGS...]

Keymaster: a caching validating recursive DNS resolver, trust-point manager and DNSSEC Key Master.

Verbs:
  serve          run the server
  init           write a commented config and create the state directory (a new host)
  query          send one query, like dig
  status         show the running server's status
  trust-point    manage trust points (RFC 5011)
  trust-anchor   manage trust anchors
  policy         manage the validation policy table (NRPT-like)
  zone           manage local zones, their signing and keys (Key Master)
  explain        show the chain of trust for a name, and why it is (not) secure
  cache          flush the cache
  cluster        show the cluster: etcd members, primaries, Key Master per zone; make an HSM KEK

"keymaster VERB --help" shows a verb's flags; "keymaster --version" the version.
Every verb but serve, init, query and cluster kek-create talks to the running server's control API.
`;

export const CLUSTER_USAGE = `usage: keymaster cluster status [--json] [--config FILE | --control ADDR:PORT --state-dir DIR]
       keymaster cluster kek-create --pkcs11-module MODULE --token TOKEN --pin-file FILE --label LABEL [--json]

Shows this server's name and etcd lease, the etcd members and their health, the primaries in the
cluster with their replication lag (writes of the shared documents not applied yet), each zone's
Key Master and each trust point's RFC 5011 refresher with the time its lease has left
(docs/cluster.md).

kek-create makes the key-encryption key for cluster.keyEncryptionKey: { pkcs11: ... } in the token:
an AES-256 token object, sensitive, not extractable, that can only encrypt and decrypt; it prints
the key's check value (the KEK id sealed documents name). It runs on this machine, not through
the server, and refuses a label the token already has.
  --json               print the status (or the new key) as JSON
${CLIENT_FLAGS_HELP}
`;

/** A command line that does not fit the verb's usage: exit status 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}
