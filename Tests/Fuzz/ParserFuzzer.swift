// libFuzzer target over HTTPCore's RequestParser. Built by scripts/fuzz.sh together with the
// HTTPCore sources (one module, no SwiftPM), so it is never part of the normal build.
//
// Oracle, beyond "no crash": the same bytes fed whole and fed in pieces (split where the first
// input byte says) must give the same requests and the same error; and nothing the parser returns
// may exceed its limits.

let fuzzLimits = RequestParser.Configuration(
    maxRequestLineLength: 256, maxHeaderSectionBytes: 1024, maxHeaderFields: 16, maxBodyBytes: 2048,
    maxChunkLineLength: 64)

struct Outcome: Equatable {
    var requests: [String] = []
    var error: HTTPParseError.Kind?
}

func describe(_ request: Request) -> String {
    let fields = request.headers.map { "\($0.name)=\($0.value)" }.joined(separator: "|")
    let trailers = request.trailers.map { "\($0.name)=\($0.value)" }.joined(separator: "|")
    return "\(request.method) \(request.head.target) \(request.head.version) \(request.head.keepAlive) "
        + "\(fields) \(request.body) \(trailers)"
}

func run(_ pieces: [ArraySlice<UInt8>]) -> Outcome {
    var parser = RequestParser(configuration: fuzzLimits)
    var outcome = Outcome()
    do {
        for piece in pieces {
            parser.append(contentsOf: piece)
            while let event = try parser.next() {
                if case .request(let request) = event {
                    if request.body.count > fuzzLimits.maxBodyBytes { fatalError("body past its limit") }
                    if request.headers.count > fuzzLimits.maxHeaderFields { fatalError("fields past their limit") }
                    outcome.requests.append(describe(request))
                }
            }
        }
    } catch {
        outcome.error = error.kind
    }
    return outcome
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    guard size > 0 else { return 0 }
    let all = Array(UnsafeBufferPointer(start: data, count: size))
    let stride = Int(all[0] % 16) + 1
    let input = all[1...]
    let whole = run([input])
    var pieces: [ArraySlice<UInt8>] = []
    var start = input.startIndex
    while start < input.endIndex {
        let end = min(start + stride, input.endIndex)
        pieces.append(input[start..<end])
        start = end
    }
    let split = run(pieces)
    if whole != split {
        fatalError("whole and split parsing disagree: \(whole) vs \(split)")
    }
    return 0
}
