import CityGate
import Dispatch
import HTTPServer
import Logging

#if canImport(Glibc)
    import Glibc
#endif

let usage = """
    usage: citygate serve [--listen HOST:PORT] [--ops HOST:PORT] [--manifests DIR] [--data DIR] [--threads N]
                         [--max-connections N] [--max-connections-per-address N]
           citygate validate [--manifests DIR]     exit 0, or 1 with every problem as file: json-path: message
           citygate routes [--manifests DIR]       the public routes the manifests produce
           citygate sign --partner ID [--manifests DIR] [--method M] [--path P] [--query Q]
                         [--body TEXT | --body-file FILE] [--key KEY-ID] [--url BASE] [--format curl|json] [--count N]
                         [--bearer ACCESS-TOKEN] [--tls-cert FILE --tls-key FILE]
           citygate hash-secret [--secret TEXT]    the secretHash of an OAuth client secret (stdin when no --secret)
           citygate assertion --partner ID --subject ID --city CODE [--client ID] [--acr citizen|real-name]
                         [--lifetime S] [--manifests DIR]   a citizen assertion for token exchange (demo keys)
           citygate audit verify [--data DIR | --postgres URL|env:NAME] [--public-key FILE]...
                         exit 0 when the audit chain and its seals hold, 1 naming the first broken entry

      --listen HOST:PORT   public listener for partners (default 127.0.0.1:8080)
      --ops HOST:PORT      ops listener: health, readiness (default 127.0.0.1:9090)
      --manifests DIR      the manifests tree (default ./manifests)
      --data DIR           where the SQLite store lives (default ./data)
      --threads N          event-loop threads (default: one per core)
      --max-connections N  open connections per listener; at the cap the oldest idle and slowest
                           unfinished ones are shed first (default 10000)
      --max-connections-per-address N
                           open connections from one client IP per listener (default 256)
      --bench-route        mount GET /bench/fixed, a fixed 200-byte JSON body, for `make bench`

    """

/// Prints a usage error and exits 2.
func usageError(_ message: String) -> Never {
    Log.standardError("citygate: \(message)\n\n\(usage)")
    exit(2)
}

var arguments = CommandLine.arguments.dropFirst()
guard let command = arguments.popFirst() else { usageError("missing command") }
if command == "--help" || command == "-h" || command == "help" {
    print(usage, terminator: "")
    exit(0)
}
// `citygate COMMAND --help` (or -h) anywhere among the options: the usage, exit 0. Checked before
// any command parses its options, so no option ever takes --help as its value.
if arguments.contains("--help") || arguments.contains("-h") {
    print(usage, terminator: "")
    exit(0)
}
if command == "bench-body" {
    // The exact bytes of GET /bench/fixed, so `make bench` can make nginx serve the same body.
    print(String(decoding: Gateway.benchmarkBody, as: UTF8.self))
    exit(0)
}
if command == "sign" {
    SignCommand.run(Array(arguments))
}
if command == "hash-secret" {
    TokenCommands.hashSecret(Array(arguments))
}
if command == "assertion" {
    TokenCommands.assertion(Array(arguments))
}
if command == "validate" {
    ManifestCommands.validate(Array(arguments))
}
if command == "routes" {
    ManifestCommands.routes(Array(arguments))
}
if command == "audit" {
    var remaining = arguments[...]
    guard remaining.popFirst() == "verify" else { usageError("audit takes the subcommand verify") }
    var data = "data"
    var postgres: String?
    var publicKeys: [String] = []
    while let flag = remaining.popFirst() {
        guard let value = remaining.popFirst() else { usageError("\(flag) needs a value") }
        switch flag {
        case "--data": data = value
        case "--postgres": postgres = value
        case "--public-key": publicKeys.append(value)
        default: usageError("unknown option '\(flag)'")
        }
    }
    let report: AuditVerifier.Report
    if let postgres {
        report = AuditVerifier.verify(postgres: postgres, publicKeyFiles: publicKeys)
    } else {
        report = AuditVerifier.verify(dataDirectory: data, publicKeyFiles: publicKeys)
    }
    print(report.text)
    exit(report.intact ? 0 : 1)
}
guard command == "serve" else { usageError("unknown command '\(command)'") }

let options: ServeOptions
do {
    options = try ServeOptions(parsing: Array(arguments))
} catch {
    usageError(error.message)
}

let gateway: Gateway
let bound: (publicAddress: SocketAddress, opsAddress: SocketAddress)
do {
    gateway = try Gateway(configuration: options.configuration)
    bound = try gateway.start()
} catch {
    Log.standardError("citygate: cannot start: \(error)\n")
    exit(1)
}

// SIGTERM and SIGINT start a graceful shutdown; a second one exits at once.
let shutdownSignals = SignalWatcher(signals: [SIGTERM, SIGINT])
// SIGHUP reloads the manifests; an invalid tree is logged and the running set stays.
let reloadSignals = SignalWatcher(signals: [SIGHUP])
let reloads = Task {
    // Cancellation (at shutdown) ends the wait with nil: that is no SIGHUP, so nothing reloads.
    while let _ = await reloadSignals.next(), !Task.isCancelled {
        switch await gateway.reloader.reload(trigger: "SIGHUP") {
        case .success(let manifests):
            Log.info("manifests reloaded", ["sha256": manifests.contentHash, "trigger": "SIGHUP"])
        case .failure(let problems):
            Log.error(
                "reload refused; the running set stays",
                ["problems": problems.problems.map(\.description).joined(separator: " | ")])
        }
    }
}
Log.info(
    "citygate listening",
    [
        "public": bound.publicAddress.description, "ops": bound.opsAddress.description,
        "publicScheme": gateway.active.snapshot.manifests.tls == nil ? "http" : "https",
    ])
let received = await shutdownSignals.next()
Log.info(
    "citygate draining",
    ["signal": received.map(SignalWatcher.name) ?? "none", "gracePeriodSeconds": "\(options.gracePeriodSeconds)"])
shutdownSignals.exitOnNextSignal()
reloads.cancel()
await gateway.shutdown(gracePeriod: .seconds(options.gracePeriodSeconds))
Log.info("citygate stopped", ["signal": received.map(SignalWatcher.name) ?? "none"])
exit(0)
